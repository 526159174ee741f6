#pragma once
// The allocator decides which framework is offered which agent's free resources. The master
// tells it what exists and what was used or declined; it answers `allocate(now)` with grants.
// Implementations are pure: no I/O, no clock reads (time comes in as arguments), deterministic.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dcos/common/clock.hpp"
#include "dcos/common/ids.hpp"
#include "dcos/resources/resources.hpp"

namespace dcos {

struct Grant {
  FrameworkId framework;
  AgentId agent;
  std::string role;
  Resources resources;  // Tagged with `role` as their allocation role.
};

struct AllocatorOptions {
  // An agent's free resources are offered only when they hold at least one of these.
  std::vector<Resources> min_allocatable = {parse_resources("cpus:0.01").value(), parse_resources("mem:32").value()};
};

class Allocator {
 public:
  virtual ~Allocator() = default;

  virtual void add_framework(const FrameworkId& id, std::vector<std::string> roles, bool active) = 0;
  virtual void remove_framework(const FrameworkId& id) = 0;
  // Inactive frameworks (disconnected schedulers) get no offers but keep their allocation.
  virtual void activate_framework(const FrameworkId& id) = 0;
  virtual void deactivate_framework(const FrameworkId& id) = 0;

  // `used` are resources already allocated to frameworks on that agent (re-registration).
  virtual void add_agent(const AgentId& id, const Resources& total,
                         const std::vector<std::pair<FrameworkId, Resources>>& used) = 0;
  virtual void remove_agent(const AgentId& id) = 0;
  virtual void activate_agent(const AgentId& id) = 0;
  virtual void deactivate_agent(const AgentId& id) = 0;

  // Resources a framework holds (offered or used) on an agent go back to the pool. With
  // `refuse_for` set and positive, the framework is not offered them again on that agent until
  // `now + refuse_for`.
  virtual void recover(const FrameworkId& framework, const AgentId& agent, const Resources& resources,
                       std::optional<Duration> refuse_for, TimePoint now) = 0;

  // Empty `roles` means all of the framework's roles.
  virtual void suppress(const FrameworkId& framework, const std::vector<std::string>& roles) = 0;
  // Un-suppresses and clears every decline filter for the roles.
  virtual void revive(const FrameworkId& framework, const std::vector<std::string>& roles) = 0;

  // One allocation cycle: grants of free resources to frameworks, recorded as allocated.
  virtual std::vector<Grant> allocate(TimePoint now) = 0;
};

// Dominant resource fairness across frameworks; each agent's free resources go whole to the
// eligible framework with the lowest dominant share.
std::unique_ptr<Allocator> make_drf_allocator(AllocatorOptions options = {});

}  // namespace dcos
