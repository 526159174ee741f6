#pragma once
// The allocator decides which framework is offered which agent's free resources. The master
// tells it what exists and what was used or declined; it answers `allocate(now)` with grants.
// Implementations are pure: no I/O, no clock reads (time comes in as arguments), deterministic.
// Model, stages, invariants and the meaning of REQUEST: docs/design/allocator.md.
//
// Threading: single-threaded; the master calls it from its own strand. Every method is cheap
// except `allocate`, whose cost follows what changed since the previous cycle.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dcos/common/clock.hpp"
#include "dcos/common/ids.hpp"
#include "dcos/common/result.hpp"
#include "dcos/resources/resources.hpp"

namespace dcos {

struct Grant {
  FrameworkId framework;
  AgentId agent;
  std::string role;
  Resources resources;  // Tagged with `role` as their allocation role.
};

// Amounts by resource name, as in v1 `QuotaConfig`: {"cpus": 2, "mem": 1024}.
using ResourceQuantities = std::map<std::string, double>;

// Quota of a top-level role (Mesos 1.9+ `QuotaConfig`). Consumed quota is the role's (and its
// subroles') reservations, allocated or not, plus their unreserved allocation.
struct Quota {
  ResourceQuantities guarantees;  // Satisfied first; held back from other roles until consumed.
  ResourceQuantities limits;      // Never exceeded by allocation; a name absent is unlimited.
  bool empty() const { return guarantees.empty() && limits.empty(); }
  bool operator==(const Quota&) const = default;
};

struct FrameworkOptions {
  // Per role, the framework's own minimum offer (Mesos `FrameworkInfo.offer_filters`), replacing
  // `AllocatorOptions::min_allocatable` for that role: an offer must hold one of the entries, as
  // quantities. An empty list admits any non-empty offer.
  std::map<std::string, std::vector<Resources>> min_allocatable;
};

// A scheduler's REQUEST: where it would like its next offers to come from
// (docs/design/allocator.md, "Requests").
struct ResourceRequest {
  std::optional<AgentId> agent;  // That agent only; else any agent that fits `resources`.
  Resources resources;           // Quantities the offer must hold; empty: anything.
};

// What `/roles`, `GET_ROLES`, `GET_QUOTA` and `/master/state` show of a role.
struct RoleInfo {
  std::string name;
  double weight = 1.0;
  Quota quota;
  ResourceQuantities allocated;        // Offered or used, allocated to this role itself.
  ResourceQuantities reserved;         // Reserved for this role and its subroles.
  ResourceQuantities consumed_quota;   // Top-level roles: reserved plus unreserved allocation.
  std::vector<FrameworkId> frameworks;  // Subscribed to the role or holding resources in it.
};

struct AllocatorOptions {
  // An agent's free resources are offered only when they hold at least one of these, counted as
  // quantities (reserved and unreserved alike). An empty list: any non-empty offer.
  std::vector<Resources> min_allocatable = {parse_resources("cpus:0.01").value(), parse_resources("mem:32").value()};
  // Decline filters last at least this long (MESOS-4302): pass the master's allocation interval.
  Duration allocation_interval = std::chrono::seconds(1);
  // Resource names left out of DRF shares (`--fair_sharing_excluded_resource_names`).
  std::vector<std::string> fairness_excluded_resources;
  // Consider every agent in every cycle rather than only those whose state changed. Slower,
  // same grants; tests use it to check the incremental bookkeeping.
  bool full_scan = false;
};

class Allocator {
 public:
  virtual ~Allocator() = default;

  virtual void add_framework(const FrameworkId& id, std::vector<std::string> roles, bool active) = 0;
  virtual void remove_framework(const FrameworkId& id) = 0;
  // Inactive frameworks (disconnected schedulers) get no offers but keep their allocation.
  virtual void activate_framework(const FrameworkId& id) = 0;
  virtual void deactivate_framework(const FrameworkId& id) = 0;
  // New roles (UPDATE_FRAMEWORK) and options. A role left keeps what the framework holds in it
  // until recovered, but is offered nothing more; suppression of roles kept is kept.
  virtual void update_framework(const FrameworkId& id, std::vector<std::string> roles, FrameworkOptions options) = 0;

  // `used` are resources already allocated to frameworks on that agent (re-registration); ones
  // without an allocation role count against the framework's first role.
  virtual void add_agent(const AgentId& id, const Resources& total,
                         const std::vector<std::pair<FrameworkId, Resources>>& used) = 0;
  virtual void remove_agent(const AgentId& id) = 0;
  virtual void activate_agent(const AgentId& id) = 0;
  virtual void deactivate_agent(const AgentId& id) = 0;
  // The agent's total changed outside any allocation: a static reservation was re-declared, or an
  // operator RESERVE_RESOURCES / UNRESERVE_RESOURCES converted free resources. What frameworks
  // hold there stays theirs; free = new total minus that.
  virtual void update_agent_total(const AgentId& id, const Resources& total) = 0;
  // A framework applied operations to resources it holds (RESERVE / UNRESERVE in ACCEPT): `from`
  // becomes `to` in its allocation and in the agent's total. Both are tagged with allocation
  // roles. Fails, changing nothing, unless the framework holds `from` on the agent.
  virtual Result<void> update_allocation(const FrameworkId& framework, const AgentId& agent, const Resources& from,
                                         const Resources& to) = 0;

  // Resources a framework holds (offered or used) on an agent go back to the pool. With
  // `refuse_for` set and positive, the framework is not offered them again on that agent until
  // `now + max(refuse_for, allocation_interval)`.
  virtual void recover(const FrameworkId& framework, const AgentId& agent, const Resources& resources,
                       std::optional<Duration> refuse_for, TimePoint now) = 0;

  // Empty `roles` means all of the framework's roles.
  virtual void suppress(const FrameworkId& framework, const std::vector<std::string>& roles) = 0;
  // Un-suppresses and clears every decline filter for the roles.
  virtual void revive(const FrameworkId& framework, const std::vector<std::string>& roles) = 0;
  // Replaces the framework's outstanding requests; an empty list clears them.
  virtual void request(const FrameworkId& framework, std::vector<ResourceRequest> requests) = 0;

  // UPDATE_WEIGHTS: each role's weight (> 0; 1 is the default), applying to its subtree. Fails,
  // changing nothing, on a weight that is not positive and finite or on the role "*".
  // Requires: the roles pass the master's role validation.
  virtual Result<void> update_weights(const std::map<std::string, double>& weights) = 0;
  // UPDATE_QUOTA: replaces the role's quota; an empty one removes it. Fails, changing nothing,
  // for "*", a nested role, a negative or non-finite amount, or a guarantee above its limit.
  // Requires: `role` passes the master's role validation.
  virtual Result<void> update_quota(const std::string& role, const Quota& quota) = 0;
  virtual std::map<std::string, double> weights() const = 0;   // GET_WEIGHTS: those set.
  virtual std::map<std::string, Quota> quotas() const = 0;     // GET_QUOTA: those set.
  // Roles with frameworks, a weight, quota, reservations or allocation, by name.
  virtual std::vector<RoleInfo> roles() const = 0;

  // One allocation cycle: grants of free resources to frameworks, recorded as allocated.
  // Replaces the contents of `grants` with them, reusing its storage: a caller that keeps one
  // vector across cycles (clearing it, not freeing it) makes a steady cycle write its grants
  // into memory it already has, with no fresh page to fault in and zero (measured at 2 us a
  // page on a 2-core VM, where that was 17% of a 20000-agent cycle).
  virtual void allocate(TimePoint now, std::vector<Grant>& grants) = 0;
  // The same into a new vector.
  std::vector<Grant> allocate(TimePoint now) {
    std::vector<Grant> grants;
    allocate(now, grants);
    return grants;
  }
};

// Mesos's hierarchical DRF allocator: quota guarantees first, then dominant resource fairness
// across roles and, within a role, across its frameworks; each offer takes all of an agent's
// free resources the role may have (coarse-grained).
std::unique_ptr<Allocator> make_drf_allocator(AllocatorOptions options = {});

}  // namespace dcos
