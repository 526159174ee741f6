#include "allocator/resource_math.hpp"

#include <algorithm>
#include <iterator>
#include <optional>

#include "dcos/common/result.hpp"

namespace dcos {

bool reserved_for(const Resource& resource, std::string_view role) {
  if (!resource.reserved()) return false;
  const std::string& owner = resource.role;
  return role == owner || (role.size() > owner.size() && role.starts_with(owner) && role[owner.size()] == '/');
}

Resources allocatable_to_role(const Resources& resources, std::string_view role) {
  Resources out;
  for (const Resource& r : resources) {
    if (!r.reserved() || reserved_for(r, role)) out += r;
  }
  return out;
}

bool has_reservations(const Resources& resources) {
  return std::any_of(resources.begin(), resources.end(), [](const Resource& r) { return r.reserved(); });
}

Milli quantity_of(const Resources& resources, std::string_view name) {
  Milli total = 0;
  for (const Resource& r : resources) {
    if (r.name != name) continue;
    switch (r.type) {
      case ValueType::scalar: total += to_milli(r.scalar); break;
      case ValueType::ranges: total += static_cast<Milli>(r.ranges.count()) * 1000; break;
      case ValueType::set: total += static_cast<Milli>(r.set.size()) * 1000; break;
    }
  }
  return total;
}

Requirement to_requirement(const Resources& resources) {
  Requirement requirement;
  for (const Resource& r : resources) {
    auto it = std::find_if(requirement.amounts.begin(), requirement.amounts.end(),
                           [&](const auto& amount) { return amount.first == r.name; });
    if (it == requirement.amounts.end()) requirement.amounts.emplace_back(r.name, quantity_of(resources, r.name));
  }
  return requirement;
}

Requirement to_requirement(const Resources& resources, ResourceNames& names) {
  Requirement requirement = to_requirement(resources);
  for (const auto& amount : requirement.amounts) requirement.names.push_back(names.index(amount.first));
  return requirement;
}

bool holds(const Resources& resources, const Requirement& requirement) {
  return std::all_of(requirement.amounts.begin(), requirement.amounts.end(),
                     [&](const auto& amount) { return quantity_of(resources, amount.first) >= amount.second; });
}

bool allocatable(const Resources& resources, const std::vector<Requirement>& minimums) {
  if (resources.empty()) return false;
  if (minimums.empty()) return true;
  return std::any_of(minimums.begin(), minimums.end(), [&](const Requirement& r) { return holds(resources, r); });
}

bool allocatable(const Resources& resources, const Quantities& scalars, const std::vector<bool>& non_scalar,
                 const std::vector<Requirement>& minimums) {
  if (resources.empty()) return false;
  if (minimums.empty()) return true;
  return std::any_of(minimums.begin(), minimums.end(), [&](const Requirement& requirement) {
    DCOS_ASSERT(requirement.names.size() == requirement.amounts.size());
    for (std::size_t i = 0; i < requirement.names.size(); ++i) {
      const std::size_t name = requirement.names[i];
      const auto& [text, amount] = requirement.amounts[i];
      const bool counted = name < non_scalar.size() && non_scalar[name];
      if ((counted ? quantity_of(resources, text) : scalars.get(name)) < amount) return false;
    }
    return true;
  });
}

Quantities scalar_quantities(const Resources& resources, ResourceNames& names) {
  Quantities out;
  for (const Resource& r : resources) {
    if (r.type == ValueType::scalar) out.add(names.index(r.name), to_milli(r.scalar));
  }
  return out;
}

Quantities unreserved_quantities(const Resources& resources, ResourceNames& names) {
  Quantities out;
  for (const Resource& r : resources) {
    if (r.type == ValueType::scalar && !r.reserved()) out.add(names.index(r.name), to_milli(r.scalar));
  }
  return out;
}

void count_scalars(const Resources& resources, ResourceNames& names, Quantities& all, Quantities& unreserved) {
  for (const Resource& r : resources) {
    if (r.type != ValueType::scalar) continue;
    const std::size_t name = names.index(r.name);
    const Milli amount = to_milli(r.scalar);
    all.add(name, amount);
    if (!r.reserved()) unreserved.add(name, amount);
  }
}

bool has_allocation_role(const Resources& resources, std::string_view role) {
  return std::any_of(resources.begin(), resources.end(),
                     [&](const Resource& r) { return r.allocation_role && *r.allocation_role == role; });
}

namespace {

// The part of `want` that `have` covers, tagged as `have` is. Requires: same name, type, role.
Resource common_part(const Resource& have, const Resource& want) {
  Resource out = have;
  switch (want.type) {
    case ValueType::scalar: out.scalar = std::min(have.scalar, want.scalar); break;
    case ValueType::ranges: {
      Ranges outside = want.ranges;
      outside -= have.ranges;
      out.ranges = want.ranges;
      out.ranges -= outside;
      break;
    }
    case ValueType::set:
      out.set.clear();
      std::set_intersection(have.set.begin(), have.set.end(), want.set.begin(), want.set.end(),
                            std::inserter(out.set, out.set.end()));
      break;
  }
  return out;
}

}  // namespace

Resources take(Resources& from, const Resources& want) {
  if (from.contains(want)) {  // The usual case: a whole offer or task comes back.
    if (want.contains(from)) {
      // All of it: no range arithmetic, and what was held is handed over without a copy.
      Resources all = std::move(from);
      from = Resources{};
      return all;
    }
    from -= want;
    return want;
  }
  Resources taken;
  for (const Resource& w : want) {
    Resource rest = w;
    while (!rest.empty()) {
      std::optional<Resource> part;
      for (const Resource& have : from) {
        if (have.name != rest.name || have.type != rest.type || have.role != rest.role ||
            have.reservations != rest.reservations) {
          continue;
        }
        if (rest.allocation_role && have.allocation_role != rest.allocation_role) continue;
        Resource common = common_part(have, rest);
        if (!common.empty()) {
          part = std::move(common);
          break;
        }
      }
      if (!part) break;
      from -= Resources{*part};
      taken += *part;
      // What is still wanted of this item, possibly under another allocation role.
      Resource cut = *part;
      cut.allocation_role = rest.allocation_role;
      Resources remaining{rest};
      remaining -= Resources{cut};
      rest = remaining.empty() ? Resource{} : *remaining.begin();
    }
  }
  return taken;
}

bool same_unallocated(const Resources& plain, const Resources& tagged) {
  const std::vector<Resource>& a = plain.items();
  const std::vector<Resource>& b = tagged.items();
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const Resource& x, const Resource& y) {
           return !x.allocation_role && x.type == y.type && x.name == y.name && x.role == y.role &&
                  x.scalar == y.scalar && x.ranges == y.ranges && x.set == y.set && x.reservations == y.reservations;
         });
}

Resources shrink_to(const Resources& scalars, Quantities target, ResourceNames& names) {
  Resources out;
  for (Resource r : scalars) {
    const std::size_t name = names.index(r.name);
    const Milli room = target.get(name);
    if (room <= 0) continue;
    const Milli amount = std::min(room, to_milli(r.scalar));
    r.scalar = from_milli(amount);
    target.set(name, room - amount);
    out += r;
  }
  return out;
}

Resources shrink_to_limits(const Resources& scalars, std::vector<std::pair<std::size_t, Milli>> remaining,
                           ResourceNames& names) {
  Resources out;
  for (Resource r : scalars) {
    const std::size_t name = names.index(r.name);
    auto limit = std::find_if(remaining.begin(), remaining.end(), [&](const auto& l) { return l.first == name; });
    if (limit != remaining.end()) {
      const Milli amount = std::min(limit->second, to_milli(r.scalar));
      if (amount <= 0) continue;
      r.scalar = from_milli(amount);
      limit->second -= amount;
    }
    out += r;
  }
  return out;
}

}  // namespace dcos
