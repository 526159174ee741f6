#include <catch2/catch.hpp>

#include <string>
#include <utility>

#include "dcos/resources/resources.hpp"

namespace {

dcos::Resources R(const std::string& text) { return dcos::parse_resources(text).value(); }

dcos::Resources tagged(const std::string& text, const std::string& role) { return R(text).allocated_to(role); }

}  // namespace

TEST_CASE("allocated_to and unallocated on a temporary give what the copying ones give", "[resources][core]") {
  // Untagged, tagged with one role, and tagged with two roles that merge once retagged.
  const dcos::Resources untagged = R("cpus:2;mem:512;ports:[1-5, 9-9]");
  const dcos::Resources one_role = tagged("cpus:2;mem:512", "a");
  const dcos::Resources two_roles = tagged("cpus:2;ports:[1-3]", "a") + tagged("cpus:1;ports:[4-4]", "b");
  REQUIRE(two_roles.items().size() == 4);
  for (const dcos::Resources* resources : {&untagged, &one_role, &two_roles}) {
    INFO(resources->to_string());
    const dcos::Resources copied = resources->allocated_to("c");
    dcos::Resources moved = dcos::Resources(*resources).allocated_to("c");
    CHECK(moved == copied);
    CHECK(moved.items().size() == copied.items().size());
    for (const dcos::Resource& r : moved) CHECK(r.allocation_role == "c");
    const dcos::Resources plain = dcos::Resources(*resources).unallocated();
    CHECK(plain == resources->unallocated());
    CHECK(plain.items().size() == resources->unallocated().items().size());
    for (const dcos::Resource& r : plain) CHECK_FALSE(r.allocation_role);
  }
  // The two roles' cpus and ports combine under one role, and without any.
  CHECK(dcos::Resources(two_roles).allocated_to("c").items().size() == 2);
  CHECK(dcos::Resources(two_roles).allocated_to("c") == tagged("cpus:3;ports:[1-4]", "c"));
  CHECK(dcos::Resources(two_roles).unallocated().items().size() == 2);
  CHECK(dcos::Resources(two_roles).unallocated() == R("cpus:3;ports:[1-4]"));
}
