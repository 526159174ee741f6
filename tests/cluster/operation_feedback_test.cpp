// Operation feedback on the in-process cluster: RESERVE / UNRESERVE with an `id` in ACCEPT get
// UPDATE_OPERATION_STATUS from the agent, reliably until acknowledged; invalid ones get
// OPERATION_ERROR from the master; RECONCILE_OPERATIONS and GET_OPERATIONS answer from the
// master's books (docs/design/agent-protocol.md, "Operation feedback").
#include <catch2/catch.hpp>

#include "cluster/framework_harness.hpp"
#include "cluster/master_client.hpp"
#include "dcos/testing/cluster.hpp"

using namespace std::chrono_literals;
using dcos::testing::Cluster;
using dcos::testing::TestFramework;
using dcos::testing::operator_reply;
using nlohmann::json;

namespace {

dcos::v1::FrameworkInfo reserver() {
  auto info = TestFramework::in_role("reserver", "r");
  info.principal = "ops";
  return info;
}

// One agent with "cpus:2;mem:1024" and the `reserver()` framework, subscribing.
struct ReserverCluster {
  boost::asio::io_context io;
  Cluster cluster{io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"}};
  std::optional<TestFramework> framework;  // Destroyed before the cluster.

  explicit ReserverCluster(double failover_timeout = 0) {
    REQUIRE(cluster.start());
    auto info = reserver();
    info.failover_timeout = failover_timeout;
    framework.emplace(cluster, info);
    framework->scheduler->start();
  }
};

// v1 resources dynamically reserved for `role` by "ops" (pre-refinement format).
json reserved(const std::string& text, const std::string& role = "r") {
  json out = dcos::to_json(dcos::parse_resources(text).value());
  for (auto& r : out) {
    r["role"] = role;
    r["reservation"] = {{"principal", "ops"}};
  }
  return out;
}

json reserve_op(const std::string& id, const json& resources) {
  json op = {{"type", "RESERVE"}, {"reserve", {{"resources", resources}}}};
  if (!id.empty()) op["id"] = {{"value", id}};
  return op;
}

// The statuses of UPDATE_OPERATION_STATUS events received so far.
std::vector<json> operation_statuses(const TestFramework& framework) {
  std::vector<json> out;
  for (const auto& e : framework.of("UPDATE_OPERATION_STATUS")) out.push_back(e["update_operation_status"]["status"]);
  return out;
}

json await_operation_status(Cluster& cluster, const TestFramework& framework, size_t n) {
  if (!cluster.run_until([&] { return operation_statuses(framework).size() >= n; })) return json();
  return operation_statuses(framework)[n - 1];
}

// Acknowledges `status`; true once the master answered 202 and the agent has nothing to resend.
bool acknowledge(Cluster& cluster, TestFramework& framework, const json& status) {
  bool acked = false;
  framework.scheduler->acknowledge_operation_status(status, [&](auto response) {
    acked = response && response->result_int() == 202;
  });
  return cluster.run_until([&] { return acked && cluster.agent(0).pending_operation_updates() == 0; });
}

json operations(Cluster& cluster) {
  auto reply = operator_reply(cluster, {{"type", "GET_OPERATIONS"}});
  REQUIRE(reply.status == 200);
  return json::parse(reply.body)["get_operations"].value("operations", json::array());
}

json first_offer(TestFramework& framework, size_t n = 1) {
  auto offers = framework.await("OFFERS", n);
  REQUIRE(offers);
  return (*offers)["offers"]["offers"][0];
}

}  // namespace

TEST_CASE("RESERVE with an id: the agent reports OPERATION_FINISHED once checkpointed, until acknowledged",
          "[cluster][operations][reservations]") {
  ReserverCluster setup;
  Cluster& cluster = setup.cluster;
  TestFramework& r = *setup.framework;
  const json offer = first_offer(r);
  const std::string agent = offer["agent_id"]["value"];
  REQUIRE(r.accept(offer, {reserve_op("op-1", reserved("cpus:1;mem:256"))}) == 202);

  const json status = await_operation_status(cluster, r, 1);
  REQUIRE(status.is_object());
  CHECK(status["operation_id"] == json({{"value", "op-1"}}));
  CHECK(status["state"] == "OPERATION_FINISHED");
  CHECK(status["agent_id"] == json({{"value", agent}}));
  CHECK(status["uuid"]["value"].is_string());
  REQUIRE(status["converted_resources"].is_array());
  for (const auto& resource : status["converted_resources"]) CHECK(resource["role"] == "r");
  // The agent applied (and checkpointed) the reservation before it said so.
  double reserved_cpus = 0;
  for (const dcos::Resource& res : cluster.agent(0).total_resources()) {
    if (res.role == "r" && res.name == "cpus") reserved_cpus += res.scalar;
  }
  CHECK(reserved_cpus == 1);

  // The master lists it (GET_OPERATIONS) while it awaits the acknowledgement.
  json listed = operations(cluster);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["info"]["id"]["value"] == "op-1");
  CHECK(listed[0]["latest_status"]["state"] == "OPERATION_FINISHED");
  CHECK(listed[0]["framework_id"]["value"] == r.scheduler->framework_id()->value());
  CHECK(cluster.agent(0).pending_operation_updates() == 1);

  // Not acknowledged: the agent resends the same status after 10 s.
  cluster.advance(11s, 11);
  const json resent = await_operation_status(cluster, r, 2);
  REQUIRE(resent.is_object());
  CHECK(resent["uuid"] == status["uuid"]);
  CHECK(resent["state"] == "OPERATION_FINISHED");

  // Acknowledged: the agent stops resending and the master forgets it.
  REQUIRE(acknowledge(cluster, r, status));
  CHECK(operations(cluster).empty());
  cluster.advance(25s, 25);
  CHECK(operation_statuses(r).size() == 2);
}

TEST_CASE("Operations with an id that cannot be applied get OPERATION_ERROR from the master, without uuid",
          "[cluster][operations][reservations]") {
  ReserverCluster setup;
  Cluster& cluster = setup.cluster;
  TestFramework& r = *setup.framework;
  json offer = first_offer(r);
  const std::string agent = offer["agent_id"]["value"];

  SECTION("a RESERVE for a role the framework is not in") {
    REQUIRE(r.accept(offer, {reserve_op("bad", reserved("cpus:1", "other"))}) == 202);
    const json status = await_operation_status(cluster, r, 1);
    CHECK(status["operation_id"]["value"] == "bad");
    CHECK(status["state"] == "OPERATION_ERROR");
    CHECK(status["message"].get<std::string>().find("other") != std::string::npos);
    CHECK(status["agent_id"]["value"] == agent);
    CHECK_FALSE(status.contains("uuid"));
  }
  SECTION("a RESERVE on an offer that is no longer valid") {
    REQUIRE(r.accept(offer, {}) == 202);  // Uses the offer up.
    REQUIRE(r.accept(offer, {reserve_op("stale", reserved("cpus:1"))}) == 202);
    const json status = await_operation_status(cluster, r, 1);
    CHECK(status["operation_id"]["value"] == "stale");
    CHECK(status["state"] == "OPERATION_ERROR");
    CHECK(status["message"].get<std::string>().find("no longer valid") != std::string::npos);
  }
  SECTION("a LAUNCH with an id: its tasks are not launched") {
    json launch = dcos::scheduler::Scheduler::launch_command("t", "t", agent, "sleep 60",
                                                             dcos::to_json(dcos::parse_resources("cpus:0.5").value()));
    launch["id"] = {{"value", "launch-1"}};
    REQUIRE(r.accept(offer, {launch}) == 202);
    const json status = await_operation_status(cluster, r, 1);
    CHECK(status["operation_id"]["value"] == "launch-1");
    CHECK(status["state"] == "OPERATION_ERROR");
    CHECK(cluster.master().core().frameworks().begin()->second.tasks.empty());
  }
  SECTION("an operation type the master does not support") {
    json create = {{"type", "CREATE"}, {"id", {{"value", "vol"}}}, {"create", {{"volumes", json::array()}}}};
    REQUIRE(r.accept(offer, {create}) == 202);
    const json status = await_operation_status(cluster, r, 1);
    CHECK(status["state"] == "OPERATION_UNSUPPORTED");
  }
  CHECK(operations(cluster).empty());
  CHECK(cluster.agent(0).pending_operation_updates() == 0);
}

TEST_CASE("A RESERVE without an id gets no operation status", "[cluster][operations][reservations]") {
  ReserverCluster setup;
  Cluster& cluster = setup.cluster;
  TestFramework& r = *setup.framework;
  REQUIRE(r.accept(first_offer(r), {reserve_op("", reserved("cpus:1"))}) == 202);
  REQUIRE(cluster.run_until([&] {
    for (const dcos::Resource& res : cluster.agent(0).total_resources()) {
      if (res.role == "r") return true;
    }
    return false;
  }));
  cluster.advance(2s, 2);
  CHECK(operation_statuses(r).empty());
  CHECK(operations(cluster).empty());
}

TEST_CASE("RECONCILE_OPERATIONS answers known operations with their latest status and unknown ones by their agent",
          "[cluster][operations]") {
  ReserverCluster setup;
  Cluster& cluster = setup.cluster;
  TestFramework& r = *setup.framework;
  const json offer = first_offer(r);
  const std::string agent = offer["agent_id"]["value"];
  REQUIRE(r.accept(offer, {reserve_op("op-1", reserved("cpus:1"))}) == 202);
  REQUIRE(await_operation_status(cluster, r, 1)["state"] == "OPERATION_FINISHED");

  // Explicit: a known one, one unknown on a registered agent, one on an agent never seen.
  bool done = false;
  r.scheduler->reconcile_operations(
      {{{"operation_id", {{"value", "op-1"}}}, {"agent_id", {{"value", agent}}}},
       {{"operation_id", {{"value", "nope"}}}, {"agent_id", {{"value", agent}}}},
       {{"operation_id", {{"value", "elsewhere"}}}, {"agent_id", {{"value", "no-such-agent"}}}}},
      [&](auto response) { done = response && response->result_int() == 202; });
  REQUIRE(cluster.run_until([&] { return done && operation_statuses(r).size() >= 4; }));
  const auto statuses = operation_statuses(r);
  CHECK(statuses[1]["operation_id"]["value"] == "op-1");
  CHECK(statuses[1]["state"] == "OPERATION_FINISHED");
  CHECK_FALSE(statuses[1].contains("uuid"));  // Answers are not acknowledged.
  CHECK(statuses[2]["operation_id"]["value"] == "nope");
  CHECK(statuses[2]["state"] == "OPERATION_UNKNOWN");
  CHECK(statuses[3]["state"] == "OPERATION_UNKNOWN");

  // Implicit: every operation the master knows for the framework.
  r.scheduler->reconcile_operations();
  REQUIRE(cluster.run_until([&] { return operation_statuses(r).size() >= 5; }));
  CHECK(operation_statuses(r)[4]["operation_id"]["value"] == "op-1");
  CHECK(operation_statuses(r).size() == 5);
}

TEST_CASE("ACKNOWLEDGE_OPERATION_STATUS without agent_id or with a bad uuid is refused with 400", "[cluster][operations]") {
  ReserverCluster setup;
  Cluster& cluster = setup.cluster;
  TestFramework& r = *setup.framework;
  REQUIRE(r.await("SUBSCRIBED"));
  CHECK(r.call({{"type", "ACKNOWLEDGE_OPERATION_STATUS"},
              {"acknowledge_operation_status", {{"operation_id", {{"value", "x"}}}, {"uuid", "AAAA"}}}}) == 400);
  CHECK(r.call({{"type", "ACKNOWLEDGE_OPERATION_STATUS"},
              {"acknowledge_operation_status",
               {{"agent_id", {{"value", "a"}}}, {"operation_id", {{"value", "x"}}}, {"uuid", "AAAA"}}}}) == 400);
  CHECK(r.call({{"type", "RECONCILE_OPERATIONS"}, {"reconcile_operations", {{"operations", {{{"agent_id", {{"value", "a"}}}}}}}}}) == 400);
}

TEST_CASE("An unacknowledged operation status survives an agent restart and is resent after it re-registers",
          "[cluster][operations][reservations]") {
  ReserverCluster setup;
  Cluster& cluster = setup.cluster;
  TestFramework& r = *setup.framework;
  REQUIRE(r.accept(first_offer(r), {reserve_op("op-1", reserved("cpus:1"))}) == 202);
  const json status = await_operation_status(cluster, r, 1);
  REQUIRE(status["state"] == "OPERATION_FINISHED");

  REQUIRE(cluster.restart_agent(0));
  CHECK(cluster.agent(0).pending_operation_updates() == 1);
  cluster.advance(2s, 2);
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).registered() && operation_statuses(r).size() >= 2; }));
  CHECK(operation_statuses(r)[1]["uuid"] == status["uuid"]);

  REQUIRE(acknowledge(cluster, r, status));
  // Nothing is left to resend by a later restart either.
  REQUIRE(cluster.restart_agent(0));
  CHECK(cluster.agent(0).pending_operation_updates() == 0);
}

TEST_CASE("After a master failover an unacknowledged operation status reaches the re-subscribed framework",
          "[cluster][operations][reservations]") {
  ReserverCluster setup(/*failover_timeout=*/600);
  Cluster& cluster = setup.cluster;
  TestFramework& r = *setup.framework;
  REQUIRE(r.accept(first_offer(r), {reserve_op("op-1", reserved("cpus:1"))}) == 202);
  const json status = await_operation_status(cluster, r, 1);
  REQUIRE(status["state"] == "OPERATION_FINISHED");

  // The new master knows nothing of the operation until the agent resends its status, which it
  // does until the framework, subscribed again, acknowledges it.
  REQUIRE(cluster.restart_master());
  cluster.advance(10s, 40);
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).registered() && r.scheduler->subscribed(); }));
  cluster.advance(11s, 11);
  REQUIRE(cluster.run_until([&] { return operation_statuses(r).size() >= 2; }));
  CHECK(operation_statuses(r).back()["uuid"] == status["uuid"]);
  json listed = operations(cluster);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["latest_status"]["operation_id"]["value"] == "op-1");

  REQUIRE(acknowledge(cluster, r, status));
  CHECK(operations(cluster).empty());
}

TEST_CASE("A framework's operations go with it, also one whose id a later operation reused",
          "[cluster][operations][reservations]") {
  ReserverCluster setup;
  Cluster& cluster = setup.cluster;
  TestFramework& r = *setup.framework;
  REQUIRE(r.accept(first_offer(r), {reserve_op("op-1", reserved("cpus:0.5"))}) == 202);
  REQUIRE(await_operation_status(cluster, r, 1)["state"] == "OPERATION_FINISHED");
  cluster.advance(2s, 2);
  REQUIRE(r.accept(first_offer(r, 2), {reserve_op("op-1", reserved("cpus:0.5"))}) == 202);
  REQUIRE(await_operation_status(cluster, r, 2)["state"] == "OPERATION_FINISHED");
  CHECK(operations(cluster).size() == 2);

  // Removed: the master forgets both, and the agent stops resending their statuses.
  bool done = false;
  r.scheduler->teardown([&](auto) { done = true; });
  REQUIRE(cluster.run_until([&] { return done && cluster.agent(0).pending_operation_updates() == 0; }));
  CHECK(operations(cluster).empty());
}
