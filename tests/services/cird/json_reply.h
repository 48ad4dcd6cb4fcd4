// Checks on a JSON answer of cird's HTTP server (raw_http.h's RawReply), shared by the HTTP server
// and API suites.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "raw_http.h"

namespace cir::testing {

// The body parsed strictly (nlohmann rejects invalid UTF-8): a body that is not valid JSON text in
// valid UTF-8 fails the test (and gives a discarded value).
inline nlohmann::json Body(const RawReply& r) {
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.raw;
  return j;
}

// An error answer: `status`, JSON, {"error": {"code": status, "message": … message_has …}}.
inline void ExpectJsonError(const RawReply& r, int status, const std::string& message_has) {
  EXPECT_EQ(r.status, status) << r.raw;
  EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "",
            "application/json")
      << r.raw;
  const nlohmann::json j = Body(r);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r.raw;
  EXPECT_EQ(j["error"]["code"], status) << r.raw;
  EXPECT_NE(j["error"]["message"].get<std::string>().find(message_has), std::string::npos) << r.raw;
}

}  // namespace cir::testing
