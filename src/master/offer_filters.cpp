#include "dcos/master/offer_filters.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace dcos::master {

namespace {

tl::unexpected<Error> invalid(const std::string& what) {
  return fail(Errc::invalid_argument, "Invalid 'FrameworkInfo.offer_filters': " + what);
}

// One `OfferFilters.ResourceQuantities`: {"quantities": {"cpus": {"value": 1}, ...}}.
Result<Resources> decode_quantities(const nlohmann::json& entry, const std::string& path) {
  const auto quantities = entry.is_object() ? entry.find("quantities") : entry.end();
  if (!entry.is_object() || quantities == entry.end() || !quantities->is_object()) {
    return invalid(fmt::format("'{}' must be an object with a 'quantities' object", path));
  }
  if (quantities->empty()) return invalid(path + ": Resource quantities must contain at least one quantity");
  Resources out;
  for (const auto& [name, quantity] : quantities->items()) {
    const auto value = quantity.is_object() ? quantity.find("value") : quantity.end();
    if (!quantity.is_object() || value == quantity.end() || !value->is_number()) {
      return invalid(fmt::format("{}: Invalid resource quantity for '{}': expected {{\"value\": <number>}}", path, name));
    }
    const double amount = value->get<double>();
    if (!std::isfinite(amount) || amount < 0) {
      return invalid(fmt::format("{}: Invalid resource quantity for '{}': must be a non-negative number", path, name));
    }
    if (name.empty()) return invalid(path + ": resource names must not be empty");
    Resource r;
    r.name = name;
    r.scalar = amount;
    out += r;
  }
  return out;
}

}  // namespace

Result<FrameworkOptions> framework_options(const v1::FrameworkInfo& info) {
  FrameworkOptions options;
  const nlohmann::json& filters = info.offer_filters;
  if (filters.is_null()) return options;
  if (!filters.is_object()) return invalid("expected an object of OfferFilters by role");
  const auto roles = info.effective_roles();
  for (const auto& [role, role_filters] : filters.items()) {
    const std::string path = "offer_filters." + role;
    if (!role_filters.is_object()) return invalid(fmt::format("'{}' must be an OfferFilters object", path));
    const auto min = role_filters.find("min_allocatable_resources");
    if (min == role_filters.end() || min->is_null()) continue;
    if (!min->is_object()) return invalid(fmt::format("'{}.min_allocatable_resources' must be an object", path));
    std::vector<Resources> alternatives;
    if (const auto list = min->find("quantities"); list != min->end() && !list->is_null()) {
      if (!list->is_array()) {
        return invalid(fmt::format("'{}.min_allocatable_resources.quantities' must be an array", path));
      }
      for (size_t i = 0; i < list->size(); ++i) {
        auto decoded = decode_quantities((*list)[i], fmt::format("{}.min_allocatable_resources.quantities[{}]", path, i));
        if (!decoded) return tl::unexpected(decoded.error());
        alternatives.push_back(std::move(*decoded));
      }
    }
    if (std::find(roles.begin(), roles.end(), role) != roles.end()) options.min_allocatable[role] = std::move(alternatives);
  }
  return options;
}

}  // namespace dcos::master
