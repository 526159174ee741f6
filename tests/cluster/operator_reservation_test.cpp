// The operator's RESERVE_RESOURCES / UNRESERVE_RESOURCES through `POST /api/v1`, and dynamic
// reservations checkpointed on the agent, on the in-process cluster: who is offered what
// afterwards, the 202 / 400 / 409 answers, and the reservation across agent and master restarts.
#include <filesystem>

#include <catch2/catch.hpp>

#include "cluster/framework_harness.hpp"
#include "cluster/master_client.hpp"
#include "dcos/agent/checkpoint.hpp"
#include "dcos/testing/cluster.hpp"

using namespace std::chrono_literals;
using dcos::testing::Cluster;
using dcos::testing::TestFramework;
using dcos::testing::get_json;
using dcos::testing::outstanding;
using dcos::testing::operator_reply;
using nlohmann::json;

namespace {

// v1 resources dynamically reserved for `role` by `principal` (post-refinement format).
json reserved(const std::string& text, const std::string& role, const std::string& principal = "ops") {
  json out = dcos::to_json(dcos::parse_resources(text).value());
  for (auto& r : out) {
    r.erase("role");
    r["reservations"] = {{{"type", "DYNAMIC"}, {"role", role}, {"principal", principal}}};
  }
  return out;
}

json reserve_call(const std::string& agent, const json& resources) {
  return {{"type", "RESERVE_RESOURCES"},
          {"reserve_resources", {{"agent_id", {{"value", agent}}}, {"resources", resources}}}};
}

json unreserve_call(const std::string& agent, const json& resources) {
  return {{"type", "UNRESERVE_RESOURCES"},
          {"unreserve_resources", {{"agent_id", {{"value", agent}}}, {"resources", resources}}}};
}

// The master's view: `reserved_resources` of the first agent in `/master/slaves`.
double reserved_cpus(Cluster& cluster, const std::string& role) {
  const json slaves = get_json(cluster, "/master/slaves")["slaves"];
  if (slaves.empty()) return 0;
  const json& reserved = slaves[0]["reserved_resources"];
  return reserved.contains(role) ? reserved[role]["cpus"].get<double>() : 0.0;
}

// The agent's view: the cpus of its total reserved for `role`.
double agent_reserved_cpus(Cluster& cluster, const std::string& role, size_t agent = 0) {
  double cpus = 0;
  for (const dcos::Resource& r : cluster.agent(agent).total_resources()) {
    if (r.role == role && r.name == "cpus") cpus += r.scalar;
  }
  return cpus;
}

std::string agent_id(Cluster& cluster, size_t i = 0) { return cluster.agent(i).id().value(); }

// Every resource of `offer` is reserved for `role` by "ops", dynamically.
void check_reserved_offer(const json& offer, const std::string& role) {
  for (const auto& resource : offer["resources"]) {
    CHECK(resource["role"] == role);
    REQUIRE(resource.contains("reservations"));
    CHECK(resource["reservations"].back()["type"] == "DYNAMIC");
    CHECK(resource["reservations"].back()["principal"] == "ops");
  }
}

// The cpus of `offer` reserved for `role`, each checked to be a dynamic reservation by "ops".
double reserved_in_offer(const json& offer, const std::string& role) {
  double cpus = 0;
  for (const auto& resource : offer["resources"]) {
    if (resource["role"] != role) continue;
    CHECK(resource["reservations"].back()["type"] == "DYNAMIC");
    CHECK(resource["reservations"].back()["principal"] == "ops");
    if (resource["name"] == "cpus") cpus += resource["scalar"]["value"].get<double>();
  }
  return cpus;
}

}  // namespace

TEST_CASE("RESERVE_RESOURCES: the reservation is offered only to its role, until UNRESERVE_RESOURCES",
          "[reservations][cluster]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  TestFramework o(cluster, TestFramework::in_role("o", "o"));
  o.scheduler->start();
  REQUIRE(cluster.run_until([&] { return offered(cluster, o) == 2; }));

  // o's offer holds what is reserved: it is rescinded, and o is offered the unreserved rest.
  const json cpu_and_mem = reserved("cpus:1;mem:256", "r");
  const dcos::testing::OperatorReply reply = operator_reply(cluster, reserve_call(agent_id(cluster), cpu_and_mem));
  CHECK(reply.status == 202);
  CHECK(reply.body.empty());
  REQUIRE(o.await("RESCIND"));
  REQUIRE(o.await("OFFERS", 2));
  CHECK(offered(cluster, o) == 1);
  CHECK(offered(cluster, o, "mem") == 768);
  const json second_offers = *o.await("OFFERS", 2);  // Named: a range-for keeps only its outermost temporary.
  for (const auto& resource : second_offers["offers"]["offers"][0]["resources"]) CHECK(resource["role"] == "*");
  CHECK(reserved_cpus(cluster, "r") == 1.0);
  CHECK(get_json(cluster, "/metrics/snapshot")["master/operations/reserve/finished"] == 1.0);

  // r is offered the reservation, as a dynamic one by "ops".
  TestFramework r(cluster, TestFramework::in_role("r", "r"));
  r.scheduler->start();
  auto r_offer = r.await("OFFERS");
  REQUIRE(r_offer);
  check_reserved_offer((*r_offer)["offers"]["offers"][0], "r");
  CHECK(offered(cluster, r) == 1);
  CHECK(offered(cluster, r, "mem") == 256);

  // UNRESERVE_RESOURCES: r's offer is rescinded and the resources are everyone's again; r, with
  // the lower share (0 against o's 768/1024 of mem), is offered them unreserved.
  REQUIRE(operator_reply(cluster, unreserve_call(agent_id(cluster), cpu_and_mem)).status == 202);
  REQUIRE(r.await("RESCIND"));
  auto unreserved = r.await("OFFERS", 2);
  REQUIRE(unreserved);
  for (const auto& resource : (*unreserved)["offers"]["offers"][0]["resources"]) CHECK(resource["role"] == "*");
  CHECK(offered(cluster, r) == 1);
  CHECK(reserved_cpus(cluster, "r") == 0.0);
  REQUIRE(cluster.run_until([&] { return agent_reserved_cpus(cluster, "r") == 0; }));
}

TEST_CASE("RESERVE_RESOURCES and UNRESERVE_RESOURCES refuse bad calls with 400 and the reason",
          "[reservations][cluster]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  const std::string agent = agent_id(cluster);
  auto refused = [&](const json& call) {
    const dcos::testing::OperatorReply reply = operator_reply(cluster, call);
    CHECK(reply.status == 400);
    return reply.body;
  };
  CHECK_THAT(refused(reserve_call("no-such-agent", reserved("cpus:1", "r"))), Catch::Contains("No agent found"));
  CHECK_THAT(refused({{"type", "RESERVE_RESOURCES"}}), Catch::Contains("Expecting 'reserve_resources'"));
  CHECK_THAT(refused({{"type", "RESERVE_RESOURCES"}, {"reserve_resources", {{"resources", reserved("cpus:1", "r")}}}}),
             Catch::Contains("agent_id"));
  CHECK_THAT(refused(reserve_call(agent, json::array())), Catch::Contains("no resources given"));
  CHECK_THAT(refused(reserve_call(agent, dcos::to_json(dcos::parse_resources("cpus:1").value()))),
             Catch::Contains("is not dynamically reserved"));
  CHECK_THAT(refused(reserve_call(agent, json::parse(R"([{"name":"cpus"}])"))), Catch::Contains("Missing required fields"));
  CHECK_THAT(refused(reserve_call(agent, reserved("cpus:1", "a//b"))), Catch::Contains("empty path segment"));
  json allocated = reserved("cpus:1", "r");
  allocated[0]["allocation_info"] = {{"role", "r"}};
  CHECK_THAT(refused(reserve_call(agent, allocated)), Catch::Contains("must not have allocation_info"));
  // A refinement must name a subrole of the reservation below it.
  json refined = reserved("cpus:1", "r");
  refined[0]["reservations"].push_back({{"type", "DYNAMIC"}, {"role", "x"}, {"principal", "ops"}});
  CHECK_THAT(refused(reserve_call(agent, refined)), Catch::Contains("must be a subrole"));
  CHECK_THAT(refused(unreserve_call(agent, dcos::to_json(dcos::parse_resources("cpus:1").value()))),
             Catch::Contains("is not dynamically reserved"));
  CHECK(reserved_cpus(cluster, "r") == 0.0);
  CHECK(get_json(cluster, "/master/slaves")["slaves"][0]["resources"]["cpus"] == 2.0);
}

TEST_CASE("RESERVE_RESOURCES answers 409 when tasks use the resources, after rescinding offers on them",
          "[reservations][cluster]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  TestFramework f(cluster, TestFramework::info("f"));
  f.scheduler->start();
  f.launch("t", "sleep 60", "cpus:1.5;mem:512");
  REQUIRE(f.await_state("t", "TASK_RUNNING"));
  REQUIRE(cluster.run_until([&] { return offered(cluster, f) == 0.5; }));  // What the task leaves.

  // 1 cpu is not free even with f's offer of 0.5 given back: 409, and the offer is gone.
  const dcos::testing::OperatorReply conflict = operator_reply(cluster, reserve_call(agent_id(cluster), reserved("cpus:1", "r")));
  CHECK(conflict.status == 409);
  CHECK_THAT(conflict.body, Catch::Contains("does not have cpus:1"));
  REQUIRE(f.await("RESCIND"));
  CHECK(reserved_cpus(cluster, "r") == 0.0);
  // More than the agent has at all is a conflict too (Mesos: the allocator cannot apply it).
  CHECK(operator_reply(cluster, reserve_call(agent_id(cluster), reserved("cpus:3", "r"))).status == 409);
  // UNRESERVE of a reservation that does not exist: the agent does not have it.
  CHECK(operator_reply(cluster, unreserve_call(agent_id(cluster), reserved("cpus:0.5", "r"))).status == 409);

  // Half a cpu is free once f's offer of it is rescinded.
  REQUIRE(cluster.run_until([&] { return offered(cluster, f) == 0.5; }));
  CHECK(operator_reply(cluster, reserve_call(agent_id(cluster), reserved("cpus:0.5", "r"))).status == 202);
  REQUIRE(f.await("RESCIND", 2));
  CHECK(reserved_cpus(cluster, "r") == 0.5);
  CHECK(offered(cluster, f) == 0);  // f's role "*" may not have what is reserved for r.
}

TEST_CASE("A dynamic reservation survives an agent restart: the agent checkpoints it",
          "[reservations][cluster][agent]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  REQUIRE(operator_reply(cluster, reserve_call(agent_id(cluster), reserved("cpus:1;mem:256", "r"))).status == 202);
  REQUIRE(cluster.run_until([&] { return agent_reserved_cpus(cluster, "r") == 1; }));
  const dcos::agent::Layout layout{cluster.agent(0).config().work_dir};
  CHECK(std::filesystem::exists(layout.resources_info()));

  REQUIRE(cluster.restart_agent(0));
  // Read back from its checkpoint before the master said anything.
  CHECK(agent_reserved_cpus(cluster, "r") == 1);
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).registered(); }));
  CHECK(reserved_cpus(cluster, "r") == 1.0);

  // Alone, r is offered all of the agent: the reserved cpu and the unreserved one.
  TestFramework r(cluster, TestFramework::in_role("r", "r"));
  r.scheduler->start();
  auto offer = r.await("OFFERS");
  REQUIRE(offer);
  CHECK(reserved_in_offer((*offer)["offers"]["offers"][0], "r") == 1);
  CHECK(offered(cluster, r) == 2);
}

TEST_CASE("A dynamic reservation survives a master restart: the agent reports it when it re-registers",
          "[reservations][cluster][registrar]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  REQUIRE(operator_reply(cluster, reserve_call(agent_id(cluster), reserved("cpus:1;mem:256", "r"))).status == 202);
  REQUIRE(cluster.run_until([&] { return agent_reserved_cpus(cluster, "r") == 1; }));

  REQUIRE(cluster.restart_master());
  cluster.advance(10s, 40);  // The agent re-registers after its back-off.
  REQUIRE(cluster.run_until([&] { return cluster.master().core().agents().size() == 1 && cluster.agent(0).registered(); }));
  CHECK(reserved_cpus(cluster, "r") == 1.0);

  TestFramework o(cluster, TestFramework::in_role("o", "o"));
  TestFramework r(cluster, TestFramework::in_role("r", "r"));
  o.scheduler->start();
  REQUIRE(cluster.run_until([&] { return offered(cluster, o) == 1; }));  // The unreserved half only.
  r.scheduler->start();
  auto offer = r.await("OFFERS");
  REQUIRE(offer);
  check_reserved_offer((*offer)["offers"]["offers"][0], "r");
  CHECK(offered(cluster, r) == 1);
}

TEST_CASE("An agent that missed a reservation change while disconnected is sent the master's on re-registering",
          "[reservations][cluster][agent]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  const std::string agent = agent_id(cluster);
  // Crashed: the master still knows the agent, disconnected, and reserves on it alone.
  cluster.agent(0).stop(false);
  REQUIRE(cluster.run_until([&] { return !cluster.master().core().agent_connected(dcos::AgentId(agent)); }));
  REQUIRE(operator_reply(cluster, reserve_call(agent, reserved("cpus:1", "r"))).status == 202);

  // The restarted agent reports no reservation; the master's view wins and is checkpointed.
  REQUIRE(cluster.restart_agent(0));
  CHECK(agent_reserved_cpus(cluster, "r") == 0);
  REQUIRE(cluster.run_until([&] { return agent_reserved_cpus(cluster, "r") == 1; }));
  CHECK(reserved_cpus(cluster, "r") == 1.0);
  const dcos::agent::Layout layout{cluster.agent(0).config().work_dir};
  CHECK(std::filesystem::exists(layout.resources_info()));
}
