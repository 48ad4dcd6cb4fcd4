// The fixture of the API's integration suites (api_test.cc, api_clients_test.cc): a cird on the
// mock cluster that has taken in the sample scenario (60 events, three kinds of alert firing),
// its API at base_; Call/Get answer status and parsed JSON body, Ids the initiative ids a list
// returns, Circtl the real circtl's exit code and output.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"
#include "http_client.h"

namespace cir::testing {

using nlohmann::json;

struct Reply {
  int status = 0;
  json body;
};

class ApiTest : public ApiPipelineTest {
 protected:
  void SetUp() override {
    ApiPipelineTest::SetUp();
    std::ifstream in(CIR_SAMPLE_SCENARIO);
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      auto event = events::DecodeJson(line, events::Limits{});
      ASSERT_TRUE(event.has_value());
      Publish(events::EncodeEvent(*event, events::DataFormat::kJson));
    }
    FlushProducer();
    ASSERT_NO_FATAL_FAILURE(StartApi());
    base_ = "http://127.0.0.1:" + std::to_string(port_);
    ASSERT_TRUE(WaitFor(
        [&] {
          auto r = Get("/v1/register/stats");
          return r.status == 200 && r.body.value("events_appended", 0) == 60 &&
                 r.body["alerts_firing_by_kind"].size() == 3;
        },
        milliseconds(60000)));
  }
  Reply Call(const std::string& method, const std::string& path, const std::string& body = "",
             std::map<std::string, std::string> headers = {}) {
    auto reply = services::HttpCall(method, base_ + path, body, headers);
    EXPECT_TRUE(reply.has_value()) << reply.error().message;
    if (!reply) return {};
    Reply r;
    r.status = reply->status;
    r.body = json::parse(reply->body, nullptr, false);
    EXPECT_FALSE(r.body.is_discarded()) << method << " " << path << ": not JSON: " << reply->body;
    return r;
  }
  Reply Get(const std::string& path) { return Call("GET", path); }

  std::vector<std::string> Ids(const std::string& path) {
    auto r = Get(path);
    EXPECT_EQ(r.status, 200) << path << " " << r.body.dump();
    std::vector<std::string> ids;
    for (const auto& s : r.body["initiatives"]) ids.push_back(s["initiative_id"]);
    return ids;
  }

  // Runs the real circtl; returns its exit code and standard output.
  std::pair<int, std::string> Circtl(const std::string& args) {
    const std::string command = std::string(CIR_CIRCTL_BINARY) + " " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    std::string out;
    std::array<char, 4096> buffer;
    while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) out += buffer.data();
    const int status = pclose(pipe);
    return {WEXITSTATUS(status), out};
  }

  std::string base_;
};

using IdList = std::vector<std::string>;

}  // namespace cir::testing
