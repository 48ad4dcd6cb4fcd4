// The real circtl binary run from a test: what the integration tests compare cird with
// (`circtl replay` of the same input) and check its register with (`circtl verify`). Each call
// appends circtl's stderr to `<work>/circtl.log`. Header-only; needs gtest and protobuf.
#pragma once

#include <gtest/gtest.h>
#include <google/protobuf/util/json_util.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cir/v1/improvement.pb.h"
#include "cir/v1/value_chain.pb.h"

namespace cir::testing {

class CirctlRunner {
 public:
  // `binary`: circtl's path; `work`: the test's directory (logs, replay input and register).
  CirctlRunner(std::string binary, std::filesystem::path work)
      : binary_(std::move(binary)), work_(std::move(work)) {}

  // Runs circtl with `args`; returns its exit code (-1 when it did not exit) and standard output.
  std::pair<int, std::string> Run(const std::string& args) const {
    const std::string command =
        binary_ + " " + args + " 2>>" + (work_ / "circtl.log").string();
    FILE* pipe = popen(command.c_str(), "r");
    std::string out;
    if (pipe == nullptr) return {-1, out};
    std::array<char, 4096> buffer;
    while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) out += buffer.data();
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  }

  // `circtl replay` of `events` (written as JSON lines to <work>/input.jsonl) into a register of
  // its own (<work>/replay): every output, by id. A failed replay fails the test.
  std::map<std::string, v1::Output> Replay(const std::vector<v1::ValueChainEvent>& events) const {
    const std::filesystem::path file = work_ / "input.jsonl";
    {
      std::ofstream out(file);
      for (const auto& e : events) {
        std::string json;
        EXPECT_TRUE(google::protobuf::util::MessageToJsonString(e, &json).ok());
        out << json << "\n";
      }
    }
    auto [code, out] = Run("replay --data-dir " + (work_ / "replay").string() + " " + file.string());
    EXPECT_EQ(code, 0) << "circtl replay failed";
    std::map<std::string, v1::Output> outputs;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      v1::Output output;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &output).ok()) << line;
      outputs[output.has_transition() ? output.transition().id() : output.alert().id()] = output;
    }
    return outputs;
  }

  // `circtl verify` of the register at `data_dir` (cird stopped): true when it exits 0 saying
  // "register OK"; `report` gets its output.
  bool Verify(const std::filesystem::path& data_dir, std::string* report = nullptr) const {
    auto [code, out] = Run("verify --data-dir " + data_dir.string());
    if (report != nullptr) *report = out;
    return code == 0 && out.find("register OK") != std::string::npos;
  }

 private:
  std::string binary_;
  std::filesystem::path work_;
};

}  // namespace cir::testing
