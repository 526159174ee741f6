#pragma once
// Dynamic reservations, validated as Mesos's `validation::operation::validate` does: RESERVE and
// UNRESERVE inside ACCEPT, and the operator's RESERVE_RESOURCES / UNRESERVE_RESOURCES. Pure
// functions: the master applies a conversion to the agent's total, to the allocator
// (`update_allocation` in ACCEPT, `update_agent_total` for an operator) and sends the agent its
// new dynamic reservations to checkpoint.

#include <string>
#include <vector>

#include "dcos/common/result.hpp"
#include "dcos/resources/resources.hpp"
#include "dcos/v1/framework_info.hpp"

namespace dcos::master {

// What an operation turns into what, both tagged with the allocation role.
struct Conversion {
  Resources from;
  Resources to;
};

// RESERVE: every resource carries a dynamic reservation on top, for the role it is allocated to
// (one of the framework's roles), with the framework's principal if it names one; a refinement
// (reserving already reserved resources for a subrole) needs the RESERVATION_REFINEMENT
// capability. `from` (each resource with its top reservation removed) must be in `available`,
// what is left of the accepted offers. Resources without an allocation role (non-MULTI_ROLE
// frameworks) are taken as allocated to `offer_role`. Errors say what is wrong.
Result<Conversion> reserve_conversion(const Resources& resources, const v1::FrameworkInfo& framework,
                                      const std::string& offer_role, const Resources& available);

// UNRESERVE: every resource is dynamically reserved, allocated to one of the framework's roles,
// and in `available`; `to` is each with its top reservation removed.
Result<Conversion> unreserve_conversion(const Resources& resources, const v1::FrameworkInfo& framework,
                                        const std::string& offer_role, const Resources& available);

// RESERVE_RESOURCES by an operator (no framework: no allocation roles, any principal, as Mesos
// without authentication): every resource is unallocated and carries a dynamic reservation on
// top, for a valid role that refines (is a subrole of) any reservation below it. `from` is each
// resource with its top reservation removed; with `source` given (Mesos 1.10's re-reservation),
// `from` is `source`, which must be the same resources once every dynamic reservation is removed
// from both. Both unallocated. Errors say what is wrong.
Result<Conversion> operator_reserve_conversion(const Resources& resources, const Resources& source);

// UNRESERVE_RESOURCES by an operator: every resource is unallocated and dynamically reserved;
// `to` is each with its top reservation removed.
Result<Conversion> operator_unreserve_conversion(const Resources& resources);

// The dynamically reserved part of an agent's total: what the agent checkpoints.
Resources dynamically_reserved_part(const Resources& total);
// `resources` with every dynamic reservation removed: what the agent's `--resources` declared.
Resources without_dynamic_reservations(const Resources& resources);

}  // namespace dcos::master
