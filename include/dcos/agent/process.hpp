#pragma once
// Launching and watching task processes. Each task runs in its own session (process group),
// so a kill reaches everything it started.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "dcos/common/result.hpp"

namespace dcos::agent {

struct LaunchSpec {
  std::vector<std::string> argv;         // argv[0] is the program (searched in PATH).
  std::vector<std::string> environment;  // "NAME=value"; the whole environment.
  std::string directory;                 // Working directory (the sandbox).
  std::string stdout_path;
  std::string stderr_path;
};

// Starts the process in a new session. Fast: posix_spawn (vfork-like), no exec in our thread.
Result<pid_t> spawn_process(const LaunchSpec& spec);

// Calls `on_exit(wait_status)` on `executor` once `pid` (a child of this process) exits, and
// reaps it. Destroying the watcher stops watching (the child is then reaped by nobody).
class ProcessWatcher {
 public:
  static Result<std::unique_ptr<ProcessWatcher>> watch(boost::asio::any_io_executor executor, pid_t pid,
                                                       std::function<void(int wait_status)> on_exit);
  ~ProcessWatcher();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Sends `signal` to the process group led by `pid`.
void signal_group(pid_t pid, int signal);

// "exited with status 3", "terminated by signal 9 (Killed)".
std::string describe_wait_status(int wait_status);

}  // namespace dcos::agent
