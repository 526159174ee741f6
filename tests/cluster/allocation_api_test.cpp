// The allocator through the master's APIs on the in-process cluster: weights and quota set with
// the operator API, dynamic reservations in ACCEPT, and frameworks changing roles. The DRF
// arithmetic behind each expectation is written beside the step; the allocator's own tests
// (tests/unit/hierarchical_allocator_test.cpp) cover the rules in depth.
#include <catch2/catch.hpp>

#include "cluster/framework_harness.hpp"
#include "cluster/master_client.hpp"
#include "dcos/master/registrar.hpp"
#include "dcos/testing/cluster.hpp"

using namespace std::chrono_literals;
using dcos::testing::Cluster;
using dcos::testing::TestFramework;
using dcos::testing::get_json;
using dcos::testing::outstanding;
using dcos::testing::operator_reply;
using nlohmann::json;

namespace {

json update_weights(const std::map<std::string, double>& weights) {
  json infos = json::array();
  for (const auto& [role, weight] : weights) infos.push_back({{"role", role}, {"weight", weight}});
  return {{"type", "UPDATE_WEIGHTS"}, {"update_weights", {{"weight_infos", infos}}}};
}

json update_quota(const std::string& role, const json& guarantees, const json& limits, bool force = false) {
  json config = {{"role", role}};
  if (!guarantees.is_null()) config["guarantees"] = guarantees;
  if (!limits.is_null()) config["limits"] = limits;
  return {{"type", "UPDATE_QUOTA"}, {"update_quota", {{"force", force}, {"quota_configs", {config}}}}};
}

dcos::v1::FrameworkInfo in_role(std::string name, std::string role, std::optional<std::string> principal = {}) {
  auto info = TestFramework::in_role(std::move(name), std::move(role));
  info.principal = std::move(principal);
  return info;
}

json reserve_op(const json& resources) { return {{"type", "RESERVE"}, {"reserve", {{"resources", resources}}}}; }
json unreserve_op(const json& resources) { return {{"type", "UNRESERVE"}, {"unreserve", {{"resources", resources}}}}; }

// v1 resources dynamically reserved for `role` by `principal` (pre-refinement format).
json reserved(const std::string& text, const std::string& role, const std::string& principal) {
  json out = dcos::to_json(dcos::parse_resources(text).value());
  for (auto& r : out) {
    r["role"] = role;
    r["reservation"] = {{"principal", principal}};
  }
  return out;
}

double reserved_cpus(Cluster& cluster, const std::string& role) {
  const json slaves = get_json(cluster, "/master/slaves")["slaves"];
  const json& reserved = slaves[0]["reserved_resources"];
  return reserved.contains(role) ? reserved[role]["cpus"].get<double>() : 0.0;
}

}  // namespace

TEST_CASE("Weights and quota are set and read through the operator API and the classic endpoints",
          "[cluster][allocator][roles]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());

  CHECK(operator_reply(cluster, update_weights({{"eng", 2.5}})).status == 200);
  auto weights = json::parse(operator_reply(cluster, {{"type", "GET_WEIGHTS"}}).body);
  CHECK(weights == json::parse(R"({"type":"GET_WEIGHTS","get_weights":{"weight_infos":[{"weight":2.5,"role":"eng"}]}})"));
  CHECK(get_json(cluster, "/weights") == json::parse(R"([{"weight":2.5,"role":"eng"}])"));

  CHECK(operator_reply(cluster, update_quota("dev", {{"cpus", {{"value", 1}}}}, {{"cpus", {{"value", 2}}}})).status == 200);
  auto quota = json::parse(operator_reply(cluster, {{"type", "GET_QUOTA"}}).body);
  CHECK(quota["get_quota"]["status"]["configs"] ==
        json::parse(R"([{"role":"dev","guarantees":{"cpus":{"value":1.0}},"limits":{"cpus":{"value":2.0}}}])"));
  CHECK(get_json(cluster, "/quota")["configs"][0]["role"] == "dev");

  // /master/roles and /master/state show both.
  const json roles = get_json(cluster, "/master/roles")["roles"];
  REQUIRE(roles.size() == 2);
  CHECK(roles[0]["name"] == "dev");
  CHECK(roles[0]["quota"]["guarantee"]["cpus"] == 1.0);
  CHECK(roles[0]["quota"]["limit"]["cpus"] == 2.0);
  CHECK(roles[1]["name"] == "eng");
  CHECK(roles[1]["weight"] == 2.5);
  CHECK(get_json(cluster, "/master/state")["roles"] == roles);
  auto v1_roles = json::parse(operator_reply(cluster, {{"type", "GET_ROLES"}}).body)["get_roles"]["roles"];
  CHECK(v1_roles[0]["quota"]["limit"] == json::parse(R"({"cpus":{"value":2.0}})"));

  // `PUT /weights` with a Mesos WeightInfo array; removing the quota (an empty config).
  auto put = dcos::http::make_post(cluster.master_endpoint(), "/weights", R"([{"role":"ops","weight":0.5}])",
                                   "application/json");
  put.method(boost::beast::http::verb::put);
  CHECK(dcos::testing::send_to_master(cluster, put).result_int() == 200);
  CHECK(get_json(cluster, "/weights").size() == 2);
  CHECK(operator_reply(cluster, update_quota("dev", nullptr, nullptr)).status == 200);
  CHECK(get_json(cluster, "/quota") == json::object());
}

TEST_CASE("Bad weight and quota calls get 400 with the reason and change nothing", "[cluster][allocator][roles]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  auto refused = [&](const json& call) {
    auto reply = operator_reply(cluster, call);
    CHECK(reply.status == 400);
    return reply.body;
  };
  CHECK_THAT(refused(update_weights({{"eng", -1}})), Catch::Contains("must be positive"));
  CHECK_THAT(refused(update_weights({{"a//b", 1}})), Catch::Contains("empty path segment"));
  CHECK_THAT(refused({{"type", "UPDATE_WEIGHTS"}}), Catch::Contains("Expecting 'update_weights'"));
  CHECK_THAT(refused(update_quota("dev", {{"cpus", {{"value", 2}}}}, {{"cpus", {{"value", 1}}}})),
             Catch::Contains("above its limit"));
  CHECK_THAT(refused(update_quota("dev/web", nullptr, {{"cpus", {{"value", 1}}}})), Catch::Contains("top-level"));
  CHECK_THAT(refused(update_quota("dev", {{"cpus", {{"value", -1}}}}, nullptr)), Catch::Contains("non-negative"));
  // Guarantees beyond the cluster's 2 cpus need `force`.
  CHECK_THAT(refused(update_quota("dev", {{"cpus", {{"value", 3}}}}, nullptr)), Catch::Contains("cluster capacity"));
  CHECK(get_json(cluster, "/weights") == json::array());
  CHECK(get_json(cluster, "/quota") == json::object());
  CHECK(operator_reply(cluster, update_quota("dev", {{"cpus", {{"value", 3}}}}, nullptr, /*force=*/true)).status == 200);
}

TEST_CASE("UPDATE_WEIGHTS changes the share of agents two frameworks are offered", "[cluster][allocator][roles]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 4, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  TestFramework a(cluster, in_role("a", "a"));
  TestFramework b(cluster, in_role("b", "b"));
  a.scheduler->start();
  REQUIRE(cluster.run_until([&] { return outstanding(cluster, a).size() == 4; }));  // Alone: every agent.
  b.scheduler->start();
  REQUIRE(b.await("SUBSCRIBED"));

  // Updating a subscribed role's weight rescinds every offer; the next cycle splits the agents.
  // Equal weights, agents S0..S3 in order: b (0 grants so far) ties a at share 0 and goes first;
  // then a (0 < 1/4), b (1/4 = 1/4, fewer grants), a (1/4 < 2/4): two each.
  REQUIRE(operator_reply(cluster, update_weights({{"a", 1}})).status == 200);
  REQUIRE(cluster.run_until([&] { return cluster.master().core().offers().size() == 4; }));
  CHECK(outstanding(cluster, a).size() == 2);
  CHECK(outstanding(cluster, b).size() == 2);

  // Weight 3 for a: b first on the tie; then a (0), a (1/4 / 3 < 1/4), a (2/4 / 3 < 1/4).
  REQUIRE(operator_reply(cluster, update_weights({{"a", 3}})).status == 200);
  REQUIRE(cluster.run_until([&] { return cluster.master().core().offers().size() == 4; }));
  CHECK(outstanding(cluster, a).size() == 3);
  CHECK(outstanding(cluster, b).size() == 1);
}

TEST_CASE("A quota guarantee is served before fair shares", "[cluster][allocator][roles]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 4, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  // x weighs 100: by DRF alone q would get one agent of four (the tie at share 0), x three.
  REQUIRE(operator_reply(cluster, update_weights({{"x", 100}})).status == 200);
  TestFramework x(cluster, in_role("x", "x"));
  TestFramework q(cluster, in_role("q", "q"));
  x.scheduler->start();
  REQUIRE(cluster.run_until([&] { return outstanding(cluster, x).size() == 4; }));
  q.scheduler->start();
  REQUIRE(q.await("SUBSCRIBED"));
  CHECK(offered(cluster, q) == 0);

  // A guarantee of 6 cpus: offers are rescinded; stage 1 gives q three agents' cpus before
  // stage 2 shares the rest.
  REQUIRE(operator_reply(cluster, update_quota("q", {{"cpus", {{"value", 6}}}}, nullptr)).status == 200);
  REQUIRE(cluster.run_until([&] { return offered(cluster, q) + offered(cluster, x) == 8; }));
  CHECK(offered(cluster, q) == 6);
  CHECK(offered(cluster, x) == 2);
  const json roles = get_json(cluster, "/master/roles")["roles"];
  CHECK(roles[0]["name"] == "q");
  CHECK(roles[0]["quota"]["consumed"]["cpus"] == 6.0);
}

TEST_CASE("A quota limit is never exceeded, across declines and limit changes", "[cluster][allocator][roles]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 2, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  REQUIRE(operator_reply(cluster, update_quota("q", nullptr, {{"cpus", {{"value", 1}}}})).status == 200);
  TestFramework q(cluster, in_role("q", "q"));
  q.scheduler->start();
  // One agent's cpus shrink to the limit; the other agent is offered its memory only.
  REQUIRE(cluster.run_until([&] { return outstanding(cluster, q).size() == 2; }));
  CHECK(offered(cluster, q) == 1);

  for (int round = 0; round < 3; ++round) {
    for (const auto& offer : outstanding(cluster, q)) REQUIRE(q.decline(offer.id.value(), 1));
    CHECK(offered(cluster, q) <= 1);  // Re-offered at once where the decline filter does not cover the offer.
    cluster.advance(2s, 2);
    REQUIRE(cluster.run_until([&] { return !outstanding(cluster, q).empty(); }));
    CHECK(offered(cluster, q) == 1);
  }

  // Raising the limit rescinds and re-offers under the new one.
  REQUIRE(operator_reply(cluster, update_quota("q", nullptr, {{"cpus", {{"value", 3}}}})).status == 200);
  REQUIRE(cluster.run_until([&] { return offered(cluster, q) == 3; }));
  cluster.advance(2s, 2);
  CHECK(offered(cluster, q) == 3);
}

TEST_CASE("RESERVE makes resources offered only to the role until UNRESERVE", "[cluster][allocator][reservations]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  TestFramework r(cluster, in_role("r", "r", "ops"));
  TestFramework o(cluster, in_role("o", "o"));
  r.scheduler->start();
  auto first = r.await("OFFERS");
  REQUIRE(first);
  const json offer = (*first)["offers"]["offers"][0];
  REQUIRE(r.accept(offer, {reserve_op(reserved("cpus:1;mem:256", "r", "ops"))}) == 202);
  CHECK(reserved_cpus(cluster, "r") == 1.0);
  CHECK(get_json(cluster, "/master/roles")["roles"][0]["reserved"]["cpus"] == 1.0);

  // o is offered the unreserved half only.
  o.scheduler->start();
  auto o_offer = o.await("OFFERS");
  REQUIRE(o_offer);
  for (const auto& resource : (*o_offer)["offers"]["offers"][0]["resources"]) CHECK(resource["role"] == "*");
  CHECK(offered(cluster, o) == 1);

  // After r's one-interval filter, r is offered its reservation, as a dynamic one.
  cluster.advance(2s, 2);
  auto reserved_offer = r.await("OFFERS", 2);
  REQUIRE(reserved_offer);
  const json again = (*reserved_offer)["offers"]["offers"][0];
  for (const auto& resource : again["resources"]) {
    CHECK(resource["role"] == "r");
    CHECK(resource["reservation"]["principal"] == "ops");
  }

  // UNRESERVE hands them back to everyone: o (not filtered on them) is offered them at once.
  REQUIRE(r.accept(again, {unreserve_op(again["resources"])}) == 202);
  CHECK(reserved_cpus(cluster, "r") == 0.0);
  REQUIRE(o.await("OFFERS", 2));
  CHECK(offered(cluster, o) == 2);
}

TEST_CASE("RESERVE then LAUNCH in one ACCEPT runs the task on the reserved resources",
          "[cluster][allocator][reservations]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  TestFramework r(cluster, in_role("r", "r", "ops"));
  r.scheduler->start();
  auto offers = r.await("OFFERS");
  REQUIRE(offers);
  const json offer = (*offers)["offers"]["offers"][0];
  const std::string agent = offer["agent_id"]["value"];
  REQUIRE(r.accept(offer,
                 {reserve_op(reserved("cpus:1;mem:256", "r", "ops")),
                  dcos::scheduler::Scheduler::launch_command("t", "t", agent, "sleep 60",
                                                             reserved("cpus:0.5;mem:128", "r", "ops"))}) == 202);
  REQUIRE(r.await_state("t", "TASK_RUNNING"));
  const json task = get_json(cluster, "/master/tasks")["tasks"][0];
  CHECK(task["resources"]["cpus"] == 0.5);
  CHECK(reserved_cpus(cluster, "r") == 1.0);

  // A RESERVE for a role the framework is not in is dropped; the rest of the ACCEPT goes on.
  cluster.advance(2s, 2);
  auto next = r.await("OFFERS", 2);
  REQUIRE(next);
  REQUIRE(r.accept((*next)["offers"]["offers"][0], {reserve_op(reserved("cpus:0.5", "other", "ops"))}) == 202);
  CHECK(reserved_cpus(cluster, "other") == 0.0);
  CHECK(reserved_cpus(cluster, "r") == 1.0);
}

TEST_CASE("UPDATE_FRAMEWORK moves a framework to another role; tasks keep running", "[cluster][allocator][roles]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  auto info = TestFramework::info("mover", 0, {"MULTI_ROLE"});
  info.roles = {"a"};
  TestFramework f(cluster, info);
  f.scheduler->start();
  auto first = f.await("OFFERS");
  REQUIRE(first);
  const json first_offer = (*first)["offers"]["offers"][0];
  // A MULTI_ROLE framework names the role its task's resources are allocated to.
  const json resources = dcos::to_json(dcos::parse_resources("cpus:0.5;mem:64").value().allocated_to("a"));
  REQUIRE(f.accept(first_offer,
                 {dcos::scheduler::Scheduler::launch_command("t", "t", first_offer["agent_id"]["value"], "sleep 60",
                                                             resources)}) == 202);
  REQUIRE(f.await_state("t", "TASK_RUNNING"));
  cluster.advance(2s, 2);  // The one-second filter on the rest expires.
  auto offer = f.await("OFFERS", 2);
  REQUIRE(offer);
  CHECK((*offer)["offers"]["offers"][0]["allocation_info"]["role"] == "a");

  info.id = f.scheduler->framework_id();
  info.roles = {"b"};
  REQUIRE(f.call({{"type", "UPDATE_FRAMEWORK"}, {"update_framework", {{"framework_info", dcos::v1::to_json(info)}}}}) ==
          200);
  REQUIRE(f.await("RESCIND"));  // The offer made to role a.
  auto moved = f.await("OFFERS", 3);
  REQUIRE(moved);
  CHECK((*moved)["offers"]["offers"][0]["allocation_info"]["role"] == "b");
  CHECK(offered(cluster, f) == 1.5);
  CHECK_FALSE(f.saw_state("t", "TASK_KILLED"));
  const json framework = get_json(cluster, "/master/frameworks")["frameworks"][0];
  CHECK(framework["roles"] == json::array({"b"}));
  CHECK(framework["tasks"][0]["state"] == "TASK_RUNNING");
}

TEST_CASE("weights and quota are stored in the registry and survive a master restart",
          "[cluster][allocator][roles][registrar]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  REQUIRE(operator_reply(cluster, update_weights({{"eng", 2.5}, {"ops", 3}})).status == 200);
  REQUIRE(operator_reply(cluster, update_quota("dev", {{"cpus", {{"value", 1}}}}, {{"cpus", {{"value", 2}}}})).status == 200);
  REQUIRE(operator_reply(cluster, update_quota("ops", json(), {{"mem", {{"value", 512}}}})).status == 200);
  // Weight 1 and an empty quota remove entries.
  REQUIRE(operator_reply(cluster, update_weights({{"ops", 1}})).status == 200);
  REQUIRE(operator_reply(cluster, update_quota("ops", json(), json())).status == 200);
  REQUIRE(cluster.run_until([&] {
    const auto& registry = cluster.master().registrar()->registry();
    return registry.weights.size() == 1 && registry.quota.size() == 1;
  }));

  REQUIRE(cluster.restart_master());
  CHECK(get_json(cluster, "/weights") == json::parse(R"([{"weight":2.5,"role":"eng"}])"));
  auto quota = json::parse(operator_reply(cluster, {{"type", "GET_QUOTA"}}).body);
  CHECK(quota["get_quota"]["status"]["configs"] ==
        json::parse(R"([{"role":"dev","guarantees":{"cpus":{"value":1.0}},"limits":{"cpus":{"value":2.0}}}])"));
}
