#pragma once
// Resource arithmetic the allocator needs beyond `Resources`: hierarchical reservations, minimum
// offers counted as quantities, partial takes for tolerant recovery, and Mesos's
// `shrinkResources` for quota limits and headroom. Pure functions.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dcos/allocator/quantities.hpp"
#include "dcos/resources/resources.hpp"

namespace dcos {

// Reserved for `role` or for one of its ancestors ("eng" reservations serve "eng/web"), which is
// Mesos's `isAllocatableTo` for reserved resources.
bool reserved_for(const Resource& resource, std::string_view role);
// The unreserved resources plus those `reserved_for` the role.
Resources allocatable_to_role(const Resources& resources, std::string_view role);
bool has_reservations(const Resources& resources);

// Quantity of `name` in thousandths: the scalar sum, or the number of range values or set items,
// across reservations and allocation roles (Mesos's `Resources::contains(ResourceQuantities)`).
Milli quantity_of(const Resources& resources, std::string_view name);

// One acceptable minimum offer: amounts by name.
struct Requirement {
  std::vector<std::pair<std::string, Milli>> amounts;
  std::vector<std::size_t> names;  // Each amount's name index, when made with a `ResourceNames`.
};
Requirement to_requirement(const Resources& resources);
// The same with the names interned in `names`, for the `allocatable` that reads quantities.
Requirement to_requirement(const Resources& resources, ResourceNames& names);
// True when `resources` holds every amount of `requirement`.
bool holds(const Resources& resources, const Requirement& requirement);
// Mesos's `allocatable`: not empty and, unless `minimums` is empty, holding one of them.
bool allocatable(const Resources& resources, const std::vector<Requirement>& minimums);
// The same answer, read from quantities kept beside `resources` instead of counted over them:
// `scalars` holds the scalar quantities of all of its items (reserved or not, in any allocation
// role), and `non_scalar` flags by name index every name it may hold as ranges or a set; only
// the amounts of such names are counted over `resources`. Requires: `minimums` made with names.
bool allocatable(const Resources& resources, const Quantities& scalars, const std::vector<bool>& non_scalar,
                 const std::vector<Requirement>& minimums);

// Scalar quantities of all scalar resources / of the unreserved ones.
Quantities scalar_quantities(const Resources& resources, ResourceNames& names);
Quantities unreserved_quantities(const Resources& resources, ResourceNames& names);
// Both in one pass.
void count_scalars(const Resources& resources, ResourceNames& names, Quantities& all, Quantities& unreserved);
// Some item is allocated to `role`.
bool has_allocation_role(const Resources& resources, std::string_view role);

// Removes from `from` what it holds of `want` and returns it, as tagged in `from`. Items of
// `want` without an allocation role match any allocation role. Never fails: what `from` lacks
// is simply not taken.
Resources take(Resources& from, const Resources& want);

// `tagged` without its allocation roles is `plain` (which has none), item for item and in the
// same order. A cheap, strict equality: false for equal resources listed in another order.
bool same_unallocated(const Resources& plain, const Resources& tagged);

// Mesos's `shrinkResources` over unreserved scalars: keeps at most `target` of each name, and
// nothing of a name the target lacks.
Resources shrink_to(const Resources& scalars, Quantities target, ResourceNames& names);
// The same for limits: only the names listed are capped, to the amounts given.
Resources shrink_to_limits(const Resources& scalars, std::vector<std::pair<std::size_t, Milli>> remaining,
                           ResourceNames& names);

}  // namespace dcos
