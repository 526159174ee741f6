#include "dcos/v1/task.hpp"

#include <array>

#include <fmt/format.h>

#include "dcos/common/uuid.hpp"

namespace dcos::v1 {

CommandInfo decode_command_info(const Fields& fields) {
  CommandInfo command;
  command.shell = fields.boolean("shell").value_or(true);
  command.value = fields.string("value");
  command.arguments = fields.strings("arguments");
  command.user = fields.string("user");
  if (auto environment = fields.object("environment")) {
    for (const auto& variable : environment->array("variables")) {
      Fields v(variable, environment->path() + "variables.");
      auto name = v.required("name", v.string("name"));
      // SECRET variables are not supported by this agent; only VALUE ones reach the task.
      if (v.string("type").value_or("VALUE") == "VALUE") {
        command.environment.emplace_back(std::move(name), v.string("value").value_or(""));
      }
      v.done();
    }
  }
  if (const auto* uris = fields.get("uris")) command.uris = *uris;
  return command;
}

nlohmann::json to_json(const CommandInfo& command) {
  nlohmann::json j = nlohmann::json::object();
  if (!command.uris.is_null()) j["uris"] = command.uris;
  if (!command.environment.empty()) {
    nlohmann::json variables = nlohmann::json::array();
    for (const auto& [name, value] : command.environment) {
      variables.push_back({{"name", name}, {"type", "VALUE"}, {"value", value}});
    }
    j["environment"] = {{"variables", variables}};
  }
  j["shell"] = command.shell;
  if (command.value) j["value"] = *command.value;
  if (!command.arguments.empty()) j["arguments"] = command.arguments;
  if (command.user) j["user"] = *command.user;
  return j;
}

TaskInfo decode_task_info(const Fields& f) {
  Fields fields = f;
  TaskInfo task;
  task.name = fields.required("name", fields.string("name"));
  task.task_id = TaskId(fields.required("task_id", fields.id("task_id")));
  task.agent_id = AgentId(fields.required("agent_id", fields.id("agent_id")));
  if (const auto* resources = fields.get("resources")) {
    auto decoded = resources_from_json(*resources);
    if (!decoded) throw DecodeError(fmt::format("Failed to parse field '{}resources': {}", fields.path(), decoded.error().message));
    task.resources = std::move(*decoded);
  }
  if (auto command = fields.object("command")) task.command = decode_command_info(*command);
  if (const auto* executor = fields.get("executor")) task.executor = *executor;
  if (auto policy = fields.object("kill_policy")) {
    if (auto grace = policy->object("grace_period")) {
      if (auto ns = grace->integer("nanoseconds")) task.kill_grace_period = Duration(*ns);
    }
  }
  task.extra = nlohmann::json::object();
  for (const auto& [key, value] : fields.json().items()) {
    static constexpr std::array known = {"name", "task_id", "agent_id", "resources", "command", "executor"};
    if (std::find(known.begin(), known.end(), key) == known.end() && !value.is_null()) task.extra[key] = value;
  }
  fields.done();
  return task;
}

nlohmann::json to_json(const TaskInfo& task) {
  nlohmann::json j = task.extra.is_object() ? task.extra : nlohmann::json::object();
  j["name"] = task.name;
  j["task_id"] = task.task_id;
  j["agent_id"] = task.agent_id;
  j["resources"] = to_json(task.resources);
  if (task.command) j["command"] = to_json(*task.command);
  if (!task.executor.is_null()) j["executor"] = task.executor;
  return j;
}

namespace {
constexpr std::array<std::pair<TaskState, std::string_view>, 14> state_names = {{
    {TaskState::staging, "TASK_STAGING"},
    {TaskState::starting, "TASK_STARTING"},
    {TaskState::running, "TASK_RUNNING"},
    {TaskState::killing, "TASK_KILLING"},
    {TaskState::finished, "TASK_FINISHED"},
    {TaskState::failed, "TASK_FAILED"},
    {TaskState::killed, "TASK_KILLED"},
    {TaskState::error, "TASK_ERROR"},
    {TaskState::lost, "TASK_LOST"},
    {TaskState::dropped, "TASK_DROPPED"},
    {TaskState::unreachable, "TASK_UNREACHABLE"},
    {TaskState::gone, "TASK_GONE"},
    {TaskState::gone_by_operator, "TASK_GONE_BY_OPERATOR"},
    {TaskState::unknown, "TASK_UNKNOWN"},
}};
}  // namespace

std::string_view to_string(TaskState state) {
  for (const auto& [s, name] : state_names) {
    if (s == state) return name;
  }
  return "TASK_UNKNOWN";
}

std::optional<TaskState> parse_task_state(std::string_view name) {
  for (const auto& [s, n] : state_names) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool is_terminal(TaskState state) {
  switch (state) {
    case TaskState::finished:
    case TaskState::failed:
    case TaskState::killed:
    case TaskState::error:
    case TaskState::lost:
    case TaskState::dropped:
    case TaskState::gone:
    case TaskState::gone_by_operator:
      return true;
    default:
      return false;
  }
}

TaskStatus decode_task_status(const Fields& f) {
  Fields fields = f;
  TaskStatus status;
  status.task_id = TaskId(fields.required("task_id", fields.id("task_id")));
  auto state_name = fields.required("state", fields.string("state"));
  if (fields.has("state")) {
    auto state = parse_task_state(state_name);
    if (!state) throw DecodeError(fmt::format("Failed to parse field '{}state': unknown task state '{}'", fields.path(), state_name));
    status.state = *state;
  }
  status.message = fields.string("message");
  status.source = fields.string("source");
  status.reason = fields.string("reason");
  if (auto data = fields.string("data")) {
    auto bytes = base64_decode(*data);
    if (!bytes) throw DecodeError(fmt::format("Failed to parse field '{}data': not base64", fields.path()));
    status.data = std::move(*bytes);
  }
  if (auto id = fields.id("agent_id")) status.agent_id = AgentId(*id);
  if (auto id = fields.id("executor_id")) status.executor_id = ExecutorId(*id);
  status.timestamp = fields.number("timestamp");
  if (auto uuid = fields.string("uuid")) {
    auto bytes = base64_decode(*uuid);
    if (!bytes) throw DecodeError(fmt::format("Failed to parse field '{}uuid': not base64", fields.path()));
    status.uuid = std::move(*bytes);
  }
  status.healthy = fields.boolean("healthy");
  if (const auto* container = fields.get("container_status")) status.container_status = *container;
  if (auto unreachable = fields.object("unreachable_time")) {
    if (auto ns = unreachable->integer("nanoseconds")) status.unreachable_time_seconds = static_cast<double>(*ns) / 1e9;
  }
  fields.done();
  return status;
}

nlohmann::json to_json(const TaskStatus& status) {
  nlohmann::json j = {{"task_id", status.task_id}, {"state", to_string(status.state)}};
  if (status.message) j["message"] = *status.message;
  if (status.source) j["source"] = *status.source;
  if (status.reason) j["reason"] = *status.reason;
  if (status.data) j["data"] = base64_encode(*status.data);
  if (status.agent_id) j["agent_id"] = *status.agent_id;
  if (status.executor_id) j["executor_id"] = *status.executor_id;
  if (status.timestamp) j["timestamp"] = *status.timestamp;
  if (status.uuid) j["uuid"] = base64_encode(*status.uuid);
  if (status.healthy) j["healthy"] = *status.healthy;
  if (!status.container_status.is_null()) j["container_status"] = status.container_status;
  if (status.unreachable_time_seconds) {
    j["unreachable_time"] = {{"nanoseconds", static_cast<std::int64_t>(*status.unreachable_time_seconds * 1e9)}};
  }
  return j;
}

}  // namespace dcos::v1
