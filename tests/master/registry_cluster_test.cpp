// The master's registry on the in-process cluster: a restarted master keeps every admitted
// agent and running task, refuses agents marked gone, marks returning unreachable agents
// reachable, and answers 503 until it has recovered (or steps down when it cannot).
#include <catch2/catch.hpp>

#include <filesystem>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "cluster/framework_harness.hpp"
#include "cluster/master_client.hpp"
#include "dcos/master/registrar.hpp"
#include "dcos/state/in_memory_storage.hpp"
#include "master/faulty_storage.hpp"
#include "support/run_until.hpp"

namespace dcos::testing {
namespace {

using namespace std::chrono_literals;

// Lets agents and schedulers retry after their back-off (at most a few seconds at first).
void let_everyone_reconnect(Cluster& cluster) { cluster.advance(10s, 40); }

bool all_registered(Cluster& cluster) {
  for (size_t i = 0; i < cluster.agent_count(); ++i) {
    if (!cluster.agent(i).registered()) return false;
  }
  return true;
}

// One agent running task "t1" of a partition-aware framework (which sees TASK_UNREACHABLE and
// TASK_GONE_BY_OPERATOR rather than TASK_LOST).
struct AwareTaskRunning {
  explicit AwareTaskRunning(master::MasterOptions options = {})
      : cluster(io, {.agents = 1, .master_options = options}),
        framework(started(cluster), TestFramework::info("aware", 3600, {"PARTITION_AWARE"})) {
    framework.scheduler->start();
    framework.launch("t1", "sleep 60");
    REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  }
  AgentId agent() { return cluster.agent(0).id(); }
  static Cluster& started(Cluster& cluster) {
    REQUIRE(cluster.start());
    return cluster;
  }

  boost::asio::io_context io;
  Cluster cluster;
  TestFramework framework;
};

}  // namespace

TEST_CASE("a restarted master recovers its registry: agents keep their ids and running tasks",
          "[registrar][cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 2});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info("keeper", 3600));
  framework.scheduler->start();
  const std::string agent = framework.launch("t1", "sleep 60");
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  const std::set<AgentId> agents = {cluster.agent(0).id(), cluster.agent(1).id()};
  REQUIRE(cluster.master().registrar()->registry().agents.size() == 2);

  REQUIRE(cluster.restart_master());
  // Before any agent is back, the new master knows both from the registry alone.
  std::set<AgentId> recovered;
  for (const auto& [id, info] : cluster.master().core().recovered_agents()) recovered.insert(id);
  CHECK(recovered == agents);
  CHECK(cluster.master().core().agents().empty());

  let_everyone_reconnect(cluster);
  REQUIRE(cluster.run_until([&] { return all_registered(cluster) && framework.scheduler->subscribed(); }));
  CHECK(std::set<AgentId>{cluster.agent(0).id(), cluster.agent(1).id()} == agents);  // Same ids.
  CHECK(cluster.master().core().recovered_agents().empty());
  CHECK(cluster.master().core().agents().size() == 2);
  // Re-registration is not admission: the registry is unchanged but for the master's info.
  const master::Registry& registry = cluster.master().registrar()->registry();
  CHECK(registry.agents.size() == 2);
  CHECK(registry.master_info["id"] == cluster.master().id());
  // The task is known again, running on its agent.
  const FrameworkId framework_id = *framework.scheduler->framework_id();
  REQUIRE(cluster.master().core().frameworks().contains(framework_id));
  const auto& tasks = cluster.master().core().frameworks().at(framework_id).tasks;
  REQUIRE(tasks.contains(TaskId("t1")));
  CHECK(tasks.at(TaskId("t1")).state == v1::TaskState::running);
  CHECK(tasks.at(TaskId("t1")).info.agent_id.value() == agent);
  const size_t before = framework.of("UPDATE").size();
  framework.scheduler->reconcile();
  REQUIRE(cluster.run_until([&] { return framework.of("UPDATE").size() > before; }));
  CHECK(framework.of("UPDATE").back()["update"]["status"]["state"] == "TASK_RUNNING");
}

TEST_CASE("an agent marked gone loses its tasks and is refused, also by a restarted master",
          "[registrar][cluster][shell]") {
  AwareTaskRunning running;
  auto& [io, cluster, framework] = running;
  const AgentId agent = running.agent();

  std::optional<Result<bool>> marked;
  cluster.master().mark_agent_gone(agent, [&](Result<bool> r) { marked = r; });
  REQUIRE(cluster.run_until([&] { return marked.has_value(); }));
  REQUIRE(marked->value());
  REQUIRE(framework.await_state("t1", "TASK_GONE_BY_OPERATOR"));
  CHECK(cluster.master().registrar()->registry().gone.contains(agent));
  CHECK_FALSE(cluster.master().core().agents().contains(agent));

  // The agent's link was closed; its retries are refused.
  let_everyone_reconnect(cluster);
  CHECK_FALSE(cluster.agent(0).registered());
  CHECK_FALSE(cluster.master().core().agents().contains(agent));

  REQUIRE(cluster.restart_master());
  CHECK(cluster.master().core().agent_gone(agent));
  let_everyone_reconnect(cluster);
  CHECK_FALSE(cluster.agent(0).registered());
  CHECK(cluster.master().core().agents().empty());
  // Marking it gone again changes nothing.
  marked.reset();
  cluster.master().mark_agent_gone(agent, [&](Result<bool> r) { marked = r; });
  REQUIRE(cluster.run_until([&] { return marked.has_value(); }));
  CHECK_FALSE(marked->value());
}

TEST_CASE("MARK_AGENT_GONE over the operator API answers once the registry holds the mark",
          "[registrar][cluster][shell]") {
  AwareTaskRunning running;
  auto& [io, cluster, framework] = running;
  const AgentId agent = running.agent();
  auto mark_gone = [&](const std::string& id) {
    return nlohmann::json{{"type", "MARK_AGENT_GONE"}, {"mark_agent_gone", {{"agent_id", {{"value", id}}}}}};
  };

  // Bad calls are refused before anything is written.
  CHECK(operator_call(cluster, {{"type", "MARK_AGENT_GONE"}}).result_int() == 400);
  CHECK(operator_call(cluster, mark_gone("")).result_int() == 400);
  CHECK(operator_call(cluster, mark_gone(agent.value()), "application/x-protobuf").result_int() == 415);
  const auto unknown = operator_call(cluster, mark_gone("no-such-agent"));
  CHECK(unknown.result_int() == 404);
  CHECK(unknown.body() == "Agent 'no-such-agent' not found");
  CHECK_FALSE(cluster.master().registrar()->registry().gone.contains(agent));

  const std::uint64_t stores = cluster.master().registrar()->stats().stores;
  REQUIRE(operator_call(cluster, mark_gone(agent.value())).result_int() == 200);
  // By the time of the 200, the mark is stored.
  CHECK(cluster.master().registrar()->stats().stores == stores + 1);
  CHECK(cluster.master().registrar()->registry().gone.contains(agent));
  REQUIRE(framework.await_state("t1", "TASK_GONE_BY_OPERATOR"));
  // Again: already gone, nothing to write, still 200 (as Mesos answers).
  CHECK(operator_call(cluster, mark_gone(agent.value())).result_int() == 200);
  CHECK(cluster.master().registrar()->stats().stores == stores + 1);

  const nlohmann::json metrics = get_json(cluster, "/metrics/snapshot");
  CHECK(metrics["registrar/queued_operations"] == 0);
  CHECK(metrics["registrar/state_fetch_ms"].is_number());
  CHECK(metrics["registrar/state_store_ms"].is_number());
}

TEST_CASE("an unreachable agent that returns is marked reachable: TASK_UNREACHABLE, then TASK_RUNNING",
          "[registrar][cluster][shell]") {
  master::MasterOptions options;
  options.agent_ping_timeout = 5s;  // Unreachable after 25 s: before the scheduler misses heartbeats (75 s).
  AwareTaskRunning running(options);
  auto& [io, cluster, framework] = running;
  const AgentId agent = running.agent();

  // 26 s in one step: the master's ticks run back to back with no chance for the agent to
  // answer a ping, as in a partition. The registry is written first, then the task is marked.
  cluster.advance(26s, 1);
  REQUIRE(framework.await_state("t1", "TASK_UNREACHABLE"));
  CHECK(cluster.master().registrar()->registry().unreachable.contains(agent));

  // The master closed the agent's link; the partition heals: the agent re-registers with its
  // id and its running task.
  REQUIRE(cluster.run_until([&] { return !cluster.agent(0).registered(); }));
  let_everyone_reconnect(cluster);
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).registered(); }));
  CHECK(cluster.agent(0).id() == agent);
  const master::Registry& registry = cluster.master().registrar()->registry();
  CHECK(registry.agents.contains(agent));
  CHECK_FALSE(registry.unreachable.contains(agent));
  const size_t before = framework.of("UPDATE").size();
  framework.scheduler->reconcile();
  REQUIRE(cluster.run_until([&] { return framework.of("UPDATE").size() > before; }));
  CHECK(framework.of("UPDATE").back()["update"]["status"]["state"] == "TASK_RUNNING");
}

TEST_CASE("a master answers 503 until its registry is recovered, and steps down when the fetch times out",
          "[registrar][cluster][shell]") {
  boost::asio::io_context io;
  ManualClock clock;
  state::InMemoryStorage inner;
  auto storage = std::make_shared<master::testing::FaultyStorage>(inner);
  storage->hang_get = true;
  master::MasterConfig config;
  config.port = 0;
  config.registry_storage = storage;
  std::optional<Error> fatal;
  config.on_fatal = [&](const Error& error) { fatal = error; };
  master::Master master(io.get_executor(), clock, config);
  REQUIRE(master.start());
  auto client = http::Client::create(io.get_executor(), {"127.0.0.1", master.port()});
  std::optional<Result<http::Response>> reply;
  client->send(http::make_post({"127.0.0.1", master.port()}, "/api/v1/scheduler", R"({"type":"SUBSCRIBE"})"),
               [&](Result<http::Response> r) { reply = std::move(r); });
  REQUIRE(run_until(io, [&] { return reply.has_value(); }));
  REQUIRE(*reply);
  CHECK((*reply)->result() == http::Status::service_unavailable);
  CHECK((*reply)->body() == "Master has not finished recovery");
  CHECK_FALSE(master.recovered());

  clock.advance(60s);  // `registry_fetch_timeout` defaults to one minute.
  io.poll();
  REQUIRE(fatal);
  CHECK(fatal->code == Errc::timed_out);
  CHECK_FALSE(master.recovered());
  client->close();
  io.poll();
}

TEST_CASE("a master destroyed with a registry store in flight on the replicated log leaves it to end safely",
          "[registrar][cluster][shell]") {
  const auto work_dir = std::filesystem::temp_directory_path() / fmt::format("dcos-registry-{}", ::getpid());
  std::filesystem::remove_all(work_dir);
  boost::asio::io_context io;
  ManualClock clock;
  master::MasterConfig config;
  config.port = 0;
  config.work_dir = work_dir.string();
  for (double weight : {2.0, 3.0}) {
    auto master = std::make_unique<master::Master>(io.get_executor(), clock, config);
    REQUIRE(master->start());
    REQUIRE(run_until(io, [&] { return master->recovered(); }));
    const std::uint64_t stores = master->registrar()->stats().stores;
    auto client = http::Client::create(io.get_executor(), {"127.0.0.1", master->port()});
    const nlohmann::json call = {{"type", "UPDATE_WEIGHTS"},
                                 {"update_weights", {{"weight_infos", {{{"role", "eng"}, {"weight", weight}}}}}}};
    std::optional<Result<http::Response>> reply;
    client->send(http::make_post({"127.0.0.1", master->port()}, "/api/v1", call.dump()),
                 [&](Result<http::Response> r) { reply = std::move(r); });
    REQUIRE(run_until(io, [&] { return reply.has_value(); }));
    REQUIRE(*reply);
    REQUIRE((*reply)->result() == http::Status::ok);
    io.poll();  // The registrar's batch starts its store on the log's threads.
    if (master->registrar()->stats().stores != stores) WARN("the store ended before the master: nothing was in flight");
    client->close();
    master.reset();  // Closes the log: the store in flight fails on `io`, into a storage still there.
    io.restart();
    io.run();
  }
  // The log is intact: a third master recovers from it.
  master::Master master(io.get_executor(), clock, config);
  REQUIRE(master.start());
  REQUIRE(run_until(io, [&] { return master.recovered(); }));
  auto client = http::Client::create(io.get_executor(), {"127.0.0.1", master.port()});
  std::optional<Result<http::Response>> metrics;
  client->send(http::Request{http::beast_http::verb::get, "/metrics/snapshot", 11},
               [&](Result<http::Response> r) { metrics = std::move(r); });
  REQUIRE(run_until(io, [&] { return metrics.has_value(); }));
  REQUIRE(*metrics);
  const auto snapshot = nlohmann::json::parse((*metrics)->body());
  CHECK(snapshot["registrar/log/recovered"] == 1);
  CHECK(snapshot["registrar/log/ensemble_size"] == 1);
  client->close();
  master.stop();
  io.poll();
  std::filesystem::remove_all(work_dir);
}

}  // namespace dcos::testing

namespace dcos::testing {

// Advances the clock in 1 s steps. After each, waits until every connected agent has answered
// the ping the master may have just sent: a round trip that has not finished by the next step
// (a loaded machine) must not count as silence.
void advance_answering_pings(Cluster& cluster, Duration by) {
  for (Duration advanced{}; advanced < by; advanced += std::chrono::seconds(1)) {
    cluster.advance(std::chrono::seconds(1));
    REQUIRE(cluster.run_until([&] {
      for (const auto& [id, agent] : cluster.master().core().agents()) {
        if (agent.connected && agent.last_seen < agent.last_ping) return false;
      }
      return true;
    }));
  }
}

TEST_CASE("after a failover, agents not back within agent_reregister_timeout are marked unreachable",
          "[registrar][cluster][shell]") {
  using namespace std::chrono_literals;
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 2});
  REQUIRE(cluster.start());
  const AgentId back = cluster.agent(0).id();
  const AgentId lost = cluster.agent(1).id();
  cluster.stop_agent(1);
  REQUIRE(cluster.restart_master());
  cluster.advance(10s, 40);
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).registered(); }));
  CHECK(cluster.master().core().recovered_agents().size() == 1);
  CHECK(cluster.master().core().recovered_agents().contains(lost));
  advance_answering_pings(cluster, 9min);  // 9 min 10 s after recovery.
  CHECK(cluster.master().registrar()->registry().unreachable.empty());
  advance_answering_pings(cluster, 1min);
  REQUIRE(cluster.run_until([&] { return cluster.master().registrar()->registry().unreachable.contains(lost); }));
  CHECK(cluster.master().core().recovered_agents().empty());
  CHECK(cluster.master().core().unreachable_agents().contains(lost));
  CHECK(cluster.master().registrar()->registry().agents.contains(back));
}

}  // namespace dcos::testing

namespace dcos::testing {

TEST_CASE("registry garbage collection forgets gone agents after registry_max_agent_age",
          "[registrar][cluster][shell]") {
  using namespace std::chrono_literals;
  boost::asio::io_context io;
  master::MasterOptions options;
  options.registry_gc_interval = 1min;
  options.registry_max_agent_age = 5min;
  Cluster cluster(io, {.agents = 1, .master_options = options});
  REQUIRE(cluster.start());
  const AgentId agent = cluster.agent(0).id();
  std::optional<Result<bool>> marked;
  cluster.master().mark_agent_gone(agent, [&](Result<bool> r) { marked = r; });
  REQUIRE(cluster.run_until([&] { return marked.has_value(); }));
  REQUIRE(marked->value());
  cluster.advance(4min, 24);  // Collections at 1, 2, 3 and 4 min: the mark is too young.
  CHECK(cluster.master().registrar()->registry().gone.contains(agent));
  CHECK(cluster.master().core().agent_gone(agent));
  cluster.advance(2min, 12);  // The collection at 6 min finds it older than 5 min.
  REQUIRE(cluster.run_until([&] { return cluster.master().registrar()->registry().gone.empty(); }));
  CHECK_FALSE(cluster.master().core().agent_gone(agent));
}

}  // namespace dcos::testing
