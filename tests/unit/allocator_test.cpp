#include "dcos/allocator/allocator.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

// Scenarios after Mesos's src/tests/hierarchical_allocator_tests.cpp. DRF shares are written
// beside the steps: share = max over scalars of allocated / cluster total.

namespace {

using namespace std::chrono_literals;
using dcos::AgentId;
using dcos::FrameworkId;
using dcos::Grant;
using dcos::Resources;
using dcos::TimePoint;

const FrameworkId A("fw-a");  // Sorts before fw-b: wins ties.
const FrameworkId B("fw-b");
const AgentId agent1("agent-1");
const AgentId agent2("agent-2");
const AgentId agent3("agent-3");
const AgentId agent4("agent-4");
const TimePoint t0(std::chrono::seconds(1'700'000'000));

Resources R(const std::string& text) {
  auto parsed = dcos::parse_resources(text);
  INFO("parse_resources(\"" << text << "\")");
  REQUIRE(parsed);
  return *parsed;
}

// Checks that `grant` gives all of `resources` on `agent` to `framework` in `role`, tagged with
// the role, and that every resource carries that allocation role.
void check_grant(const Grant& grant, const FrameworkId& framework, const AgentId& agent, const std::string& role,
                 const Resources& resources) {
  INFO("grant of " << grant.resources.to_string() << " on " << grant.agent.value() << " to "
                   << grant.framework.value() << " as " << grant.role);
  CHECK(grant.framework == framework);
  CHECK(grant.agent == agent);
  CHECK(grant.role == role);
  CHECK(grant.resources == resources.allocated_to(role));
  for (const auto& r : grant.resources) CHECK(r.allocation_role == role);
}

}  // namespace

TEST_CASE("DRF: each new agent goes wholly to the framework with the lower dominant share",
          "[allocator][core]") {
  // UnreservedDRF with two frameworks in roles a and b; agents arrive one at a time.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_framework(B, {"b"}, true);

  // agent1 cpus:2 mem:1024. Shares A 0, B 0: tie, fw-a first. Totals cpus 2, mem 1024.
  // A = max(2/2, 1024/1024) = 1.
  allocator->add_agent(agent1, R("cpus:2;mem:1024"), {});
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], A, agent1, "a", R("cpus:2;mem:1024"));

  // agent2 cpus:1 mem:512. Totals cpus 3, mem 1536. A = max(2/3, 1024/1536) = 0.667, B = 0 -> B.
  // B = max(1/3, 512/1536) = 0.333.
  allocator->add_agent(agent2, R("cpus:1;mem:512"), {});
  grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], B, agent2, "b", R("cpus:1;mem:512"));

  // agent3 cpus:3 mem:2048. Totals cpus 6, mem 3584. A = max(2/6, 1024/3584) = 0.333,
  // B = max(1/6, 512/3584) = 0.167 -> B. B = max(4/6, 2560/3584) = 0.714.
  allocator->add_agent(agent3, R("cpus:3;mem:2048"), {});
  grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], B, agent3, "b", R("cpus:3;mem:2048"));

  // agent4 cpus:4 mem:4096. Totals cpus 10, mem 7680. A = max(2/10, 1024/7680) = 0.2,
  // B = max(4/10, 2560/7680) = 0.4 -> A. A = max(6/10, 5120/7680) = 0.667.
  allocator->add_agent(agent4, R("cpus:4;mem:4096"), {});
  grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], A, agent4, "a", R("cpus:4;mem:4096"));

  // Everything is allocated: nothing more to offer.
  CHECK(allocator->allocate(t0).empty());
}

TEST_CASE("DRF order is updated within one allocation cycle", "[allocator][core]") {
  // Two equal agents in one cycle: agent-1 to fw-a (tie), then A = 0.5 > B = 0 so agent-2 to fw-b.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_framework(B, {"b"}, true);
  allocator->add_agent(agent1, R("cpus:1;mem:512"), {});
  allocator->add_agent(agent2, R("cpus:1;mem:512"), {});
  const auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 2);
  check_grant(grants[0], A, agent1, "a", R("cpus:1;mem:512"));
  check_grant(grants[1], B, agent2, "b", R("cpus:1;mem:512"));
}

TEST_CASE("A declined agent is filtered for that framework until now + refuse_for", "[allocator][core]") {
  // fw-a declines agent-1 for 5 s at t0: nothing at t0+1s or t0+5s-1ns; offered again at t0+5s.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_agent(agent1, R("cpus:2;mem:1024"), {});
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);

  allocator->recover(A, agent1, grants[0].resources, 5s, t0);
  CHECK(allocator->allocate(t0 + 1s).empty());
  CHECK(allocator->allocate(t0 + 5s - 1ns).empty());
  grants = allocator->allocate(t0 + 5s);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], A, agent1, "a", R("cpus:2;mem:1024"));
}

TEST_CASE("A decline filter applies to the declining framework only", "[allocator][core]") {
  // fw-a declines agent-1 for an hour; fw-b (share 0) is offered it straight away.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_framework(B, {"b"}, true);
  allocator->add_agent(agent1, R("cpus:2;mem:1024"), {});
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  REQUIRE(grants[0].framework == A);
  allocator->recover(A, agent1, grants[0].resources, 1h, t0);
  grants = allocator->allocate(t0 + 1s);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], B, agent1, "b", R("cpus:2;mem:1024"));
}

TEST_CASE("Recovering without a filter makes resources available at once", "[allocator][core]") {
  // No refuse_for, or a zero one, installs no filter: the next cycle offers the agent again.
  using Refuse = std::optional<dcos::Duration>;
  for (const Refuse refuse : {Refuse(), Refuse(0s)}) {
    auto allocator = dcos::make_drf_allocator();
    allocator->add_framework(A, {"a"}, true);
    allocator->add_agent(agent1, R("cpus:2;mem:1024"), {});
    auto grants = allocator->allocate(t0);
    REQUIRE(grants.size() == 1);
    CHECK(allocator->allocate(t0).empty());  // Still held.
    allocator->recover(A, agent1, grants[0].resources, refuse, t0);
    grants = allocator->allocate(t0);
    REQUIRE(grants.size() == 1);
    check_grant(grants[0], A, agent1, "a", R("cpus:2;mem:1024"));
  }
}

TEST_CASE("Partly recovered resources go to the lower-share framework", "[allocator][core]") {
  // fw-a returns half of agent-1; A = max(1/2, 512/1024) = 0.5 > B = 0, so fw-b gets that half.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_framework(B, {"b"}, true);
  allocator->add_agent(agent1, R("cpus:2;mem:1024"), {});
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  REQUIRE(grants[0].framework == A);
  allocator->recover(A, agent1, R("cpus:1;mem:512").allocated_to("a"), std::nullopt, t0);
  grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], B, agent1, "b", R("cpus:1;mem:512"));
}

TEST_CASE("Suppress stops offers; revive restores them and clears filters", "[allocator][core]") {
  // SuppressAndReviveOffers: suppressed fw-a gets nothing; revive restores offers and drops filters.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_agent(agent1, R("cpus:2;mem:1024"), {});
  allocator->suppress(A, {});
  CHECK(allocator->allocate(t0).empty());
  allocator->revive(A, {});
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);

  allocator->recover(A, agent1, grants[0].resources, 1h, t0);
  CHECK(allocator->allocate(t0 + 1s).empty());  // Filtered.
  allocator->revive(A, {});
  grants = allocator->allocate(t0 + 2s);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], A, agent1, "a", R("cpus:2;mem:1024"));
}

TEST_CASE("Suppressing a framework's only role by name stops its offers", "[allocator][core]") {
  // suppress(fw-a, {"a"}) is the same as suppressing everything for a single-role framework.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_agent(agent1, R("cpus:2;mem:1024"), {});
  allocator->suppress(A, {"a"});
  CHECK(allocator->allocate(t0).empty());
  allocator->revive(A, {"a"});
  CHECK(allocator->allocate(t0).size() == 1);
}

TEST_CASE("A deactivated framework gets no offers", "[allocator][core]") {
  // Inactive fw-a is skipped despite its lower share; once reactivated it gets the next agent.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, false);
  CHECK(allocator->allocate(t0).empty());
  allocator->add_agent(agent1, R("cpus:1;mem:512"), {});
  CHECK(allocator->allocate(t0).empty());
  allocator->add_framework(B, {"b"}, true);
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], B, agent1, "b", R("cpus:1;mem:512"));

  allocator->activate_framework(A);
  allocator->add_agent(agent2, R("cpus:1;mem:512"), {});
  grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], A, agent2, "a", R("cpus:1;mem:512"));

  allocator->deactivate_framework(A);
  allocator->recover(A, agent2, grants[0].resources, std::nullopt, t0);
  grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].framework == B);  // Not A, although A's share is now 0.
}

TEST_CASE("A deactivated agent gives no offers", "[allocator][core]") {
  // deactivate_agent hides agent-1 from allocation; activate_agent brings it back.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_agent(agent1, R("cpus:1;mem:512"), {});
  allocator->deactivate_agent(agent1);
  CHECK(allocator->allocate(t0).empty());
  allocator->activate_agent(agent1);
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], A, agent1, "a", R("cpus:1;mem:512"));
}

TEST_CASE("remove_agent releases the allocation it held", "[allocator][core]") {
  // RemoveSlaveRecoverResources: after agent-1 (held by fw-a) goes, A's share is 0 again.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_framework(B, {"b"}, true);
  allocator->add_agent(agent1, R("cpus:2;mem:1024"), {});
  REQUIRE(allocator->allocate(t0).at(0).framework == A);  // A = 1.
  allocator->add_agent(agent2, R("cpus:1;mem:512"), {});
  REQUIRE(allocator->allocate(t0).at(0).framework == B);  // A = 2/3, B = 1/3.

  allocator->remove_agent(agent1);
  // Totals now cpus 1, mem 512 (agent-2): A = 0, B = 1.
  // agent-3 cpus:1 mem:512: totals cpus 2, mem 1024; A = 0 < B = 0.5 -> A.
  // (Had agent-1's allocation stayed with A: A = max(2/2, 1024/1024) = 1 > B -> B.)
  allocator->add_agent(agent3, R("cpus:1;mem:512"), {});
  const auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], A, agent3, "a", R("cpus:1;mem:512"));
}

TEST_CASE("remove_framework returns its resources to the pool", "[allocator][core]") {
  // fw-a holds agent-1; once removed, fw-b is offered agent-1.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_framework(B, {"b"}, true);
  allocator->add_agent(agent1, R("cpus:2;mem:1024"), {});
  REQUIRE(allocator->allocate(t0).at(0).framework == A);
  CHECK(allocator->allocate(t0).empty());
  allocator->remove_framework(A);
  const auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], B, agent1, "b", R("cpus:2;mem:1024"));
}

TEST_CASE("An agent's used resources count against their framework", "[allocator][core]") {
  // agent-1 re-registers with fw-a using half; A = max(1/2, 512/1024) = 0.5 > B = 0: fw-b gets the rest.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_framework(B, {"b"}, true);
  allocator->add_agent(agent1, R("cpus:2;mem:1024"), {{A, R("cpus:1;mem:512").allocated_to("a")}});
  const auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], B, agent1, "b", R("cpus:1;mem:512"));
  CHECK(allocator->allocate(t0).empty());
}

TEST_CASE("Agents below the minimum allocatable resources are not offered", "[allocator][core]") {
  // Free resources must hold cpus:0.01 or mem:32: mem:16, cpus:0.005, disk alone are not offered.
  for (const char* tiny : {"mem:16", "cpus:0.005", "disk:1024", "ports:[1-100]", "mem:16;cpus:0.005;disk:10"}) {
    INFO("agent resources: " << tiny);
    auto allocator = dcos::make_drf_allocator();
    allocator->add_framework(A, {"a"}, true);
    allocator->add_agent(agent1, R(tiny), {});
    CHECK(allocator->allocate(t0).empty());
  }
  for (const char* enough : {"mem:32", "cpus:0.01", "cpus:0.01;disk:10"}) {
    INFO("agent resources: " << enough);
    auto allocator = dcos::make_drf_allocator();
    allocator->add_framework(A, {"a"}, true);
    allocator->add_agent(agent1, R(enough), {});
    const auto grants = allocator->allocate(t0);
    REQUIRE(grants.size() == 1);
    check_grant(grants[0], A, agent1, "a", R(enough));
  }
}

TEST_CASE("Custom minimum allocatable resources are honoured", "[allocator][core]") {
  // With min {cpus:1}, an agent with cpus:0.5 (and plenty of mem) is not offered; cpus:1 is.
  dcos::AllocatorOptions options;
  options.min_allocatable = {R("cpus:1")};
  auto allocator = dcos::make_drf_allocator(options);
  allocator->add_framework(A, {"a"}, true);
  allocator->add_agent(agent1, R("cpus:0.5;mem:4096"), {});
  CHECK(allocator->allocate(t0).empty());
  allocator->add_agent(agent2, R("cpus:1;mem:64"), {});
  const auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], A, agent2, "a", R("cpus:1;mem:64"));
}

TEST_CASE("Resources reserved for a role are not offered to other roles", "[allocator][core]") {
  // fw-dev (role dev) is offered only agent-1's unreserved part, never cpus(eng)/mem(eng).
  const FrameworkId dev("fw-dev");
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(dev, {"dev"}, true);
  allocator->add_agent(agent1, R("cpus(eng):2;mem(eng):1024;cpus:1;mem:512"), {});
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], dev, agent1, "dev", R("cpus:1;mem:512"));
  for (const auto& r : grants[0].resources) CHECK_FALSE(r.reserved());
  CHECK(allocator->allocate(t0).empty());
  CHECK(allocator->allocate(t0 + 1h).empty());
}

TEST_CASE("A framework in the reserving role is offered reserved and unreserved together",
          "[allocator][core]") {
  // fw-eng gets all of agent-1 in one grant: its reservations plus the unreserved part.
  const FrameworkId eng("fw-eng");
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(eng, {"eng"}, true);
  allocator->add_agent(agent1, R("cpus(eng):2;mem(eng):1024;cpus:1;mem:512"), {});
  const auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], eng, agent1, "eng", R("cpus(eng):2;mem(eng):1024;cpus:1;mem:512"));
  CHECK(grants[0].resources.scalar("cpus") == 3.0);
}

TEST_CASE("Resources reserved for a role are offered to that role's framework", "[allocator][core]") {
  // An agent with only cpus(eng):2;mem(eng):1024 is offered to fw-eng in role eng.

  // Mesos checks min allocatable resources on quantities stripped of reservations.
  const FrameworkId eng("fw-eng");
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(eng, {"eng"}, true);
  allocator->add_agent(agent1, R("cpus(eng):2;mem(eng):1024"), {});
  const auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], eng, agent1, "eng", R("cpus(eng):2;mem(eng):1024"));
}

TEST_CASE("Reservations left after another role's offer reach their role in the same cycle",
          "[allocator][core]") {
  // Roles dev and eng tie at share 0: dev (lower name) takes the unreserved part, then eng, next
  // in the same walk over agent-1, takes its reservation (Mesos offers every role in turn on an
  // agent within one cycle).
  const FrameworkId dev("fw-dev");
  const FrameworkId eng("fw-eng");
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(dev, {"dev"}, true);
  allocator->add_framework(eng, {"eng"}, true);
  allocator->add_agent(agent1, R("cpus(eng):2;mem(eng):1024;cpus:1;mem:512"), {});
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 2);
  check_grant(grants[0], dev, agent1, "dev", R("cpus:1;mem:512"));
  check_grant(grants[1], eng, agent1, "eng", R("cpus(eng):2;mem(eng):1024"));
  CHECK(allocator->allocate(t0 + 1s).empty());
}

TEST_CASE("A multi-role framework is offered resources reserved for any of its roles",
          "[allocator][core]") {
  // MultiRoleFrameworkReceivesOffers: fw-a in roles {a, b} is offered cpus(b)/mem(b) as role b.

  // An empty min_allocatable entry keeps the reserved-only min-allocatable bug out of this test.
  dcos::AllocatorOptions options;
  options.min_allocatable = {Resources{}};
  auto allocator = dcos::make_drf_allocator(options);
  allocator->add_framework(A, {"a", "b"}, true);
  allocator->add_agent(agent1, R("cpus(b):2;mem(b):1024"), {});
  const auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], A, agent1, "b", R("cpus(b):2;mem(b):1024"));
}

TEST_CASE("A multi-role framework's offers carry its first unsuppressed role", "[allocator][core]") {
  // With roles {a, b}, unreserved resources are offered as a; with a suppressed, as b.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a", "b"}, true);
  allocator->add_agent(agent1, R("cpus:1;mem:512"), {});
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], A, agent1, "a", R("cpus:1;mem:512"));
  allocator->recover(A, agent1, grants[0].resources, std::nullopt, t0);
  allocator->suppress(A, {"a"});
  grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], A, agent1, "b", R("cpus:1;mem:512"));
  allocator->suppress(A, {"b"});
  allocator->recover(A, agent1, grants[0].resources, std::nullopt, t0);
  CHECK(allocator->allocate(t0).empty());
}
