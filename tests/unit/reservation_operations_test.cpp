// Dynamic reservations: the reservation stack on `Resource` and the validation of RESERVE and
// UNRESERVE operations (master/reservation_operations.hpp), as Mesos's operation validation.
#include "dcos/master/reservation_operations.hpp"

#include <catch2/catch.hpp>

using dcos::Reservation;
using dcos::Resource;
using dcos::Resources;
using dcos::master::reserve_conversion;
using dcos::master::unreserve_conversion;
using nlohmann::json;

namespace {

Resources R(const std::string& text) { return dcos::parse_resources(text).value(); }

// `text` (unreserved or statically reserved) with a dynamic reservation for `role` pushed on top.
Resources dynamic(const std::string& text, const std::string& role, std::optional<std::string> principal = {}) {
  Resources out;
  for (const Resource& r : R(text)) out += r.pushed(Reservation{true, role, principal, {}});
  return out;
}

dcos::v1::FrameworkInfo framework(std::vector<std::string> roles, std::optional<std::string> principal = {},
                                  std::vector<std::string> capabilities = {"MULTI_ROLE"}) {
  dcos::v1::FrameworkInfo info;
  info.user = "u";
  info.name = "f";
  info.roles = std::move(roles);
  info.principal = std::move(principal);
  info.capabilities = std::move(capabilities);
  return info;
}

std::string error_of(const dcos::Result<dcos::master::Conversion>& result) {
  REQUIRE_FALSE(result);
  return result.error().message;
}

}  // namespace

TEST_CASE("Pushing and popping a dynamic reservation restores the resource", "[reservations][unit]") {
  const Resource cpus = *R("cpus:1").begin();
  const Resource reserved = cpus.pushed({true, "eng", "ops", {}});
  CHECK(reserved.role == "eng");
  CHECK(reserved.dynamically_reserved());
  CHECK(Resources{reserved.popped()} == Resources{cpus});
  // Refining a static reservation keeps the static level underneath.
  const Resource statically = *R("cpus(eng):1").begin();
  CHECK(statically.reservations.empty());
  const Resource refined = statically.pushed({true, "eng/web", std::nullopt, {}});
  CHECK(refined.reservations.size() == 2);
  CHECK(Resources{refined.popped()} == Resources{statically});
}

TEST_CASE("Dynamic reservations round-trip through both v1 JSON formats", "[reservations][unit]") {
  const Resources reserved = dynamic("cpus:1;mem:64", "eng", "ops").allocated_to("eng");
  const json j = dcos::to_json(reserved);
  CHECK(j[0]["role"] == "eng");
  CHECK(j[0]["reservation"] == json{{"principal", "ops"}});
  CHECK(j[0]["reservations"] == json::parse(R"([{"type":"DYNAMIC","role":"eng","principal":"ops"}])"));
  CHECK(dcos::resources_from_json(j).value() == reserved);
  // Pre-refinement alone, and post-refinement alone, decode to the same resources.
  json pre = j, post = j;
  for (auto& r : pre) r.erase("reservations");
  for (auto& r : post) r.erase("reservation"), r.erase("role");
  CHECK(dcos::resources_from_json(pre).value() == reserved);
  CHECK(dcos::resources_from_json(post).value() == reserved);
  // Static and dynamic reservations of one role stay apart.
  CHECK((R("cpus(eng):1") + dynamic("cpus:1", "eng")).items().size() == 2);
}

TEST_CASE("RESERVE converts offered unreserved resources to the framework's role", "[reservations][unit]") {
  const Resources offered = R("cpus:2;mem:512").allocated_to("eng");
  auto conversion = reserve_conversion(dynamic("cpus:1;mem:256", "eng", "ops").allocated_to("eng"),
                                       framework({"eng"}, "ops"), "eng", offered);
  REQUIRE(conversion);
  CHECK(conversion->from == R("cpus:1;mem:256").allocated_to("eng"));
  CHECK(conversion->to == dynamic("cpus:1;mem:256", "eng", "ops").allocated_to("eng"));
}

TEST_CASE("RESERVE from a non-MULTI_ROLE framework takes the offer's role", "[reservations][unit]") {
  auto single = framework({}, std::nullopt, {});
  single.role = "eng";
  auto conversion = reserve_conversion(dynamic("cpus:1", "eng"), single, "eng", R("cpus:2").allocated_to("eng"));
  REQUIRE(conversion);
  CHECK(conversion->to == dynamic("cpus:1", "eng").allocated_to("eng"));
}

TEST_CASE("Invalid RESERVE operations are refused with the reason", "[reservations][unit]") {
  const Resources offered = R("cpus:2;mem:512;cpus(eng):1").allocated_to("eng");
  const auto eng = framework({"eng"}, "ops");
  // Another role than the one the resources are allocated to.
  CHECK_THAT(error_of(reserve_conversion(dynamic("cpus:1", "ops").allocated_to("eng"), eng, "eng", offered)),
             Catch::Contains("reserved for role 'ops' but allocated to role 'eng'"));
  // A role the framework is not subscribed to.
  CHECK_THAT(error_of(reserve_conversion(dynamic("cpus:1", "ops").allocated_to("ops"), eng, "eng", offered)),
             Catch::Contains("not subscribed"));
  // Not a dynamic reservation.
  CHECK_THAT(error_of(reserve_conversion(R("cpus(eng):1").allocated_to("eng"), eng, "eng", offered)),
             Catch::Contains("not dynamically reserved"));
  // Someone else's principal.
  CHECK_THAT(error_of(reserve_conversion(dynamic("cpus:1", "eng", "mallory").allocated_to("eng"), eng, "eng", offered)),
             Catch::Contains("principal 'mallory'"));
  // More than offered.
  CHECK_THAT(error_of(reserve_conversion(dynamic("cpus:3", "eng").allocated_to("eng"), eng, "eng", offered)),
             Catch::Contains("is not in the offered"));
  // Refining reserved resources needs the capability, and a subrole.
  Resources refine;
  for (const Resource& r : R("cpus(eng):1")) refine += r.pushed({true, "eng/web", std::nullopt, {}});
  const auto web = framework({"eng/web"});
  const Resources offered_web = R("cpus(eng):1").allocated_to("eng/web");
  CHECK_THAT(error_of(reserve_conversion(refine.allocated_to("eng/web"), web, "eng/web", offered_web)),
             Catch::Contains("RESERVATION_REFINEMENT"));
  const auto refining = framework({"eng/web", "ops"}, std::nullopt, {"MULTI_ROLE", "RESERVATION_REFINEMENT"});
  CHECK(reserve_conversion(refine.allocated_to("eng/web"), refining, "eng/web", offered_web));
  Resources sideways;
  for (const Resource& r : R("cpus(eng):1")) sideways += r.pushed({true, "ops", std::nullopt, {}});
  CHECK_THAT(error_of(reserve_conversion(sideways.allocated_to("ops"), refining, "ops", R("cpus(eng):1").allocated_to("ops"))),
             Catch::Contains("must be a subrole"));
}

TEST_CASE("UNRESERVE pops dynamic reservations and refuses static ones", "[reservations][unit]") {
  const auto eng = framework({"eng"});
  const Resources reserved = dynamic("cpus:1", "eng").allocated_to("eng");
  const Resources offered = reserved + R("cpus(eng):1;mem:64").allocated_to("eng");
  auto conversion = unreserve_conversion(reserved, eng, "eng", offered);
  REQUIRE(conversion);
  CHECK(conversion->to == R("cpus:1").allocated_to("eng"));
  CHECK_THAT(error_of(unreserve_conversion(R("cpus(eng):1").allocated_to("eng"), eng, "eng", offered)),
             Catch::Contains("not dynamically reserved"));
  CHECK_THAT(error_of(unreserve_conversion(dynamic("cpus:2", "eng").allocated_to("eng"), eng, "eng", offered)),
             Catch::Contains("is not in the offered"));
}

TEST_CASE("An operator's RESERVE_RESOURCES converts unallocated resources; bad ones are refused with why",
          "[reservations][unit]") {
  using dcos::master::operator_reserve_conversion;
  auto conversion = operator_reserve_conversion(dynamic("cpus:1;mem:256", "eng", "ops"), {});
  REQUIRE(conversion);
  CHECK(conversion->from == R("cpus:1;mem:256"));
  CHECK(conversion->to == dynamic("cpus:1;mem:256", "eng", "ops"));
  // Refining a static reservation for a subrole; any principal (no authentication).
  auto refined = operator_reserve_conversion(dynamic("cpus(eng):1", "eng/web", "anyone"), {});
  REQUIRE(refined);
  CHECK(refined->from == R("cpus(eng):1"));
  // Re-reservation: `source` is what converts; same resources under the dynamic reservations.
  auto moved = operator_reserve_conversion(dynamic("cpus:1", "b"), dynamic("cpus:1", "a"));
  REQUIRE(moved);
  CHECK(moved->from == dynamic("cpus:1", "a"));
  CHECK(moved->to == dynamic("cpus:1", "b"));

  auto error = [](const dcos::Result<dcos::master::Conversion>& result) {
    REQUIRE_FALSE(result);
    return result.error().message;
  };
  CHECK_THAT(error(operator_reserve_conversion({}, {})), Catch::Contains("no resources given"));
  CHECK_THAT(error(operator_reserve_conversion(R("cpus(eng):1"), {})), Catch::Contains("not dynamically reserved"));
  CHECK_THAT(error(operator_reserve_conversion(dynamic("cpus:1", "eng").allocated_to("eng"), {})),
             Catch::Contains("must not have allocation_info"));
  CHECK_THAT(error(operator_reserve_conversion(dynamic("cpus:1", "-eng"), {})), Catch::Contains("cannot start with '-'"));
  CHECK_THAT(error(operator_reserve_conversion(dynamic("cpus(eng):1", "ops"), {})), Catch::Contains("must be a subrole"));
  CHECK_THAT(error(operator_reserve_conversion(dynamic("cpus:1", "b"), dynamic("cpus:2", "a"))),
             Catch::Contains("must be the same resources"));
}

TEST_CASE("An operator's UNRESERVE_RESOURCES pops the top reservation; the checkpointed part is the dynamic one",
          "[reservations][unit]") {
  using dcos::master::operator_unreserve_conversion;
  auto conversion = operator_unreserve_conversion(dynamic("cpus(eng):1", "eng/web"));
  REQUIRE(conversion);
  CHECK(conversion->to == R("cpus(eng):1"));
  REQUIRE_FALSE(operator_unreserve_conversion(R("cpus:1")));
  REQUIRE_FALSE(operator_unreserve_conversion({}));

  const Resources total = R("cpus:1;mem:512;cpus(eng):1") + dynamic("cpus:1;mem:256", "ops") + dynamic("cpus(eng):1", "eng/web");
  CHECK(dcos::master::dynamically_reserved_part(total) == dynamic("cpus:1;mem:256", "ops") + dynamic("cpus(eng):1", "eng/web"));
  CHECK(dcos::master::without_dynamic_reservations(total) == R("cpus:2;mem:768;cpus(eng):2"));
}
