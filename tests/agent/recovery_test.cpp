// Checkpointing and agent recovery (reference/mesos-api.md §8.3; Mesos slave_recovery_tests):
// an agent "crashes" (stops without killing anything, like a SIGKILL of the daemon) and a new
// agent object starts on the same work_dir and port. Real task and executor processes; the
// manual clock drives every timeout.
#include "dcos/agent/agent.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "agent/agent_harness.hpp"

using namespace std::chrono_literals;
using namespace dcos::testing;
namespace fs = std::filesystem;
using dcos::agent::Agent;
using dcos::agent::AgentConfig;
namespace http = dcos::http;

namespace {

// An agent the test can crash and restart.
struct RestartableAgent {
  Cluster& cluster;
  std::string work_dir;
  AgentConfig config;
  std::unique_ptr<Agent> agent;

  RestartableAgent(Cluster& c) : cluster(c), work_dir(c.work_dir() + "/agent"), config(agent_config(c, work_dir)) {}
  ~RestartableAgent() {
    if (agent) agent->stop(true);
    cluster.poll();
  }
  dcos::Result<std::uint16_t> start() {
    agent = std::make_unique<Agent>(cluster.io().get_executor(), cluster.clock(), config);
    auto port = agent->start();
    if (port) config.port = *port;  // A restart listens where executors look for it.
    return port;
  }
  bool start_and_register() {
    if (!start()) return false;
    return cluster.run_until([&] { return agent->registered(); });
  }
  // Gone without a word, its processes left running.
  void crash() {
    agent->stop(false);
    agent.reset();
    cluster.poll();
  }
  dcos::agent::Layout layout() const { return {work_dir}; }
};

dcos::v1::FrameworkInfo checkpointing_info(std::string name = "ckpt", std::vector<std::string> capabilities = {}) {
  auto info = TestFramework::info(std::move(name), 3600, std::move(capabilities));
  info.checkpoint = true;
  return info;
}

// A command that blocks until a line arrives on the FIFO `<sandbox>/go`, then exits with
// `code`. No polling: fifty of them cost nothing while they wait.
std::string wait_for_go(int code = 0) {
  return fmt::format("mkfifo \"$MESOS_SANDBOX/go\" && exec 3<> \"$MESOS_SANDBOX/go\" && read line <&3; exit {}", code);
}

// Releases a `wait_for_go` task: writes a line once its FIFO has a reader.
void release(Cluster& cluster, const std::string& sandbox) {
  const std::string fifo = sandbox + "/go";
  REQUIRE(cluster.run_until([&] {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return false;  // Not made yet, or nobody reading yet.
    const bool written = ::write(fd, "go\n", 3) == 3;
    ::close(fd);
    return written;
  }));
}

std::string sandbox_of(Agent& agent, TestFramework& framework, const std::string& executor) {
  auto sandbox = agent.sandbox(*framework.scheduler->framework_id(), dcos::ExecutorId(executor));
  REQUIRE(sandbox);
  return *sandbox;
}

pid_t forked_pid(const RestartableAgent& a, const std::string& agent_id, const std::string& framework,
                 const std::string& executor) {
  const auto paths = a.layout();
  const std::string runs = paths.executor_meta(dcos::AgentId(agent_id), dcos::FrameworkId(framework), dcos::ExecutorId(executor)) + "/runs/latest";
  const auto record = read_json_file(runs + "/pids/forked.pid");
  REQUIRE(record.is_object());
  return record["pid"].get<pid_t>();
}

std::string read_file_text(const std::string& path) {
  auto text = dcos::agent::read_file(path);
  return text ? *text : std::string();
}

bool process_exists(pid_t pid) {
  auto stat = dcos::agent::read_proc_stat(pid);
  return stat && stat->state != 'Z';
}

}  // namespace

TEST_CASE("a restarted agent keeps its id and its running command task, whose end still arrives", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  RestartableAgent a(cluster);
  REQUIRE(a.start_and_register());
  const dcos::AgentId id = a.agent->id();
  TestFramework framework(cluster, checkpointing_info());
  framework.scheduler->start();
  launch_tasks(framework, [](const std::string& agent) { return nlohmann::json::array({command_task("t1", agent, wait_for_go())}); });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  REQUIRE(cluster.run_until([&] { return a.agent->pending_updates() == 0; }));
  const std::string sandbox = sandbox_of(*a.agent, framework, "t1");

  a.crash();
  REQUIRE(a.start_and_register());
  CHECK(a.agent->id() == id);
  CHECK(a.agent->running_tasks() == 1);
  release(cluster, sandbox);
  REQUIRE(framework.await_state("t1", "TASK_FINISHED"));
  CHECK(framework.states("t1") == std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"});
  // The master kept the agent (same id, no TASK_LOST) and sees it registered again.
  auto slaves = get_json(cluster, cluster.master_endpoint(), "/master/slaves");
  REQUIRE(slaves["slaves"].size() == 1);
  CHECK(slaves["slaves"][0]["id"] == id.value());
}

TEST_CASE("a command task that ends while the agent is down reports its real exit status", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  RestartableAgent a(cluster);
  REQUIRE(a.start_and_register());
  TestFramework framework(cluster, checkpointing_info());
  framework.scheduler->start();
  launch_tasks(framework, [](const std::string& agent) { return nlohmann::json::array({command_task("t1", agent, wait_for_go(7))}); });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  const std::string sandbox = sandbox_of(*a.agent, framework, "t1");
  const pid_t pid = forked_pid(a, a.agent->id().value(), framework.scheduler->framework_id()->value(), "t1");

  a.crash();
  release(cluster, sandbox);
  // Nobody reaps it now; wait until it is a zombie.
  REQUIRE(cluster.run_until([&] { return !process_exists(pid); }));
  REQUIRE(a.start_and_register());
  REQUIRE(framework.await_state("t1", "TASK_FAILED"));
  const auto status = framework.of("UPDATE").back()["update"]["status"];
  CHECK(status["message"] == "Command exited with status 7");
  CHECK(status["reason"] == "REASON_COMMAND_EXECUTOR_FAILED");
}

TEST_CASE("updates not acknowledged before the restart are re-sent, acknowledged ones are not", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  RestartableAgent a(cluster);
  REQUIRE(a.start_and_register());
  TestFramework framework(cluster, checkpointing_info());
  framework.auto_acknowledge = false;
  framework.scheduler->start();
  launch_tasks(framework, [](const std::string& agent) { return nlohmann::json::array({command_task("t1", agent, wait_for_go())}); });
  // STARTING arrives; RUNNING waits behind it, unacknowledged.
  auto starting = framework.await("UPDATE");
  REQUIRE(starting);
  CHECK((*starting)["update"]["status"]["state"] == "TASK_STARTING");
  framework.scheduler->acknowledge((*starting)["update"]["status"]);
  auto running = framework.await("UPDATE", 2);
  REQUIRE(running);
  CHECK((*running)["update"]["status"]["state"] == "TASK_RUNNING");
  REQUIRE(cluster.run_until([&] { return a.agent->pending_updates() == 1; }));

  a.crash();
  REQUIRE(a.start_and_register());
  CHECK(a.agent->pending_updates() == 1);
  auto again = framework.await("UPDATE", 3);
  REQUIRE(again);
  CHECK((*again)["update"]["status"]["state"] == "TASK_RUNNING");
  CHECK((*again)["update"]["status"]["uuid"] == (*running)["update"]["status"]["uuid"]);
  framework.scheduler->acknowledge((*again)["update"]["status"]);
  REQUIRE(cluster.run_until([&] { return a.agent->pending_updates() == 0; }));
  cluster.advance(10min, 10);  // Retry timers would fire now, if anything were pending.
  cluster.run_until([] { return false; }, 50ms);
  CHECK(framework.of("UPDATE").size() == 3);
}

TEST_CASE("a custom executor re-subscribes to the restarted agent and its task carries on", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  RestartableAgent a(cluster);
  REQUIRE(a.start_and_register());
  TestFramework framework(cluster, checkpointing_info());
  framework.scheduler->start();
  const std::string agent_id = launch_tasks(framework, [](const std::string& agent) {
    return nlohmann::json::array({executor_task("t1", agent, test_executor_info("e1"), "run")});
  });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  REQUIRE(cluster.run_until([&] { return a.agent->pending_updates() == 0; }));
  const dcos::FrameworkId fid = *framework.scheduler->framework_id();

  a.crash();
  REQUIRE(a.start_and_register());
  CHECK_FALSE(a.agent->executor_subscribed(fid, dcos::ExecutorId("e1")));
  REQUIRE(cluster.run_until([&] { return a.agent->executor_subscribed(fid, dcos::ExecutorId("e1")); }));
  // A kill after the restart reaches the executor.
  framework.scheduler->kill("t1", agent_id);
  REQUIRE(framework.await_state("t1", "TASK_KILLED"));
  CHECK(framework.states("t1") == std::vector<std::string>{"TASK_RUNNING", "TASK_KILLED"});
}

TEST_CASE("tasks of an executor that died while the agent was down fail", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  RestartableAgent a(cluster);
  REQUIRE(a.start_and_register());
  TestFramework framework(cluster, checkpointing_info());
  framework.scheduler->start();
  launch_tasks(framework, [](const std::string& agent) {
    return nlohmann::json::array({executor_task("t1", agent, test_executor_info("e1"), "run")});
  });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  const pid_t pid = forked_pid(a, a.agent->id().value(), framework.scheduler->framework_id()->value(), "e1");

  a.crash();
  ::kill(-pid, SIGKILL);
  REQUIRE(cluster.run_until([&] { return !process_exists(pid); }));
  REQUIRE(a.start_and_register());
  REQUIRE(framework.await_state("t1", "TASK_FAILED"));
  const auto status = framework.of("UPDATE").back()["update"]["status"];
  CHECK(status["reason"] == "REASON_EXECUTOR_TERMINATED");
  CHECK(status["source"] == "SOURCE_AGENT");
}

TEST_CASE("an executor that does not re-subscribe within --executor_reregistration_timeout is killed", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  RestartableAgent a(cluster);
  REQUIRE(a.start_and_register());
  TestFramework framework(cluster, checkpointing_info());
  framework.scheduler->start();
  launch_tasks(framework, [](const std::string& agent) {
    return nlohmann::json::array({executor_task("t1", agent, silent_executor_info("e1"), "run")});
  });
  REQUIRE(cluster.run_until([&] { return a.agent->executor_count() == 1; }));
  const std::string fid = framework.scheduler->framework_id()->value();
  const http::Endpoint endpoint{"127.0.0.1", a.agent->port()};
  {
    // The test is the executor: it subscribes and reports the task running, then goes quiet.
    ExecutorStream stream(cluster, endpoint, subscribe_call(fid, "e1"));
    REQUIRE(stream.await("LAUNCH"));
    auto response = request(cluster, endpoint, executor_call(endpoint, update_call(fid, "e1", "t1", "TASK_RUNNING", dcos::random_uuid_bytes())));
    REQUIRE(response.result_int() == 202);
    REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  }
  const pid_t pid = forked_pid(a, a.agent->id().value(), fid, "e1");

  a.crash();
  REQUIRE(a.start_and_register());
  cluster.advance(1s);
  cluster.run_until([] { return false; }, 50ms);
  CHECK_FALSE(framework.saw_state("t1", "TASK_FAILED"));
  cluster.advance(1s);
  REQUIRE(framework.await_state("t1", "TASK_FAILED"));
  CHECK(framework.of("UPDATE").back()["update"]["status"]["reason"] == "REASON_EXECUTOR_REREGISTRATION_TIMEOUT");
  REQUIRE(cluster.run_until([&] { return !process_exists(pid); }));
}

TEST_CASE("a non-checkpointing framework's task is not recovered: killed, and reported lost", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  RestartableAgent a(cluster);
  REQUIRE(a.start_and_register());
  TestFramework framework(cluster, TestFramework::info("plain", 3600));
  framework.scheduler->start();
  launch_tasks(framework, [](const std::string& agent) { return nlohmann::json::array({command_task("t1", agent, "sleep 600")}); });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  const auto status = framework.of("UPDATE").back()["update"]["status"];
  const pid_t pid = status["container_status"]["executor_pid"].get<pid_t>();
  REQUIRE(process_exists(pid));

  a.crash();
  REQUIRE(process_exists(pid));  // Still running: the agent died, not the task.
  REQUIRE(a.start_and_register());
  CHECK(a.agent->running_tasks() == 0);
  REQUIRE(cluster.run_until([&] { return !process_exists(pid); }));
  REQUIRE(framework.await_state("t1", "TASK_LOST"));
}

TEST_CASE("after a reboot, checkpointed tasks are not adopted and end TASK_FAILED", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  RestartableAgent a(cluster);
  REQUIRE(a.start_and_register());
  const dcos::AgentId id = a.agent->id();
  TestFramework framework(cluster, checkpointing_info());
  framework.scheduler->start();
  launch_tasks(framework, [](const std::string& agent) { return nlohmann::json::array({command_task("t1", agent, "sleep 600")}); });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));

  a.crash();
  a.config.boot_id = "boot-2";  // The machine came back up.
  REQUIRE(a.start_and_register());
  CHECK(a.agent->id() == id);
  REQUIRE(framework.await_state("t1", "TASK_FAILED"));
  const auto status = framework.of("UPDATE").back()["update"]["status"];
  CHECK(status["reason"] == "REASON_EXECUTOR_TERMINATED");
  CHECK_THAT(status["message"].get<std::string>(), Catch::Contains("reboot"));
  CHECK(read_file_text(a.layout().boot_id()) == "boot-2");
}

TEST_CASE("50 tasks survive an agent restart and the framework sees each update once", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  RestartableAgent a(cluster);
  REQUIRE(a.start_and_register());
  TestFramework framework(cluster, checkpointing_info());
  framework.scheduler->start();
  constexpr int tasks = 50;
  launch_tasks(framework, [](const std::string& agent) {
    nlohmann::json infos = nlohmann::json::array();
    for (int i = 0; i < tasks; ++i) infos.push_back(command_task(fmt::format("t{}", i), agent, wait_for_go(), "cpus:0.1;mem:8"));
    return infos;
  });
  // One pass over the events (checked after every handler the loop runs).
  auto all_in = [&](const std::string& state) {
    std::set<std::string> seen;
    for (const auto& e : framework.events) {
      if (e.value("type", "") == "UPDATE" && e["update"]["status"]["state"] == state) {
        seen.insert(e["update"]["status"]["task_id"]["value"].get<std::string>());
      }
    }
    return seen.size() == static_cast<size_t>(tasks);
  };
  REQUIRE(cluster.run_until([&] { return all_in("TASK_RUNNING"); }));
  REQUIRE(cluster.run_until([&] { return a.agent->pending_updates() == 0; }));
  std::vector<std::string> sandboxes;
  for (int i = 0; i < tasks; ++i) sandboxes.push_back(sandbox_of(*a.agent, framework, fmt::format("t{}", i)));

  a.crash();
  // Half of them finish while the agent is away, half after it is back.
  for (int i = 0; i < tasks / 2; ++i) release(cluster, sandboxes[i]);
  REQUIRE(a.start_and_register());
  for (int i = tasks / 2; i < tasks; ++i) release(cluster, sandboxes[i]);
  REQUIRE(cluster.run_until([&] { return all_in("TASK_FINISHED"); }, 30s));
  REQUIRE(cluster.run_until([&] { return a.agent->pending_updates() == 0; }));
  const auto states = distinct_states(framework);
  for (int i = 0; i < tasks; ++i) {
    INFO("task t" << i);
    CHECK(states.at(fmt::format("t{}", i)) == std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"});
  }
  // Exactly as without the restart: no update delivered twice.
  CHECK(framework.of("UPDATE").size() == 3 * tasks);
}

TEST_CASE("a corrupt checkpoint stops a strict agent and is skipped by a lenient one", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  RestartableAgent a(cluster);
  REQUIRE(a.start_and_register());
  TestFramework framework(cluster, checkpointing_info());
  framework.scheduler->start();
  launch_tasks(framework, [](const std::string& agent) {
    return nlohmann::json::array({command_task("t1", agent, "sleep 600"), command_task("t2", agent, "sleep 600")});
  });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  REQUIRE(framework.await_state("t2", "TASK_RUNNING"));
  const auto layout = a.layout();
  const auto fid = *framework.scheduler->framework_id();
  const std::string task_info = layout.executor_meta(a.agent->id(), fid, dcos::ExecutorId("t1")) + "/runs/latest/tasks/t1/task.info";
  REQUIRE(fs::exists(task_info));

  a.crash();
  std::ofstream(task_info) << "{ not json";
  auto started = a.start();
  REQUIRE_FALSE(started);
  CHECK_THAT(started.error().message, Catch::Contains("task.info"));
  a.agent.reset();
  a.config.strict = false;
  REQUIRE(a.start_and_register());
  CHECK(a.agent->running_tasks() == 1);  // t2 recovered; t1 skipped (the master reports it lost).
  REQUIRE(framework.await_state("t1", "TASK_LOST"));
}

TEST_CASE("an agent restarted with other resources refuses its old checkpoint", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  RestartableAgent a(cluster);
  REQUIRE(a.start_and_register());
  a.crash();
  a.config.resources = dcos::parse_resources("cpus:4;mem:4096;disk:1024;ports:[31000-31100]").value();
  auto started = a.start();
  REQUIRE_FALSE(started);
  CHECK_THAT(started.error().message, Catch::Contains("Incompatible agent info"));
}
