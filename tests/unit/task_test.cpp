#include "dcos/v1/task.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "dcos/common/uuid.hpp"

namespace {

using Catch::Matchers::Contains;
using dcos::v1::TaskState;
using nlohmann::json;

dcos::v1::TaskInfo decode_task(const std::string& text) {
  const json j = json::parse(text);
  return dcos::v1::decode_task_info(dcos::v1::Fields(j, ""));
}

dcos::v1::TaskStatus decode_status(const json& j) { return dcos::v1::decode_task_status(dcos::v1::Fields(j, "")); }

dcos::v1::CommandInfo decode_command(const std::string& text) {
  const json j = json::parse(text);
  return dcos::v1::decode_command_info(dcos::v1::Fields(j, ""));
}

}  // namespace

// ---- TaskInfo and CommandInfo ----

TEST_CASE("decode_task_info reports name, task_id and agent_id missing together", "[v1][core]") {
  // An empty TaskInfo is missing all three required fields, listed in one message.
  CHECK_THROWS_WITH(decode_task("{}"), "Missing required fields: name, task_id, agent_id");
  CHECK_THROWS_WITH(decode_task(R"({"name":"t","task_id":{"value":"1"}})"), "Missing required fields: agent_id");
  CHECK_THROWS_WITH(decode_task(R"({"name":"t","task_id":{},"agent_id":{"value":"a"}})"),
                    "Missing required fields: task_id.value");

  const json launch = json::parse(R"({"task_infos":[{"name":"t"}]})");
  const json& task = launch["task_infos"][0];
  CHECK_THROWS_WITH(dcos::v1::decode_task_info(dcos::v1::Fields(task, "task_infos.")),
                    "Missing required fields: task_infos.task_id, task_infos.agent_id");
}

TEST_CASE("decode_task_info reads resources, command and kill policy, keeping the rest", "[v1][core]") {
  // Known fields are decoded; labels and other fields pass through untouched in `extra`.
  const auto task = decode_task(R"({
      "name":"web","task_id":{"value":"t-1"},"agent_id":{"value":"a-1"},
      "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}},
                   {"name":"mem","type":"SCALAR","scalar":{"value":"64"}}],
      "command":{"value":"echo hi"},
      "kill_policy":{"grace_period":{"nanoseconds":5000000000}},
      "labels":{"labels":[{"key":"k"}]},"data":"aGk=","container":null})");
  CHECK(task.name == "web");
  CHECK(task.task_id.value() == "t-1");
  CHECK(task.agent_id.value() == "a-1");
  CHECK(task.resources.scalar("cpus") == 0.5);
  CHECK(task.resources.scalar("mem") == 64.0);
  REQUIRE(task.command);
  CHECK(task.command->shell);
  CHECK(task.command->value == "echo hi");
  CHECK(task.executor.is_null());
  REQUIRE(task.kill_grace_period);
  CHECK(*task.kill_grace_period == std::chrono::seconds(5));
  CHECK(task.extra.contains("labels"));
  CHECK(task.extra.contains("kill_policy"));
  CHECK(task.extra["data"] == "aGk=");
  CHECK_FALSE(task.extra.contains("container"));  // null is absent.
  CHECK_FALSE(task.extra.contains("name"));

  const json out = dcos::v1::to_json(task);
  CHECK(out["name"] == "web");
  CHECK(out["task_id"] == json{{"value", "t-1"}});
  CHECK(out["agent_id"] == json{{"value", "a-1"}});
  CHECK(out["command"] == json::parse(R"({"shell":true,"value":"echo hi"})"));
  CHECK(out["labels"] == task.extra["labels"]);
  CHECK(out["kill_policy"]["grace_period"]["nanoseconds"] == 5000000000LL);
  CHECK(out["resources"].size() == 2);
}

TEST_CASE("decode_task_info names the field of bad resources", "[v1][core]") {
  // A resource with a negative scalar fails as "resources", with the resource's own message.
  CHECK_THROWS_WITH(decode_task(R"({"name":"t","task_id":{"value":"1"},"agent_id":{"value":"a"},
                                     "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]})"),
                    Contains("Failed to parse field 'resources'") && Contains("negative"));
}

TEST_CASE("CommandInfo defaults to shell true", "[v1][core]") {
  // Absent shell means true, on input and on output; "false" strings turn it off.
  const dcos::v1::CommandInfo empty;
  CHECK(empty.shell);
  CHECK(dcos::v1::to_json(empty) == json{{"shell", true}});
  CHECK(decode_command("{}").shell);
  CHECK_FALSE(decode_command(R"({"shell":"false"})").shell);

  const auto exec = decode_command(R"({"shell":false,"value":"/bin/echo","arguments":["echo","hi"],"user":"nobody"})");
  CHECK_FALSE(exec.shell);
  CHECK(exec.arguments == std::vector<std::string>{"echo", "hi"});
  CHECK(exec.user == "nobody");
  CHECK(dcos::v1::to_json(exec) ==
        json::parse(R"({"shell":false,"value":"/bin/echo","arguments":["echo","hi"],"user":"nobody"})"));
}

TEST_CASE("CommandInfo keeps VALUE environment variables only", "[v1][core]") {
  // VALUE (explicit or default) variables are kept; SECRET ones are dropped; name is required.
  const auto command = decode_command(R"({"environment":{"variables":[
      {"name":"A","value":"1"},{"name":"B","type":"VALUE","value":"2"},
      {"name":"S","type":"SECRET","secret":{}},{"name":"E"}]}})");
  using Variable = std::pair<std::string, std::string>;
  CHECK(command.environment == std::vector<Variable>{{"A", "1"}, {"B", "2"}, {"E", ""}});
  CHECK(dcos::v1::to_json(command)["environment"] ==
        json::parse(R"({"variables":[{"name":"A","type":"VALUE","value":"1"},{"name":"B","type":"VALUE","value":"2"},
                                     {"name":"E","type":"VALUE","value":""}]})"));
  CHECK_THROWS_WITH(decode_command(R"({"environment":{"variables":[{"value":"x"}]}})"),
                    "Missing required fields: environment.variables.name");
}

// ---- TaskState ----

TEST_CASE("Task state names round-trip and match Mesos's terminal set", "[v1][core]") {
  // All 14 states print as TASK_*, parse back, and are terminal exactly per isTerminalState.
  const std::vector<std::pair<TaskState, bool>> states = {
      {TaskState::staging, false},   {TaskState::starting, false},   {TaskState::running, false},
      {TaskState::killing, false},   {TaskState::finished, true},    {TaskState::failed, true},
      {TaskState::killed, true},     {TaskState::error, true},       {TaskState::lost, true},
      {TaskState::dropped, true},    {TaskState::unreachable, false}, {TaskState::gone, true},
      {TaskState::gone_by_operator, true}, {TaskState::unknown, false}};
  for (const auto& [state, terminal] : states) {
    const std::string name(dcos::v1::to_string(state));
    INFO(name);
    CHECK(name.rfind("TASK_", 0) == 0);
    CHECK(dcos::v1::parse_task_state(name) == state);
    CHECK(dcos::v1::is_terminal(state) == terminal);
  }
  CHECK(dcos::v1::to_string(TaskState::running) == "TASK_RUNNING");
  CHECK(dcos::v1::to_string(TaskState::gone_by_operator) == "TASK_GONE_BY_OPERATOR");
  CHECK_FALSE(dcos::v1::parse_task_state("RUNNING"));
  CHECK_FALSE(dcos::v1::parse_task_state("task_running"));
  CHECK_FALSE(dcos::v1::parse_task_state(""));
}

// ---- TaskStatus ----

TEST_CASE("TaskStatus round-trips through JSON with base64 uuid and data", "[v1][core]") {
  // 16 raw uuid bytes become 24 base64 chars ending "=="; binary data survives; all fields return.
  dcos::v1::TaskStatus status;
  status.task_id = dcos::TaskId("t-1");
  status.state = TaskState::failed;
  status.message = "exited 1";
  status.source = "SOURCE_EXECUTOR";
  status.reason = "REASON_COMMAND_EXECUTOR_FAILED";
  status.data = std::string("\x00\x01\xfe\xff" "binary", 10);
  status.agent_id = dcos::AgentId("a-1");
  status.executor_id = dcos::ExecutorId("e-1");
  status.timestamp = 1700000000.25;
  status.uuid = dcos::random_uuid_bytes();
  status.healthy = false;
  status.container_status = json::parse(R"({"network_infos":[]})");
  status.unreachable_time_seconds = 12.5;

  const json j = dcos::v1::to_json(status);
  CHECK(j["state"] == "TASK_FAILED");
  CHECK(j["task_id"] == json{{"value", "t-1"}});
  REQUIRE(j["uuid"].is_string());
  const std::string uuid_text = j["uuid"];
  CHECK(uuid_text.size() == 24);
  CHECK(uuid_text.substr(22) == "==");
  CHECK(j["data"] == dcos::base64_encode(*status.data));
  CHECK(j["unreachable_time"] == json{{"nanoseconds", 12500000000LL}});
  CHECK(j["healthy"] == false);

  const auto back = decode_status(json::parse(dcos::v1::dump(j)));
  CHECK(back.task_id == status.task_id);
  CHECK(back.state == status.state);
  CHECK(back.message == status.message);
  CHECK(back.source == status.source);
  CHECK(back.reason == status.reason);
  CHECK(back.data == status.data);
  CHECK(back.agent_id == status.agent_id);
  CHECK(back.executor_id == status.executor_id);
  CHECK(back.timestamp == status.timestamp);
  CHECK(back.uuid == status.uuid);
  CHECK(back.healthy == status.healthy);
  CHECK(back.container_status == status.container_status);
  CHECK(back.unreachable_time_seconds == status.unreachable_time_seconds);
  CHECK(dcos::v1::to_json(back) == j);
}

TEST_CASE("A minimal TaskStatus writes only task_id and state", "[v1][core]") {
  // Unset optional fields are omitted from the JSON, not written as null.
  dcos::v1::TaskStatus status;
  status.task_id = dcos::TaskId("t");
  CHECK(dcos::v1::to_json(status) == json::parse(R"({"task_id":{"value":"t"},"state":"TASK_STAGING"})"));
}

TEST_CASE("decode_task_status rejects missing fields, unknown states and bad base64", "[v1][core]") {
  // task_id and state are required; an unknown state name or non-base64 uuid/data is an error.
  CHECK_THROWS_WITH(decode_status(json::object()), "Missing required fields: task_id, state");
  CHECK_THROWS_WITH(decode_status(json::parse(R"({"task_id":{"value":"t"},"state":"TASK_WHATEVER"})")),
                    Contains("unknown task state 'TASK_WHATEVER'"));
  CHECK_THROWS_WITH(decode_status(json::parse(R"({"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"!!"})")),
                    Contains("'uuid'") && Contains("not base64"));
  CHECK_THROWS_WITH(decode_status(json::parse(R"({"task_id":{"value":"t"},"state":"TASK_RUNNING","data":"a*b"})")),
                    Contains("'data'") && Contains("not base64"));
  const auto ok = decode_status(json::parse(R"({"task_id":{"value":"t"},"state":"TASK_RUNNING","healthy":"true",
      "timestamp":"12.5","unreachable_time":{"nanoseconds":"1000000000"}})"));
  CHECK(ok.state == TaskState::running);
  CHECK(ok.healthy == true);
  CHECK(ok.timestamp == 12.5);
  CHECK(ok.unreachable_time_seconds == 1.0);
  CHECK_FALSE(ok.uuid);
}
