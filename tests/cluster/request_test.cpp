// REQUEST through the scheduler API: a framework's requests steer which agents its next offers
// come from (docs/design/allocator.md, "Requests"); the allocator's own tests cover the rules.
#include <catch2/catch.hpp>

#include <set>

#include "cluster/framework_harness.hpp"
#include "dcos/testing/cluster.hpp"

using namespace std::chrono_literals;
using dcos::testing::Cluster;
using dcos::testing::TestFramework;

namespace {

// Every offer received so far, in order.
std::vector<nlohmann::json> offers_of(const TestFramework& framework) {
  std::vector<nlohmann::json> out;
  for (const auto& event : framework.of("OFFERS")) {
    for (const auto& offer : event["offers"]["offers"]) out.push_back(offer);
  }
  return out;
}

// Sends `call` and waits for the master's answer; returns its status code.
int send(Cluster& cluster, TestFramework& framework, nlohmann::json call) {
  int status = 0;
  framework.scheduler->send(std::move(call), [&](dcos::Result<dcos::http::Response> response) {
    status = response ? response->result_int() : -1;
  });
  cluster.run_until([&] { return status != 0; });
  return status;
}

}  // namespace

TEST_CASE("REQUEST for an agent holds the framework's offers back until that agent is free",
          "[cluster][shell][allocator]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 3});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  REQUIRE(cluster.run_until([&] { return offers_of(framework).size() == 3; }));

  // Ask for the first offer's agent while keeping that offer, and decline the other two.
  const auto first = offers_of(framework);
  const std::string wanted = first[0]["agent_id"]["value"];
  REQUIRE(send(cluster, framework,
               {{"type", "REQUEST"}, {"request", {{"requests", {{{"agent_id", {{"value", wanted}}}}}}}}}) == 202);
  REQUIRE(framework.decline(first[1]["id"]["value"], 0.0));
  REQUIRE(framework.decline(first[2]["id"]["value"], 0.0));

  // Cycles run and the declined agents are free, but the framework waits for its agent: without
  // the request they would be offered again after one allocation interval.
  cluster.advance(3s, 3);
  cluster.run_until([] { return false; }, 100ms);
  CHECK(offers_of(framework).size() == 3);

  // Once the requested agent is free, the framework takes it, and with the request met, the
  // others in the same cycle.
  REQUIRE(framework.decline(first[0]["id"]["value"], 0.0));
  cluster.advance(1s, 1);
  REQUIRE(cluster.run_until([&] { return offers_of(framework).size() == 6; }));
  std::set<std::string> agents;
  for (size_t i = 3; i < 6; ++i) agents.insert(offers_of(framework)[i]["agent_id"]["value"]);
  CHECK(agents.size() == 3);
}

TEST_CASE("REQUEST with malformed resources is refused with 400", "[cluster][shell][allocator]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  REQUIRE(framework.await("OFFERS"));
  const nlohmann::json bad = {{"type", "REQUEST"},
                              {"request", {{"requests", {{{"resources", {{{"name", "cpus"}, {"type", "SCALAR"}}}}}}}}}};
  CHECK(send(cluster, framework, bad) == 400);
  CHECK(send(cluster, framework, {{"type", "REQUEST"}, {"request", {{"requests", nlohmann::json::array()}}}}) == 202);
}

TEST_CASE("a REQUEST no agent can meet holds offers back until an empty REQUEST clears it",
          "[cluster][shell][allocator]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 2});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  REQUIRE(cluster.run_until([&] { return offers_of(framework).size() == 2; }));
  const nlohmann::json huge = {{"type", "REQUEST"},
                               {"request", {{"requests", {{{"resources", to_json(dcos::parse_resources("cpus:100").value())}}}}}}};
  REQUIRE(send(cluster, framework, huge) == 202);
  for (const auto& offer : offers_of(framework)) REQUIRE(framework.decline(offer["id"]["value"], 0.0));
  cluster.advance(3s, 3);
  cluster.run_until([] { return false; }, 100ms);
  CHECK(offers_of(framework).size() == 2);
  REQUIRE(send(cluster, framework, {{"type", "REQUEST"}, {"request", {{"requests", nlohmann::json::array()}}}}) == 202);
  cluster.advance(1s, 1);
  REQUIRE(cluster.run_until([&] { return offers_of(framework).size() == 4; }));
}
