#pragma once
// Tasks on the wire: `CommandInfo`, `TaskInfo`, `TaskState` and `TaskStatus`.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcos/common/clock.hpp"
#include "dcos/common/ids.hpp"
#include "dcos/resources/resources.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::v1 {

struct CommandInfo {
  bool shell = true;  // Run `value` through `/bin/sh -c`; else exec `value` with `arguments`.
  std::optional<std::string> value;
  std::vector<std::string> arguments;
  std::vector<std::pair<std::string, std::string>> environment;  // VALUE variables.
  std::optional<std::string> user;
  nlohmann::json uris;  // Passed through; null when absent.
};
CommandInfo decode_command_info(const Fields& fields);
nlohmann::json to_json(const CommandInfo& command);

struct TaskInfo {
  std::string name;
  TaskId task_id;
  AgentId agent_id;
  Resources resources;
  std::optional<CommandInfo> command;
  nlohmann::json executor;                 // A custom ExecutorInfo; null for command tasks.
  std::optional<Duration> kill_grace_period;  // `kill_policy.grace_period`.
  nlohmann::json extra;  // Every other field (labels, container, health_check, data, ...), as sent.
};
TaskInfo decode_task_info(const Fields& fields);
nlohmann::json to_json(const TaskInfo& task);

enum class TaskState {
  staging, starting, running, killing, finished, failed, killed, error, lost, dropped,
  unreachable, gone, gone_by_operator, unknown,
};
std::string_view to_string(TaskState state);  // "TASK_RUNNING"
std::optional<TaskState> parse_task_state(std::string_view name);
// Terminal as Mesos's `isTerminalState`: finished, failed, killed, error, lost, dropped, gone,
// gone_by_operator.
bool is_terminal(TaskState state);

struct TaskStatus {
  TaskId task_id;
  TaskState state = TaskState::staging;
  std::optional<std::string> message;
  std::optional<std::string> source;  // SOURCE_MASTER, SOURCE_AGENT, SOURCE_EXECUTOR.
  std::optional<std::string> reason;  // REASON_*.
  std::optional<std::string> data;    // Raw bytes (base64 on the wire).
  std::optional<AgentId> agent_id;
  std::optional<ExecutorId> executor_id;
  std::optional<double> timestamp;
  std::optional<std::string> uuid;  // 16 raw bytes (base64 on the wire).
  std::optional<bool> healthy;
  nlohmann::json container_status;  // Passed through; null when absent.
  std::optional<double> unreachable_time_seconds;
};
TaskStatus decode_task_status(const Fields& fields);
nlohmann::json to_json(const TaskStatus& status);

}  // namespace dcos::v1
