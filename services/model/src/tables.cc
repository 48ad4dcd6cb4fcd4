// The model's static tables from DESIGN.md §2.2–2.3: the guiding principles of each step and the
// risk of skipping it.
#include <string>
#include <vector>

#include "cir/model/model.h"

namespace cir::model {
namespace {
constexpr int kFirstStep = v1::STEP_VISION;
constexpr int kLastActiveStep = v1::STEP_MOMENTUM;
}  // namespace

const std::vector<v1::Principle>& PrinciplesOf(v1::Step step) {
  using P = v1::Principle;
  static const std::vector<P> kNone;
  static const std::vector<P> kTable[] = {
      {},
      {v1::PRINCIPLE_FOCUS_ON_VALUE, v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY,
       v1::PRINCIPLE_THINK_AND_WORK_HOLISTICALLY},
      {v1::PRINCIPLE_START_WHERE_YOU_ARE, v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY},
      {v1::PRINCIPLE_PROGRESS_ITERATIVELY_WITH_FEEDBACK, v1::PRINCIPLE_THINK_AND_WORK_HOLISTICALLY,
       v1::PRINCIPLE_KEEP_IT_SIMPLE_AND_PRACTICAL, v1::PRINCIPLE_OPTIMIZE_AND_AUTOMATE},
      {v1::PRINCIPLE_PROGRESS_ITERATIVELY_WITH_FEEDBACK,
       v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY, v1::PRINCIPLE_THINK_AND_WORK_HOLISTICALLY,
       v1::PRINCIPLE_KEEP_IT_SIMPLE_AND_PRACTICAL},
      {v1::PRINCIPLE_FOCUS_ON_VALUE, v1::PRINCIPLE_PROGRESS_ITERATIVELY_WITH_FEEDBACK,
       v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY},
      {v1::PRINCIPLE_FOCUS_ON_VALUE, v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY,
       v1::PRINCIPLE_THINK_AND_WORK_HOLISTICALLY},
      {v1::PRINCIPLE_FOCUS_ON_VALUE, v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY,
       v1::PRINCIPLE_THINK_AND_WORK_HOLISTICALLY, v1::PRINCIPLE_OPTIMIZE_AND_AUTOMATE},
  };
  if (step < kFirstStep || step > kLastActiveStep) return kNone;
  return kTable[step];
}

const std::string& RiskOfSkipping(v1::Step step) {
  static const std::string kNone;
  static const std::string kTable[] = {
      "",
      "the work serves one team, not the organisation; effort drifts to work that adds no value",
      "there is no objective baseline, so no improvement can be measured",
      "the target stays vague; stakeholders cannot see the gain and support drops",
      "execution flounders; failed improvements erode confidence",
      "nothing of value is delivered; the earlier steps were wasted",
      "nobody can tell whether the outcome was reached; lessons are lost",
      "gains stay isolated and fade; the next initiative gets less support",
  };
  if (step < kFirstStep || step > kLastActiveStep) return kNone;
  return kTable[step];
}

}  // namespace cir::model
