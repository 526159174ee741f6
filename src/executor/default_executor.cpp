#include "dcos/executor/default_executor.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "dcos/agent/process.hpp"
#include "dcos/common/log.hpp"
#include "dcos/executor/executor.hpp"
#include "dcos/v1/json_fields.hpp"

extern char** environ;

namespace dcos::executor {

namespace {

using v1::TaskState;

class DefaultExecutor {
 public:
  DefaultExecutor(boost::asio::io_context& io, ExecutorConfig config) : io_(io), clock_(io.get_executor()), config_(std::move(config)) {}

  int run() {
    Callbacks callbacks;
    callbacks.launch_group = [this](const nlohmann::json& group) { launch_group(group); };
    callbacks.launch = [this](const nlohmann::json& task) {
      launch_group({{"tasks", nlohmann::json::array({task})}});
    };
    callbacks.kill = [this](const TaskId& task, const nlohmann::json& policy) { kill(task.value(), policy, true); };
    callbacks.acknowledged = [this](const TaskId&, const std::string&) { maybe_exit(); };
    callbacks.shutdown = [this] {
      shutting_down_ = true;
      for (auto& [id, task] : tasks_) kill(id, nullptr, false);
      maybe_exit();
    };
    callbacks.failed = [this](const std::string& why) {
      log::get("executor")->error("default executor gives up: {}", why);
      exit_code_ = 1;
      for (auto& [id, task] : tasks_) {
        if (task.pid > 0 && !task.exited) agent::signal_group(task.pid, SIGKILL);
      }
      io_.stop();
    };
    executor_ = Executor::create(io_.get_executor(), clock_, config_, callbacks);
    executor_->start();
    io_.run();
    tasks_.clear();
    executor_->stop();
    return exit_code_;
  }

 private:
  struct Task {
    nlohmann::json info;
    int group = 0;
    pid_t pid = 0;
    bool exited = false;
    bool kill_requested = false;
    std::unique_ptr<agent::ProcessWatcher> watcher;
    std::unique_ptr<Timer> escalation;
  };

  void send(const std::string& task, TaskState state, std::string message = {}, std::string reason = {}) {
    v1::TaskStatus status;
    status.task_id = TaskId(task);
    status.state = state;
    if (!message.empty()) status.message = std::move(message);
    if (!reason.empty()) status.reason = std::move(reason);
    executor_->update(std::move(status));
  }

  void launch_group(const nlohmann::json& group) {
    const int id = ++groups_;
    std::vector<std::string> ids;
    for (const auto& info : group.value("tasks", nlohmann::json::array())) {
      const std::string task_id = info["task_id"]["value"];
      if (tasks_.contains(task_id)) continue;
      Task& task = tasks_[task_id];
      task.info = info;
      task.group = id;
      ids.push_back(task_id);
    }
    for (const std::string& task_id : ids) start(task_id);
  }

  void start(const std::string& task_id) {
    Task& task = tasks_.at(task_id);
    send(task_id, TaskState::starting);
    v1::CommandInfo command;
    try {
      command = v1::decode_command_info(v1::Fields(task.info.value("command", nlohmann::json::object()), "command."));
    } catch (const v1::DecodeError& e) {
      return fail_to_start(task_id, e.what());
    }
    if (!command.value) return fail_to_start(task_id, "Task's CommandInfo must have a 'value'");
    const std::string sandbox = config_.directory + "/tasks/" + task_id;
    std::error_code ec;
    std::filesystem::create_directories(sandbox, ec);
    agent::LaunchSpec spec;
    if (command.shell) {
      spec.argv = {"/bin/sh", "-c", *command.value};
    } else {
      spec.argv = command.arguments.empty() ? std::vector<std::string>{*command.value} : command.arguments;
      spec.argv[0] = *command.value;
    }
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
      std::string_view entry(*e);
      const auto eq = entry.find('=');
      if (eq != std::string_view::npos) env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
    }
    env.erase("DCOS_DEFAULT_EXECUTOR");
    env["MESOS_SANDBOX"] = sandbox;
    env["MESOS_TASK_ID"] = task_id;
    for (const auto& [name, value] : command.environment) env[name] = value;
    for (const auto& [name, value] : env) spec.environment.push_back(name + "=" + value);
    spec.directory = sandbox;
    spec.stdout_path = sandbox + "/stdout";
    spec.stderr_path = sandbox + "/stderr";
    auto pid = agent::spawn_process(spec);
    if (!pid) return fail_to_start(task_id, pid.error().message);
    task.pid = *pid;
    auto watcher = agent::ProcessWatcher::watch(io_.get_executor(), *pid, [this, task_id](std::optional<int> status) {
      on_exit(task_id, status);
    });
    if (!watcher) {
      agent::signal_group(*pid, SIGKILL);
      return fail_to_start(task_id, watcher.error().message);
    }
    task.watcher = std::move(*watcher);
    send(task_id, TaskState::running);
  }

  void fail_to_start(const std::string& task_id, const std::string& message) {
    Task& task = tasks_.at(task_id);
    task.exited = true;
    send(task_id, TaskState::failed, message, "REASON_CONTAINER_LAUNCH_FAILED");
    kill_group(task.group, task_id);
  }

  void on_exit(const std::string& task_id, std::optional<int> status) {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || it->second.exited) return;
    Task& task = it->second;
    task.exited = true;
    task.escalation.reset();
    const std::string how = "Command " + (status ? agent::describe_wait_status(*status) : std::string("ended"));
    TaskState state = TaskState::failed;
    std::string reason = "REASON_COMMAND_EXECUTOR_FAILED";
    if (task.kill_requested) {
      state = TaskState::killed;
      reason.clear();
    } else if (status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) {
      state = TaskState::finished;
      reason.clear();
    }
    send(task_id, state, how, reason);
    // A group lives and dies together (Mesos default executor).
    if (state != TaskState::finished) kill_group(task.group, task_id);
    // Release the watcher from outside its own callback.
    boost::asio::post(io_, [this, task_id] {
      if (auto t = tasks_.find(task_id); t != tasks_.end()) t->second.watcher.reset();
      maybe_exit();
    });
  }

  void kill_group(int group, const std::string& except) {
    for (auto& [id, task] : tasks_) {
      if (task.group == group && id != except) kill(id, nullptr, false);
    }
  }

  void kill(const std::string& task_id, const nlohmann::json& policy, bool whole_group) {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) return;
    Task& task = it->second;
    if (task.exited || task.kill_requested) return;
    task.kill_requested = true;
    Duration grace = std::chrono::seconds(3);
    const nlohmann::json& source = policy.is_object() ? policy : task.info.value("kill_policy", nlohmann::json());
    if (source.is_object() && source.contains("grace_period")) {
      grace = Duration(source["grace_period"].value("nanoseconds", static_cast<std::int64_t>(grace.count())));
    }
    if (task.pid > 0) {
      agent::signal_group(task.pid, SIGTERM);
      const pid_t pid = task.pid;
      task.escalation = clock_.schedule(grace, [pid] { agent::signal_group(pid, SIGKILL); });
    }
    if (whole_group) kill_group(task.group, task_id);
  }

  void maybe_exit() {
    const bool idle = std::all_of(tasks_.begin(), tasks_.end(), [](const auto& entry) { return entry.second.exited; });
    if ((shutting_down_ || (groups_ > 0 && idle)) && idle && executor_->core().unacknowledged_updates() == 0) io_.stop();
  }

  boost::asio::io_context& io_;
  SystemClock clock_;
  ExecutorConfig config_;
  std::shared_ptr<Executor> executor_;
  std::map<std::string, Task> tasks_;
  int groups_ = 0;
  bool shutting_down_ = false;
  int exit_code_ = 0;
};

}  // namespace

int run_default_executor() {
  auto config = ExecutorConfig::from_environment();
  if (!config) {
    std::fprintf(stderr, "default executor: %s\n", config.error().message.c_str());
    return 2;
  }
  boost::asio::io_context io(1);
  DefaultExecutor executor(io, *config);
  return executor.run();
}

}  // namespace dcos::executor
