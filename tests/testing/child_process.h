// Starting a child program from a test or a benchmark: posix_spawn, never fork. The calling
// process has librdkafka's threads running, and a forked child that allocates before exec (fopen,
// a vector) can deadlock on a lock one of them held at the fork; the child then never becomes the
// program and writes nothing.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <string>
#include <vector>

extern char** environ;

namespace cir::testing {

// Starts args[0] with args, its stderr to `log` (appended, or truncated first). The pid, or -1.
inline pid_t Spawn(std::vector<std::string> args, const std::string& log, bool append = true) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

}  // namespace cir::testing
