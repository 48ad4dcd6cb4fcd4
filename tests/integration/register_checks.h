// What the integration tests check afterwards: outputs against the expected ones, and the register
// cird left behind (cird stopped).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "cir/storage/register.h"

namespace cir::testing {

// Compares two output sets id by id, field by field.
inline void ExpectSameOutputs(const std::map<std::string, v1::Output>& got,
                              const std::map<std::string, v1::Output>& want) {
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [id, output] : want) {
    auto it = got.find(id);
    if (it == got.end()) {
      ADD_FAILURE() << "missing output " << id;
      continue;
    }
    std::string diff;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(it->second, output)) << id << ": " << diff;
  }
  for (const auto& [id, output] : got) {
    if (!want.count(id)) ADD_FAILURE() << "unexpected output " << id;
  }
}

// Opens the register cird left behind (cird must have stopped).
inline std::unique_ptr<storage::Register> OpenRegister(const std::filesystem::path& dir) {
  storage::Options options;
  options.path = dir.string();
  options.create_if_missing = false;
  auto reg = storage::Register::Open(options);
  EXPECT_TRUE(reg.has_value()) << reg.error().message;
  return reg ? std::move(*reg) : nullptr;
}

// Value-chain events (not timer firings) of an initiative, by id, counting copies.
inline std::map<std::string, int> AppendedIds(storage::Register& reg,
                                              const std::string& initiative) {
  std::map<std::string, int> ids;
  auto partitions = reg.Partitions();
  EXPECT_TRUE(partitions.has_value());
  for (std::uint32_t p : *partitions) {
    auto history = reg.History(p, initiative);
    EXPECT_TRUE(history.has_value());
    for (const auto& e : *history) {
      if (e.has_value_chain()) ++ids[e.value_chain().source() + "|" + e.value_chain().id()];
    }
  }
  return ids;
}

// Initiatives `prefix`0 … `prefix`(count - 1) each hold the nine events of a Life(), every one
// appended once.
inline void ExpectEveryLifeOnce(storage::Register& reg, const std::string& prefix, int count) {
  for (int i = 0; i < count; ++i) {
    const auto ids = AppendedIds(reg, prefix + std::to_string(i));
    ASSERT_EQ(ids.size(), 9u) << prefix << i;
    for (const auto& [id, copies] : ids) ASSERT_EQ(copies, 1) << id;
  }
}

}  // namespace cir::testing
