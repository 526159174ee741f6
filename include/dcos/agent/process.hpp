#pragma once
// Launching and watching task and executor processes. Each runs in its own session (process
// group), so a kill reaches everything it started. Processes are identified across agent
// restarts by pid plus start time (`ProcessIdentity`), which a recycled pid cannot fake.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

// Calls `on_exit(wait_status)` on `executor` once `pid` exits. If `pid` is a child of this
// process it is reaped and its wait status passed; if it is not (a process adopted after an
// agent restart), `on_exit` gets nullopt. Destroying the watcher stops watching (a child is
// then reaped by nobody until another watcher is made for it).
class ProcessWatcher {
 public:
  static Result<std::unique_ptr<ProcessWatcher>> watch(boost::asio::any_io_executor executor, pid_t pid,
                                                       std::function<void(std::optional<int> wait_status)> on_exit);
  ~ProcessWatcher();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Sends `signal` to the process group led by `pid`.
void signal_group(pid_t pid, int signal);

// "exited with status 3", "terminated by signal 9 (Killed)".
std::string describe_wait_status(int wait_status);

// The fields of `/proc/<pid>/stat` the agent uses (proc(5)).
struct ProcStat {
  pid_t pid = 0;
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::int64_t threads = 0;
  std::uint64_t start_time_ticks = 0;  // Since boot.
  std::uint64_t rss_pages = 0;
};
// Parses one `/proc/<pid>/stat` line; nullopt when malformed. Pure.
std::optional<ProcStat> parse_proc_stat(std::string_view text);
// Reads `/proc/<pid>/stat`; nullopt when the process does not exist.
std::optional<ProcStat> read_proc_stat(pid_t pid);

// Who a process is: a pid alone can be recycled, pid plus start time cannot (within a boot).
struct ProcessIdentity {
  pid_t pid = 0;
  std::uint64_t start_time_ticks = 0;
  bool operator==(const ProcessIdentity&) const = default;
};
// The identity of a running process; nullopt if it is gone.
std::optional<ProcessIdentity> identify_process(pid_t pid);
// True when the process `identity` names still runs (and is not a zombie).
bool process_alive(const ProcessIdentity& identity);
// `signal_group` for a group whose leader is `leader`, unless `leader.pid` now names another
// process: the leader was reaped and its pid reused, so its group is gone (Linux does not reuse
// a pid still in use as a group id), and the signal would hit a stranger's group.
void signal_group(const ProcessIdentity& leader, int signal);

// This boot's id (`/proc/sys/kernel/random/boot_id`), empty if unreadable.
std::string current_boot_id();

}  // namespace dcos::agent
