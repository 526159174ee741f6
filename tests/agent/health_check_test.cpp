// Health checks (reference/mesos-api.md §8.5): the pure rules, then COMMAND, HTTP and TCP checks
// on command tasks, driven by the manual clock.
#include "dcos/agent/health_check.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>

#include "agent/agent_harness.hpp"

using namespace std::chrono_literals;
using dcos::agent::HealthCheckCore;
using dcos::agent::HealthCheckSpec;

namespace {

HealthCheckSpec spec(int consecutive_failures = 3, dcos::Duration grace = 10s) {
  HealthCheckSpec s;
  s.consecutive_failures = consecutive_failures;
  s.grace_period = grace;
  return s;
}

}  // namespace

TEST_CASE("health: failures in the grace period are ignored until the first success", "[agent][core]") {
  const dcos::TimePoint t0{std::chrono::hours(1)};
  HealthCheckCore core(spec(3, 20s), t0);
  CHECK(core.first_check() == t0 + 15s);  // delay_seconds defaults to 15.
  auto verdict = core.on_failure(t0 + 15s);
  CHECK_FALSE(verdict.report);
  CHECK(core.consecutive_failures() == 0);
  // Past the grace period a failure counts even before any success.
  verdict = core.on_failure(t0 + 21s);
  CHECK(verdict.report);
  CHECK_FALSE(verdict.healthy);
  CHECK(verdict.consecutive_failures == 1);
}

TEST_CASE("health: the first success is reported, later ones only after failures", "[agent][core]") {
  const dcos::TimePoint t0{std::chrono::hours(1)};
  HealthCheckCore core(spec(3, 10s), t0);
  auto verdict = core.on_success(t0 + 15s);
  CHECK(verdict.report);
  CHECK(verdict.healthy);
  CHECK_FALSE(core.on_success(t0 + 25s).report);
  // After a success the grace period no longer shields failures.
  HealthCheckCore early(spec(3, 1h), t0);
  early.on_success(t0 + 1s);
  CHECK(early.on_failure(t0 + 2s).report);
  CHECK(early.on_success(t0 + 3s).report);  // Healthy again after a failure.
}

TEST_CASE("health: consecutive_failures in a row ask for a kill, a success resets the count", "[agent][core]") {
  const dcos::TimePoint t0{std::chrono::hours(1)};
  HealthCheckCore core(spec(3, 0s), t0);
  CHECK_FALSE(core.on_failure(t0 + 1s).kill);
  CHECK_FALSE(core.on_failure(t0 + 2s).kill);
  core.on_success(t0 + 3s);
  CHECK(core.consecutive_failures() == 0);
  CHECK_FALSE(core.on_failure(t0 + 4s).kill);
  CHECK_FALSE(core.on_failure(t0 + 5s).kill);
  auto third = core.on_failure(t0 + 6s);
  CHECK(third.kill);
  CHECK(third.consecutive_failures == 3);
}

TEST_CASE("health check JSON: types, defaults and refusals", "[agent][core]") {
  auto command = dcos::agent::parse_health_check({{"type", "COMMAND"}, {"command", {{"value", "true"}}}});
  REQUIRE(command);
  CHECK(command->type == HealthCheckSpec::Type::command);
  CHECK(command->delay == 15s);
  CHECK(command->interval == 10s);
  CHECK(command->timeout == 20s);
  CHECK(command->grace_period == 10s);
  CHECK(command->consecutive_failures == 3);
  auto http = dcos::agent::parse_health_check(
      {{"type", "HTTP"}, {"http", {{"port", 8080}, {"path", "health"}}}, {"interval_seconds", 2.5}, {"timeout_seconds", "1"}});
  REQUIRE(http);
  CHECK(http->port == 8080);
  CHECK(http->path == "/health");
  CHECK(http->interval == 2500ms);
  CHECK(http->timeout == 1s);
  auto tcp = dcos::agent::parse_health_check({{"type", "TCP"}, {"tcp", {{"port", 9000}}}});
  REQUIRE(tcp);
  CHECK(tcp->type == HealthCheckSpec::Type::tcp);
  CHECK_FALSE(dcos::agent::parse_health_check({{"type", "COMMAND"}}));
  CHECK_FALSE(dcos::agent::parse_health_check({{"type", "HTTP"}, {"http", {{"port", 0}}}}));
  CHECK_FALSE(dcos::agent::parse_health_check({{"type", "HTTP"}, {"http", {{"port", 80}, {"scheme", "https"}}}}));
  CHECK_FALSE(dcos::agent::parse_health_check({{"type", "COMMAND"}, {"command", {{"value", "true"}}}, {"delay_seconds", -1}}));
}

namespace {

using namespace dcos::testing;

// A command task with `health_check`, on a fresh cluster; records every update.
struct HealthFixture {
  boost::asio::io_context io;
  Cluster cluster{io, {.agents = 1}};
  std::unique_ptr<TestFramework> framework;

  explicit HealthFixture(const nlohmann::json& health_check, const std::string& command = "exec sleep 600") {
    REQUIRE(cluster.start());
    framework = std::make_unique<TestFramework>(cluster, TestFramework::info());
    framework->scheduler->start();
    launch_tasks(*framework, [&](const std::string& agent) {
      auto task = command_task("t1", agent, command);
      task["health_check"] = health_check;
      return nlohmann::json::array({task});
    });
    REQUIRE(framework->await_state("t1", "TASK_RUNNING"));
    REQUIRE(cluster.run_until([&] { return cluster.agent(0).pending_updates() == 0; }));
  }
  // Updates that carry `healthy`, in order (a retried delivery counted once).
  std::vector<bool> health() const {
    std::vector<bool> out;
    std::set<std::string> uuids;
    for (const auto& e : framework->events) {
      if (e.value("type", "") != "UPDATE") continue;
      const auto& status = e["update"]["status"];
      if (status["state"] == "TASK_RUNNING" && status.contains("healthy") && uuids.insert(status["uuid"]).second) {
        out.push_back(status["healthy"]);
      }
    }
    return out;
  }
  // Waits for the n-th health report and its acknowledgement (so no retry muddles the count).
  bool await_health(size_t n) {
    return cluster.run_until([&] { return health().size() >= n && cluster.agent(0).pending_updates() == 0; });
  }
  std::string sandbox() {
    return *cluster.agent(0).sandbox(*framework->scheduler->framework_id(), dcos::ExecutorId("t1"));
  }
};

}  // namespace

TEST_CASE("a COMMAND health check reports healthy, then unhealthy, then the task is killed", "[agent][shell]") {
  HealthFixture f({{"type", "COMMAND"},
                   {"command", {{"value", "test -f \"$MESOS_SANDBOX/healthy\""}}},
                   {"delay_seconds", 5},
                   {"interval_seconds", 10},
                   {"grace_period_seconds", 0},
                   {"consecutive_failures", 2}},
                  "touch \"$MESOS_SANDBOX/healthy\"; exec sleep 600");
  f.cluster.advance(4s);
  f.cluster.run_until([] { return false; }, 50ms);
  CHECK(f.health().empty());  // Not before delay_seconds.
  f.cluster.advance(1s);
  REQUIRE(f.await_health(1));
  CHECK(f.health() == std::vector<bool>{true});
  CHECK(f.framework->of("UPDATE").back()["update"]["status"]["reason"] == "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED");

  std::filesystem::remove(f.sandbox() + "/healthy");
  f.cluster.advance(10s);
  REQUIRE(f.await_health(2));
  CHECK(f.health() == std::vector<bool>{true, false});
  CHECK_FALSE(f.framework->saw_state("t1", "TASK_KILLED"));
  f.cluster.advance(10s);
  REQUIRE(f.await_health(3));
  REQUIRE(f.framework->await_state("t1", "TASK_KILLED"));
  const auto killed = f.framework->of("UPDATE").back()["update"]["status"];
  CHECK(killed["healthy"] == false);
  CHECK(distinct_states(*f.framework).at("t1") ==
        std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING", "TASK_RUNNING", "TASK_RUNNING", "TASK_RUNNING", "TASK_KILLED"});
}

TEST_CASE("a health check that does not finish within timeout_seconds fails", "[agent][shell]") {
  HealthFixture f({{"type", "COMMAND"},
                   {"command", {{"value", "exec sleep 600"}}},
                   {"delay_seconds", 0},
                   {"timeout_seconds", 2},
                   {"grace_period_seconds", 0}});
  f.cluster.advance(0s);
  f.cluster.run_until([] { return false; }, 50ms);
  f.cluster.advance(2s);
  REQUIRE(f.await_health(1));
  CHECK(f.health() == std::vector<bool>{false});
  CHECK_THAT(f.framework->of("UPDATE").back()["update"]["status"]["message"].get<std::string>(), Catch::Contains("timed out"));
}

TEST_CASE("HTTP and TCP health checks follow the service", "[agent][shell]") {
  namespace asio = boost::asio;
  const bool http = GENERATE(true, false);
  // The service, on its own io_context polled beside the cluster's: an HTTP server answering
  // 200 or 503, or a bare TCP listener.
  asio::io_context service_io;
  int status = 200;
  std::unique_ptr<dcos::http::Server> server;
  std::unique_ptr<asio::ip::tcp::acceptor> listener;
  std::uint16_t port = 0;
  if (http) {
    auto router = std::make_shared<dcos::http::Router>();
    router->add("/health", [&](const dcos::http::Request& request) {
      return dcos::http::make_response(request, static_cast<dcos::http::Status>(status));
    });
    server = std::make_unique<dcos::http::Server>(service_io.get_executor(), router);
    port = server->listen("127.0.0.1", 0).value();
  } else {
    listener = std::make_unique<asio::ip::tcp::acceptor>(service_io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = listener->local_endpoint().port();
  }
  nlohmann::json check = http ? nlohmann::json{{"type", "HTTP"}, {"http", {{"port", port}, {"path", "/health"}}}}
                              : nlohmann::json{{"type", "TCP"}, {"tcp", {{"port", port}}}};
  check["delay_seconds"] = 1;
  check["interval_seconds"] = 1;
  check["grace_period_seconds"] = 0;
  check["consecutive_failures"] = 10;
  HealthFixture f(check);
  auto await_health = [&](size_t n) {
    return f.cluster.run_until([&] {
      if (service_io.stopped()) service_io.restart();
      service_io.poll();
      return f.health().size() >= n;
    });
  };
  f.cluster.advance(1s);
  REQUIRE(await_health(1));
  CHECK(f.health() == std::vector<bool>{true});
  if (http) status = 503;
  else listener.reset();  // Connections are refused from now on.
  f.cluster.advance(1s);
  REQUIRE(await_health(2));
  CHECK(f.health() == std::vector<bool>{true, false});
  if (server) server->stop();
  service_io.poll();
}
