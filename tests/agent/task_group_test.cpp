// Task groups (LAUNCH_GROUP) end to end: the master validates the group as one and sends it to
// the agent whole; the agent starts one default executor (its own binary, here `dcos_tests`,
// with DCOS_DEFAULT_EXECUTOR=1), which runs each task as a process in `<sandbox>/tasks/<id>`.
// A group lives and dies together, as under Mesos's default executor.
#include "dcos/executor/default_executor.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "agent/agent_harness.hpp"

using namespace dcos::testing;

namespace {

nlohmann::json default_executor_info(const std::string& type = "DEFAULT") {
  return {{"executor_id", {{"value", "default"}}},
          {"type", type},
          {"resources", to_json(dcos::parse_resources("cpus:0.1;mem:32").value())}};
}

// Accepts the first offer with one LAUNCH_GROUP of `tasks` (id, shell command); returns the agent id.
std::string launch_group(TestFramework& framework, const std::vector<std::pair<std::string, std::string>>& tasks,
                         const nlohmann::json& executor = default_executor_info()) {
  auto offers = framework.await("OFFERS");
  REQUIRE(offers);
  const auto& offer = (*offers)["offers"]["offers"][0];
  const std::string agent = offer["agent_id"]["value"];
  nlohmann::json infos = nlohmann::json::array();
  for (const auto& [id, command] : tasks) infos.push_back(command_task(id, agent, command));
  framework.scheduler->accept({offer["id"]["value"]},
                              nlohmann::json::array({{{"type", "LAUNCH_GROUP"},
                                                      {"launch_group", {{"executor", executor}, {"task_group", {{"tasks", infos}}}}}}}));
  return agent;
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

TEST_CASE("a task group's two tasks run on one default executor, each in its own sandbox, and both finish",
          "[agent][shell][task_group]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  // Each task records its parent (the executor that started it) in its own sandbox.
  launch_group(framework, {{"a", "echo $PPID > \"$MESOS_SANDBOX/parent\""}, {"b", "echo $PPID > \"$MESOS_SANDBOX/parent\""}});
  REQUIRE(framework.await_state("a", "TASK_FINISHED"));
  REQUIRE(framework.await_state("b", "TASK_FINISHED"));
  auto states = distinct_states(framework);
  const std::vector<std::string> expected = {"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"};
  CHECK(states["a"] == expected);
  CHECK(states["b"] == expected);
  for (const auto& e : framework.of("UPDATE")) {
    CHECK(e["update"]["status"]["executor_id"]["value"] == "default");
    CHECK(e["update"]["status"]["source"] == "SOURCE_EXECUTOR");
  }
  const auto sandbox = cluster.agent(0).sandbox(*framework.scheduler->framework_id(), dcos::ExecutorId("default"));
  REQUIRE(sandbox);
  const std::string parent_a = first_line(*sandbox + "/tasks/a/parent");
  CHECK_FALSE(parent_a.empty());
  CHECK(parent_a == first_line(*sandbox + "/tasks/b/parent"));  // One executor process ran both.
  // With nothing left to run the default executor exits.
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).executor_count() == 0; }));
}

TEST_CASE("when one task of a group fails the default executor kills the rest", "[agent][shell][task_group]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  launch_group(framework, {{"bad", "exit 4"}, {"good", "exec sleep 600"}});
  REQUIRE(framework.await_state("bad", "TASK_FAILED"));
  REQUIRE(framework.await_state("good", "TASK_KILLED"));
  for (const auto& e : framework.of("UPDATE")) {
    const auto& status = e["update"]["status"];
    if (status["state"] == "TASK_FAILED") CHECK(status["message"] == "Command exited with status 4");
  }
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).executor_count() == 0; }));
}

TEST_CASE("KILL of one task of a group kills the whole group", "[agent][shell][task_group]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  const std::string agent = launch_group(framework, {{"x", "exec sleep 600"}, {"y", "exec sleep 600"}});
  REQUIRE(framework.await_state("x", "TASK_RUNNING"));
  REQUIRE(framework.await_state("y", "TASK_RUNNING"));
  framework.scheduler->kill("x", agent);
  REQUIRE(framework.await_state("x", "TASK_KILLED"));
  REQUIRE(framework.await_state("y", "TASK_KILLED"));
  CHECK_FALSE(framework.saw_state("x", "TASK_FAILED"));
  CHECK_FALSE(framework.saw_state("y", "TASK_FAILED"));
  // The executor reports TASK_KILLED only once it has reaped the task's process; it exits once
  // both kills are acknowledged.
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).executor_count() == 0; }));
}

TEST_CASE("a task group whose executor is not DEFAULT is refused whole", "[agent][shell][task_group]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  launch_group(framework, {{"p", "true"}, {"q", "true"}}, default_executor_info("CUSTOM"));
  REQUIRE(framework.await_state("p", "TASK_ERROR"));
  REQUIRE(framework.await_state("q", "TASK_ERROR"));
  for (const auto& e : framework.of("UPDATE")) CHECK(e["update"]["status"]["reason"] == "REASON_TASK_GROUP_INVALID");
  CHECK(cluster.agent(0).executor_count() == 0);
}
