// Where cird's HTTP server meets CivetWeb's C code: writing an answer, and the callbacks CivetWeb
// calls for what it refuses itself. No exception crosses into C: every callback (and
// HttpServer's request handler) runs its body through AtBoundary, which logs what was thrown.
// Private to the HTTP server.
#pragma once

#include <exception>
#include <string>

#include "cir/base/log.h"
#include "http_server.h"

struct mg_callbacks;

namespace cir::cird {

// Writes `response` (head only when `head`) and marks the connection answered; the connection
// closes after it.
void Send(mg_connection* conn, const HttpResponse& response, bool head);

// The status line's reason phrase for `status`.
[[nodiscard]] const char* Reason(int status);

// CivetWeb's callbacks: JSON error bodies for what CivetWeb refuses (unknown methods, bad
// request lines, header timeouts), answers to requests it parses but does not route, and its
// log lines as ours.
void InstallCallbacks(mg_callbacks& callbacks);

// Runs `body`; an exception it throws is logged under `what` and false is returned, so that
// nothing is thrown into CivetWeb.
template <class F>
bool AtBoundary(const char* what, F&& body) noexcept {
  try {
    body();
    return true;
  } catch (const std::exception& e) {
    try {
      log::Error(what, {{"error", e.what()}});
    } catch (...) {
    }
  } catch (...) {
    try {
      log::Error(what, {{"error", "unknown exception"}});
    } catch (...) {
    }
  }
  return false;
}

}  // namespace cir::cird
