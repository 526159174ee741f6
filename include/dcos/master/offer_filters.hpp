#pragma once
// `FrameworkInfo.offer_filters`: a framework's own minimum offer per role (Mesos 1.7+), decoded
// and validated for the allocator (`FrameworkOptions::min_allocatable`). Pure.
//
//   "offer_filters": {"<role>": {"min_allocatable_resources":
//                       {"quantities": [{"quantities": {"cpus": {"value": 1}, "mem": {"value": 64}}}]}}}
//
// A role with `min_allocatable_resources` gets its list of alternatives (an offer must hold one
// of them; an empty list admits any offer); a role without it keeps the master's
// `--min_allocatable_resources`.

#include "dcos/allocator/allocator.hpp"
#include "dcos/common/result.hpp"
#include "dcos/v1/framework_info.hpp"

namespace dcos::master {

// The allocator options `info.offer_filters` asks for, for the roles the framework is subscribed
// to (filters for other roles are kept in the info but have nothing to act on). Fails with
// `Errc::invalid_argument` and a message naming the field on a bad shape, an empty quantities
// entry or an amount that is not a non-negative number (Mesos's `validateOfferFilters`).
Result<FrameworkOptions> framework_options(const v1::FrameworkInfo& info);

}  // namespace dcos::master
