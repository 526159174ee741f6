// `FrameworkInfo.offer_filters` through the scheduler API on the in-process cluster: a
// framework's own minimum offer per role, set on SUBSCRIBE and changed by UPDATE_FRAMEWORK, and
// the refusal of a malformed one.
#include <catch2/catch.hpp>

#include "cluster/framework_harness.hpp"
#include "dcos/master/offer_filters.hpp"
#include "dcos/testing/cluster.hpp"

using namespace std::chrono_literals;
using dcos::testing::Cluster;
using dcos::testing::TestFramework;
using nlohmann::json;

namespace {

json min_cpus(const std::string& role, double cpus) {
  json filters;
  filters[role]["min_allocatable_resources"]["quantities"] = json::array();
  filters[role]["min_allocatable_resources"]["quantities"].push_back({{"quantities", {{"cpus", {{"value", cpus}}}}}});
  return filters;
}

dcos::v1::FrameworkInfo in_role(std::string name, std::string role, json offer_filters = nullptr) {
  auto info = TestFramework::in_role(std::move(name), std::move(role));
  info.offer_filters = std::move(offer_filters);
  return info;
}

// Sends UPDATE_FRAMEWORK with `info` and returns the status code.
int update_framework(Cluster& cluster, TestFramework& framework, dcos::v1::FrameworkInfo info) {
  info.id = framework.scheduler->framework_id();
  int status = 0;
  framework.scheduler->send({{"type", "UPDATE_FRAMEWORK"}, {"update_framework", {{"framework_info", dcos::v1::to_json(info)}}}},
                            [&](auto response) { status = response ? response->result_int() : -1; });
  cluster.run_until([&] { return status != 0; });
  return status;
}

}  // namespace

TEST_CASE("offer_filters: a framework wanting 4 cpus is not offered a 2-cpu agent, another framework is",
          "[allocator][cluster][offer_filters]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  TestFramework big(cluster, in_role("big", "big", min_cpus("big", 4)));
  big.scheduler->start();
  REQUIRE(big.await("SUBSCRIBED"));
  TestFramework small(cluster, in_role("small", "small"));
  small.scheduler->start();
  // Both roles at share 0; big comes first on the tie but 2 cpus < its minimum of 4: small gets it.
  REQUIRE(cluster.run_until([&] { return offered(cluster, small) == 2; }));
  cluster.advance(2s, 2);  // Two more allocation intervals change nothing.
  CHECK(big.of("OFFERS").empty());

  // A 4-cpu agent meets big's minimum: big (share 0) is offered it.
  cluster.add_agent("cpus:4;mem:1024");
  REQUIRE(cluster.run_until([&] { return offered(cluster, big) == 4; }));
  CHECK(offered(cluster, small) == 2);
}

TEST_CASE("offer_filters: UPDATE_FRAMEWORK lowers a framework's minimum and it is offered the agent",
          "[allocator][cluster][offer_filters]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  TestFramework f(cluster, in_role("f", "f", min_cpus("f", 4)));
  f.scheduler->start();
  REQUIRE(f.await("SUBSCRIBED"));
  cluster.advance(2s, 2);
  CHECK(f.of("OFFERS").empty());

  REQUIRE(update_framework(cluster, f, in_role("f", "f", min_cpus("f", 1))) == 200);
  REQUIRE(cluster.run_until([&] { return offered(cluster, f) == 2; }));
  // Asking for more than the agent has again is allowed; the offer out already stays.
  CHECK(update_framework(cluster, f, in_role("f", "f", min_cpus("f", 8))) == 200);
}

TEST_CASE("offer_filters: a malformed one refuses SUBSCRIBE and UPDATE_FRAMEWORK with the reason",
          "[allocator][cluster][offer_filters]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .agent_resources = "cpus:2;mem:1024"});
  REQUIRE(cluster.start());
  const json empty_quantities = json::parse(R"({"r":{"min_allocatable_resources":{"quantities":[{"quantities":{}}]}}})");
  TestFramework refused(cluster, in_role("refused", "r", empty_quantities));
  refused.scheduler->start();
  auto error = refused.await("ERROR");
  REQUIRE(error);
  CHECK_THAT((*error)["error"]["message"].get<std::string>(),
             Catch::Contains("Resource quantities must contain at least one quantity"));
  CHECK(refused.of("SUBSCRIBED").empty());

  TestFramework f(cluster, in_role("f", "r"));
  f.scheduler->start();
  REQUIRE(f.await("SUBSCRIBED"));
  CHECK(update_framework(cluster, f, in_role("f", "r", json::parse(R"({"r":{"min_allocatable_resources":{"quantities":[{"quantities":{"cpus":{"value":-1}}}]}}})"))) == 400);
  CHECK(update_framework(cluster, f, in_role("f", "r", json::parse(R"({"r":{"min_allocatable_resources":{"quantities":{}}}})"))) == 400);
  CHECK(update_framework(cluster, f, in_role("f", "r", json::parse(R"(["r"])"))) == 400);
}

TEST_CASE("offer_filters decode to per-role minimums for the framework's roles", "[allocator][core][offer_filters]") {
  auto info = in_role("f", "r", json::parse(R"({
      "r": {"min_allocatable_resources": {"quantities": [{"quantities": {"cpus": {"value": 1}, "mem": {"value": 64}}},
                                                        {"quantities": {"gpus": {"value": 1}}}]}},
      "other": {"min_allocatable_resources": {"quantities": [{"quantities": {"cpus": {"value": 2}}}]}}})"));
  auto options = dcos::master::framework_options(info);
  REQUIRE(options);
  REQUIRE(options->min_allocatable.size() == 1);  // "other" is not one of the framework's roles.
  const auto& r = options->min_allocatable.at("r");
  REQUIRE(r.size() == 2);
  CHECK(r[0] == dcos::parse_resources("cpus:1;mem:64").value());
  CHECK(r[1] == dcos::parse_resources("gpus:1").value());

  // A role without `min_allocatable_resources` keeps the master's; an empty list admits anything.
  info.offer_filters = json::parse(R"({"r": {}})");
  CHECK(dcos::master::framework_options(info)->min_allocatable.empty());
  info.offer_filters = json::parse(R"({"r": {"min_allocatable_resources": {}}})");
  CHECK(dcos::master::framework_options(info)->min_allocatable.at("r").empty());

  info.offer_filters = json::parse(R"({"r": {"min_allocatable_resources": {"quantities": [{"quantities": {"cpus": "1"}}]}}})");
  auto bad = dcos::master::framework_options(info);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("Invalid resource quantity for 'cpus'"));
}
