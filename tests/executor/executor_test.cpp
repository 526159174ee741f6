// The executor library's pure core and its configuration from the environment.
#include "dcos/executor/executor.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

#include "dcos/common/uuid.hpp"

using dcos::executor::ExecutorConfig;
using dcos::executor::ExecutorCore;

namespace {

dcos::v1::TaskStatus status(const std::string& task, dcos::v1::TaskState state) {
  dcos::v1::TaskStatus s;
  s.task_id = dcos::TaskId(task);
  s.state = state;
  return s;
}

}  // namespace

TEST_CASE("executor core fills in updates and keeps them until acknowledged", "[executor][core]") {
  ExecutorCore core(dcos::FrameworkId("f"), dcos::ExecutorId("e"));
  core.on_launch({{"task_id", {{"value", "t1"}}}, {"name", "t1"}});
  const auto call = core.update_call(status("t1", dcos::v1::TaskState::running), 42.0);
  CHECK(call["type"] == "UPDATE");
  CHECK(call["framework_id"]["value"] == "f");
  CHECK(call["executor_id"]["value"] == "e");
  const auto& s = call["update"]["status"];
  CHECK(s["source"] == "SOURCE_EXECUTOR");
  CHECK(s["executor_id"]["value"] == "e");
  CHECK(s["timestamp"] == 42.0);
  const auto uuid = dcos::base64_decode(s["uuid"].get<std::string>());
  REQUIRE(uuid);
  CHECK(dcos::is_valid_uuid_bytes(*uuid));
  CHECK(core.unacknowledged_updates() == 1);
  CHECK(core.unacknowledged_tasks() == 1);

  // Both go back to the agent in the next SUBSCRIBE.
  auto subscribe = core.subscribe_call();
  CHECK(subscribe["type"] == "SUBSCRIBE");
  REQUIRE(subscribe["subscribe"]["unacknowledged_updates"].size() == 1);
  CHECK(subscribe["subscribe"]["unacknowledged_updates"][0]["status"]["uuid"] == s["uuid"]);
  CHECK(subscribe["subscribe"]["unacknowledged_tasks"][0]["task_id"]["value"] == "t1");

  core.on_acknowledged(dcos::TaskId("t1"), "not-this-one");
  CHECK(core.unacknowledged_updates() == 1);
  core.on_acknowledged(dcos::TaskId("t1"), *uuid);
  CHECK(core.unacknowledged_updates() == 0);
  CHECK(core.unacknowledged_tasks() == 0);
  CHECK_FALSE(core.subscribe_call()["subscribe"].contains("unacknowledged_updates"));
}

TEST_CASE("executor config reads the MESOS_* environment the agent sets", "[executor][core]") {
  ::setenv("MESOS_AGENT_ENDPOINT", "127.0.0.1:5051", 1);
  ::setenv("MESOS_FRAMEWORK_ID", "f1", 1);
  ::setenv("MESOS_EXECUTOR_ID", "e1", 1);
  ::setenv("MESOS_DIRECTORY", "/tmp/sandbox", 1);
  ::setenv("MESOS_CHECKPOINT", "1", 1);
  ::setenv("MESOS_RECOVERY_TIMEOUT", "15mins", 1);
  ::setenv("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs", 1);
  ::setenv("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs", 1);
  auto config = ExecutorConfig::from_environment();
  REQUIRE(config);
  CHECK(config->agent.port == 5051);
  CHECK(config->framework_id.value() == "f1");
  CHECK(config->executor_id.value() == "e1");
  CHECK(config->directory == "/tmp/sandbox");
  CHECK(config->checkpoint);
  CHECK(config->recovery_timeout == std::chrono::minutes(15));
  CHECK(config->subscription_backoff_max == std::chrono::seconds(2));
  ::setenv("MESOS_RECOVERY_TIMEOUT", "soon", 1);
  CHECK_FALSE(ExecutorConfig::from_environment());
  for (const char* name : {"MESOS_AGENT_ENDPOINT", "MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID", "MESOS_DIRECTORY",
                           "MESOS_CHECKPOINT", "MESOS_RECOVERY_TIMEOUT", "MESOS_SUBSCRIPTION_BACKOFF_MAX",
                           "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"}) {
    ::unsetenv(name);
  }
  CHECK_FALSE(ExecutorConfig::from_environment());
}
