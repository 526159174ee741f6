#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dcos/allocator/allocator.hpp"

namespace {

dcos::Resources R(const std::string& text) { return dcos::parse_resources(text).value(); }

const dcos::FrameworkId a("fw-a");

// fw-a in eng/web; eng has a guarantee of 3 cpus and 2 reserved cpus on agent-1, so it lacks 1;
// agent-2 has 1 unreserved cpu.
std::unique_ptr<dcos::Allocator> eng_web_lacking_one_cpu(dcos::AllocatorOptions options) {
  auto allocator = dcos::make_drf_allocator(options);
  allocator->add_framework(a, {"eng/web"}, true);
  dcos::Quota quota;
  quota.guarantees = {{"cpus", 3}};
  REQUIRE(allocator->update_quota("eng", quota));
  allocator->add_agent(dcos::AgentId("agent-1"), R("cpus(eng):2;cpus:2"), {});
  allocator->add_agent(dcos::AgentId("agent-2"), R("cpus:1;mem:64"), {});
  return allocator;
}

}  // namespace

TEST_CASE("A fair-stage grant joins the quota-stage grant of the same framework, role and agent",
          "[allocator][core]") {
  // fw-a in eng/web; eng has a guarantee of 3 cpus and 2 reserved cpus on agent-1, so it lacks 1.
  // Stage 1 offers eng/web the unreserved cpus (not eng's reservation: stage 1 offers a role only
  // its own); stage 2 then offers it eng's reservation on the same agent. One grant holds both.
  // With two agents, each agent's stage-2 grant finds its own stage-1 grant.
  for (const bool full_scan : {false, true}) {
    dcos::AllocatorOptions options;
    options.full_scan = full_scan;
    auto allocator = eng_web_lacking_one_cpu(options);
    const auto grants = allocator->allocate(dcos::TimePoint(std::chrono::seconds(1'700'000'000)));
    REQUIRE(grants.size() == 2);
    CHECK(grants[0].framework == a);
    CHECK(grants[0].agent == dcos::AgentId("agent-1"));
    CHECK(grants[0].resources == R("cpus(eng):2;cpus:2").allocated_to("eng/web"));
    CHECK(grants[1].agent == dcos::AgentId("agent-2"));
    CHECK(grants[1].resources == R("cpus:1;mem:64").allocated_to("eng/web"));
  }
}

TEST_CASE("Allocating into a kept vector replaces its grants, reuses its storage and starts each cycle afresh",
          "[allocator][core]") {
  // The same two-agent quota scenario as above, three cycles into one vector, everything declined
  // (no filter) in between. Each cycle must give the same merged grants: nothing of the previous
  // cycle's grants, or of its stage-1 bookkeeping, may leak into the next.
  auto allocator = eng_web_lacking_one_cpu({});

  dcos::TimePoint now(std::chrono::seconds(1'700'000'000));
  std::vector<dcos::Grant> grants;
  grants.push_back(dcos::Grant{a, dcos::AgentId("stale"), "stale", R("cpus:9")});
  grants.reserve(16);
  const dcos::Grant* storage = grants.data();
  for (int cycle = 0; cycle < 3; ++cycle) {
    INFO("cycle " << cycle);
    allocator->allocate(now, grants);
    CHECK(grants.data() == storage);
    REQUIRE(grants.size() == 2);
    CHECK(grants[0].agent == dcos::AgentId("agent-1"));
    CHECK(grants[0].resources == R("cpus(eng):2;cpus:2").allocated_to("eng/web"));
    CHECK(grants[1].agent == dcos::AgentId("agent-2"));
    CHECK(grants[1].resources == R("cpus:1;mem:64").allocated_to("eng/web"));
    for (const dcos::Grant& grant : grants) allocator->recover(grant.framework, grant.agent, grant.resources, {}, now);
    now += std::chrono::seconds(1);
  }
}

TEST_CASE("An agent stage 1 emptied last cycle is offered in this cycle's fair stage",
          "[allocator][core]") {
  // The fair stage's walk over every agent passes those a stage-1 grant of the same cycle left
  // with nothing free; what it knows of that must not outlive the cycle.
  auto allocator = dcos::make_drf_allocator();
  const dcos::FrameworkId guaranteed("fw-q"), other("fw-f");
  allocator->add_framework(guaranteed, {"q"}, true);
  allocator->add_framework(other, {"f"}, true);
  dcos::Quota quota;
  quota.guarantees = {{"cpus", 1}};
  REQUIRE(allocator->update_quota("q", quota));
  const dcos::AgentId agent1("agent-1"), agent2("agent-2");
  dcos::TimePoint now(std::chrono::seconds(1'700'000'000));

  // Cycle 1, agent-2 alone: stage 1 gives all of it to q (lacking 1 cpu), emptying it.
  allocator->add_agent(agent2, R("cpus:1;mem:64"), {});
  std::vector<dcos::Grant> grants;
  allocator->allocate(now, grants);
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].framework == guaranteed);
  CHECK(grants[0].agent == agent2);
  allocator->recover(guaranteed, agent2, grants[0].resources, {}, now);

  // Cycle 2: agent-1 (first by id) covers q's guarantee in stage 1, which stops there; the fair
  // stage then visits every agent, and agent-2 goes to f (share 0, against q's 1 cpu).
  allocator->add_agent(agent1, R("cpus:1;mem:64"), {});
  now += std::chrono::seconds(1);
  allocator->allocate(now, grants);
  REQUIRE(grants.size() == 2);
  CHECK(grants[0].framework == guaranteed);
  CHECK(grants[0].agent == agent1);
  CHECK(grants[1].framework == other);
  CHECK(grants[1].agent == agent2);
}
