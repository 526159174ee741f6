#include "dcos/agent/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <fmt/format.h>

namespace dcos::agent {

Result<pid_t> spawn_process(const LaunchSpec& spec) {
  if (spec.argv.empty()) return fail(Errc::invalid_argument, "spawn: empty argv");
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, spec.stdout_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, spec.stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addchdir_np(&actions, spec.directory.c_str());
  // The task must not inherit the agent's sockets (a listening port held by a task would stop a
  // restarted agent from binding it) or any other descriptor.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  // A fresh session: the task's process group is its own, and it has no controlling terminal.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) return fail(std::error_code(rc, std::system_category()), fmt::format("spawn '{}': {}", spec.argv[0], strerror(rc)));
  return pid;
}

struct ProcessWatcher::Impl {
  explicit Impl(boost::asio::any_io_executor executor) : descriptor(executor) {}
  boost::asio::posix::stream_descriptor descriptor;
  pid_t pid = 0;
  bool done = false;
};

Result<std::unique_ptr<ProcessWatcher>> ProcessWatcher::watch(boost::asio::any_io_executor executor, pid_t pid,
                                                              std::function<void(std::optional<int>)> on_exit) {
  // A pidfd becomes readable when the process exits: no SIGCHLD handler shared between agents,
  // and it works for processes that are not our children (adopted after an agent restart).
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return fail(std::error_code(errno, std::system_category()), fmt::format("pidfd_open pid={}", pid));
  auto watcher = std::unique_ptr<ProcessWatcher>(new ProcessWatcher());
  watcher->impl_ = std::make_shared<Impl>(executor);
  watcher->impl_->descriptor.assign(fd);
  watcher->impl_->pid = pid;
  std::weak_ptr<Impl> weak = watcher->impl_;
  watcher->impl_->descriptor.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                                        [weak, pid, on_exit = std::move(on_exit)](boost::system::error_code ec) {
                                          auto impl = weak.lock();
                                          if (ec || !impl) return;
                                          int status = 0;
                                          const pid_t reaped = ::waitpid(pid, &status, WNOHANG);
                                          impl->done = true;
                                          if (reaped == pid) on_exit(status);
                                          else on_exit(std::nullopt);  // Not our child: no status.
                                        });
  return watcher;
}

ProcessWatcher::~ProcessWatcher() {
  if (!impl_) return;
  boost::system::error_code ec;
  impl_->descriptor.cancel(ec);
  impl_->descriptor.close(ec);
}

void signal_group(pid_t pid, int signal) {
  if (pid > 0) ::kill(-pid, signal);
}

void signal_group(const ProcessIdentity& leader, int signal) {
  if (auto now = identify_process(leader.pid); now && now->start_time_ticks != leader.start_time_ticks) return;
  signal_group(leader.pid, signal);
}

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
  // stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...": `comm`
  // may hold spaces and parentheses, so fields are counted from the last ')'.
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  ProcStat stat;
  stat.pid = static_cast<pid_t>(std::strtol(std::string(text.substr(0, open)).c_str(), nullptr, 10));
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(close + 1);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\n')) rest.remove_prefix(1);
    if (rest.empty()) break;
    const auto end = std::min(rest.find(' '), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  // fields[0] is field 3 (state) of proc(5).
  if (fields.size() < 22) return std::nullopt;
  auto number = [&](int field) { return std::strtoull(std::string(fields[field - 3]).c_str(), nullptr, 10); };
  auto signed_number = [&](int field) { return std::strtoll(std::string(fields[field - 3]).c_str(), nullptr, 10); };
  stat.state = fields[0].empty() ? '?' : fields[0][0];
  stat.ppid = static_cast<pid_t>(signed_number(4));
  stat.pgrp = static_cast<pid_t>(signed_number(5));
  stat.session = static_cast<pid_t>(signed_number(6));
  stat.utime_ticks = number(14);
  stat.stime_ticks = number(15);
  stat.threads = signed_number(20);
  stat.start_time_ticks = number(22);
  stat.rss_pages = number(24);
  return stat;
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  return parse_proc_stat(line);
}

std::optional<ProcessIdentity> identify_process(pid_t pid) {
  auto stat = read_proc_stat(pid);
  if (!stat || stat->state == 'Z' || stat->state == 'X') return std::nullopt;
  return ProcessIdentity{pid, stat->start_time_ticks};
}

bool process_alive(const ProcessIdentity& identity) {
  auto now = identify_process(identity.pid);
  return now && now->start_time_ticks == identity.start_time_ticks;
}

std::string current_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("terminated by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("ended with wait status {}", status);
}

}  // namespace dcos::agent
