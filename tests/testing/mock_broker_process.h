// The standalone mock broker (cir_mock_broker, mock_broker.cc) as a child of a test: started with
// posix_spawn (not fork: a test process has librdkafka's threads, and a forked child that
// allocates before exec can deadlock on a lock one of them held), its bootstrap line read, commands
// sent on its stdin and answered on its stdout, stopped by pid. Every wait has a deadline.
//
// Thread-safety: one thread at a time.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

extern char** environ;

namespace cir::testing {

class MockBrokerProcess {
 public:
  struct Options {
    int brokers = 3;
    std::vector<std::string> topics;     // NAME:PARTITIONS:REPLICATION
    std::string log_path = "/dev/null";  // its stderr (JSON log lines), appended
    int max_lifetime_s = 300;            // it exits by itself after this
  };

  // Starts it and reads its bootstrap line (up to `timeout`). nullptr, with `error` set, when it
  // did not come up.
  static std::unique_ptr<MockBrokerProcess> Start(
      const Options& options, std::string* error,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(20000)) {
    ::signal(SIGPIPE, SIG_IGN);  // a write to a broker that died is an error, not our death
    auto broker = std::unique_ptr<MockBrokerProcess>(new MockBrokerProcess());
    std::vector<std::string> args = {CIR_MOCK_BROKER_BINARY, "--brokers",
                                     std::to_string(options.brokers), "--max-lifetime",
                                     std::to_string(options.max_lifetime_s)};
    for (const auto& t : options.topics) {
      args.push_back("--topic");
      args.push_back(t);
    }
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return Failed(error, "pipe");
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]);
      ::close(in[1]);
      return Failed(error, "pipe");
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, options.log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int rc = posix_spawn(&broker->pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    broker->to_ = in[1];
    broker->from_ = out[0];
    if (rc != 0) {
      broker->pid_ = -1;
      return Failed(error, "posix_spawn " + args[0] + ": " + std::to_string(rc));
    }
    if (!broker->ReadLine(broker->bootstraps_, timeout) || broker->bootstraps_.empty()) {
      return Failed(error, "no bootstrap line from the mock broker within the deadline");
    }
    return broker;
  }

  ~MockBrokerProcess() { Stop(std::chrono::milliseconds(5000)); }

  pid_t pid() const { return pid_; }
  const std::string& bootstraps() const { return bootstraps_; }

  // Sends one command line; returns its answer line, or "error: no answer" when none came
  // within `timeout`.
  std::string Command(const std::string& line,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    if (to_ < 0) return "error: not running";
    const std::string out = line + "\n";
    for (std::size_t done = 0; done < out.size();) {
      const ssize_t n = ::write(to_, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return "error: broker's stdin closed";
      done += static_cast<std::size_t>(n);
    }
    std::string answer;
    if (!ReadLine(answer, timeout)) return "error: no answer";
    return answer;
  }
  // True when the command was answered "ok…".
  bool Ok(const std::string& line) { return Command(line).rfind("ok", 0) == 0; }

  // Closes its stdin (it exits on end of input) and waits up to `timeout`; SIGKILL after that.
  // Returns its exit code (128 + signal when killed by one), or -1 when it was not running.
  int Stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    if (to_ >= 0) ::close(to_);
    to_ = -1;
    const int code = Wait(timeout);
    if (from_ >= 0) ::close(from_);
    from_ = -1;
    return code;
  }

  // Sends `signal` and waits like Stop.
  int Signal(int signal, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    if (pid_ > 0) ::kill(pid_, signal);
    return Stop(timeout);
  }

  // Waits for it to exit by itself (up to `timeout`, then SIGKILL).
  int Wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return -1;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    pid_t done = 0;
    while ((done = ::waitpid(pid_, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      ::usleep(20000);
    }
    if (done != pid_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  MockBrokerProcess() = default;

  static std::unique_ptr<MockBrokerProcess> Failed(std::string* error, const std::string& what) {
    if (error != nullptr) *error = what;
    return nullptr;
  }

  // One line from its stdout (without the newline), waiting up to `timeout`.
  bool ReadLine(std::string& line, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const auto eol = buffer_.find('\n'); eol != std::string::npos) {
        line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 1);
        return true;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || from_ < 0) return false;
      pollfd fd{from_, POLLIN, 0};
      const int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;
      char chunk[4096];
      const ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;  // it exited
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  std::string bootstraps_;
  std::string buffer_;
};

}  // namespace cir::testing
