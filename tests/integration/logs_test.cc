// cird's stderr is for log pipelines: every line, on every way out (a bad flag, a bad value, a
// missing topic, a clean run and SIGTERM), is one JSON object with a time, a level and a message.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "harness.h"

namespace cir::testing {
namespace {

class LogsTest : public PipelineTest {
 protected:
  // The log's lines, parsed; fails the test on any line that is not a JSON log line.
  std::vector<nlohmann::json> JsonLines() {
    std::ifstream log(dir_ / "cird.log");
    std::vector<nlohmann::json> lines;
    int number = 0;
    for (std::string line; std::getline(log, line);) {
      ++number;
      auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      EXPECT_FALSE(record.is_discarded()) << "line " << number << " is not JSON: " << line;
      if (record.is_discarded()) continue;
      EXPECT_TRUE(record.is_object()) << line;
      if (!record.is_object()) continue;
      static const std::set<std::string> kLevels = {"debug", "info", "warn", "error"};
      EXPECT_TRUE(record.contains("level") && record["level"].is_string() &&
                  kLevels.contains(record["level"].get<std::string>()))
          << "line " << number << " has no level: " << line;
      EXPECT_TRUE(record.contains("msg") && record["msg"].is_string() &&
                  !record["msg"].get<std::string>().empty())
          << "line " << number << " has no message: " << line;
      EXPECT_TRUE(record.contains("time") && record["time"].is_string()) << line;
      lines.push_back(std::move(record));
    }
    return lines;
  }

  // Runs cird with `extra` until it exits on its own; returns its exit code.
  int RunToExit(std::vector<std::string> extra) {
    auto cird = StartCird(std::move(extra));
    int status = 0;
    const bool exited =
        WaitFor([&] { return waitpid(cird->pid(), &status, WNOHANG) == cird->pid(); },
                milliseconds(20000));
    EXPECT_TRUE(exited);
    if (!exited) return -1;  // ~CirdProcess kills it
    cird->Reaped();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // The error lines' "error" fields.
  static std::vector<std::string> Errors(const std::vector<nlohmann::json>& lines) {
    std::vector<std::string> errors;
    for (const auto& line : lines) {
      if (line.value("level", "") == "error") errors.push_back(line.value("error", ""));
    }
    return errors;
  }
};

TEST_F(LogsTest, BadFlagIsOneJsonErrorLine) {
  EXPECT_EQ(RunToExit({"--no-such-flag"}), 2);
  const auto lines = JsonLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "error");
  EXPECT_EQ(lines[0]["msg"], "bad command line");
  EXPECT_NE(lines[0].value("error", "").find("--no-such-flag"), std::string::npos) << lines[0];
}

TEST_F(LogsTest, BadValueIsOneJsonErrorLine) {
  EXPECT_EQ(RunToExit({"--ready-max-lag", "-1"}), 2);
  const auto lines = JsonLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["msg"], "bad configuration");
  EXPECT_NE(lines[0].value("error", "").find("--ready-max-lag"), std::string::npos) << lines[0];
}

TEST_F(LogsTest, MissingTopicIsAJsonErrorLineAmongJsonLines) {
  EXPECT_EQ(RunToExit({"--alerts-topic", "no-such-topic"}), 2);
  const auto lines = JsonLines();
  ASSERT_FALSE(lines.empty());
  const auto errors = Errors(lines);
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.back().find("missing Kafka topics: no-such-topic"), std::string::npos)
      << errors.back();
}

TEST_F(LogsTest, CleanRunAndSigtermWriteOnlyJsonLines) {
  // librdkafka's own lines too: its consumer-group debug context at cird's debug level.
  auto cird = StartCird({"--log-level", "debug", "--kafka-property", "debug=cgrp"});
  ASSERT_GT(HttpPort(), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::ifstream log(dir_ / "cird.log");
        const std::string text((std::istreambuf_iterator<char>(log)),
                               std::istreambuf_iterator<char>());
        return text.find("\"msg\":\"partition assigned\"") != std::string::npos;
      },
      milliseconds(20000)));
  EXPECT_EQ(cird->Terminate(), 0);
  const auto lines = JsonLines();
  std::set<std::string> components;
  for (const auto& line : lines) components.insert(line.value("component", ""));
  EXPECT_GT(lines.size(), 3u);
  EXPECT_TRUE(components.contains("librdkafka")) << "no librdkafka line at debug level";
  EXPECT_TRUE(Errors(lines).empty());
}

// A port on loopback that nothing listens on: a broker that never answers.
int DeadPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Signal handlers are installed before Kafka start-up, which waits up to --startup-timeout for
// metadata: a SIGTERM while it waits stops cird at once, cleanly (exit 0, JSON lines only).
TEST_F(LogsTest, SigtermDuringStartupStopsPromptly) {
  const int port = DeadPort();
  ASSERT_GT(port, 0);
  CirdProcess cird("127.0.0.1:" + std::to_string(port), dir_ / "register", dir_ / "cird.log",
                   {"--startup-timeout", "60s"});
  ASSERT_GT(HttpPort(), 0);  // up to HTTP; the pipeline is starting (or about to)
  const auto sent = std::chrono::steady_clock::now();
  EXPECT_EQ(cird.Terminate(milliseconds(10000)), 0);
  const auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_LT(took, std::chrono::seconds(3));
  const auto lines = JsonLines();
  for (const auto& line : lines) {  // librdkafka's own lines report the refused connections
    if (line.value("component", "") != "librdkafka") {
      EXPECT_NE(line["level"], "error") << line;
    }
  }
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const nlohmann::json& line) {
    return line.value("msg", "") == "stopped during start-up (signal)";
  })) << "no start-up stop line";
}

}  // namespace
}  // namespace cir::testing
