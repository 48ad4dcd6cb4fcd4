// The body deadline of cird's HTTP server (http_server.h): a thread that shuts a request's
// socket for reading once its body has had HttpLimits::body_timeout, and the look-up of that
// socket. Private to the HTTP server.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <sys/socket.h>
#include <thread>
#include <utility>

#include "cir/base/thread_annotations.h"

struct mg_request_info;

namespace cir::cird {

// The socket CivetWeb reads this request from: the one whose peer is the client's address and
// port and whose local port is the server's. CivetWeb does not expose it; -1 when not found.
[[nodiscard]] int FindSocket(const mg_request_info* info);

// Thread-safe: Arm and Disarm may be called from any worker.
// CivetWeb's reads wait up to request_timeout for each piece of a body but never bound the
// whole: a client sending a byte now and then keeps one mg_read going for hours. The watchdog
// shuts the socket for reading at the body's deadline, which ends the read (EOF) and leaves the
// socket writable for the 408.
class BodyWatchdog {
 public:
  BodyWatchdog() : thread_([this] { Run(); }) {}
  ~BodyWatchdog() {
    {
      MutexLock lock(mu_);
      stop_ = true;
    }
    cv_.NotifyAll();
    thread_.join();
  }
  // Shuts `fd` for reading at `deadline` unless disarmed first; returns the id for Disarm.
  std::uint64_t Arm(int fd, std::chrono::steady_clock::time_point deadline) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    const std::uint64_t id = next_++;
    armed_[id] = {deadline, fd};
    cv_.NotifyAll();
    return id;
  }
  // After Disarm returns, the watchdog no longer touches the socket (it may then be closed).
  void Disarm(std::uint64_t id) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    armed_.erase(id);
  }

 private:
  void Run() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (!stop_) {
      auto next = std::chrono::steady_clock::time_point::max();
      for (auto it = armed_.begin(); it != armed_.end();) {
        if (it->second.first <= std::chrono::steady_clock::now()) {
          ::shutdown(it->second.second, SHUT_RD);
          it = armed_.erase(it);
        } else {
          next = std::min(next, it->second.first);
          ++it;
        }
      }
      if (next == std::chrono::steady_clock::time_point::max()) {
        cv_.Wait(mu_);
      } else {
        (void)cv_.WaitUntil(mu_, next);
      }
    }
  }
  Mutex mu_;
  CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::uint64_t next_ GUARDED_BY(mu_) = 1;
  std::map<std::uint64_t, std::pair<std::chrono::steady_clock::time_point, int>> armed_
      GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace cir::cird
