// Checkpointing what the agent runs, and recovering it after a restart
// (docs/design/agent-recovery.md, reference/mesos-api.md §8.3).
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "dcos/agent/agent.hpp"
#include "dcos/agent/health_check.hpp"
#include "dcos/common/duration.hpp"
#include "dcos/common/log.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::agent {

namespace fs = std::filesystem;
using v1::TaskState;

namespace {

void log_failure(const Result<void>& written) {
  if (!written) log::get("agent")->error("checkpoint failed error={}", written.error().message);
}

}  // namespace

void Agent::checkpoint_framework(const FrameworkId& framework) {
  auto it = frameworks_.find(framework);
  if (it == frameworks_.end() || !it->second.info.checkpoint) return;
  log_failure(write_atomically(layout().framework_info(id_, framework), v1::dump(v1::to_json(it->second.info))));
}

void Agent::checkpoint_run(ExecutorRun& run) {
  if (!run.checkpoint) return;
  const Layout paths = layout();
  log_failure(write_atomically(paths.executor_info(id_, run.framework_id, run.id),
                               v1::dump({{"executor_info", run.info}, {"command_task", run.command_task}})));
  std::error_code ec;
  fs::create_directories(run.meta + "/pids", ec);
  log_failure(replace_symlink(run.container_id, paths.executor_meta(id_, run.framework_id, run.id) + "/runs/latest"));
}

void Agent::checkpoint_task(ExecutorRun& run, const TaskRun& task) {
  if (!run.checkpoint) return;
  log_failure(write_atomically(fmt::format("{}/tasks/{}/{}", run.meta, task.info.task_id, task_info_file),
                               v1::dump(v1::to_json(task.info))));
}

void Agent::checkpoint_pid(ExecutorRun& run) {
  if (!run.checkpoint || !run.identity) return;
  log_failure(write_atomically(run.meta + "/" + std::string(forked_pid_file),
                               v1::dump({{"pid", run.identity->pid}, {"start_time", run.identity->start_time_ticks}})));
}

void Agent::write_runtime_record(const ExecutorRun& run) const {
  if (!run.identity) return;
  nlohmann::json record = {{"pid", run.identity->pid},
                           {"start_time", run.identity->start_time_ticks},
                           {"framework_id", run.framework_id},
                           {"executor_id", run.id}};
  log_failure(write_atomically(layout().runtime() + "/" + run.container_id, v1::dump(record), /*sync=*/false));
}

void Agent::remove_runtime_record(const ExecutorRun& run) const {
  ::unlink((layout().runtime() + "/" + run.container_id).c_str());
}

Result<void> Agent::recover() {
  const auto log = log::get("agent");
  const Layout paths = layout();
  const bool cleanup = config_.recover == "cleanup";
  auto checkpoint = recover_checkpoint(paths, config_.strict && !cleanup);
  if (!checkpoint) return tl::unexpected(checkpoint.error());
  const bool rebooted = *checkpoint && !(*checkpoint)->boot_id.empty() && (*checkpoint)->boot_id != boot_id_;

  if (*checkpoint && cleanup) {
    // `--recover=cleanup`: end whatever the checkpoint names and start afresh.
    for (const auto& framework : (*checkpoint)->frameworks) {
      for (const auto& executor : framework.executors) {
        if (!rebooted && executor.latest && executor.latest->forked && process_alive(*executor.latest->forked)) {
          signal_group(executor.latest->forked->pid, SIGKILL);
        }
      }
    }
    std::error_code ec;
    fs::remove_all(paths.meta() + "/slaves", ec);
    log->info("recovery cleanup: killed checkpointed executors and removed the checkpoint");
    checkpoint = std::optional<RecoveredState>();
  }

  if (*checkpoint) {
    RecoveredState& state = **checkpoint;
    if (state.agent_info.is_object() && state.agent_info.contains("resources")) {
      auto previous = resources_from_json(state.agent_info["resources"]);
      if (previous && !(*previous == resources_)) {
        return fail(Errc::invalid_argument,
                    fmt::format("Incompatible agent info detected: resources were {} and are now {} (remove {} to "
                                "start as a new agent)",
                                previous->to_string(), resources_.to_string(), paths.latest_agent()));
      }
      if (state.agent_info.value("attributes_text", config_.attributes) != config_.attributes) {
        return fail(Errc::invalid_argument,
                    fmt::format("Incompatible agent info detected: attributes were '{}' and are now '{}'",
                                state.agent_info.value("attributes_text", ""), config_.attributes));
      }
    }
    id_ = state.agent_id;
    size_t adopted = 0, tasks = 0;
    for (const RecoveredFramework& framework : state.frameworks) {
      const FrameworkId framework_id = *framework.info.id;
      frameworks_[framework_id].info = framework.info;
      for (const RecoveredExecutor& executor : framework.executors) {
        if (!executor.latest) continue;
        if (executor.latest->completed) {
          // Ended before the restart; everything about it was acknowledged or is moot.
          schedule_gc(paths.sandbox(id_, framework_id, executor.id, executor.latest->container_id),
                      paths.run_meta(id_, framework_id, executor.id, executor.latest->container_id));
          continue;
        }
        adopt(framework, executor, *executor.latest, rebooted);
        ++adopted;
        tasks += executor.latest->tasks.size();
      }
    }
    // Frameworks with nothing left to recover are not kept.
    std::erase_if(frameworks_, [&](const auto& entry) {
      return std::none_of(runs_.begin(), runs_.end(), [&](const auto& run) { return run.second->framework_id == entry.first; });
    });
    recover_operation_updates();
    log->info("recovered agent={} executors={} tasks={} pending_updates={} pending_operation_updates={} rebooted={} "
              "skipped_entries={}",
              id_, adopted, tasks, updates_.pending(), operation_updates_.size(), rebooted, state.errors);
  }
  kill_orphans();
  log_failure(write_atomically(paths.boot_id(), boot_id_));
  const bool awaiting = std::any_of(runs_.begin(), runs_.end(), [](const auto& entry) { return entry.second->recovered; });
  if (awaiting) {
    reregistration_timer_ = clock_.schedule(config_.executor_reregistration_timeout, [this] { on_reregistration_timeout(); });
  }
  return {};
}

void Agent::adopt(const RecoveredFramework& framework, const RecoveredExecutor& executor, const RecoveredRun& recovered,
                  bool rebooted) {
  const FrameworkId framework_id = *framework.info.id;
  const Layout paths = layout();
  auto owned = std::make_unique<ExecutorRun>();
  ExecutorRun& run = *owned;
  run.framework_id = framework_id;
  run.id = executor.id;
  run.container_id = recovered.container_id;
  run.info = executor.info;
  run.command_task = executor.command_task;
  run.checkpoint = true;
  run.sandbox = paths.sandbox(id_, framework_id, executor.id, recovered.container_id);
  run.meta = paths.run_meta(id_, framework_id, executor.id, recovered.container_id);
  run.started = clock_.now();
  run.state = RunState::running;
  runs_[run.container_id] = std::move(owned);
  active_runs_[{framework_id, executor.id}] = run.container_id;
  attached_[fmt::format("/frameworks/{}/executors/{}/runs/latest", framework_id, executor.id)] = run.sandbox;
  attached_[run.sandbox] = run.sandbox;

  // Replay each task's update log into the status update manager: what was recorded and not
  // acknowledged is pending again, and goes to the master once the agent re-registers.
  std::vector<TaskId> done;
  for (const auto& [task_id, recovered_task] : recovered.tasks) {
    TaskRun& task = run.tasks[task_id];
    task.info = recovered_task.info;
    task.launched = true;
    task_runs_[{framework_id, task_id}] = run.container_id;
    for (const UpdateRecord& record : recovered_task.records) {
      if (record.type == UpdateRecord::Type::update) {
        task.state = record.status->state;
        updates_.add(StatusUpdate{framework_id, *record.status}, clock_.now());
      } else {
        updates_.acknowledge(framework_id, task_id, record.uuid, clock_.now());
      }
    }
    if (is_terminal(task.state) && updates_.drained(framework_id, task_id)) done.push_back(task_id);
  }
  for (const TaskId& task : done) {
    run.completed_tasks.insert(task);
    run.tasks.erase(task);
  }

  const bool alive = !rebooted && recovered.forked && process_alive(*recovered.forked);
  if (recovered.forked) {
    run.pid = recovered.forked->pid;
    run.identity = recovered.forked;
  }
  if (!alive) {
    // It died while the agent was away (or with the machine): its tasks get their terminal
    // updates now, queued until the agent re-registers.
    if (rebooted && !(run.command_task && recovered.exit_status)) {
      run.termination_reason = "REASON_EXECUTOR_TERMINATED";
      run.termination_message = "Executor did not survive a reboot of the agent's machine";
    }
    log::get("agent")->info("recovered executor is gone framework={} executor={} container={}", framework_id, run.id,
                            run.container_id);
    run.exited = false;
    on_process_exit(run.container_id, std::nullopt);
    return;
  }
  write_runtime_record(run);
  watch_process(run);
  if (run.command_task) {
    for (auto& [id, task] : run.tasks) {
      if (!is_terminal(task.state)) start_health_check(run, task);
    }
    return;
  }
  // A custom executor must re-subscribe within `--executor_reregistration_timeout`.
  run.state = RunState::registering;
  run.recovered = true;
}

void Agent::on_reregistration_timeout() {
  for (auto& [cid, run] : runs_) {
    if (!run->recovered || run->state != RunState::registering) continue;
    log::get("agent")->warn("recovered executor did not re-subscribe framework={} executor={} timeout={}",
                            run->framework_id, run->id, format_duration(config_.executor_reregistration_timeout));
    run->termination_reason = "REASON_EXECUTOR_REREGISTRATION_TIMEOUT";
    run->termination_message = fmt::format("Executor did not re-subscribe within {}",
                                           format_duration(config_.executor_reregistration_timeout));
    destroy(*run);
  }
}

void Agent::kill_orphans() {
  // Processes of the previous agent that are not being recovered (non-checkpointing
  // frameworks, runs the checkpoint does not name) must not run on unaccounted.
  std::error_code ec;
  const std::string directory = layout().runtime();
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string container_id = it->path().filename().string();
    if (container_id.find(".tmp-") != std::string::npos || runs_.contains(container_id)) continue;
    auto text = read_file(it->path().string());
    if (text) {
      auto record = nlohmann::json::parse(*text, nullptr, false);
      if (record.is_object() && record.contains("pid") && record.contains("start_time")) {
        const ProcessIdentity identity{record["pid"].get<pid_t>(), record["start_time"].get<std::uint64_t>()};
        if (process_alive(identity)) {
          log::get("agent")->info("killing an orphan of the previous agent container={} pid={}", container_id,
                                  identity.pid);
          signal_group(identity.pid, SIGKILL);
        }
      }
    }
    fs::remove(it->path(), ec);
  }
}

}  // namespace dcos::agent
