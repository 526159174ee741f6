// Executors and tasks on the agent: launching command tasks (the fast path) and custom executor
// processes, handing tasks to executors, kills, shutdowns, and what happens when a process ends.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include "dcos/agent/agent.hpp"
#include "dcos/agent/fetcher.hpp"
#include "dcos/agent/health_check.hpp"
#include "dcos/common/duration.hpp"
#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/http/recordio.hpp"
#include "dcos/v1/json_fields.hpp"

extern char** environ;

namespace dcos::agent {

namespace fs = std::filesystem;
using v1::TaskState;

namespace {

// Runs a checkpointed command task and records how it ended in `$1`, so that an agent restarted
// meanwhile (no longer its parent, so unable to wait for it) still learns the exit status. It
// stays alive through SIGTERM (the task gets it too, from the group kill) and then ends the way
// the task did, so a parent agent sees the task's own wait status.
constexpr const char* task_wrapper_script =
    "status_file=$1; shift\n"
    "trap : TERM INT HUP QUIT\n"
    "\"$@\"\n"
    "code=$?\n"
    "if [ $code -gt 128 ]; then echo \"signal $((code - 128))\" > \"$status_file.tmp\";"
    " else echo \"exit $code\" > \"$status_file.tmp\"; fi\n"
    "mv -f \"$status_file.tmp\" \"$status_file\"\n"
    "if [ $code -gt 128 ]; then trap - TERM INT HUP QUIT; kill -$((code - 128)) $$; fi\n"
    "exit $code\n";

std::optional<Duration> grace_period_of(const nlohmann::json& executor_info) {
  const auto* grace = executor_info.is_object() && executor_info.contains("shutdown_grace_period")
                          ? &executor_info["shutdown_grace_period"]
                          : nullptr;
  if (!grace || !grace->is_object() || !grace->contains("nanoseconds")) return std::nullopt;
  try {
    const auto& ns = (*grace)["nanoseconds"];
    return Duration(ns.is_string() ? std::stoll(ns.get<std::string>()) : ns.get<std::int64_t>());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string> command_argv(const v1::CommandInfo& command) {
  if (command.shell) return {"/bin/sh", "-c", command.value.value_or("")};
  std::vector<std::string> argv = command.arguments.empty() ? std::vector<std::string>{command.value.value_or("")}
                                                            : command.arguments;
  argv[0] = command.value.value_or(argv[0]);
  return argv;
}

}  // namespace

Agent::FrameworkRecord& Agent::note_framework(const nlohmann::json& run_json) {
  const FrameworkId framework_id(run_json.at("framework_id").at("value").get<std::string>());
  v1::FrameworkInfo framework_info = v1::decode_framework_info(v1::Fields(run_json.at("framework_info"), "framework_info."));
  framework_info.id = framework_id;
  const bool known = frameworks_.contains(framework_id);
  FrameworkRecord& framework = frameworks_[framework_id];
  framework.info = framework_info;
  framework.removed = false;
  if (framework_info.checkpoint && !known) checkpoint_framework(framework_id);
  return framework;
}

void Agent::run_task(const nlohmann::json& run_json) {
  FrameworkRecord& framework = note_framework(run_json);
  const FrameworkId framework_id = *framework.info.id;
  v1::TaskInfo info = v1::decode_task_info(v1::Fields(run_json.at("task"), "task."));
  if (task_runs_.contains({framework_id, info.task_id})) return;  // A duplicate launch.

  if (info.command) {
    // The fast path: the agent runs the command itself, as Mesos's command executor would.
    const ExecutorId executor_id(info.task_id.value());
    nlohmann::json executor_info = {
        {"executor_id", executor_id},
        {"framework_id", framework_id},
        {"name", fmt::format("Command Executor (Task: {}) (Command: sh -c '{}')", info.task_id,
                             info.command->value.value_or("").substr(0, 64))},
        {"source", info.task_id.value()},
        {"command", v1::to_json(*info.command)}};
    ExecutorRun& run = create_run(framework_id, executor_id, std::move(executor_info), /*command_task=*/true);
    TaskRun& task = run.tasks[info.task_id];
    task.info = std::move(info);
    task_runs_[{framework_id, task.info.task_id}] = run.container_id;
    checkpoint_task(run, task);
    report(run, task, TaskState::starting, std::nullopt, std::nullopt, "SOURCE_EXECUTOR");
    start_run(run);
    return;
  }

  // A custom executor: validate its ExecutorInfo, then reuse its current run or start one.
  nlohmann::json executor_info = info.executor;
  std::string problem;
  std::optional<v1::CommandInfo> executor_command;
  ExecutorId executor_id;
  try {
    v1::Fields fields(executor_info, "executor.");
    executor_id = ExecutorId(fields.required("executor_id", fields.id("executor_id")));
    if (auto command = fields.object("command")) executor_command = v1::decode_command_info(*command);
    fields.done();
    if (auto p = id_problem(executor_id.value()); !p.empty()) problem = "Executor ID is invalid: " + p;
    else if (!executor_command || !executor_command->value) problem = "Executor's CommandInfo must have a 'value'";
  } catch (const v1::DecodeError& e) {
    problem = e.what();
  }
  executor_info["framework_id"] = framework_id;
  ExecutorRun* run = problem.empty() ? find_run(framework_id, executor_id) : nullptr;
  if (!run) {
    if (!problem.empty()) executor_id = ExecutorId(info.task_id.value());
    run = &create_run(framework_id, executor_id, executor_info, /*command_task=*/false);
  }
  TaskRun& task = run->tasks[info.task_id];
  task.info = std::move(info);
  task_runs_[{framework_id, task.info.task_id}] = run->container_id;
  if (!problem.empty()) {
    run->state = RunState::terminated;
    report(*run, task, TaskState::failed, problem, "REASON_TASK_INVALID", "SOURCE_AGENT");
    return;
  }
  if (run->state == RunState::terminating || run->state == RunState::terminated) {
    const bool partition_aware = framework.info.has_capability("PARTITION_AWARE");
    report(*run, task, partition_aware ? TaskState::dropped : TaskState::lost,
           "Executor terminating/terminated", "REASON_EXECUTOR_TERMINATED", "SOURCE_AGENT");
    return;
  }
  if (run->state == RunState::running && run->stream && !run->stream->closed()) {
    send_launch(*run, task);
  } else {
    run->queued.push_back(task.info.task_id);
  }
  if (run->pid == 0 && !run->fetcher && run->state == RunState::launching) start_run(*run);
}

void Agent::run_task_group(const nlohmann::json& run_json) {
  FrameworkRecord& framework = note_framework(run_json);
  const FrameworkId framework_id = *framework.info.id;
  nlohmann::json executor_info = run_json.at("executor");
  std::vector<v1::TaskInfo> infos;
  for (const auto& t : run_json.at("task_group").value("tasks", nlohmann::json::array())) {
    v1::TaskInfo info = v1::decode_task_info(v1::Fields(t, "task_group.tasks."));
    if (!task_runs_.contains({framework_id, info.task_id})) infos.push_back(std::move(info));
  }
  if (infos.empty()) return;
  std::string problem;
  ExecutorId executor_id;
  try {
    v1::Fields fields(executor_info, "executor.");
    executor_id = ExecutorId(fields.required("executor_id", fields.id("executor_id")));
    fields.done();
    if (auto p = id_problem(executor_id.value()); !p.empty()) problem = "Executor ID is invalid: " + p;
    else if (executor_info.value("type", "DEFAULT") != "DEFAULT") problem = "Task groups need an executor of type DEFAULT";
  } catch (const v1::DecodeError& e) {
    problem = e.what();
  }
  executor_info["framework_id"] = framework_id;
  executor_info["type"] = "DEFAULT";
  if (!executor_info.contains("name")) executor_info["name"] = "Default Executor";
  // The agent supplies the default executor's command (as Mesos does for DEFAULT executors).
  nlohmann::json arguments = config_.default_executor;
  executor_info["command"] = {{"shell", false},
                              {"value", config_.default_executor.front()},
                              {"arguments", arguments},
                              {"environment", {{"variables", {{{"name", "DCOS_DEFAULT_EXECUTOR"}, {"value", "1"}}}}}}};
  ExecutorRun* run = problem.empty() ? find_run(framework_id, executor_id) : nullptr;
  if (!run) {
    if (!problem.empty()) executor_id = ExecutorId(infos.front().task_id.value());
    run = &create_run(framework_id, executor_id, executor_info, /*command_task=*/false);
  }
  std::vector<TaskId> ids;
  for (v1::TaskInfo& info : infos) {
    TaskRun& task = run->tasks[info.task_id];
    task.info = std::move(info);
    task_runs_[{framework_id, task.info.task_id}] = run->container_id;
    ids.push_back(task.info.task_id);
  }
  const bool ended = run->state == RunState::terminating || run->state == RunState::terminated;
  if (!problem.empty() || ended) {
    const bool partition_aware = framework.info.has_capability("PARTITION_AWARE");
    if (!problem.empty()) run->state = RunState::terminated;
    for (const TaskId& id : ids) {
      TaskRun& task = run->tasks.at(id);
      if (!problem.empty()) report(*run, task, TaskState::failed, problem, "REASON_TASK_GROUP_INVALID", "SOURCE_AGENT");
      else report(*run, task, partition_aware ? TaskState::dropped : TaskState::lost, "Executor terminating/terminated",
                  "REASON_EXECUTOR_TERMINATED", "SOURCE_AGENT");
    }
    return;
  }
  if (run->state == RunState::running && run->stream && !run->stream->closed()) {
    send_launch_group(*run, ids);
  } else {
    run->queued_groups.push_back(ids);
  }
  if (run->pid == 0 && !run->fetcher && run->state == RunState::launching) start_run(*run);
}

void Agent::send_launch_group(ExecutorRun& run, const std::vector<TaskId>& ids) {
  nlohmann::json tasks = nlohmann::json::array();
  for (const TaskId& id : ids) {
    auto it = run.tasks.find(id);
    if (it == run.tasks.end() || is_terminal(it->second.state)) continue;
    it->second.launched = true;
    checkpoint_task(run, it->second);
    tasks.push_back(v1::to_json(it->second.info));
  }
  if (tasks.empty()) return;
  send_event(run, {{"type", "LAUNCH_GROUP"}, {"launch_group", {{"task_group", {{"tasks", tasks}}}}}});
}

Agent::ExecutorRun& Agent::create_run(const FrameworkId& framework, const ExecutorId& executor, nlohmann::json info,
                                      bool command_task, std::string container_id) {
  if (container_id.empty()) container_id = random_uuid_string();
  auto owned = std::make_unique<ExecutorRun>();
  ExecutorRun& run = *owned;
  run.framework_id = framework;
  run.id = executor;
  run.container_id = container_id;
  run.info = std::move(info);
  run.command_task = command_task;
  auto record = frameworks_.find(framework);
  run.checkpoint = record != frameworks_.end() && record->second.info.checkpoint;
  run.sandbox = layout().sandbox(id_, framework, executor, container_id);
  if (run.checkpoint) run.meta = layout().run_meta(id_, framework, executor, container_id);
  run.started = clock_.now();
  std::error_code ec;
  fs::create_directories(run.sandbox, ec);
  replace_symlink(container_id, layout().executor_sandboxes(id_, framework, executor) + "/latest");
  attached_[fmt::format("/frameworks/{}/executors/{}/runs/latest", framework, executor)] = run.sandbox;
  attached_[run.sandbox] = run.sandbox;
  gc_.unschedule(run.sandbox);
  active_runs_[{framework, executor}] = container_id;
  runs_[container_id] = std::move(owned);
  checkpoint_run(run);
  return run;
}

void Agent::start_run(ExecutorRun& run) {
  std::optional<v1::CommandInfo> command;
  try {
    command = v1::decode_command_info(v1::Fields(run.info.value("command", nlohmann::json::object()), "command."));
  } catch (const v1::DecodeError&) {
  }
  if (!command || command->uris.is_null() || command->uris.empty()) return launch_process(run);
  auto uris = parse_uris(command->uris);
  auto fail_fetch = [this](ExecutorRun& r, const std::string& message) {
    r.fetcher.reset();
    r.state = RunState::terminated;
    for (auto& [id, task] : r.tasks) {
      if (!is_terminal(task.state)) {
        report(r, task, TaskState::failed, "Failed to fetch URIs: " + message, "REASON_CONTAINER_LAUNCH_FAILED",
               "SOURCE_AGENT");
      }
    }
    r.queued.clear();
    finish_run_if_done(r);
  };
  if (!uris) return fail_fetch(run, uris.error().message);
  const std::string container_id = run.container_id;
  run.fetcher = Fetcher::start(executor_, std::move(*uris), run.sandbox,
                               [this, container_id, alive = alive_, fail_fetch](Result<void> fetched) {
                                 if (!*alive) return;
                                 auto it = runs_.find(container_id);
                                 if (it == runs_.end() || it->second->state != RunState::launching) return;
                                 ExecutorRun& r = *it->second;
                                 r.fetcher.reset();
                                 if (!fetched) return fail_fetch(r, fetched.error().message);
                                 launch_process(r);
                               });
}

std::vector<std::string> Agent::executor_environment(const ExecutorRun& run) const {
  // reference/mesos-api.md §2.1 (Mesos `executorEnvironment()`): the flag's variables, else the
  // agent's whole environment; then the agent's own, which win.
  std::map<std::string, std::string> env;
  if (config_.executor_environment_variables) {
    env = *config_.executor_environment_variables;
  } else {
    for (char** e = environ; e && *e; ++e) {
      std::string_view entry(*e);
      const auto eq = entry.find('=');
      if (eq != std::string_view::npos) env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
    }
  }
  // LIBPROCESS_IP is copied from the agent's environment only when set there.
  const char* libprocess_ip = std::getenv("LIBPROCESS_IP");
  env.erase("LIBPROCESS_IP");
  if (libprocess_ip) env["LIBPROCESS_IP"] = libprocess_ip;
  env["LIBPROCESS_PORT"] = "0";
  env["MESOS_FRAMEWORK_ID"] = run.framework_id.value();
  env["MESOS_EXECUTOR_ID"] = run.id.value();
  env["MESOS_DIRECTORY"] = run.sandbox;
  env["MESOS_SANDBOX"] = run.sandbox;  // No container image: the host path.
  env["MESOS_SLAVE_ID"] = id_.value();
  env["MESOS_SLAVE_PID"] = fmt::format("slave(1)@{}:{}", config_.ip, config_.port);
  env["MESOS_AGENT_ENDPOINT"] = fmt::format("{}:{}", config_.ip, config_.port);
  env["MESOS_CHECKPOINT"] = run.checkpoint ? "1" : "0";
  env["MESOS_HTTP_COMMAND_EXECUTOR"] = config_.http_command_executor ? "1" : "0";
  env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] =
      format_duration(grace_period_of(run.info).value_or(config_.executor_shutdown_grace_period));
  if (run.checkpoint) {
    env["MESOS_RECOVERY_TIMEOUT"] = format_duration(config_.recovery_timeout);
    env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = format_duration(config_.executor_reregistration_timeout);
  } else {
    env.erase("MESOS_RECOVERY_TIMEOUT");
    env.erase("MESOS_SUBSCRIPTION_BACKOFF_MAX");
  }
  if (run.command_task) {
    // What a command task sees beyond its executor's environment.
    env["MESOS_TASK_ID"] = run.id.value();
    env["MESOS_CONTAINER_ID"] = run.container_id;
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

void Agent::launch_process(ExecutorRun& run) {
  v1::CommandInfo command;
  try {
    command = v1::decode_command_info(v1::Fields(run.info.value("command", nlohmann::json::object()), "command."));
  } catch (const v1::DecodeError&) {
  }
  LaunchSpec spec;
  spec.argv = command_argv(command);
  if (run.command_task && run.checkpoint) {
    std::vector<std::string> wrapped = {"/bin/sh", "-c", task_wrapper_script, "dcos-task",
                                        run.meta + "/" + std::string(exit_status_file)};
    wrapped.insert(wrapped.end(), spec.argv.begin(), spec.argv.end());
    spec.argv = std::move(wrapped);
  }
  spec.environment = executor_environment(run);
  // The command's own variables come last and win (the containerizer's order).
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < spec.environment.size(); ++i) index[spec.environment[i].substr(0, spec.environment[i].find('='))] = i;
  for (const auto& [name, value] : command.environment) {
    if (auto it = index.find(name); it != index.end()) spec.environment[it->second] = name + "=" + value;
    else spec.environment.push_back(name + "=" + value);
  }
  spec.directory = run.sandbox;
  spec.stdout_path = run.sandbox + "/stdout";
  spec.stderr_path = run.sandbox + "/stderr";
  auto pid = spawn_process(spec);
  if (!pid) {
    run.state = RunState::terminated;
    for (auto& [id, task] : run.tasks) {
      if (!is_terminal(task.state)) {
        report(run, task, TaskState::failed, pid.error().message, "REASON_CONTAINER_LAUNCH_FAILED", "SOURCE_AGENT");
      }
    }
    run.queued.clear();
    finish_run_if_done(run);
    return;
  }
  run.pid = *pid;
  if (auto stat = read_proc_stat(*pid)) run.identity = ProcessIdentity{*pid, stat->start_time_ticks};
  checkpoint_pid(run);
  write_runtime_record(run);
  log::get("agent")->debug("launched framework={} executor={} container={} pid={}", run.framework_id, run.id,
                           run.container_id, *pid);
  if (run.command_task) {
    run.state = RunState::running;
    watch_process(run);
    for (auto& [id, task] : run.tasks) {
      if (is_terminal(task.state)) continue;
      task.launched = true;
      report(run, task, TaskState::running, std::nullopt, std::nullopt, "SOURCE_EXECUTOR");
      start_health_check(run, task);
    }
    return;
  }
  run.state = RunState::registering;
  const std::string container_id = run.container_id;
  run.registration_timer = clock_.schedule(config_.executor_registration_timeout,
                                           [this, container_id] { on_registration_timeout(container_id); });
  watch_process(run);
}

void Agent::watch_process(ExecutorRun& run) {
  const std::string container_id = run.container_id;
  auto watcher = ProcessWatcher::watch(executor_, run.pid, [this, container_id, alive = alive_](std::optional<int> status) {
    if (*alive) on_process_exit(container_id, status);
  });
  if (watcher) {
    run.watcher = std::move(*watcher);
    return;
  }
  // Gone already (or unwatchable): handle the exit from the event loop, not from inside a caller.
  boost::asio::post(executor_, [this, container_id, alive = alive_] {
    if (*alive) on_process_exit(container_id, std::nullopt);
  });
}

void Agent::on_registration_timeout(const std::string& container_id) {
  auto it = runs_.find(container_id);
  if (it == runs_.end()) return;
  ExecutorRun& run = *it->second;
  if (run.state != RunState::registering) return;
  log::get("agent")->warn("executor did not register in time framework={} executor={} timeout={}", run.framework_id,
                          run.id, format_duration(config_.executor_registration_timeout));
  run.termination_reason = "REASON_EXECUTOR_REGISTRATION_TIMEOUT";
  run.termination_message = fmt::format("Executor did not register within {}",
                                        format_duration(config_.executor_registration_timeout));
  destroy(run);
}

void Agent::on_process_exit(const std::string& container_id, std::optional<int> wait_status) {
  auto it = runs_.find(container_id);
  if (it == runs_.end()) return;
  ExecutorRun& run = *it->second;
  if (run.exited) return;
  run.exited = true;
  run.watcher.reset();
  run.registration_timer.reset();
  run.kill_timer.reset();
  run.heartbeat_timer.reset();
  run.health.reset();
  if (run.stream) {
    run.stream->close();
    run.stream.reset();
  }
  remove_runtime_record(run);
  if (!wait_status && run.command_task && run.checkpoint) {
    // Not our child (adopted after a restart): the wrapper wrote how the task ended.
    if (auto text = read_file(run.meta + "/" + std::string(exit_status_file))) wait_status = parse_exit_status(*text);
  }
  const std::string how = wait_status ? describe_wait_status(*wait_status) : "ended (exit status unknown)";
  log::get("agent")->info("{} exited framework={} executor={} container={} {}",
                          run.command_task ? "task" : "executor", run.framework_id, run.id, container_id, how);
  const bool removed = frameworks_.contains(run.framework_id) && frameworks_.at(run.framework_id).removed;
  run.state = RunState::terminated;
  if (run.checkpoint && !removed) {
    if (auto written = write_atomically(run.meta + "/" + std::string(sentinel_file), ""); !written) {
      log::get("agent")->error("checkpoint failed error={}", written.error().message);
    }
  }
  if (removed) {
    run.tasks.clear();
    run.queued.clear();
    return finish_run_if_done(run);
  }
  for (auto& [id, task] : run.tasks) {
    if (is_terminal(task.state)) continue;
    if (run.command_task) {
      const std::optional<bool> healthy = run.health_killed ? std::optional<bool>(false) : std::nullopt;
      if (run.termination_reason) {
        report(run, task, TaskState::failed, run.termination_message, run.termination_reason, "SOURCE_AGENT");
      } else if (task.kill_requested) {
        report(run, task, TaskState::killed, "Command " + how,
               run.health_killed ? "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED" : "REASON_TASK_KILLED", "SOURCE_EXECUTOR",
               healthy);
      } else if (wait_status && WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0) {
        report(run, task, TaskState::finished, "Command " + how, std::nullopt, "SOURCE_EXECUTOR");
      } else {
        report(run, task, TaskState::failed, "Command " + how,
               wait_status ? "REASON_COMMAND_EXECUTOR_FAILED" : "REASON_EXECUTOR_TERMINATED", "SOURCE_EXECUTOR");
      }
    } else if (run.termination_reason) {
      report(run, task, TaskState::failed, run.termination_message, run.termination_reason, "SOURCE_AGENT");
    } else if (task.kill_requested) {
      report(run, task, TaskState::killed, "Executor " + how + " while the task was being killed",
             "REASON_EXECUTOR_TERMINATED", "SOURCE_AGENT");
    } else {
      report(run, task, TaskState::failed, "Executor " + how, "REASON_EXECUTOR_TERMINATED", "SOURCE_AGENT");
    }
  }
  run.queued.clear();
  run.queued_groups.clear();
  finish_run_if_done(run);
}

void Agent::kill_task(const FrameworkId& framework, const TaskId& task_id, std::optional<Duration> grace) {
  ExecutorRun* run = run_of_task(framework, task_id);
  if (!run) return;
  auto it = run->tasks.find(task_id);
  if (it == run->tasks.end()) return;
  TaskRun& task = it->second;
  if (is_terminal(task.state)) return;
  task.kill_requested = true;
  if (grace) task.kill_grace = grace;
  if (run->command_task) {
    if (run->pid <= 0 || !task.launched || run->exited) {
      run->fetcher.reset();
      run->state = RunState::terminated;
      report(*run, task, TaskState::killed, "Killed before it started", "REASON_TASK_KILLED_DURING_LAUNCH",
             "SOURCE_AGENT");
      return;
    }
    // SIGTERM first; SIGKILL once the grace period passes (task kill policy, KILL override, 3 s).
    const Duration period = grace.value_or(task.info.kill_grace_period.value_or(config_.default_kill_grace_period));
    signal_run(*run, SIGTERM);
    const std::string container_id = run->container_id;
    run->kill_timer = clock_.schedule(period, [this, container_id] {
      if (auto it = runs_.find(container_id); it != runs_.end() && !it->second->exited) signal_run(*it->second, SIGKILL);
    });
    return;
  }
  if (!task.launched) {
    // Still queued: it never reaches the executor. A queued task group goes whole, as in Mesos:
    // its tasks were to live and die together.
    std::vector<TaskId> killed = {task_id};
    for (auto& group : run->queued_groups) {
      if (std::find(group.begin(), group.end(), task_id) != group.end()) killed = std::exchange(group, {});
    }
    std::erase_if(run->queued_groups, [](const auto& group) { return group.empty(); });
    std::erase(run->queued, task_id);
    for (const TaskId& id : killed) {
      auto queued = run->tasks.find(id);
      if (queued == run->tasks.end() || is_terminal(queued->second.state)) continue;
      report(*run, queued->second, TaskState::killed, "Killed before it was delivered to the executor",
             "REASON_TASK_KILLED_DURING_LAUNCH", "SOURCE_AGENT");
    }
    const bool idle = std::all_of(run->tasks.begin(), run->tasks.end(),
                                  [](const auto& entry) { return is_terminal(entry.second.state); });
    // An executor that never got a task has nothing to do (Mesos shuts it down too).
    if (idle && (run->state == RunState::registering || run->state == RunState::launching)) shutdown_executor(*run);
    return;
  }
  nlohmann::json kill = {{"task_id", task_id}};
  if (grace) kill["kill_policy"] = {{"grace_period", {{"nanoseconds", grace->count()}}}};
  else if (task.info.kill_grace_period) kill["kill_policy"] = {{"grace_period", {{"nanoseconds", task.info.kill_grace_period->count()}}}};
  // Sent now if subscribed; otherwise again when the executor (re-)subscribes.
  send_event(*run, {{"type", "KILL"}, {"kill", kill}});
}

void Agent::shutdown_executor(ExecutorRun& run, std::optional<std::string> reason, std::string message) {
  if (run.state == RunState::terminated || run.state == RunState::terminating) return;
  if (reason) {
    run.termination_reason = std::move(reason);
    run.termination_message = std::move(message);
  }
  log::get("agent")->info("shutting down executor framework={} executor={}", run.framework_id, run.id);
  if (run.state == RunState::launching && run.pid == 0) {
    // Still fetching: nothing runs yet.
    run.fetcher.reset();
    run.state = RunState::terminated;
    for (auto& [id, task] : run.tasks) {
      if (!is_terminal(task.state)) {
        report(run, task, TaskState::killed, "Executor shut down before it started", "REASON_TASK_KILLED_DURING_LAUNCH",
               "SOURCE_AGENT");
      }
    }
    run.queued.clear();
    return finish_run_if_done(run);
  }
  const bool subscribed = run.stream && !run.stream->closed();
  run.state = RunState::terminating;
  if (!subscribed || run.command_task) return destroy(run);
  send_event(run, {{"type", "SHUTDOWN"}});
  // Whatever is left after the grace period is killed (Mesos `shutdownExecutorTimeout`).
  const std::string container_id = run.container_id;
  run.kill_timer = clock_.schedule(grace_period_of(run.info).value_or(config_.executor_shutdown_grace_period),
                                   [this, container_id] {
                                     if (auto it = runs_.find(container_id); it != runs_.end()) destroy(*it->second);
                                   });
}

void Agent::destroy(ExecutorRun& run) {
  if (run.state != RunState::terminated) run.state = RunState::terminating;
  if (run.pid > 0 && !run.exited) signal_run(run, SIGKILL);
}

void Agent::signal_run(const ExecutorRun& run, int signal) const {
  // A checkpointed run's process is not the agent's child: once it exits, init reaps it at once
  // and its pid may be reused before the agent hears of the exit.
  if (run.identity) return signal_group(*run.identity, signal);
  signal_group(run.pid, signal);
}

void Agent::shutdown_framework(const FrameworkId& framework) {
  drop_operation_updates(framework);
  auto record = frameworks_.find(framework);
  if (record == frameworks_.end()) return;
  record->second.removed = true;
  const bool checkpoint = record->second.info.checkpoint;
  updates_.remove_framework(framework);
  std::vector<std::string> containers;
  for (const auto& [cid, run] : runs_) {
    if (run->framework_id == framework) containers.push_back(cid);
  }
  for (const std::string& cid : containers) {
    auto it = runs_.find(cid);
    if (it == runs_.end()) continue;
    ExecutorRun& run = *it->second;
    for (auto& [id, task] : run.tasks) task.kill_requested = true;
    if (run.pid > 0 && !run.exited) {
      if (run.command_task) destroy(run);
      else shutdown_executor(run);
    } else {
      run.fetcher.reset();
      run.state = RunState::terminated;
      run.tasks.clear();
      run.queued.clear();
      finish_run_if_done(run);
    }
  }
  if (checkpoint) {
    // Nothing of it is to be recovered any more.
    std::error_code ec;
    fs::remove_all(layout().framework_meta(id_, framework), ec);
  }
  if (std::none_of(runs_.begin(), runs_.end(), [&](const auto& entry) { return entry.second->framework_id == framework; })) {
    frameworks_.erase(framework);
  }
}

void Agent::send_event(ExecutorRun& run, const nlohmann::json& event) {
  if (!run.stream || run.stream->closed()) return;
  run.stream->send(http::recordio_encode(v1::dump(event)));
}

void Agent::send_launch(ExecutorRun& run, TaskRun& task) {
  // Checkpointed once handed over, as Mesos does: a task still queued when the agent dies was
  // never the executor's, and the master learns it is gone when the agent re-registers.
  task.launched = true;
  checkpoint_task(run, task);
  send_event(run, {{"type", "LAUNCH"}, {"launch", {{"task", v1::to_json(task.info)}}}});
}

void Agent::arm_heartbeat(ExecutorRun& run) {
  const std::string container_id = run.container_id;
  run.heartbeat_timer = clock_.schedule(config_.executor_heartbeat_interval, [this, container_id] {
    auto it = runs_.find(container_id);
    if (it == runs_.end()) return;
    send_event(*it->second, {{"type", "HEARTBEAT"}});
    arm_heartbeat(*it->second);
  });
}

void Agent::on_framework_message(const nlohmann::json& message) {
  const FrameworkId framework(message.at("framework_id").at("value").get<std::string>());
  const ExecutorId executor(message.at("executor_id").at("value").get<std::string>());
  ExecutorRun* run = find_run(framework, executor);
  if (!run || run->command_task || !run->stream || run->stream->closed()) {
    log::get("agent")->warn("framework message dropped: executor not subscribed framework={} executor={}", framework,
                            executor);
    return;
  }
  // `data` stays base64, as it travels on both APIs.
  send_event(*run, {{"type", "MESSAGE"}, {"message", {{"data", message.value("data", "")}}}});
}

}  // namespace dcos::agent

namespace dcos::agent {

void Agent::start_health_check(ExecutorRun& run, TaskRun& task) {
  if (!run.command_task || !task.info.extra.is_object() || !task.info.extra.contains("health_check")) return;
  auto spec = parse_health_check(task.info.extra["health_check"]);
  if (!spec) {
    log::get("agent")->warn("health check ignored task={} error={}", task.info.task_id, spec.error().message);
    return;
  }
  // Checks run like the task: in its sandbox, with its environment.
  HealthChecker::Context context{run.sandbox, executor_environment(run)};
  const std::string container_id = run.container_id;
  run.health = std::make_unique<HealthChecker>(executor_, clock_, std::move(*spec), std::move(context),
                                               [this, container_id](const HealthVerdict& verdict, const std::string& message) {
                                                 on_health_verdict(container_id, verdict, message);
                                               });
}

void Agent::on_health_verdict(const std::string& container_id, const HealthVerdict& verdict, const std::string& message) {
  auto it = runs_.find(container_id);
  if (it == runs_.end()) return;
  ExecutorRun& run = *it->second;
  if (run.tasks.size() != 1) return;
  TaskRun& task = run.tasks.begin()->second;
  if (is_terminal(task.state) || task.kill_requested) return;
  // Health travels as TASK_RUNNING updates carrying `healthy` (Mesos's command executor).
  report(run, task, TaskState::running, message.empty() ? std::nullopt : std::optional<std::string>(message),
         "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED", "SOURCE_EXECUTOR", verdict.healthy);
  if (verdict.kill) {
    log::get("agent")->warn("killing unhealthy task framework={} task={} consecutive_failures={}", run.framework_id,
                            task.info.task_id, verdict.consecutive_failures);
    run.health_killed = true;
    run.health.reset();
    kill_task(run.framework_id, task.info.task_id, std::nullopt);
  }
}

}  // namespace dcos::agent
