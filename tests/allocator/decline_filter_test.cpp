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

TEST_CASE("Filters of frameworks 64 slots apart stay apart when one of them expires", "[allocator][core]") {
  // A cycle asks a per-agent bitmask (bit = framework slot % 64) before searching the agent's
  // filters. Slots 0 and 64 share a bit: when slot 0's filter expires, slot 64's must still hold.
  // Slot 64 ("a-064") sorts first by name; slots 1-63 are inactive and never offered.
  auto allocator = dcos::make_drf_allocator();
  const dcos::FrameworkId first("fw-000"), sixty_fourth("a-064");
  allocator->add_framework(first, {"*"}, true);
  for (int slot = 1; slot < 64; ++slot) {
    allocator->add_framework(dcos::FrameworkId("x-" + std::to_string(slot)), {"*"}, false);
  }
  allocator->add_framework(sixty_fourth, {"*"}, true);
  allocator->add_agent(agent, R("cpus:2;mem:1024"), {});

  auto grants = allocator->allocate(t0);
  REQUIRE(grants.size() == 1);
  REQUIRE(grants[0].framework == sixty_fourth);
  allocator->recover(sixty_fourth, agent, grants[0].resources, 1h, t0);
  grants = allocator->allocate(t0 + 1s);
  REQUIRE(grants.size() == 1);
  REQUIRE(grants[0].framework == first);
  allocator->recover(first, agent, grants[0].resources, 10s, t0 + 1s);
  CHECK(allocator->allocate(t0 + 2s).empty());

  // Slot 0's filter is gone; slot 64's (an hour) is not, although a-064 would come first.
  grants = allocator->allocate(t0 + 12s);
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].framework == first);
  allocator->recover(first, agent, grants[0].resources, std::nullopt, t0 + 12s);
  grants = allocator->allocate(t0 + 13s);
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].framework == first);

  // Once a-064's filter expires too, it is offered again (it sorts first among equal shares).
  allocator->recover(first, agent, grants[0].resources, std::nullopt, t0 + 13s);
  grants = allocator->allocate(t0 + 1h + 1s);
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].framework == sixty_fourth);
}
