#pragma once
// RESERVE and UNRESERVE inside ACCEPT (dynamic reservations), validated as Mesos's
// `validation::operation::validate` does. Pure functions: the master applies the conversion to
// the agent's total and to the allocator (`Allocator::update_allocation`).

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

}  // namespace dcos::master
