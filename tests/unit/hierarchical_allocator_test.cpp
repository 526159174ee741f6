#include "dcos/allocator/allocator.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "dcos/allocator/drf_sorter.hpp"

// Scenarios of Mesos's src/tests/hierarchical_allocator_tests.cpp against the pure core, with the
// DRF arithmetic beside each step: a role's (or framework's) share is the largest fraction it
// holds of any resource in the cluster, divided by its weight; ties go to fewer grants so far,
// then to the lower name. Time only moves when a test says so.

namespace {

using namespace std::chrono_literals;
using dcos::AgentId;
using dcos::FrameworkId;
using dcos::Grant;
using dcos::Resources;
using dcos::TimePoint;

const TimePoint t0(std::chrono::seconds(1'700'000'000));

Resources R(const std::string& text) {
  auto parsed = dcos::parse_resources(text);
  INFO("parse_resources(\"" << text << "\")");
  REQUIRE(parsed);
  return *parsed;
}

FrameworkId framework(int n) { return FrameworkId("framework" + std::to_string(n)); }
AgentId agent(int n) { return AgentId("agent" + std::to_string(n)); }

// `grant` gives exactly `resources` (tagged with `role`) on `on` to `to`.
void check_grant(const Grant& grant, const FrameworkId& to, const AgentId& on, const std::string& role,
                 const Resources& resources) {
  INFO("grant of " << grant.resources.to_string() << " on " << grant.agent.value() << " to "
                   << grant.framework.value() << " as " << grant.role);
  CHECK(grant.framework == to);
  CHECK(grant.agent == on);
  CHECK(grant.role == role);
  CHECK(grant.resources == resources.allocated_to(role));
  for (const auto& r : grant.resources) CHECK(r.allocation_role == role);
}

// The single grant of a cycle.
Grant only(const std::vector<Grant>& grants) {
  REQUIRE(grants.size() == 1);
  return grants.front();
}

void recover_all(dcos::Allocator& allocator, const std::vector<Grant>& grants,
                 std::optional<dcos::Duration> refuse = std::nullopt, TimePoint now = t0) {
  for (const Grant& g : grants) allocator.recover(g.framework, g.agent, g.resources, refuse, now);
}

std::map<std::string, int> grants_per_framework(const std::vector<Grant>& grants) {
  std::map<std::string, int> count;
  for (const Grant& g : grants) ++count[g.framework.value()];
  return count;
}

}  // namespace

TEST_CASE("UnreservedDRF: each new agent goes wholly to the lowest-share role, then framework",
          "[allocator][core]") {
  // Four frameworks in two roles; agents arrive one by one and each is allocated whole.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"role1"}, true);
  allocator->add_agent(agent(1), R("cpus:2;mem:1024"), {});
  // Only framework1 exists. role1 = 1 (cpus 2/2, mem 1024/1024).
  check_grant(only(allocator->allocate(t0)), framework(1), agent(1), "role1", R("cpus:2;mem:1024"));

  allocator->add_framework(framework(2), {"role2"}, true);
  allocator->add_agent(agent(2), R("cpus:1;mem:512"), {});
  // Totals cpus 3, mem 1536: role1 = max(2/3, 1024/1536) = 0.67, role2 = 0 -> framework2.
  check_grant(only(allocator->allocate(t0)), framework(2), agent(2), "role2", R("cpus:1;mem:512"));

  allocator->add_agent(agent(3), R("cpus:3;mem:2048"), {});
  // Totals cpus 6, mem 3584: role1 = max(2/6, 1024/3584) = 0.33,
  // role2 = max(1/6, 512/3584) = 0.17 -> framework2; role2 = max(4/6, 2560/3584) = 0.71.
  check_grant(only(allocator->allocate(t0)), framework(2), agent(3), "role2", R("cpus:3;mem:2048"));

  allocator->add_framework(framework(3), {"role1"}, true);
  allocator->add_agent(agent(4), R("cpus:4;mem:4096"), {});
  // Totals cpus 10, mem 7680: role1 = max(2/10, 1024/7680) = 0.2, role2 = max(4/10, 2560/7680)
  // = 0.4 -> role1; in role1 framework1 = 0.2, framework3 = 0 -> framework3.
  check_grant(only(allocator->allocate(t0)), framework(3), agent(4), "role1", R("cpus:4;mem:4096"));

  allocator->add_framework(framework(4), {"role1"}, true);
  allocator->add_agent(agent(5), R("cpus:1;mem:512"), {});
  // Totals cpus 11, mem 8192: role1 = max(6/11, 5120/8192) = 0.63, role2 = max(4/11, 2560/8192)
  // = 0.36 -> role2, although framework4 (role1) holds nothing.
  check_grant(only(allocator->allocate(t0)), framework(2), agent(5), "role2", R("cpus:1;mem:512"));
}

TEST_CASE("ReservedDRF: reservations count in their role's share and go to that role only",
          "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_agent(agent(1), R("cpus:1;mem:512;cpus(role1):100;mem(role1):1024"), {});
  allocator->add_framework(framework(1), {"role1"}, true);
  // framework1 is offered everything, its reservations included.
  check_grant(only(allocator->allocate(t0)), framework(1), agent(1), "role1",
              R("cpus:1;mem:512;cpus(role1):100;mem(role1):1024"));

  allocator->add_framework(framework(2), {"role2"}, true);
  allocator->add_agent(agent(2), R("cpus:2;mem:512"), {});
  // role2 = 0 -> framework2.
  check_grant(only(allocator->allocate(t0)), framework(2), agent(2), "role2", R("cpus:2;mem:512"));

  allocator->add_agent(agent(3), R("cpus:2;mem:512"), {});
  // Totals cpus 105, mem 2048: role1 = max(101/105, 1536/2048) = 0.96 (its reservation counts),
  // role2 = max(2/105, 512/2048) = 0.25 -> framework2.
  check_grant(only(allocator->allocate(t0)), framework(2), agent(3), "role2", R("cpus:2;mem:512"));

  allocator->add_framework(framework(3), {"role1"}, true);
  allocator->add_agent(agent(4), R("cpus(role1):2;mem(role1):1024"), {});
  // Only role1 may use agent4; within role1 framework3 (0) goes before framework1 (0.96).
  check_grant(only(allocator->allocate(t0)), framework(3), agent(4), "role1", R("cpus(role1):2;mem(role1):1024"));
}

TEST_CASE("NestedRoleDRF: siblings are ordered by the share of their whole subtree", "[allocator][core]") {
  // framework1 in a/b, framework2 in a/c, framework3 in d. Role a's share is that of a/b and a/c
  // together, so a/c (holding nothing) does not jump ahead of d.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"a/b"}, true);
  allocator->add_framework(framework(2), {"a/c"}, true);
  allocator->add_framework(framework(3), {"d"}, true);
  allocator->add_agent(agent(1), R("cpus:2;mem:1024"), {{framework(1), R("cpus:2;mem:1024").allocated_to("a/b")}});
  CHECK(allocator->allocate(t0).empty());  // All used.

  allocator->add_agent(agent(2), R("cpus:1;mem:512"), {});
  // Totals cpus 3, mem 1536: a = 2/3 = 0.67 (a/b 0.67, a/c 0), d = 0 -> d.
  check_grant(only(allocator->allocate(t0)), framework(3), agent(2), "d", R("cpus:1;mem:512"));

  allocator->add_agent(agent(3), R("cpus:1;mem:512"), {});
  // Totals cpus 4, mem 2048: a = 2/4 = 0.5, d = 1/4 = 0.25 -> d again (flat DRF would pick a/c).
  check_grant(only(allocator->allocate(t0)), framework(3), agent(3), "d", R("cpus:1;mem:512"));

  allocator->add_agent(agent(4), R("cpus:4;mem:2048"), {});
  // Totals cpus 8, mem 4096: a = 2/8 = 0.25, d = 2/8 = 0.25; a tie, and a has had 1 grant to d's
  // 2 -> a; within a, a/b = 0.25, a/c = 0 -> framework2.
  check_grant(only(allocator->allocate(t0)), framework(2), agent(4), "a/c", R("cpus:4;mem:2048"));

  const auto roles = allocator->roles();
  REQUIRE(roles.size() == 4);  // a, a/b, a/c, d.
  CHECK(roles[0].name == "a");
  CHECK(roles[1].name == "a/b");
  CHECK(roles[1].allocated == dcos::ResourceQuantities{{"cpus", 2}, {"mem", 1024}});
  CHECK(roles[2].frameworks == std::vector<FrameworkId>{framework(2)});
}

TEST_CASE("A role's reservations serve its subroles, never other roles", "[allocator][core]") {
  // Mesos's `isAllocatableTo`: resources reserved for eng may be offered to eng/web.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"dev"}, true);
  allocator->add_framework(framework(2), {"eng/web"}, true);
  allocator->add_agent(agent(1), R("cpus(eng):2;mem(eng):1024;cpus(eng/db):1;mem(eng/db):64"), {});
  // dev may use nothing here; eng/web gets eng's reservation but not eng/db's.
  check_grant(only(allocator->allocate(t0)), framework(2), agent(1), "eng/web", R("cpus(eng):2;mem(eng):1024"));
  CHECK(allocator->allocate(t0 + 1s).empty());
  const auto roles = allocator->roles();
  auto eng = std::find_if(roles.begin(), roles.end(), [](const dcos::RoleInfo& r) { return r.name == "eng"; });
  REQUIRE(eng != roles.end());
  CHECK(eng->reserved == dcos::ResourceQuantities{{"cpus", 3}, {"mem", 1088}});  // Subroles included.
}

TEST_CASE("CoarseGrained: one cycle gives each framework a whole agent", "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_agent(agent(1), R("cpus:2;mem:1024"), {});
  allocator->add_agent(agent(2), R("cpus:2;mem:1024"), {});
  allocator->add_framework(framework(1), {"role1"}, true);
  // framework1 alone: both agents, one grant each.
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 2);
  CHECK(grants_per_framework(grants) == std::map<std::string, int>{{"framework1", 2}});
  recover_all(*allocator, grants);

  allocator->add_framework(framework(2), {"role2"}, true);
  grants = allocator->allocate(t0);
  // agent1: role1 = role2 = 0, role1 has had 2 grants, role2 none -> framework2; role2 = 0.5.
  // agent2: role1 = 0 < 0.5 -> framework1.
  REQUIRE(grants.size() == 2);
  check_grant(grants[0], framework(2), agent(1), "role2", R("cpus:2;mem:1024"));
  check_grant(grants[1], framework(1), agent(2), "role1", R("cpus:2;mem:1024"));
}

TEST_CASE("SameShareFairness: frameworks with equal shares alternate", "[allocator][core]") {
  // Both at share 0 after each recovery: the one with fewer grants so far goes first.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"*"}, true);
  allocator->add_framework(framework(2), {"*"}, true);
  allocator->add_agent(agent(1), R("cpus:2;mem:1024"), {});
  std::map<std::string, int> counts;
  std::vector<std::string> order;
  for (int i = 0; i < 10; ++i) {
    const Grant grant = only(allocator->allocate(t0 + i * 1s));
    CHECK(grant.resources == R("cpus:2;mem:1024").allocated_to("*"));
    ++counts[grant.framework.value()];
    order.push_back(grant.framework.value());
    allocator->recover(grant.framework, grant.agent, grant.resources, std::nullopt, t0 + i * 1s);
  }
  CHECK(counts == std::map<std::string, int>{{"framework1", 5}, {"framework2", 5}});
  CHECK(order[0] == "framework1");  // 0 grants each: by name.
  CHECK(order[1] == "framework2");
}

TEST_CASE("OfferFilter: a filter longer than the interval holds until it expires", "[allocator][core]") {
  // Interval 1 s; the framework refuses for 2 s: not offered at +1 s, offered at +2 s.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"role"}, true);
  allocator->add_agent(agent(1), R("cpus:1;mem:512"), {});
  const Grant grant = only(allocator->allocate(t0));
  allocator->recover(framework(1), agent(1), grant.resources, 2s, t0);
  CHECK(allocator->allocate(t0 + 1s).empty());
  check_grant(only(allocator->allocate(t0 + 2s)), framework(1), agent(1), "role", R("cpus:1;mem:512"));
}

TEST_CASE("SmallOfferFilterTimeout: a filter lasts at least one allocation interval", "[allocator][core]") {
  // MESOS-4302: with a 60 s interval, a 1 s refusal still holds at the next periodic cycle.
  dcos::AllocatorOptions options;
  options.allocation_interval = 60s;
  auto allocator = dcos::make_drf_allocator(options);
  allocator->add_framework(framework(1), {"role"}, true);
  allocator->add_framework(framework(2), {"role"}, true);
  allocator->add_agent(agent(1), R("cpus:1;mem:512"), {{framework(1), R("cpus:1;mem:512").allocated_to("role")}});
  allocator->add_agent(agent(2), R("cpus:1;mem:512"), {});
  // Totals cpus 2, mem 1024: framework1 = 0.5, framework2 = 0 -> framework2 gets agent2.
  const Grant grant = only(allocator->allocate(t0));
  check_grant(grant, framework(2), agent(2), "role", R("cpus:1;mem:512"));

  allocator->recover(framework(2), agent(2), grant.resources, 1s, t0);
  // framework1 = 0.5, framework2 = 0, but framework2's filter lasts until t0 + 60 s, past its
  // 1 s: framework1 gets agent2 although its share is higher.
  const Grant second = only(allocator->allocate(t0 + 1s));
  check_grant(second, framework(1), agent(2), "role", R("cpus:1;mem:512"));

  allocator->recover(framework(1), agent(2), second.resources, std::nullopt, t0 + 1s);
  CHECK(only(allocator->allocate(t0 + 59s)).framework == framework(1));  // Filter still on.
  allocator->recover(framework(1), agent(2), R("cpus:1;mem:512").allocated_to("role"), std::nullopt, t0 + 59s);
  // At the next periodic cycle the filter is gone: framework2 (0) before framework1 (0.5).
  check_grant(only(allocator->allocate(t0 + 60s)), framework(2), agent(2), "role", R("cpus:1;mem:512"));
}

TEST_CASE("A filter replaced thousands of times still holds until the last one expires", "[allocator][core]") {
  // Each decline of the same resources with a longer filter replaces the previous filter; the
  // expiry heap is rebuilt along the way and must keep the last one.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"r"}, true);
  allocator->add_agent(agent(1), R("cpus:1;mem:512"), {});
  const Grant grant = only(allocator->allocate(t0));
  for (int i = 0; i < 5000; ++i) {
    allocator->recover(framework(1), agent(1), grant.resources, 10s + i * 1ms, t0);
  }
  CHECK(allocator->allocate(t0 + 10s + 4998ms).empty());
  CHECK(allocator->allocate(t0 + 10s + 4999ms - 1ns).empty());
  check_grant(only(allocator->allocate(t0 + 10s + 4999ms)), framework(1), agent(1), "r", R("cpus:1;mem:512"));
}

TEST_CASE("SuppressAndReviveOffers: suppressed roles get nothing; revive clears their filters",
          "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"role1"}, true);
  allocator->add_agent(agent(1), R("cpus:1;mem:512"), {});
  const Grant grant = only(allocator->allocate(t0));
  // Decline for an hour, then suppress: nothing, even after the filter would have gone.
  allocator->recover(framework(1), agent(1), grant.resources, 1h, t0);
  allocator->suppress(framework(1), {});
  CHECK(allocator->allocate(t0 + 1s).empty());
  CHECK(allocator->allocate(t0 + 2h).empty());
  // Revive: offers again, the (expired or not) filter is gone.
  allocator->revive(framework(1), {});
  const Grant again = only(allocator->allocate(t0 + 2h));
  allocator->recover(framework(1), agent(1), again.resources, 1h, t0 + 2h);
  CHECK(allocator->allocate(t0 + 2h + 1s).empty());
  allocator->revive(framework(1), {"role1"});
  check_grant(only(allocator->allocate(t0 + 2h + 2s)), framework(1), agent(1), "role1", R("cpus:1;mem:512"));
}

TEST_CASE("Suppress and revive are per role for a multi-role framework", "[allocator][core]") {
  // framework1 in {a, b}: with a suppressed its offers come as b; a filter for b leaves a alone.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"a", "b"}, true);
  allocator->add_agent(agent(1), R("cpus:1;mem:512"), {});
  allocator->suppress(framework(1), {"a"});
  Grant grant = only(allocator->allocate(t0));
  check_grant(grant, framework(1), agent(1), "b", R("cpus:1;mem:512"));
  allocator->recover(framework(1), agent(1), grant.resources, 1h, t0);
  CHECK(allocator->allocate(t0 + 1s).empty());  // b filtered, a suppressed.
  allocator->revive(framework(1), {"a"});
  grant = only(allocator->allocate(t0 + 2s));
  check_grant(grant, framework(1), agent(1), "a", R("cpus:1;mem:512"));
}

TEST_CASE("UpdateWeight: a role with twice the weight gets twice the agents", "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"role1"}, true);
  allocator->add_framework(framework(2), {"role2"}, true);
  for (int i = 1; i <= 6; ++i) allocator->add_agent(agent(i), R("cpus:1;mem:512"), {});
  // Equal weights, totals cpus 6: agents go role1, role2, role1, ... (ties by grant count, then
  // name): 3 each.
  auto grants = allocator->allocate(t0);
  CHECK(grants_per_framework(grants) == std::map<std::string, int>{{"framework1", 3}, {"framework2", 3}});
  recover_all(*allocator, grants);

  REQUIRE(allocator->update_weights({{"role2", 2.0}}));
  CHECK(allocator->weights() == std::map<std::string, double>{{"role2", 2.0}});
  grants = allocator->allocate(t0 + 1s);
  // Share = max fraction / weight, with 1/6 per agent:
  //   agent1: 0 vs 0, 3 grants each -> role1 (name); role1 = 1/6.
  //   agent2: role2 = 0 -> role2 = (1/6)/2 = 1/12.
  //   agent3: 1/6 vs 1/12 -> role2 = 2/12.
  //   agent4: 1/6 vs 1/6, grants 4 vs 5 -> role1 = 2/6.
  //   agent5: 2/6 vs 1/6 -> role2 = 3/12.  agent6: 2/6 vs 3/12 -> role2 = 4/12.
  REQUIRE(grants.size() == 6);
  CHECK(grants_per_framework(grants) == std::map<std::string, int>{{"framework1", 2}, {"framework2", 4}});
  const std::vector<std::string> expected = {"role1", "role2", "role2", "role1", "role2", "role2"};
  for (std::size_t i = 0; i < grants.size(); ++i) CHECK(grants[i].role == expected[i]);

  CHECK_FALSE(allocator->update_weights({{"role1", 0.0}}));
  CHECK_FALSE(allocator->update_weights({{"*", 2.0}}));
}

TEST_CASE("QuotaProvidesGuarantee: resources a quota role declines are kept for it", "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"quota-role"}, true);
  REQUIRE(allocator->update_quota("quota-role", {{{"cpus", 2}, {"mem", 1024}}, {}}));
  allocator->add_framework(framework(2), {"no-quota-role"}, true);

  allocator->add_agent(agent(1), R("cpus:1;mem:512"), {});
  // Stage 1: quota-role lacks cpus 2, mem 1024 -> framework1 gets agent1 (within the guarantee).
  check_grant(only(allocator->allocate(t0)), framework(1), agent(1), "quota-role", R("cpus:1;mem:512"));
  allocator->add_agent(agent(2), R("cpus:1;mem:512"), {});
  // Still lacking cpus 1, mem 512 -> agent2 too; framework2 waits.
  const Grant grant = only(allocator->allocate(t0));
  check_grant(grant, framework(1), agent(2), "quota-role", R("cpus:1;mem:512"));

  allocator->recover(framework(1), agent(2), grant.resources, 2s, t0);
  // Required headroom = guarantee - consumed = (cpus 1, mem 512); available headroom = agent2's
  // (cpus 1, mem 512): nothing to spare for no-quota-role, and framework1 filters agent2.
  CHECK(allocator->allocate(t0 + 1s).empty());
  // The filter expires: quota-role gets agent2 back.
  check_grant(only(allocator->allocate(t0 + 2s)), framework(1), agent(2), "quota-role", R("cpus:1;mem:512"));

  const auto quotas = allocator->quotas();
  REQUIRE(quotas.count("quota-role") == 1);
  CHECK(quotas.at("quota-role").guarantees == dcos::ResourceQuantities{{"cpus", 2}, {"mem", 1024}});
}

TEST_CASE("Quota guarantees come first and bursting above them stops at the limit", "[allocator][core]") {
  // q has guarantee cpus 1 and limit cpus 1: stage 1 offers framework1 cpus 1 and the mem
  // (which has neither guarantee nor limit); the other cpus go by fair share in stage 2.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"q"}, true);
  REQUIRE(allocator->update_quota("q", {{{"cpus", 1}}, {{"cpus", 1}}}));
  allocator->add_framework(framework(2), {"r"}, true);
  allocator->add_agent(agent(1), R("cpus:4;mem:1024"), {});
  allocator->add_agent(agent(2), R("cpus:4;mem:1024"), {});
  const auto grants = allocator->allocate(t0);
  // Stage 1, agent1: q lacks cpus 1 -> cpus:1 guaranteed; cpus 3 more would pass the limit; mem
  // 1024 fits the surplus headroom (available cpus 8, mem 2048 - required cpus 1).
  // Stage 2, agent1: q = max(1/8, 1024/2048) = 0.5, r = 0 -> framework2 gets cpus 3.
  // Stage 2, agent2: r = 3/8 = 0.375 < q = 0.5 -> framework2 again.
  REQUIRE(grants.size() == 3);
  check_grant(grants[0], framework(1), agent(1), "q", R("cpus:1;mem:1024"));
  check_grant(grants[1], framework(2), agent(1), "r", R("cpus:3"));
  check_grant(grants[2], framework(2), agent(2), "r", R("cpus:4;mem:1024"));
  const auto roles = allocator->roles();
  REQUIRE(roles[0].name == "q");
  CHECK(roles[0].consumed_quota == dcos::ResourceQuantities{{"cpus", 1}, {"mem", 1024}});
}

TEST_CASE("QuotaProvidesLimit: a role is never allocated beyond its limits", "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"limited"}, true);
  REQUIRE(allocator->update_quota("limited", {{}, {{"cpus", 3}}}));
  allocator->add_agent(agent(1), R("cpus:2;mem:1024"), {});
  allocator->add_agent(agent(2), R("cpus:2;mem:1024"), {});
  auto grants = allocator->allocate(t0);
  // agent1: cpus 2 of the limit 3 -> whole. agent2: cpus left under the limit = 1 -> cpus:1 and
  // all the mem (mem has no limit).
  REQUIRE(grants.size() == 2);
  check_grant(grants[0], framework(1), agent(1), "limited", R("cpus:2;mem:1024"));
  check_grant(grants[1], framework(1), agent(2), "limited", R("cpus:1;mem:1024"));
  CHECK(allocator->allocate(t0 + 1s).empty());  // agent2's last cpu would exceed the limit.

  allocator->recover(framework(1), agent(1), grants[0].resources, std::nullopt, t0);
  // Consumed cpus 1: agent1 (cpus 2) fits again; agent2's spare cpu still does not.
  check_grant(only(allocator->allocate(t0 + 2s)), framework(1), agent(1), "limited", R("cpus:2;mem:1024"));

  allocator->add_framework(framework(2), {"other"}, true);
  check_grant(only(allocator->allocate(t0 + 3s)), framework(2), agent(2), "other", R("cpus:1"));

  CHECK_FALSE(allocator->update_quota("limited", {{{"cpus", 4}}, {{"cpus", 3}}}));  // Guarantee > limit.
  CHECK_FALSE(allocator->update_quota("eng/web", {{{"cpus", 1}}, {}}));             // Nested.
  CHECK_FALSE(allocator->update_quota("*", {{{"cpus", 1}}, {}}));
  CHECK_FALSE(allocator->update_quota("x", {{{"cpus", -1}}, {}}));
}

TEST_CASE("QuotaAgainstStarvation: quota lets a starving role get the resources others decline",
          "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"quota-role"}, true);
  allocator->add_framework(framework(2), {"no-quota-role"}, true);
  allocator->add_agent(agent(1), R("cpus:1;mem:512"), {{framework(1), R("cpus:1;mem:512").allocated_to("quota-role")}});
  allocator->add_agent(agent(2), R("cpus:1;mem:512"), {});
  // Totals cpus 2, mem 1024: quota-role = 0.5, no-quota-role = 0 -> framework2 gets agent2.
  Grant grant = only(allocator->allocate(t0));
  check_grant(grant, framework(2), agent(2), "no-quota-role", R("cpus:1;mem:512"));

  // framework2 declines with a 0 s filter: back to share 0, it gets agent2 again, forever.
  allocator->recover(framework(2), agent(2), grant.resources, 0s, t0);
  grant = only(allocator->allocate(t0 + 1s));
  check_grant(grant, framework(2), agent(2), "no-quota-role", R("cpus:1;mem:512"));
  allocator->recover(framework(2), agent(2), grant.resources, 0s, t0 + 1s);

  // With quota cpus 2, mem 1024 quota-role lacks cpus 1, mem 512: stage 1 gives it agent2.
  REQUIRE(allocator->update_quota("quota-role", {{{"cpus", 2}, {"mem", 1024}}, {}}));
  check_grant(only(allocator->allocate(t0 + 2s)), framework(1), agent(2), "quota-role", R("cpus:1;mem:512"));
}

TEST_CASE("Quota headroom is held for a quota role without frameworks", "[allocator][core]") {
  // Mesos's QuotaAbsentFramework: quota-role lacks cpus 2, mem 1024 and has no framework; the
  // coarse-grained offer of agent1 (cpus 2, mem 1024) would eat the headroom, agent2's would not.
  auto allocator = dcos::make_drf_allocator();
  REQUIRE(allocator->update_quota("quota-role", {{{"cpus", 2}, {"mem", 1024}}, {}}));
  allocator->add_framework(framework(1), {"no-quota-role"}, true);
  allocator->add_agent(agent(1), R("cpus:2;mem:1024"), {});
  allocator->add_agent(agent(2), R("cpus:1;mem:512"), {});
  // Available headroom cpus 3, mem 1536; required cpus 2, mem 1024; surplus cpus 1, mem 512.
  // agent1 is shrunk to the surplus (cpus:1;mem:512), which uses it up: agent2 gets nothing.
  const auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  check_grant(grants[0], framework(1), agent(1), "no-quota-role", R("cpus:1;mem:512"));
}

TEST_CASE("Allocatable: offers below the minimum are not made; quantities ignore reservations",
          "[allocator][core]") {
  // Default minimum: cpus 0.01 or mem 32.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"role1"}, true);
  allocator->add_agent(agent(1), R("cpus:0.005;mem:16;disk:128"), {});
  CHECK(allocator->allocate(t0).empty());  // Neither enough cpus nor mem.
  allocator->add_agent(agent(2), R("cpus:0.01;mem:16;disk:128"), {});
  check_grant(only(allocator->allocate(t0)), framework(1), agent(2), "role1", R("cpus:0.01;mem:16;disk:128"));
  allocator->add_agent(agent(3), R("cpus:0.005;mem:32;disk:128"), {});
  check_grant(only(allocator->allocate(t0)), framework(1), agent(3), "role1", R("cpus:0.005;mem:32;disk:128"));
  // cpus 0.007 unreserved + 0.007 reserved for role1 = 0.014 >= 0.01.
  allocator->add_agent(agent(4), R("cpus:0.007;mem:16;cpus(role1):0.007;mem(role1):16;disk:128"), {});
  check_grant(only(allocator->allocate(t0)), framework(1), agent(4), "role1",
              R("cpus:0.007;mem:16;cpus(role1):0.007;mem(role1):16;disk:128"));
}

TEST_CASE("FrameworkMinAllocatable: a framework's own minimum replaces the global one for its role",
          "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"r"}, true);
  allocator->add_framework(framework(2), {"r"}, true);
  dcos::FrameworkOptions wants_two_cpus;
  wants_two_cpus.min_allocatable["r"] = {R("cpus:2")};
  allocator->update_framework(framework(1), {"r"}, wants_two_cpus);

  allocator->add_agent(agent(1), R("cpus:1;mem:512"), {});
  // framework1 and framework2 tie at 0; framework1 goes first but cpus 1 < its minimum of 2.
  check_grant(only(allocator->allocate(t0)), framework(2), agent(1), "r", R("cpus:1;mem:512"));
  allocator->add_agent(agent(2), R("cpus:2;mem:512"), {});
  // Totals cpus 3: framework1 = 0 < framework2 = 0.5; cpus 2 meets framework1's minimum.
  check_grant(only(allocator->allocate(t0)), framework(1), agent(2), "r", R("cpus:2;mem:512"));

  // An empty list of minimums admits any offer: mem:16 is below the global minimum.
  allocator->add_framework(framework(3), {"tiny"}, true);
  dcos::FrameworkOptions anything;
  anything.min_allocatable["tiny"] = {};
  allocator->update_framework(framework(3), {"tiny"}, anything);
  allocator->add_agent(agent(3), R("mem:16"), {});
  check_grant(only(allocator->allocate(t0)), framework(3), agent(3), "tiny", R("mem:16"));
}

TEST_CASE("RemoveSlaveRecoverResources: a removed agent's allocation leaves the shares", "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"role1"}, true);
  allocator->add_framework(framework(2), {"role2"}, true);
  allocator->add_agent(agent(1), R("cpus:2;mem:1024"), {});
  const Grant grant = only(allocator->allocate(t0));
  CHECK(grant.framework == framework(1));  // role1 = 1.
  allocator->add_agent(agent(2), R("cpus:2;mem:1024"), {});
  CHECK(only(allocator->allocate(t0)).framework == framework(2));  // role1 = 0.5, role2 = 0 -> role2.

  allocator->remove_agent(agent(1));
  // The master recovers the removed agent's offer afterwards: nothing happens.
  allocator->recover(framework(1), agent(1), grant.resources, 1h, t0);
  CHECK(allocator->allocate(t0).empty());
  // Totals cpus 2 (agent2): role1 = 0, role2 = 1. agent1 comes back: role1 -> framework1.
  allocator->add_agent(agent(1), R("cpus:2;mem:1024"), {});
  check_grant(only(allocator->allocate(t0 + 1s)), framework(1), agent(1), "role1", R("cpus:2;mem:1024"));
  const auto roles = allocator->roles();
  REQUIRE(roles.size() == 2);
  CHECK(roles[0].allocated == dcos::ResourceQuantities{{"cpus", 2}, {"mem", 1024}});
  CHECK(roles[1].allocated == dcos::ResourceQuantities{{"cpus", 2}, {"mem", 1024}});
}

TEST_CASE("A request for an agent steers the framework's next offer there", "[allocator][core]") {
  // framework2 asks for agent3: it passes on agent1 and agent2 (which go to framework1) without
  // losing its place, and is offered agent3; then it takes any agent again.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"role1"}, true);
  allocator->add_framework(framework(2), {"role2"}, true);
  allocator->request(framework(2), {{agent(3), {}}});
  for (int i = 1; i <= 4; ++i) allocator->add_agent(agent(i), R("cpus:1;mem:512"), {});
  auto grants = allocator->allocate(t0);
  // agent1: role1 = role2 = 0 -> role1 (name); agent2: role2 = 0 < 0.25 but framework2 waits for
  // agent3 -> framework1 (0.5); agent3: role2 = 0 -> framework2, request satisfied; agent4:
  // role1 = 0.5 > role2 = 0.25 -> framework2.
  REQUIRE(grants.size() == 4);
  check_grant(grants[0], framework(1), agent(1), "role1", R("cpus:1;mem:512"));
  check_grant(grants[1], framework(1), agent(2), "role1", R("cpus:1;mem:512"));
  check_grant(grants[2], framework(2), agent(3), "role2", R("cpus:1;mem:512"));
  check_grant(grants[3], framework(2), agent(4), "role2", R("cpus:1;mem:512"));
}

TEST_CASE("A request for resources steers offers to agents that hold them", "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"role1"}, true);
  allocator->add_framework(framework(2), {"role2"}, true);
  allocator->add_agent(agent(1), R("cpus:1;mem:512"), {});
  allocator->add_agent(agent(2), R("cpus:4;mem:512"), {});
  allocator->request(framework(1), {{std::nullopt, R("cpus:3")}});
  auto grants = allocator->allocate(t0);
  // framework1 (first by name) wants cpus 3: it passes on agent1, which framework2 takes, and
  // gets agent2.
  REQUIRE(grants.size() == 2);
  check_grant(grants[0], framework(2), agent(1), "role2", R("cpus:1;mem:512"));
  check_grant(grants[1], framework(1), agent(2), "role1", R("cpus:4;mem:512"));
  // An unsatisfiable request keeps the framework waiting until it is replaced or cleared.
  recover_all(*allocator, grants);
  allocator->request(framework(1), {{std::nullopt, R("cpus:100")}});
  grants = allocator->allocate(t0 + 1s);
  CHECK(grants_per_framework(grants) == std::map<std::string, int>{{"framework2", 2}});
  recover_all(*allocator, grants);
  allocator->request(framework(1), {});
  CHECK(grants_per_framework(allocator->allocate(t0 + 2s))["framework1"] == 1);
}

TEST_CASE("Once its last request is met a framework takes any agent, from the rest of that cycle on",
          "[allocator][core]") {
  // framework1 alone, asking for agent2: agent1 is passed over, agent2 meets the request, agent3
  // (later in the same cycle) is taken as usual; agent1 follows in the next cycle.
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"r"}, true);
  for (int i = 1; i <= 3; ++i) allocator->add_agent(agent(i), R("cpus:1;mem:512"), {});
  CHECK(allocator->allocate(t0).size() == 3);  // No request yet: everything.
  allocator->suppress(framework(1), {});
  for (int i = 1; i <= 3; ++i) allocator->recover(framework(1), agent(i), R("cpus:1;mem:512").allocated_to("r"), std::nullopt, t0);
  CHECK(allocator->allocate(t0).empty());
  allocator->request(framework(1), {{agent(2), {}}});
  allocator->revive(framework(1), {});
  auto grants = allocator->allocate(t0 + 1s);
  REQUIRE(grants.size() == 2);
  CHECK(grants[0].agent == agent(2));
  CHECK(grants[1].agent == agent(3));
  check_grant(only(allocator->allocate(t0 + 2s)), framework(1), agent(1), "r", R("cpus:1;mem:512"));
}

TEST_CASE("Used resources without an allocation role count against the framework's first role",
          "[allocator][core]") {
  // An agent re-registers with a task whose resources carry no allocation role; the master later
  // recovers them untagged, and more than is held (tolerated: only what is held comes back).
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"a", "x"}, true);
  allocator->add_framework(framework(2), {"c"}, true);
  allocator->add_agent(agent(1), R("cpus:2;mem:1024"), {{framework(1), R("cpus:1;mem:512")}});
  // a = 0.5 (the used half), c = x = 0 -> c (by name) gets the free half.
  check_grant(only(allocator->allocate(t0)), framework(2), agent(1), "c", R("cpus:1;mem:512"));
  CHECK(allocator->roles().front().name == "a");
  CHECK(allocator->roles().front().allocated == dcos::ResourceQuantities{{"cpus", 1}, {"mem", 512}});
  allocator->recover(framework(1), agent(1), R("cpus:4;mem:512"), std::nullopt, t0);
  CHECK(allocator->roles().front().allocated.empty());
  // a = x = 0, c = 0.5; a has had one grant (the used resources), x none -> framework1 as x.
  check_grant(only(allocator->allocate(t0)), framework(1), agent(1), "x", R("cpus:1;mem:512"));
}

TEST_CASE("RESERVE through update_allocation: the reservation is offered to its role only", "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"eng"}, true);
  allocator->add_agent(agent(1), R("cpus:4;mem:1024"), {});
  const Grant grant = only(allocator->allocate(t0));
  // framework1 reserves cpus 2, mem 512 of its offer for eng (ACCEPT with RESERVE).
  REQUIRE(allocator->update_allocation(framework(1), agent(1), R("cpus:2;mem:512").allocated_to("eng"),
                                       R("cpus(eng):2;mem(eng):512").allocated_to("eng")));
  CHECK_FALSE(allocator->update_allocation(framework(1), agent(1), R("cpus:8").allocated_to("eng"),
                                           R("cpus(eng):8").allocated_to("eng")));  // Not held.
  recover_all(*allocator, {Grant{framework(1), agent(1), "eng",
                                 R("cpus:2;mem:512;cpus(eng):2;mem(eng):512").allocated_to("eng")}});
  allocator->add_framework(framework(2), {"dev"}, true);
  auto grants = allocator->allocate(t0 + 1s);
  // dev and eng at 0: dev (name) gets the unreserved half; eng then gets its reservation.
  REQUIRE(grants.size() == 2);
  check_grant(grants[0], framework(2), agent(1), "dev", R("cpus:2;mem:512"));
  check_grant(grants[1], framework(1), agent(1), "eng", R("cpus(eng):2;mem(eng):512"));
  const auto roles = allocator->roles();
  CHECK(roles[1].name == "eng");
  CHECK(roles[1].reserved == dcos::ResourceQuantities{{"cpus", 2}, {"mem", 512}});
}

TEST_CASE("update_agent_total: an operator reservation of free resources", "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"dev"}, true);
  allocator->add_agent(agent(1), R("cpus:4;mem:1024"), {});
  allocator->suppress(framework(1), {});
  CHECK(allocator->allocate(t0).empty());
  allocator->update_agent_total(agent(1), R("cpus:2;mem:512;cpus(ops):2;mem(ops):512"));
  allocator->revive(framework(1), {});
  check_grant(only(allocator->allocate(t0)), framework(1), agent(1), "dev", R("cpus:2;mem:512"));
  // The total shrinks under an allocation: the holder keeps it; nothing is free.
  allocator->update_agent_total(agent(1), R("cpus:1;mem:256"));
  CHECK(allocator->allocate(t0 + 1s).empty());
}

TEST_CASE("Resources named in fairness_excluded_resources do not count in shares", "[allocator][core]") {
  // With gpus excluded, role1 holding all gpus (but few cpus) still has the lower share.
  dcos::AllocatorOptions options;
  options.fairness_excluded_resources = {"gpus"};
  auto allocator = dcos::make_drf_allocator(options);
  allocator->add_framework(framework(1), {"role1"}, true);
  allocator->add_framework(framework(2), {"role2"}, true);
  allocator->add_agent(agent(1), R("cpus:1;mem:100;gpus:8"), {{framework(1), R("cpus:1;mem:100;gpus:8").allocated_to("role1")}});
  allocator->add_agent(agent(2), R("cpus:4;mem:400"), {{framework(2), R("cpus:2;mem:200").allocated_to("role2")}});
  allocator->add_agent(agent(3), R("cpus:5;mem:500"), {});
  // Totals cpus 10, mem 1000: role1 = 1/10 = 0.1 (gpus 8/8 ignored), role2 = 2/10 = 0.2 ->
  // agent2's leftover goes to role1, now max(3/10, 300/1000) = 0.3 > 0.2 -> agent3 to role2.
  // Counting gpus, role1 would be at 8/8 = 1 and get nothing.
  const auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 2);
  check_grant(grants[0], framework(1), agent(2), "role1", R("cpus:2;mem:200"));
  check_grant(grants[1], framework(2), agent(3), "role2", R("cpus:5;mem:500"));
}

TEST_CASE("A framework removed returns everything it held; its filters do not outlive it",
          "[allocator][core]") {
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(framework(1), {"r"}, true);
  allocator->add_agent(agent(1), R("cpus:1;mem:512"), {});
  allocator->add_agent(agent(2), R("cpus:1;mem:512"), {});
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 2);
  allocator->recover(framework(1), agent(1), grants[0].resources, 1h, t0);
  allocator->remove_framework(framework(1));
  // A new framework (reusing the slot) is offered both agents: no leftover holding or filter.
  allocator->add_framework(framework(3), {"r"}, true);
  CHECK(allocator->allocate(t0 + 1s).size() == 2);
  CHECK(allocator->roles().front().frameworks == std::vector<FrameworkId>{framework(3)});
}

namespace {

// A seeded random walk over the whole API, applied to two allocators: one that visits only the
// agents whose offers may have changed, one that visits all of them every cycle.
void check_incremental_matches_full(std::uint64_t seed) {
  INFO("reproduce with DCOS_SEED=" << seed);
  std::mt19937_64 random(seed);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<std::uint64_t>(n)); };
  dcos::AllocatorOptions full_options;
  full_options.full_scan = true;
  auto incremental = dcos::make_drf_allocator();
  auto full = dcos::make_drf_allocator(full_options);
  const std::vector<std::string> role_names = {"a", "b", "a/x", "a/y", "c"};
  const std::vector<std::string> agent_resources = {"cpus:4;mem:1024", "cpus:2;mem:2048;disk:100",
                                                    "cpus:1;mem:256;cpus(a):1;mem(a):256", "cpus:8;mem:512;gpus:1",
                                                    "cpus(b):2;mem(b):512;cpus:1;mem:64"};
  std::vector<Grant> held;
  TimePoint now = t0;
  std::vector<std::string> trace;  // The last actions, for a failure's message.
  for (int step = 0; step < 3000; ++step) {
    INFO("step " << step);
    const int action = pick(24);
    auto both = [&](auto&& call) {
      call(*incremental);
      call(*full);
    };
    auto note = [&](std::string what) {
      trace.push_back(std::move(what));
      if (trace.size() > 200) trace.erase(trace.begin());
    };
    if (action == 0) {
      const std::vector<std::string> roles = {role_names[pick(5)], role_names[pick(5)]};
      const FrameworkId id = framework(pick(6));
      const bool active = pick(4) != 0;
      note("add_framework " + id.value() + " " + roles[0] + "," + roles[1] + (active ? "" : " inactive"));
      both([&](dcos::Allocator& a) { a.add_framework(id, roles, active); });
    } else if (action == 1) {
      const FrameworkId id = framework(pick(6));
      note("remove_framework " + id.value());
      both([&](dcos::Allocator& a) { a.remove_framework(id); });
      std::erase_if(held, [&](const Grant& g) { return g.framework == id; });
    } else if (action == 2) {
      const AgentId id = agent(pick(12));
      const Resources total = R(agent_resources[pick(5)]);
      note("add_agent " + id.value() + " " + total.to_string());
      both([&](dcos::Allocator& a) { a.add_agent(id, total, {}); });
      std::erase_if(held, [&](const Grant& g) { return g.agent == id; });
    } else if (action == 3) {
      const AgentId id = agent(pick(12));
      note("remove_agent " + id.value());
      both([&](dcos::Allocator& a) { a.remove_agent(id); });
      std::erase_if(held, [&](const Grant& g) { return g.agent == id; });
    } else if (action == 4) {
      const FrameworkId id = framework(pick(6));
      const bool on = pick(2) == 0;
      note((on ? "activate " : "deactivate ") + id.value());
      both([&](dcos::Allocator& a) { on ? a.activate_framework(id) : a.deactivate_framework(id); });
    } else if (action == 5) {
      const FrameworkId id = framework(pick(6));
      const std::vector<std::string> roles = pick(2) ? std::vector<std::string>{} : std::vector{role_names[pick(5)]};
      const bool on = pick(2) == 0;
      note((on ? "suppress " : "revive ") + id.value() + " " + (roles.empty() ? "all" : roles[0]));
      both([&](dcos::Allocator& a) { on ? a.suppress(id, roles) : a.revive(id, roles); });
    } else if (action == 6) {
      const std::string role = role_names[pick(5)];
      const dcos::Quota quota = pick(3) == 0 ? dcos::Quota{} : dcos::Quota{{{"cpus", 1.0 + pick(6)}}, {{"cpus", 8.0}}};
      note("quota " + role + (quota.empty() ? " none" : " cpus " + std::to_string(quota.guarantees.at("cpus"))));
      both([&](dcos::Allocator& a) { (void)a.update_quota(role, quota); });
    } else if (action == 7) {
      const std::map<std::string, double> weights = {{role_names[pick(5)], 0.5 + pick(4)}};
      note("weight " + weights.begin()->first + " " + std::to_string(weights.begin()->second));
      both([&](dcos::Allocator& a) { (void)a.update_weights(weights); });
    } else if (action == 8) {
      const FrameworkId id = framework(pick(6));
      std::vector<dcos::ResourceRequest> requests;
      if (pick(2)) requests.push_back({agent(pick(12)), {}});
      if (pick(2)) requests.push_back({std::nullopt, R("cpus:" + std::to_string(1 + pick(4)))});
      note("request " + id.value() + " " + std::to_string(requests.size()));
      both([&](dcos::Allocator& a) { a.request(id, requests); });
    } else if (action == 9) {
      const AgentId id = agent(pick(12));
      const bool on = pick(2) == 0;
      note((on ? "activate_agent " : "deactivate_agent ") + id.value());
      both([&](dcos::Allocator& a) { on ? a.activate_agent(id) : a.deactivate_agent(id); });
    } else if (action == 10) {
      const FrameworkId id = framework(pick(6));
      const std::vector<std::string> roles = {role_names[pick(5)], role_names[pick(5)]};
      dcos::FrameworkOptions options;
      if (pick(2)) options.min_allocatable[roles[0]] = pick(2) ? std::vector<Resources>{} : std::vector{R("cpus:2")};
      note("update_framework " + id.value() + " " + roles[0] + "," + roles[1]);
      both([&](dcos::Allocator& a) { a.update_framework(id, roles, options); });
    } else if (action == 11) {
      // An agent (re-)registering with some of it used by a framework.
      const AgentId id = agent(pick(12));
      const FrameworkId user = framework(pick(6));
      const std::string role = role_names[pick(5)];
      note("add_agent " + id.value() + " used by " + user.value() + " as " + role);
      both([&](dcos::Allocator& a) { a.add_agent(id, R("cpus:4;mem:1024"), {{user, R("cpus:1;mem:128").allocated_to(role)}}); });
      std::erase_if(held, [&](const Grant& g) { return g.agent == id; });
    } else if (action == 12) {
      const AgentId id = agent(pick(12));
      const Resources total = R(agent_resources[pick(5)]);
      note("update_agent_total " + id.value() + " " + total.to_string());
      both([&](dcos::Allocator& a) { a.update_agent_total(id, total); });
    } else if (action == 13 && !held.empty()) {
      // RESERVE in ACCEPT: one held unreserved cpu becomes reserved for the offer's role.
      Grant& g = held[static_cast<std::size_t>(pick(static_cast<int>(held.size())))];
      const Resources from = R("cpus:1").allocated_to(g.role);
      if (g.resources.contains(from) && g.role != "*") {
        const Resources to = R("cpus(" + g.role + "):1").allocated_to(g.role);
        note("reserve " + g.framework.value() + " " + g.agent.value() + " " + g.role);
        bool ok = true;
        both([&](dcos::Allocator& a) { ok = a.update_allocation(g.framework, g.agent, from, to).has_value() && ok; });
        if (ok) g.resources = g.resources - from + to;
      }
    } else if (action <= 17 && !held.empty()) {
      // Decline or finish some held resources, with or without a filter.
      const std::size_t index = static_cast<std::size_t>(pick(static_cast<int>(held.size())));
      const Grant g = held[index];
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(index));
      const std::optional<dcos::Duration> refuse =
          pick(3) == 0 ? std::nullopt : std::optional<dcos::Duration>(std::chrono::seconds(pick(20)));
      note("recover " + g.framework.value() + " " + g.agent.value() + " " + g.resources.to_string() +
           (refuse ? " refuse " + std::to_string(refuse->count() / 1'000'000'000) + "s" : ""));
      both([&](dcos::Allocator& a) { a.recover(g.framework, g.agent, g.resources, refuse, now); });
    } else {
      now += std::chrono::milliseconds(100 + pick(3000));
      auto consumed_cpus = [&] {
        std::map<std::string, double> cpus;
        for (const dcos::RoleInfo& role : incremental->roles()) {
          auto it = role.consumed_quota.find("cpus");
          cpus[role.name] = it == role.consumed_quota.end() ? 0 : it->second;
        }
        return cpus;
      };
      const auto before = consumed_cpus();
      const auto a = incremental->allocate(now);
      const auto b = full->allocate(now);
      note("allocate");
      for (const Grant& g : a) note("  grant " + g.framework.value() + " " + g.agent.value() + " " + g.role);
      for (const Grant& g : b) note("  full grant " + g.framework.value() + " " + g.agent.value() + " " + g.role);
      std::string history;
      for (const std::string& line : trace) history += line + "\n";
      INFO(history);
      REQUIRE(a.size() == b.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].framework == b[i].framework);
        CHECK(a[i].agent == b[i].agent);
        CHECK(a[i].role == b[i].role);
        CHECK(a[i].resources == b[i].resources);
      }
      held.insert(held.end(), a.begin(), a.end());
      // Quota limits: grants never take a role's consumption past its limit.
      const auto after = consumed_cpus();
      for (const auto& [role, quota] : incremental->quotas()) {
        auto limit = quota.limits.find("cpus");
        if (limit == quota.limits.end()) continue;
        INFO("role " << role);
        CHECK(after.at(role) <= std::max(limit->second, before.count(role) ? before.at(role) : 0.0) + 1e-9);
      }
    }
  }
}

}  // namespace

TEST_CASE("Incremental cycles give the same grants as visiting every agent every cycle", "[allocator][core]") {
  // DCOS_SEED runs one walk; else 30 fixed seeds.
  if (const char* seed = std::getenv("DCOS_SEED")) return check_incremental_matches_full(std::stoull(seed));
  for (std::uint64_t seed = 1; seed <= 30; ++seed) check_incremental_matches_full(seed);
}

TEST_CASE("DrfSorter: a client with children competes with them as a virtual leaf", "[allocator][core]") {
  // Clients a, a/b, c. Totals cpus 10 (one resource keeps the arithmetic plain).
  dcos::ResourceNames names;
  dcos::Quantities totals;
  totals.set(names.index("cpus"), dcos::to_milli(10));
  auto cpus = [&](double n) {
    dcos::Quantities q;
    q.set(names.index("cpus"), dcos::to_milli(n));
    return q;
  };
  dcos::DrfSorter sorter(dcos::DrfSorter::Paths::hierarchical);
  sorter.set_totals(totals);
  const auto a = sorter.add("a");
  const auto c = sorter.add("c");
  const auto ab = sorter.add("a/b");  // "a" moves to the virtual leaf "a/.".
  for (auto client : {a, c, ab}) sorter.activate(client);
  auto order = [&] {
    std::vector<std::string> paths;
    sorter.visit([&](dcos::DrfSorter::Client client) {
      paths.push_back(sorter.path(client));
      return true;
    });
    return paths;
  };
  // All 0, no grants: by path. "a" (the inner node) < "c"; within a, "a/." < "a/b".
  CHECK(order() == std::vector<std::string>{"a", "a/b", "c"});
  sorter.allocated(ab, cpus(3));
  // a = 0.3 (its subtree), c = 0 -> c first; within a, a/. = 0 < a/b = 0.3.
  CHECK(order() == std::vector<std::string>{"c", "a", "a/b"});
  CHECK(sorter.share(ab) == Approx(0.3));
  sorter.set_weight("a", 6);
  // a = 0.3 / 6 = 0.05 vs c = 0; c still first. Give c cpus 1: c = 0.1 > 0.05 -> a first.
  sorter.allocated(c, cpus(1));
  CHECK(order() == std::vector<std::string>{"a", "a/b", "c"});
  // New totals re-sort lazily: cpus 2 -> a = (3/2) / 6 = 0.25, c = 1/2 = 0.5.
  totals.set(names.index("cpus"), dcos::to_milli(2));
  sorter.set_totals(totals);
  CHECK(order() == std::vector<std::string>{"a", "a/b", "c"});
  sorter.remove(ab);  // "a" is a plain leaf again, with its own allocation (none).
  CHECK(order() == std::vector<std::string>{"a", "c"});
  sorter.deactivate(a);
  CHECK(order() == std::vector<std::string>{"c"});
  CHECK(sorter.size() == 2);
}

TEST_CASE("DrfSorter: equal shares go to fewer grants, then the lower path", "[allocator][core]") {
  dcos::ResourceNames names;
  dcos::Quantities totals, one;
  totals.set(names.index("mem"), 1000);
  one.set(names.index("mem"), 1);
  dcos::DrfSorter sorter;
  const auto y = sorter.add("y");
  const auto x = sorter.add("x");
  sorter.set_totals(totals);
  sorter.activate(x);
  sorter.activate(y);
  auto first = [&] {
    std::string path;
    sorter.visit([&](dcos::DrfSorter::Client client) {
      path = sorter.path(client);
      return false;
    });
    return path;
  };
  CHECK(first() == "x");
  sorter.allocated(x, one);
  sorter.unallocated(x, one);  // Share back to 0, one grant counted.
  CHECK(first() == "y");
}
