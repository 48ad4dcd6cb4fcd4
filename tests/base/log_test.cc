// cir/base/log.h: lines are JSON objects whatever the message holds, and protobuf's own log lines come
// through the same writer once RouteProtobufLogs is installed.
#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "cir/base/log.h"

namespace cir::log {
namespace {

nlohmann::json OnlyLine(const std::string& text) {
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "not exactly one line: " << text;
  return nlohmann::json::parse(text);
}

TEST(Log, EscapesWhatTheMessageAndFieldsHold) {
  ::testing::internal::CaptureStderr();
  Error("quote \" backslash \\ newline \n tab \t nul-free \x01 end",
        {{"key \"k\"", "v\n"}, {"n", -42}});
  const auto line = OnlyLine(::testing::internal::GetCapturedStderr());
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["msg"], "quote \" backslash \\ newline \n tab \t nul-free \x01 end");
  EXPECT_EQ(line["key \"k\""], "v\n");
  EXPECT_EQ(line["n"], -42);
  EXPECT_TRUE(line["time"].is_string());
}

TEST(Log, LinesBelowTheThresholdAreNotWritten) {
  ASSERT_EQ(MinLevel(), Level::kInfo);  // until set
  SetMinLevel(Level::kWarn);
  ::testing::internal::CaptureStderr();
  Info("quiet");
  Debug("quieter");
  Warn("loud");
  const std::string text = ::testing::internal::GetCapturedStderr();
  SetMinLevel(Level::kInfo);
  EXPECT_EQ(OnlyLine(text)["msg"], "loud");
}

TEST(Log, ProtobufLogLinesAreJsonLines) {
  RouteProtobufLogs();
  ::testing::internal::CaptureStderr();
  GOOGLE_LOG(WARNING) << "protobuf says \"hello\"";
  const auto line = OnlyLine(::testing::internal::GetCapturedStderr());
  EXPECT_EQ(line["level"], "warn");
  EXPECT_EQ(line["msg"], "protobuf says \"hello\"");
  EXPECT_EQ(line["component"], "protobuf");
  EXPECT_NE(line["file"].get<std::string>().find("log_test.cc"), std::string::npos);
  EXPECT_GT(line["line"].get<int>(), 0);

  ::testing::internal::CaptureStderr();
  GOOGLE_LOG(ERROR) << "an error";
  EXPECT_EQ(OnlyLine(::testing::internal::GetCapturedStderr())["level"], "error");
}

}  // namespace
}  // namespace cir::log
