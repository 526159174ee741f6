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
