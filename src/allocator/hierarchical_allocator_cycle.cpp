// One allocation cycle of the hierarchical DRF allocator: Mesos's `__generateOffers` (stage 1,
// quota guarantees; stage 2, fair shares), over the agents whose offers may have changed.
// docs/design/allocator.md walks through it with the invariants it keeps.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "allocator/hierarchical_allocator.hpp"

namespace dcos {

bool HierarchicalAllocator::eligible(Index index) const {
  const Agent& agent = agents_[index];
  return agent.present && agent.active && !agent.available.empty();
}

void HierarchicalAllocator::take_candidates() {
  // Only agents whose offers may differ from what the last cycle left: those whose free
  // resources or filters changed, or all of them after a change that concerns every agent (a
  // framework added, activated, revived or requesting; weights; quota). An agent left out would
  // get no grant if it were visited (docs/design/allocator.md, "Incremental cycles"). Whether
  // they can be offered anything is asked as a stage visits them: that reads their state, which
  // the stage prefetches, and this walk then reads a byte per agent instead.
  candidates_.clear();
  if (all_dirty_ || options_.full_scan || dirty_agents_.size() * 8 > agent_order_.size()) {
    // Everyone, or so many that a walk in id order beats sorting them by id.
    const bool everyone = all_dirty_ || options_.full_scan;
    for (const Index index : agent_order_) {
      if (everyone || dirty_[index]) candidates_.push_back(index);
    }
    for (const Index index : dirty_agents_) dirty_[index] = 0;
    all_dirty_ = false;
  } else {
    std::sort(dirty_agents_.begin(), dirty_agents_.end(),
              [&](Index a, Index b) { return agents_[a].id < agents_[b].id; });
    for (const Index index : dirty_agents_) {
      dirty_[index] = 0;
      candidates_.push_back(index);
    }
  }
  dirty_agents_.clear();
}

void HierarchicalAllocator::allocate(TimePoint now, std::vector<Grant>& grants) {
  grants.clear();
  expire_filters(now);
  if (totals_changed_) {
    // New totals move every share; the sorters re-sort lazily on their next visit.
    const Quantities totals = fair_totals();
    role_sorter_.set_totals(totals);
    for (Role& role : roles_) role.frameworks.set_totals(totals);
    totals_changed_ = false;
  }
  take_candidates();
  if (candidates_.empty()) return;

  quota_grants_.clear();
  Cycle cycle{now, grants, quota_grants_, quota_grants_of_, {}, {}, false};
  cycle.grants.reserve(candidates_.size());  // Usually one grant per agent, or none.
  // Required headroom: what the guarantees still lack, summed over the roles with quota (with
  // frameworks or not), is held back from everyone's unreserved allocation beyond guarantees.
  if (quota_active()) {
    for (const Role& role : roles_) {
      if (!role.guarantees.empty()) cycle.required_headroom += unsatisfied(role);
    }
  }
  // A stage visits the candidates in id order, unless something this cycle did concerns every
  // agent: then it goes on over all of them, as a full scan would from that point. Stage 1 ends
  // once the guarantees' headroom is covered: no agent after that has anything for it.
  bool everyone = false;
  auto run = [&](Stage stage) {
    auto finished = [&] { return stage == Stage::quota && cycle.required_headroom.empty(); };
    auto all_from = [&](std::size_t first) {
      for (std::size_t i = first; i < agent_order_.size() && !finished(); ++i) {
        prefetch_agent(agent_order_, i);
        const Index index = agent_order_[i];
        if (!emptied_by_quota(index) && eligible(index)) allocate_agent(index, stage, cycle);
      }
    };
    if (everyone) return all_from(0);
    for (std::size_t i = 0; i < candidates_.size() && !finished(); ++i) {
      prefetch_agent(candidates_, i);
      const Index index = candidates_[i];
      if (!eligible(index)) continue;
      allocate_agent(index, stage, cycle);
      if (!cycle.widen) continue;
      everyone = true;
      const auto later = std::upper_bound(agent_order_.begin(), agent_order_.end(), agents_[index].id,
                                          [&](const AgentId& id, Index other) { return id < agents_[other].id; });
      return all_from(static_cast<std::size_t>(later - agent_order_.begin()));
    }
  };
  if (!cycle.required_headroom.empty()) {
    run(Stage::quota);
    // Guarantees granted lower the headroom held back: any agent may have more to offer now.
    if (!cycle.grants.empty()) everyone = true;
  }
  run(Stage::fair);
  // With quota, a grant changes the headroom other agents were held back by: they are all
  // looked at again next cycle.
  if (quota_active() && !cycle.grants.empty()) mark_all_dirty();
  for (const QuotaGrant& made : cycle.quota_grants) {
    quota_state_[made.agent] = QuotaState::none;
  }
}

void HierarchicalAllocator::prefetch_agent(const std::vector<Index>& order, std::size_t visiting) const {
  // With more agents than the last-level cache holds, each candidate's state comes from memory:
  // ask for it a few candidates ahead so the loads overlap. First the agent's slot (a grant
  // reads all of it but its total, and writes it), then, once those have arrived, the shared
  // blocks a grant's copies count on and its filters (the frameworks first in DRF order are often
  // those that declined it last: `Agent::filtered_frameworks` passes them on to the search). Its
  // holdings lie in the slot.
  //
  // All with no temporal locality: a cycle reads an agent once, and these lines would otherwise
  // push out what every grant reads again, the frameworks' sorter nodes and members (measured:
  // the doubling from 10000x1000 to 20000x2000 went from about 2.3x to 2.2x).
  constexpr std::size_t agent_ahead = 8, pointees_ahead = 4;
  // The slot's lines before the one holding `total`, which a cycle does not read (of that line it
  // reads only the free quantities of a fourth scalar and beyond, when an agent has them). GCC
  // supports `offsetof` on a type with non-trivial members, as here, for a constant offset.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
  constexpr std::size_t cycle_lines = offsetof(Agent, total) / 64;
#pragma GCC diagnostic pop
  // An agent that stage 1 emptied gets nothing: a walk over all agents passes it unread.
  if (visiting + agent_ahead < order.size() && !emptied_by_quota(order[visiting + agent_ahead])) {
    const char* agent = reinterpret_cast<const char*>(&agents_[order[visiting + agent_ahead]]);
    for (std::size_t line = 0; line < cycle_lines; ++line) __builtin_prefetch(agent + 64 * line, 1, 0);
  }
  // Its slot has arrived by now: an agent the stage will pass over for another reason (inactive,
  // or nothing free) gets nothing more.
  if (visiting + pointees_ahead < order.size() && !emptied_by_quota(order[visiting + pointees_ahead]) &&
      eligible(order[visiting + pointees_ahead])) {
    const Agent& agent = agents_[order[visiting + pointees_ahead]];
    __builtin_prefetch(&agent.available.items(), 0, 0);
    __builtin_prefetch(&agent.refused_grant.items(), 0, 0);
    // The filters a search may probe: all of them, up to eight lines' worth (a binary search
    // jumps across them, each probe a miss of its own). Counted from the line holding the first
    // filter, so that an array starting mid-line has its last line prefetched too.
    const auto begin = reinterpret_cast<std::uintptr_t>(agent.filters.data());
    const std::uintptr_t first_line = begin & ~std::uintptr_t{63};
    const std::uintptr_t end = std::min(begin + agent.filters.size() * sizeof(Filter), first_line + 8 * 64);
    for (std::uintptr_t line = first_line; line < end; line += 64) {
      __builtin_prefetch(reinterpret_cast<const void*>(line), 0, 0);
    }
  }
}

Quantities HierarchicalAllocator::unsatisfied(const Role& top) const {
  // Consumed quota = reservations (allocated or not) + unreserved allocation, subroles included.
  return saturating_minus(top.guarantees, top.reserved + top.unreserved_allocated);
}

void HierarchicalAllocator::allocate_agent(Index agent_index, Stage stage, Cycle& cycle) {
  const Agent& agent = agents_[agent_index];
  cycle.pending.clear();
  // Roles in DRF order as of the start of this agent, like Mesos's `roleSorter->sort()` per
  // agent; the grants made here reach the sorters once the agent is done.
  role_sorter_.visit([&](Client role_client) {
    if (agent.available.empty()) return false;
    const Index role = role_of_client_[role_client];
    if (stage == Stage::quota) {
      if (cycle.required_headroom.empty()) return false;
      if (roles_[roles_[role].top].guarantees_met) return true;
    }
    offer_to_role(agent_index, role, stage, cycle);
    return true;
  });
  for (const Pending& pending : cycle.pending) {
    Role& role = roles_[pending.role];
    role_sorter_.allocated(*role.client, pending.quantities);
    role.frameworks.allocated(pending.framework_client, pending.quantities);
  }
}

void HierarchicalAllocator::offer_to_role(Index agent_index, Index role_index, Stage stage, Cycle& cycle) {
  Agent& agent = agents_[agent_index];
  Role& role = roles_[role_index];

  // What the role may be offered here: unreserved resources and its (and its ancestors')
  // reservations. Most agents hold no reservations and need no copy.
  std::optional<Resources> reserved_view;
  auto refresh_view = [&] {
    if (agent.reserved) reserved_view = allocatable_to_role(agent.available, role.name);
  };
  auto view = [&]() -> const Resources& { return reserved_view ? *reserved_view : agent.available; };
  refresh_view();
  if (view().empty()) return;

  // The offer is the same for every framework of the role until one takes it.
  std::optional<Resources> offer_storage;
  const Resources* offer = nullptr;
  Quantities guarantee_part;
  std::optional<bool> view_allocatable, offer_allocatable;  // Against the global minimum.

  role.frameworks.visit([&](Client framework_client) {
    const Resources& available = view();
    if (available.empty()) return false;
    const Member& member = role.members[framework_client];
    const std::vector<Requirement>& minimum = minimum_for(member, role_index);
    auto check = [&](const Resources& resources) {
      // All of an agent without reservations: its scalars are its free unreserved quantities.
      if (&resources == &agent.available && !agent.reserved) {
        return allocatable(resources, agent.available_unreserved, non_scalar_, minimum);
      }
      return allocatable(resources, minimum);
    };
    auto allocatable_cached = [&](const Resources& resources, std::optional<bool>& cache) {
      if (member.own_minimum) return check(resources);
      if (!cache) cache = check(resources);
      return *cache;
    };
    if (!allocatable_cached(available, view_allocatable)) return true;
    if (offer == nullptr) {
      offer = shape_offer(agent, role, stage, available, cycle, offer_storage, guarantee_part);
      // Nothing here moves the role towards its guarantees: its reservations wait for the fair
      // stage.
      if (offer == nullptr) return false;
      offer_allocatable.reset();
    }
    // An offer of the whole view holds this member's minimum: it was just checked.
    if (offer != &available && !allocatable_cached(*offer, offer_allocatable)) return true;
    if (filtered(agent, member, role_index, *offer, cycle.now)) return true;
    std::optional<std::size_t> request;
    if (member.requesting) {
      // A framework with outstanding requests takes only agents that match one: a request
      // steers where its offers come from and never moves it up the DRF order.
      request = matching_request(frameworks_[member.framework], agent, *offer);
      if (!request) return true;
    }
    const Index framework_index = member.framework;
    grant(framework_index, role_index, agent_index, framework_client, stage, *offer, cycle);
    if (request) {
      Framework& framework = frameworks_[framework_index];
      framework.requests.erase(framework.requests.begin() + static_cast<std::ptrdiff_t>(*request));
      if (framework.requests.empty()) {
        // It takes any agent again, those already passed over this cycle next cycle.
        sync_members(framework_index);
        cycle.widen = true;
        mark_all_dirty();
      }
    }
    if (stage == Stage::quota) {
      cycle.required_headroom = saturating_minus(cycle.required_headroom, guarantee_part);
    }
    offer = nullptr;
    offer_storage.reset();
    view_allocatable.reset();
    refresh_view();
    return true;
  });
}

const Resources* HierarchicalAllocator::shape_offer(const Agent& agent, const Role& role, Stage stage,
                                                    const Resources& available, const Cycle& cycle,
                                                    std::optional<Resources>& storage, Quantities& guarantee_part) {
  // Reservations, non-scalars and, in stage 1, the guaranteed part are always offered; further
  // unreserved scalars only within the quota limits and above the required headroom (Mesos's
  // stages 1 and 2 in `__generateOffers`). Decided on quantities first: when nothing is held
  // back, the offer is `available` itself and nothing is copied.
  const Role& top = roles_[role.top];
  const bool limited = !top.limits.empty();
  const bool headroom = !cycle.required_headroom.empty();
  if (stage == Stage::fair && !limited && !headroom) return &available;

  const Quantities& unreserved = agent.available_unreserved;  // The view's unreserved scalars.
  Quantities missing, remaining_limits, surplus;
  guarantee_part = Quantities{};
  if (stage == Stage::quota) {
    missing = unsatisfied(top);
    for (std::size_t i = 0; i < unreserved.size(); ++i) guarantee_part.set(i, std::min(unreserved.get(i), missing.get(i)));
    if (guarantee_part.empty()) return nullptr;
  }
  const Quantities extra = unreserved - guarantee_part;
  std::vector<std::pair<std::size_t, Milli>> limits;
  if (limited) {
    const Quantities consumed = top.reserved + top.unreserved_allocated + guarantee_part;
    for (const auto& [name, limit] : top.limits) limits.emplace_back(name, std::max<Milli>(0, limit - consumed.get(name)));
  }
  if (headroom) surplus = saturating_minus(available_unreserved_, cycle.required_headroom);
  const bool within_limits = std::all_of(limits.begin(), limits.end(),
                                         [&](const auto& limit) { return extra.get(limit.first) <= limit.second; });
  const bool within_headroom = !headroom || surplus.contains(extra);
  // Stage 1 offers only the role's own reservations: an agent with none offers all it has.
  if (within_limits && within_headroom && (stage == Stage::fair || !agent.reserved)) return &available;

  Resources offered, scalars;
  for (const Resource& r : available) {
    if (r.type == ValueType::scalar && !r.reserved()) {
      scalars += r;
    } else if (stage == Stage::fair || r.type != ValueType::scalar || r.role == role.name) {
      offered += r;
    }
  }
  Resources additional = scalars;
  if (stage == Stage::quota) {
    const Resources guaranteed = shrink_to(scalars, missing, names_);
    additional -= guaranteed;
    offered += guaranteed;
  }
  if (!within_limits) additional = shrink_to_limits(additional, std::move(limits), names_);
  if (!within_headroom) additional = shrink_to(additional, surplus, names_);
  offered += additional;
  storage = std::move(offered);
  return &*storage;
}

bool HierarchicalAllocator::filtered(const Agent& agent, const Member& member, Index role, const Resources& offer,
                                     TimePoint now) const {
  if ((agent.filtered_frameworks & framework_bit(member.framework)) == 0) return false;
  auto it = std::lower_bound(agent.filters.begin(), agent.filters.end(), member.framework,
                             [](const Filter& f, Index framework) { return f.framework < framework; });
  // Mesos's `RefusedOfferFilter`: filtered while the offer is within what was refused.
  for (; it != agent.filters.end() && it->framework == member.framework; ++it) {
    if (it->role != role || it->epoch != member.epoch || now >= it->until) continue;
    // `offer` is part of the agent's free resources: covered if they are.
    if (agent.available_refused && it->refused.get() == &agent.last_refused->resources) return true;
    if (it->refused->contains(offer)) return true;
  }
  return false;
}

std::optional<std::size_t> HierarchicalAllocator::matching_request(const Framework& framework, const Agent& agent,
                                                                   const Resources& offer) const {
  for (std::size_t i = 0; i < framework.requests.size(); ++i) {
    const ResourceRequest& request = framework.requests[i];
    if (request.agent && *request.agent != agent.id) continue;
    if (!request.resources.empty() && !holds(offer, to_requirement(request.resources))) continue;
    return i;
  }
  return std::nullopt;
}

const std::vector<Requirement>& HierarchicalAllocator::minimum_for(const Member& member, Index role) const {
  if (!member.own_minimum) return min_allocatable_;
  return frameworks_[member.framework].min_allocatable.at(role);
}

void HierarchicalAllocator::grant(Index framework_index, Index role_index, Index agent_index,
                                  Client framework_client, Stage stage, const Resources& offer, Cycle& cycle) {
  Agent& agent = agents_[agent_index];
  Role& role = roles_[role_index];
  Member& member = role.members[framework_client];

  Resources granted;
  Quantities quantities, unreserved;
  // Without reservations on the agent, all of its free scalars are unreserved, and counted.
  const bool counted = &offer == &agent.available && !agent.reserved;
  const bool refused_whole = &offer == &agent.available && agent.available_equals_refused;
  if (counted) quantities = unreserved = agent.available_unreserved;
  if (&offer == &agent.available) {
    granted = std::move(agent.available);  // The whole agent: the common case.
    agent.available = Resources{};
  } else {
    granted = offer;
    agent.available -= granted;
  }
  agent.available_refused = agent.available_equals_refused = false;
  if (!counted) count_scalars(granted, names_, quantities, unreserved);
  agent.available_unreserved -= unreserved;
  available_unreserved_ -= unreserved;
  add_to_roles(role_index, {}, unreserved, true);
  cycle.pending.push_back(Pending{role_index, framework_client, std::move(quantities)});

  // All of `available` while it equals `*last_refused`: `refused_grant` holds it tagged already
  // (retagged in place for another role, as `granted` would be).
  Resources tagged;
  if (refused_whole && !agent.refused_grant.empty()) {
    tagged = agent.refused_role == role_index ? std::move(agent.refused_grant)
                                              : std::move(agent.refused_grant).allocated_to(role.name);
  } else {
    tagged = std::move(granted).allocated_to(role.name);
  }
  if (refused_whole) {
    agent.refused_grant = tagged;
    agent.refused_role = role_index;
  }
  if (Holding* h = holding(agent, framework_index)) {
    if (!has_allocation_role(h->resources, role.name)) ++member.agents;
    h->resources += tagged;
  } else {
    agent.holdings.push_back(Holding{framework_index, tagged});
    ++member.agents;
  }

  // One offer per (framework, role, agent) and cycle: a fair-stage grant joins the quota-stage
  // grant of the same agent, as Mesos merges them into one `offerable` entry. Found through the
  // agent's slot, not a search over all of the cycle's grants.
  if (stage == Stage::fair && granted_by_quota(agent_index)) {
    const auto [first, last] = cycle.quota_grants_of[agent_index];
    for (std::size_t i = first; i < last; ++i) {
      const QuotaGrant& earlier = cycle.quota_grants[i];
      if (earlier.framework != framework_index || earlier.role != role_index) continue;
      cycle.grants[earlier.grant].resources += tagged;
      return;
    }
  }
  if (stage == Stage::quota) {
    if (cycle.quota_grants_of.size() < agents_.size()) {
      cycle.quota_grants_of.resize(agents_.size());
      quota_state_.resize(agents_.size(), QuotaState::none);
    }
    const std::size_t made = cycle.quota_grants.size();
    GrantRange& range = cycle.quota_grants_of[agent_index];
    if (cycle.quota_agent != agent_index) {
      // Stage 1 visits each agent once and makes its grants there together: the first one
      // starts the agent's range.
      DCOS_ASSERT(quota_state_[agent_index] == QuotaState::none);
      range = GrantRange{made, made};
      cycle.quota_agent = agent_index;
    }
    DCOS_ASSERT(range.second == made);
    ++range.second;
    quota_state_[agent_index] = agent.available.empty() ? QuotaState::emptied : QuotaState::granted;
    cycle.quota_grants.push_back(QuotaGrant{framework_index, role_index, agent_index, cycle.grants.size()});
  }
  cycle.grants.push_back(Grant{member.id, agent.id, role.name, std::move(tagged)});
}

}  // namespace dcos
