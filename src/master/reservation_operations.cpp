#include "dcos/master/reservation_operations.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "dcos/v1/framework_info.hpp"

namespace dcos::master {

namespace {

bool is_strict_descendant(const std::string& role, const std::string& ancestor) {
  if (ancestor == "*") return true;
  return role.size() > ancestor.size() && role.starts_with(ancestor) && role[ancestor.size()] == '/';
}

// Tags untagged resources with the offer's role, as LAUNCH does for non-MULTI_ROLE frameworks;
// refuses a role the framework is not subscribed to.
Result<Resource> allocated_copy(Resource r, const v1::FrameworkInfo& framework, const std::string& offer_role) {
  if (!r.allocation_role) r.allocation_role = offer_role;
  const auto roles = framework.effective_roles();
  if (std::find(roles.begin(), roles.end(), *r.allocation_role) == roles.end()) {
    return fail(Errc::invalid_argument, fmt::format("resource {} is allocated to role '{}', which the framework is not "
                                                    "subscribed to",
                                                    Resources{r}.to_string(), *r.allocation_role));
  }
  return r;
}

Resource without_dynamic(Resource r) {
  while (r.dynamically_reserved()) r = r.popped();
  return r;
}

// The checks every dynamic reservation level of an operator's resource passes.
Result<void> check_operator_resource(const Resource& r, const char* operation) {
  const std::string shown = Resources{r}.to_string();
  if (r.allocation_role) {
    return fail(Errc::invalid_argument,
                fmt::format("Invalid {} operation: resource {} must not have allocation_info", operation, shown));
  }
  if (!r.dynamically_reserved()) {
    return fail(Errc::invalid_argument,
                fmt::format("Invalid {} operation: resource {} is not dynamically reserved", operation, shown));
  }
  for (const Reservation& level : r.reservations) {
    if (auto problem = v1::role_problem(level.role); !problem.empty()) {
      return fail(Errc::invalid_argument, fmt::format("Invalid {} operation: resource {}: {}", operation, shown, problem));
    }
  }
  return {};
}

}  // namespace

Result<Conversion> reserve_conversion(const Resources& resources, const v1::FrameworkInfo& framework,
                                      const std::string& offer_role, const Resources& available) {
  if (resources.empty()) return fail(Errc::invalid_argument, "Invalid RESERVE operation: no resources given");
  Conversion out;
  for (const Resource& given : resources) {
    auto r = allocated_copy(given, framework, offer_role);
    if (!r) return fail(Errc::invalid_argument, "Invalid RESERVE operation: " + r.error().message);
    const std::string shown = Resources{*r}.to_string();
    if (!r->dynamically_reserved()) {
      return fail(Errc::invalid_argument,
                  fmt::format("Invalid RESERVE operation: resource {} is not dynamically reserved", shown));
    }
    const Reservation& top = r->reservations.back();
    if (top.role != *r->allocation_role) {
      return fail(Errc::invalid_argument,
                  fmt::format("Invalid RESERVE operation: resource {} is reserved for role '{}' but allocated to "
                              "role '{}'",
                              shown, top.role, *r->allocation_role));
    }
    if (top.principal && top.principal != framework.principal) {
      return fail(Errc::invalid_argument,
                  fmt::format("Invalid RESERVE operation: reservation principal '{}' does not match the framework's "
                              "principal '{}'",
                              *top.principal, framework.principal.value_or("")));
    }
    const Resource below = r->popped();
    if (below.reserved()) {
      if (!framework.has_capability("RESERVATION_REFINEMENT")) {
        return fail(Errc::invalid_argument,
                    fmt::format("Invalid RESERVE operation: resource {} refines a reservation, which needs the "
                                "RESERVATION_REFINEMENT capability",
                                shown));
      }
      if (!is_strict_descendant(top.role, below.role)) {
        return fail(Errc::invalid_argument,
                    fmt::format("Invalid RESERVE operation: role '{}' does not refine the reservation for '{}': it "
                                "must be a subrole",
                                top.role, below.role));
      }
    }
    out.from += below;
    out.to += *r;
  }
  if (!available.contains(out.from)) {
    return fail(Errc::invalid_argument, fmt::format("Invalid RESERVE operation: {} is not in the offered {}",
                                                    out.from.to_string(), available.to_string()));
  }
  return out;
}

Result<Conversion> unreserve_conversion(const Resources& resources, const v1::FrameworkInfo& framework,
                                        const std::string& offer_role, const Resources& available) {
  if (resources.empty()) return fail(Errc::invalid_argument, "Invalid UNRESERVE operation: no resources given");
  Conversion out;
  for (const Resource& given : resources) {
    auto r = allocated_copy(given, framework, offer_role);
    if (!r) return fail(Errc::invalid_argument, "Invalid UNRESERVE operation: " + r.error().message);
    if (!r->dynamically_reserved()) {
      return fail(Errc::invalid_argument,
                  fmt::format("Invalid UNRESERVE operation: resource {} is not dynamically reserved",
                              Resources{*r}.to_string()));
    }
    out.from += *r;
    out.to += r->popped();
  }
  if (!available.contains(out.from)) {
    return fail(Errc::invalid_argument, fmt::format("Invalid UNRESERVE operation: {} is not in the offered {}",
                                                    out.from.to_string(), available.to_string()));
  }
  return out;
}

Result<Conversion> operator_reserve_conversion(const Resources& resources, const Resources& source) {
  if (resources.empty()) return fail(Errc::invalid_argument, "Invalid RESERVE operation: no resources given");
  Conversion out;
  for (const Resource& r : resources) {
    if (auto checked = check_operator_resource(r, "RESERVE"); !checked) return tl::unexpected(checked.error());
    const Reservation& top = r.reservations.back();
    const Resource below = r.popped();
    if (below.reserved() && !is_strict_descendant(top.role, below.role)) {
      return fail(Errc::invalid_argument,
                  fmt::format("Invalid RESERVE operation: role '{}' does not refine the reservation for '{}': it "
                              "must be a subrole",
                              top.role, below.role));
    }
    out.from += below;
    out.to += r;
  }
  if (!source.empty()) {
    for (const Resource& r : source) {
      if (r.allocation_role) {
        return fail(Errc::invalid_argument, fmt::format("Invalid RESERVE operation: source {} must not have "
                                                        "allocation_info",
                                                        Resources{r}.to_string()));
      }
    }
    if (!(without_dynamic_reservations(source) == without_dynamic_reservations(resources))) {
      return fail(Errc::invalid_argument,
                  fmt::format("Invalid RESERVE operation: source {} and resources {} must be the same resources "
                              "under their dynamic reservations",
                              source.to_string(), resources.to_string()));
    }
    if (source == resources) {
      return fail(Errc::invalid_argument, "Invalid RESERVE operation: source and resources are the same");
    }
    out.from = source;
  }
  return out;
}

Result<Conversion> operator_unreserve_conversion(const Resources& resources) {
  if (resources.empty()) return fail(Errc::invalid_argument, "Invalid UNRESERVE operation: no resources given");
  Conversion out;
  for (const Resource& r : resources) {
    if (auto checked = check_operator_resource(r, "UNRESERVE"); !checked) return tl::unexpected(checked.error());
    out.from += r;
    out.to += r.popped();
  }
  return out;
}

Resources dynamically_reserved_part(const Resources& total) {
  Resources out;
  for (const Resource& r : total) {
    if (r.dynamically_reserved()) out += r;
  }
  return out;
}

Resources without_dynamic_reservations(const Resources& resources) {
  Resources out;
  for (const Resource& r : resources) out += without_dynamic(r);
  return out;
}

}  // namespace dcos::master
