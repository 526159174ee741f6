#pragma once
// What an agent writes under `--work_dir/meta` for checkpointing frameworks, and how a restarted
// agent reads it back (reference/mesos-api.md §8.3; docs/design/agent-recovery.md).
//
//   meta/boot_id                                    the boot the agent last ran in
//   meta/resources/resources.info                   its dynamic reservations (v1 Resource array)
//   meta/slaves/latest                              the agent id (text)
//   meta/slaves/<aid>/slave.info                    {hostname, port, resources, attributes}
//   meta/slaves/<aid>/frameworks/<fid>/framework.info                      FrameworkInfo
//   .../frameworks/<fid>/executors/<eid>/executor.info   {executor_info, command_task}
//   .../executors/<eid>/runs/latest -> <cid>             the current run (symlink)
//   .../runs/<cid>/pids/forked.pid                       {pid, start_time}
//   .../runs/<cid>/exit.status                           a command task's end ("exit 3", "signal 9")
//   .../runs/<cid>/executor.sentinel                     the run ended
//   .../runs/<cid>/tasks/<tid>/task.info                 TaskInfo
//   .../runs/<cid>/tasks/<tid>/task.updates              one JSON record per line: UPDATE / ACK
//
// Whole files are replaced atomically (temp file, fsync, rename, fsync of the directory); the
// update log is appended and fdatasync'd record by record, and a torn last line is ignored.
// Sandboxes live beside it: `<work_dir>/slaves/<aid>/frameworks/<fid>/executors/<eid>/runs/<cid>`.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcos/agent/process.hpp"
#include "dcos/common/ids.hpp"
#include "dcos/common/result.hpp"
#include "dcos/resources/resources.hpp"
#include "dcos/v1/framework_info.hpp"
#include "dcos/v1/task.hpp"

namespace dcos::agent {

// Every path the agent writes, from `work_dir`. Pure string building.
struct Layout {
  std::string work_dir;

  std::string meta() const { return work_dir + "/meta"; }
  std::string boot_id() const { return meta() + "/boot_id"; }
  std::string latest_agent() const { return meta() + "/slaves/latest"; }
  // Not under the agent id (Mesos's `paths::getResourcesInfoPath`): reservations outlive it.
  std::string resources_info() const { return meta() + "/resources/resources.info"; }
  std::string agent_meta(const AgentId& a) const;
  std::string agent_info(const AgentId& a) const { return agent_meta(a) + "/slave.info"; }
  // Operation feedback: the pending status update of each operation, by its uuid (Mesos's path).
  std::string operations_meta(const AgentId& a) const { return agent_meta(a) + "/operations"; }
  std::string operation_updates(const AgentId& a, const std::string& uuid) const {
    return operations_meta(a) + "/" + uuid + "/operation.updates";
  }
  std::string framework_meta(const AgentId& a, const FrameworkId& f) const;
  std::string framework_info(const AgentId& a, const FrameworkId& f) const { return framework_meta(a, f) + "/framework.info"; }
  std::string executor_meta(const AgentId& a, const FrameworkId& f, const ExecutorId& e) const;
  std::string executor_info(const AgentId& a, const FrameworkId& f, const ExecutorId& e) const {
    return executor_meta(a, f, e) + "/executor.info";
  }
  std::string run_meta(const AgentId& a, const FrameworkId& f, const ExecutorId& e, const std::string& cid) const;
  std::string task_meta(const AgentId& a, const FrameworkId& f, const ExecutorId& e, const std::string& cid,
                        const TaskId& t) const;
  // Sandboxes.
  std::string sandbox(const AgentId& a, const FrameworkId& f, const ExecutorId& e, const std::string& cid) const;
  std::string executor_sandboxes(const AgentId& a, const FrameworkId& f, const ExecutorId& e) const;
  // Runtime records of every process the agent starts (checkpointing or not), so a restarted
  // agent can kill what it will not recover. Not fsync'd: a reboot ends those processes anyway.
  std::string runtime() const { return work_dir + "/runtime/containers"; }
};

// Names inside a run's meta directory.
inline constexpr std::string_view forked_pid_file = "pids/forked.pid";
inline constexpr std::string_view exit_status_file = "exit.status";
inline constexpr std::string_view sentinel_file = "executor.sentinel";
inline constexpr std::string_view task_info_file = "task.info";
inline constexpr std::string_view task_updates_file = "task.updates";

// Replaces `path` with `content` atomically; with `sync`, durably (fsync file and directory).
// Creates missing parent directories.
Result<void> write_atomically(const std::string& path, std::string_view content, bool sync = true);
// Appends `record` and a newline to `path`, then fdatasync's it.
Result<void> append_record(const std::string& path, std::string_view record);
// The whole file, or `Errc::not_found`.
Result<std::string> read_file(const std::string& path);
// Points the symlink `link` at `target`, replacing it atomically.
Result<void> replace_symlink(const std::string& target, const std::string& link);

// One record of a task's update log.
struct UpdateRecord {
  enum class Type { update, ack };
  Type type = Type::update;
  std::optional<v1::TaskStatus> status;  // For `update`.
  std::string uuid;                      // For `ack`: the acknowledged update's 16 raw bytes.
};
std::string encode_update_record(const v1::TaskStatus& status);
std::string encode_ack_record(const std::string& uuid);
// Parses a whole update log. A malformed last line is a torn append and is ignored; a malformed
// line elsewhere is corruption. Pure.
Result<std::vector<UpdateRecord>> parse_update_log(std::string_view text);

// The `--work_dir/meta` tree as read back at start.
struct RecoveredTask {
  v1::TaskInfo info;
  std::vector<UpdateRecord> records;  // In the order they were written.
};
struct RecoveredRun {
  std::string container_id;
  std::optional<ProcessIdentity> forked;  // Absent if the agent died before writing it.
  bool completed = false;                 // `executor.sentinel` exists.
  std::optional<std::string> exit_status; // A command task's "exit N" / "signal N".
  std::map<TaskId, RecoveredTask> tasks;
};
struct RecoveredExecutor {
  ExecutorId id;
  nlohmann::json info;  // ExecutorInfo.
  bool command_task = false;
  std::optional<RecoveredRun> latest;  // The run `runs/latest` names.
};
struct RecoveredFramework {
  v1::FrameworkInfo info;
  std::vector<RecoveredExecutor> executors;
};
struct RecoveredState {
  std::string boot_id;          // The boot the checkpoint was written in; empty if unknown.
  AgentId agent_id;
  nlohmann::json agent_info;    // `slave.info`.
  std::vector<RecoveredFramework> frameworks;
  int errors = 0;               // Entries skipped as corrupt (only without `strict`).
};
// Reads everything `Layout` describes. Nullopt when there is no checkpointed agent. With
// `strict`, any unreadable or corrupt file is an error; without, the entry is skipped and counted.
Result<std::optional<RecoveredState>> recover_checkpoint(const Layout& layout, bool strict);

// The agent's total: `declared` (its `--resources`) with each of its checkpointed dynamic
// reservations applied, i.e. the resource under the dynamic reservations taken out and the
// reserved one put in (Mesos's `applyCheckpointedResources`). Fails when `declared` does not
// hold what a reservation was made on. Pure.
Result<Resources> apply_checkpointed_resources(const Resources& declared, const Resources& checkpointed);

// "exit 3" / "signal 9" (what the command-task wrapper writes) as a wait status.
std::optional<int> parse_exit_status(std::string_view text);

}  // namespace dcos::agent
