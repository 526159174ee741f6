#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "dcos/allocator/allocator.hpp"

// Decline filters checked without comparing resources: an agent remembers that its free
// resources are within what its newest filter refused, until they change.

namespace {

using namespace std::chrono_literals;

const dcos::FrameworkId A("fw-a");  // Sorts before fw-b: wins ties.
const dcos::FrameworkId B("fw-b");
const dcos::AgentId agent("agent-1");
const dcos::TimePoint t0(std::chrono::seconds(1'700'000'000));

dcos::Resources R(const std::string& text) { return dcos::parse_resources(text).value(); }

}  // namespace

TEST_CASE("A decline filter stops applying once the agent has more free than was refused",
          "[allocator][core]") {
  // fw-b holds half of the agent; fw-a is offered and declines the other half for an hour. When
  // fw-b gives its half back, the whole agent is more than fw-a refused: fw-a (share 0, first by
  // id) is offered all of it; while only the refused half was free, nobody was.
  for (const bool full_scan : {false, true}) {
    dcos::AllocatorOptions options;
    options.full_scan = full_scan;
    auto allocator = dcos::make_drf_allocator(options);
    allocator->add_framework(A, {"a"}, true);
    allocator->add_framework(B, {"b"}, true);
    allocator->add_agent(agent, R("cpus:2;mem:1024;ports:[1-10]"), {{B, R("cpus:1;mem:512;ports:[1-5]").allocated_to("b")}});
    auto grants = allocator->allocate(t0);
    REQUIRE(grants.size() == 1);
    REQUIRE(grants[0].framework == A);
    CHECK(grants[0].resources == R("cpus:1;mem:512;ports:[6-10]").allocated_to("a"));

    allocator->recover(A, agent, grants[0].resources, 1h, t0);
    // fw-b's share is 0.5: it is offered after fw-a, which is filtered, and takes the half.
    grants = allocator->allocate(t0 + 1s);
    REQUIRE(grants.size() == 1);
    CHECK(grants[0].framework == B);
    allocator->recover(B, agent, grants[0].resources, std::nullopt, t0 + 1s);
    allocator->recover(B, agent, R("cpus:1;mem:512;ports:[1-5]").allocated_to("b"), std::nullopt, t0 + 1s);

    grants = allocator->allocate(t0 + 2s);
    REQUIRE(grants.size() == 1);
    CHECK(grants[0].framework == A);
    CHECK(grants[0].resources == R("cpus:2;mem:1024;ports:[1-10]").allocated_to("a"));
  }
}

TEST_CASE("A decline filter keeps applying to part of what was refused", "[allocator][core]") {
  // fw-a declines the whole agent; fw-b takes it and gives back only some of it. What is free is
  // within fw-a's refusal: fw-a is not offered it, fw-b is (its own recovery set no filter).
  auto allocator = dcos::make_drf_allocator();
  allocator->add_framework(A, {"a"}, true);
  allocator->add_agent(agent, R("cpus:2;mem:1024;ports:[1-10]"), {});
  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  allocator->recover(A, agent, grants[0].resources, 1h, t0);
  CHECK(allocator->allocate(t0 + 1s).empty());

  allocator->add_framework(B, {"b"}, true);
  grants = allocator->allocate(t0 + 2s);
  REQUIRE(grants.size() == 1);
  REQUIRE(grants[0].framework == B);
  allocator->recover(B, agent, R("cpus:1;mem:256;ports:[3-4]").allocated_to("b"), std::nullopt, t0 + 2s);
  grants = allocator->allocate(t0 + 3s);
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].framework == B);
  CHECK(grants[0].resources == R("cpus:1;mem:256;ports:[3-4]").allocated_to("b"));
}
