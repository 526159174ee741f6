// Hierarchical DRF after Mesos's `HierarchicalAllocatorProcess` (src/master/allocator/mesos/
// hierarchical.cpp): the state the master changes between cycles. The cycle itself is in
// hierarchical_allocator_cycle.cpp; the model and invariants in docs/design/allocator.md.
#include "allocator/hierarchical_allocator.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace dcos {
namespace {

template <typename T>
bool contains_value(const std::vector<T>& values, const T& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Calls `visit(role, part)` for each allocation role of `resources` ("" for untagged items),
// without copying in the usual single-role case.
template <typename Visit>
void for_each_allocation_role(const Resources& resources, Visit&& visit) {
  if (resources.empty()) return;
  const std::optional<std::string>& first = resources.begin()->allocation_role;
  if (std::all_of(resources.begin(), resources.end(), [&](const Resource& r) { return r.allocation_role == first; })) {
    visit(first.value_or(""), resources);
    return;
  }
  std::map<std::string, Resources> groups;
  for (const Resource& r : resources) groups[r.allocation_role.value_or("")] += r;
  for (const auto& [role, part] : groups) visit(role, part);
}

ResourceQuantities to_resource_quantities(const Quantities& quantities, const ResourceNames& names) {
  ResourceQuantities out;
  for (std::size_t i = 0; i < quantities.size(); ++i) {
    if (quantities.get(i) > 0) out[names.name(i)] = from_milli(quantities.get(i));
  }
  return out;
}

}  // namespace

HierarchicalAllocator::HierarchicalAllocator(AllocatorOptions options) : options_(std::move(options)) {
  for (const Resources& minimum : options_.min_allocatable) min_allocatable_.push_back(to_requirement(minimum, names_));
  for (const std::string& name : options_.fairness_excluded_resources) {
    const std::size_t index = names_.index(name);
    if (excluded_.size() <= index) excluded_.resize(index + 1, false);
    excluded_[index] = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Lookup and slots

HierarchicalAllocator::Framework* HierarchicalAllocator::find_framework(const FrameworkId& id, Index* index) {
  auto it = framework_index_.find(id);
  if (it == framework_index_.end()) return nullptr;
  if (index) *index = it->second;
  return &frameworks_[it->second];
}

HierarchicalAllocator::Agent* HierarchicalAllocator::find_agent(const AgentId& id, Index* index) {
  auto it = agent_index_.find(id);
  if (it == agent_index_.end() || !agents_[it->second].present) return nullptr;
  if (index) *index = it->second;
  return &agents_[it->second];
}

HierarchicalAllocator::Index HierarchicalAllocator::intern_role(const std::string& name) {
  if (auto it = role_index_.find(name); it != role_index_.end()) return it->second;
  Index parent = no_role;
  if (const auto slash = name.rfind('/'); slash != std::string::npos) parent = intern_role(name.substr(0, slash));
  const Index index = static_cast<Index>(roles_.size());
  Role& role = roles_.emplace_back();
  role.name = name;
  role.parent = parent;
  role.top = parent == no_role ? index : roles_[parent].top;
  role.frameworks.set_totals(fair_totals());
  role_index_.emplace(name, index);
  return index;
}

Quantities HierarchicalAllocator::fair_totals() const {
  Quantities totals = totals_;
  for (std::size_t i = 0; i < excluded_.size(); ++i) {
    if (excluded_[i]) totals.set(i, 0);
  }
  return totals;
}

HierarchicalAllocator::Index HierarchicalAllocator::new_framework(const FrameworkId& id, bool active) {
  Index index;
  if (!free_frameworks_.empty()) {
    index = free_frameworks_.back();
    free_frameworks_.pop_back();
  } else {
    index = static_cast<Index>(frameworks_.size());
    frameworks_.emplace_back();
  }
  Framework& framework = frameworks_[index];
  framework = Framework{};
  framework.id = id;
  framework.present = true;
  framework.active = active;
  framework_index_.emplace(id, index);
  return index;
}

std::vector<HierarchicalAllocator::Index> HierarchicalAllocator::roles_named(
    const Framework& framework, const std::vector<std::string>& names) const {
  if (names.empty()) return framework.roles;
  std::vector<Index> roles;
  for (const std::string& name : names) {
    if (auto it = role_index_.find(name); it != role_index_.end()) roles.push_back(it->second);
  }
  return roles;
}

// ---------------------------------------------------------------------------------------------
// Framework membership in roles and sorters

HierarchicalAllocator::Member* HierarchicalAllocator::member(Index framework, Index role) {
  for (const Tracked& t : frameworks_[framework].tracked) {
    if (t.role == role) return &roles_[role].members[t.client];
  }
  return nullptr;
}

bool HierarchicalAllocator::subscribed(const Framework& framework, Index role) const {
  return contains_value(framework.roles, role);
}

HierarchicalAllocator::Client HierarchicalAllocator::track(Index framework_index, Index role_index) {
  Framework& framework = frameworks_[framework_index];
  for (const Tracked& t : framework.tracked) {
    if (t.role == role_index) return t.client;
  }
  Role& role = roles_[role_index];
  const Client client = role.frameworks.add(framework.id.value());
  if (role.members.size() <= client) role.members.resize(client + 1);
  role.members[client] = Member{framework_index, next_epoch_++, 0, framework.min_allocatable.contains(role_index),
                                !framework.requests.empty(), framework.id};
  framework.tracked.push_back({role_index, client});
  if (role.tracked++ == 0) {
    // The role enters the role sorter with its first framework (Mesos's
    // `trackFrameworkUnderRole`).
    const Client role_client = role_sorter_.add(role.name);
    if (role_of_client_.size() <= role_client) role_of_client_.resize(role_client + 1);
    role_of_client_[role_client] = role_index;
    role.client = role_client;
  }
  return client;
}

void HierarchicalAllocator::untrack_if_idle(Index framework_index, Index role_index) {
  Framework& framework = frameworks_[framework_index];
  Member* m = member(framework_index, role_index);
  if (m == nullptr || m->agents > 0 || subscribed(framework, role_index)) return;
  Role& role = roles_[role_index];
  auto t = std::find_if(framework.tracked.begin(), framework.tracked.end(),
                        [&](const Tracked& tracked) { return tracked.role == role_index; });
  role.frameworks.remove(t->client);
  framework.tracked.erase(t);
  if (--role.tracked == 0) {
    role_sorter_.remove(*role.client);
    role.client.reset();
  } else if (role.frameworks.active_size() == 0) {
    role_sorter_.deactivate(*role.client);
  }
}

void HierarchicalAllocator::sync_activity(Index framework_index, Index role_index) {
  const Framework& framework = frameworks_[framework_index];
  auto t = std::find_if(framework.tracked.begin(), framework.tracked.end(),
                        [&](const Tracked& tracked) { return tracked.role == role_index; });
  if (t == framework.tracked.end()) return;
  Role& role = roles_[role_index];
  // Only frameworks that may be offered something are in the sorters' active sets, so a cycle
  // never walks suppressed or disconnected ones (Mesos deactivates them the same way).
  const bool offerable = framework.present && framework.active && subscribed(framework, role_index) &&
                         !contains_value(framework.suppressed, role_index);
  if (offerable) {
    role.frameworks.activate(t->client);
  } else {
    role.frameworks.deactivate(t->client);
  }
  if (role.frameworks.active_size() > 0) {
    role_sorter_.activate(*role.client);
  } else {
    role_sorter_.deactivate(*role.client);
  }
}

void HierarchicalAllocator::sync_activity(Index framework_index) {
  const std::vector<Tracked> tracked = frameworks_[framework_index].tracked;
  for (const Tracked& t : tracked) sync_activity(framework_index, t.role);
}

void HierarchicalAllocator::sync_members(Index framework_index) {
  const Framework& framework = frameworks_[framework_index];
  for (const Tracked& t : framework.tracked) {
    Member& m = roles_[t.role].members[t.client];
    m.own_minimum = framework.min_allocatable.contains(t.role);
    m.requesting = !framework.requests.empty();
  }
}

void HierarchicalAllocator::set_roles(Index framework_index, const std::vector<std::string>& names) {
  std::vector<Index> next;
  for (const std::string& name : names) {
    const Index role = intern_role(name);
    if (!contains_value(next, role)) next.push_back(role);
  }
  Framework& framework = frameworks_[framework_index];
  const std::vector<Index> previous = std::exchange(framework.roles, next);
  for (const Index role : previous) {
    if (contains_value(next, role)) continue;
    // Leaving a role drops its suppression, minimum and decline filters (Mesos's
    // `updateFramework`); what the framework holds there stays tracked until recovered.
    std::erase(framework.suppressed, role);
    framework.min_allocatable.erase(role);
    if (Member* m = member(framework_index, role)) m->epoch = next_epoch_++;
    untrack_if_idle(framework_index, role);
  }
  for (const Index role : next) track(framework_index, role);
  sync_members(framework_index);
  sync_activity(framework_index);
}

// ---------------------------------------------------------------------------------------------
// Allocation bookkeeping

void HierarchicalAllocator::add_to_roles(Index role, const Quantities& reserved, const Quantities& unreserved,
                                         bool add) {
  for (Index current = role; current != no_role; current = roles_[current].parent) {
    Role& r = roles_[current];
    if (add) {
      r.reserved += reserved;
      r.unreserved_allocated += unreserved;
    } else {
      r.reserved -= reserved;
      r.unreserved_allocated -= unreserved;
    }
    // Consumption only grows on `add`: guarantees met stay met.
    if (r.parent == no_role && !r.guarantees.empty() && !(add && r.guarantees_met)) {
      r.guarantees_met = unsatisfied(r).empty();
    }
  }
}

HierarchicalAllocator::Holding* HierarchicalAllocator::holding(Agent& agent, Index framework) {
  for (Holding& h : agent.holdings) {
    if (h.framework == framework) return &h;
  }
  return nullptr;
}

void HierarchicalAllocator::drop_holding(Holdings& holdings, Index framework) {
  holdings.erase(std::remove_if(holdings.begin(), holdings.end(), [&](const Holding& h) { return h.framework == framework; }),
                 holdings.end());
}

void HierarchicalAllocator::hold(Index framework_index, Index agent_index, const Resources& tagged) {
  if (tagged.empty()) return;
  Agent& agent = agents_[agent_index];
  Holding* h = holding(agent, framework_index);
  if (h == nullptr) h = &agent.holdings.emplace_back(Holding{framework_index, {}});
  for_each_allocation_role(tagged, [&](const std::string& name, const Resources& part) {
    const Index role_index = intern_role(name);
    const Client client = track(framework_index, role_index);
    Role& role = roles_[role_index];
    if (!has_allocation_role(h->resources, name)) ++role.members[client].agents;
    const Quantities quantities = scalar_quantities(part, names_);
    role_sorter_.allocated(*role.client, quantities);
    role.frameworks.allocated(client, quantities);
    add_to_roles(role_index, {}, unreserved_quantities(part, names_), true);
    sync_activity(framework_index, role_index);
  });
  h->resources += tagged;
}

void HierarchicalAllocator::release(Index framework_index, Index agent_index, const Resources& tagged) {
  for_each_allocation_role(tagged, [&](const std::string& name, const Resources& part) {
    auto it = role_index_.find(name);
    DCOS_ASSERT(it != role_index_.end());  // Held resources always carry a tracked role.
    Quantities quantities, unreserved;
    count_scalars(part, names_, quantities, unreserved);
    release_role(framework_index, agent_index, it->second, quantities, unreserved);
  });
}

void HierarchicalAllocator::release_role(Index framework_index, Index agent_index, Index role_index,
                                         const Quantities& quantities, const Quantities& unreserved) {
  const Holding* h = holding(agents_[agent_index], framework_index);
  Role& role = roles_[role_index];
  Member* m = member(framework_index, role_index);
  DCOS_ASSERT(m != nullptr);
  const Client client = static_cast<Client>(m - role.members.data());
  role.frameworks.unallocated(client, quantities);
  role_sorter_.unallocated(*role.client, quantities);
  add_to_roles(role_index, {}, unreserved, false);
  if (h == nullptr || !has_allocation_role(h->resources, role.name)) --m->agents;
  if (!subscribed(frameworks_[framework_index], role_index)) untrack_if_idle(framework_index, role_index);
}

void HierarchicalAllocator::give_back(Index agent_index, Resources tagged) {
  Agent& agent = agents_[agent_index];
  if (agent.overcommitted) return recompute_available(agent_index);
  Resources plain = std::move(tagged).unallocated();
  const Quantities unreserved = unreserved_quantities(plain, names_);
  if (agent.available.empty()) {
    agent.available = std::move(plain);
  } else {
    agent.available += plain;
  }
  agent.available_refused = agent.available_equals_refused = false;
  agent.available_unreserved += unreserved;
  available_unreserved_ += unreserved;
}

void HierarchicalAllocator::set_available(Agent& agent, Resources available) {
  Quantities unreserved = unreserved_quantities(available, names_);
  available_unreserved_ -= agent.available_unreserved;
  available_unreserved_ += unreserved;
  agent.available_unreserved = std::move(unreserved);
  agent.available = std::move(available);
  agent.available_refused = agent.available_equals_refused = false;
}

void HierarchicalAllocator::recompute_available(Index agent_index) {
  // Free = total minus every holding; a holding larger than what is left (the total shrank
  // under it) marks the agent overcommitted, and free never goes below nothing.
  Agent& agent = agents_[agent_index];
  Resources available = agent.total;
  agent.overcommitted = false;
  for (const Holding& h : agent.holdings) {
    const Resources held = h.resources.unallocated();
    if (!(take(available, held) == held)) agent.overcommitted = true;
  }
  set_available(agent, std::move(available));
}

void HierarchicalAllocator::track_reservations(const Resources& total, bool add) {
  std::map<std::string, Resources> by_role;
  for (const Resource& r : total) {
    if (r.reserved() && r.type == ValueType::scalar) by_role[r.role] += r;
  }
  for (const auto& [name, part] : by_role) add_to_roles(intern_role(name), scalar_quantities(part, names_), {}, add);
}

void HierarchicalAllocator::change_totals(const Resources& total, bool add) {
  const Quantities quantities = scalar_quantities(total, names_);
  if (add) {
    // Every resource an agent has free entered with its total: flagging the names seen as
    // ranges or sets here tells the minimum-offer check which amounts to count over resources.
    for (const Resource& r : total) {
      if (r.type == ValueType::scalar) continue;
      const std::size_t name = names_.index(r.name);
      if (non_scalar_.size() <= name) non_scalar_.resize(name + 1, false);
      non_scalar_[name] = true;
    }
    totals_ += quantities;
  } else {
    totals_ -= quantities;
  }
  totals_changed_ = true;
}

void HierarchicalAllocator::mark_dirty(Index agent_index) {
  if (dirty_[agent_index]) return;
  dirty_[agent_index] = 1;
  dirty_agents_.push_back(agent_index);
}

void HierarchicalAllocator::add_filter(Index framework_index, Index agent_index, Index role,
                                       const Resources& refused, TimePoint until, TimePoint now) {
  const Member* m = member(framework_index, role);
  if (m == nullptr) return;  // Not in the role any more: it is offered nothing there anyway.
  const std::uint64_t epoch = m->epoch;
  Agent& agent = agents_[agent_index];
  std::vector<Filter>& filters = agent.filters;
  // Declines of one agent's free resources by one framework after another refuse the same
  // resources: share one copy.
  std::shared_ptr<const Refusal> refusal;
  const bool refused_again = !agent.refused_grant.empty() && refused.shares_items_with(agent.refused_grant);
  if (agent.last_refused && (refused_again || same_unallocated(agent.last_refused->resources, refused))) {
    refusal = agent.last_refused;
  } else {
    auto made = std::make_shared<Refusal>();
    made->resources = refused.unallocated();
    count_scalars(made->resources, names_, made->all, made->unreserved);
    refusal = std::move(made);
  }
  const std::shared_ptr<const Resources> shared(refusal, &refusal->resources);
  auto covers = [](const std::shared_ptr<const Resources>& a, const std::shared_ptr<const Resources>& b) {
    return a == b || a->contains(*b);
  };
  auto by_framework = [](const Filter& f, Index framework) { return f.framework < framework; };
  auto first = std::lower_bound(filters.begin(), filters.end(), framework_index, by_framework);
  auto last = first;
  while (last != filters.end() && last->framework == framework_index) ++last;
  // One filter per (role, agent) when one covers the other, so a framework declining the same
  // agent every cycle keeps one filter there; stale and expired ones of the slot go meanwhile.
  for (auto it = first; it != last; ++it) {
    if (it->role == role && it->epoch == epoch && it->until >= until && covers(it->refused, shared)) return;
  }
  const auto kept = std::remove_if(first, last, [&](const Filter& f) {
    if (f.until <= now) return true;
    const Member* of_role = f.role == role ? m : member(framework_index, f.role);
    if (of_role == nullptr || f.epoch != of_role->epoch) return true;  // Revived or left.
    return f.role == role && until >= f.until && covers(shared, f.refused);
  });
  filter_count_ -= static_cast<std::size_t>(last - kept);
  const auto position = filters.erase(kept, last);
  filters.insert(position, Filter{framework_index, role, epoch, shared, until});
  agent.filtered_frameworks |= framework_bit(framework_index);
  // A decline of everything an agent had free leaves it with just that: later offers there are
  // filtered for every framework that refused this copy without comparing resources again.
  const bool same_copy = refusal == agent.last_refused;
  if (!same_copy || !agent.available_equals_refused) {
    agent.available_refused = shared->contains(agent.available);
    agent.available_equals_refused = agent.available_refused && agent.available.contains(*shared);
  }
  if (!same_copy) agent.refused_grant = Resources{};
  agent.last_refused = std::move(refusal);
  ++filter_count_;
  expiries_.push(Expiry{until, agent_index});
  // Replaced filters leave their expiries behind; rebuild once they outnumber the live filters,
  // so declining every few seconds with a year-long filter does not grow the heap for a year.
  if (expiries_.size() > 2 * filter_count_ + 1024) rebuild_expiries();
}

void HierarchicalAllocator::rebuild_expiries() {
  std::vector<Expiry> expiries;
  for (Index index = 0; index < agents_.size(); ++index) {
    for (const Filter& f : agents_[index].filters) expiries.push_back(Expiry{f.until, index});
  }
  filter_count_ = expiries.size();
  expiries_ = decltype(expiries_)(std::greater<>(), std::move(expiries));
}

template <typename Pred>
void HierarchicalAllocator::erase_filters(Agent& agent, Pred drop) {
  filter_count_ -= std::erase_if(agent.filters, drop);
  agent.filtered_frameworks = 0;
  for (const Filter& f : agent.filters) agent.filtered_frameworks |= framework_bit(f.framework);
}

void HierarchicalAllocator::expire_filters(TimePoint now) {
  while (!expiries_.empty() && expiries_.top().until <= now) {
    const Index agent_index = expiries_.top().agent;
    expiries_.pop();
    Agent& agent = agents_[agent_index];
    erase_filters(agent, [&](const Filter& f) { return f.until <= now; });
    if (agent.present) mark_dirty(agent_index);
  }
}

// ---------------------------------------------------------------------------------------------
// Frameworks

void HierarchicalAllocator::add_framework(const FrameworkId& id, std::vector<std::string> roles, bool active) {
  Index index;
  if (Framework* framework = find_framework(id, &index)) {
    framework->active = active;
  } else {
    index = new_framework(id, active);
  }
  set_roles(index, roles);
  if (active) mark_all_dirty();
}

void HierarchicalAllocator::remove_framework(const FrameworkId& id) {
  Index index;
  Framework* framework = find_framework(id, &index);
  if (!framework) return;
  framework->roles.clear();
  framework->suppressed.clear();
  // Holdings and filters live with the agents: removing a framework visits them all (a rare
  // event; a cycle never pays for it).
  for (const Index agent_index : agent_order_) {
    Agent& agent = agents_[agent_index];
    if (!agent.present) continue;
    erase_filters(agent, [&](const Filter& f) { return f.framework == index; });
    Holding* h = holding(agent, index);
    if (h == nullptr) continue;
    Resources held = std::move(h->resources);
    drop_holding(agent.holdings, index);
    release(index, agent_index, held);
    give_back(agent_index, std::move(held));
    mark_dirty(agent_index);
  }
  const std::vector<Tracked> tracked = framework->tracked;
  for (const Tracked& t : tracked) untrack_if_idle(index, t.role);
  DCOS_ASSERT(framework->tracked.empty());
  framework_index_.erase(id);
  *framework = Framework{};
  free_frameworks_.push_back(index);
  if (quota_active()) mark_all_dirty();
}

void HierarchicalAllocator::activate_framework(const FrameworkId& id) {
  Index index;
  Framework* framework = find_framework(id, &index);
  if (!framework) return;
  framework->active = true;
  sync_activity(index);
  mark_all_dirty();
}

void HierarchicalAllocator::deactivate_framework(const FrameworkId& id) {
  Index index;
  Framework* framework = find_framework(id, &index);
  if (!framework) return;
  framework->active = false;
  sync_activity(index);
}

void HierarchicalAllocator::update_framework(const FrameworkId& id, std::vector<std::string> roles,
                                             FrameworkOptions options) {
  Index index;
  if (!find_framework(id, &index)) return;
  set_roles(index, roles);
  Framework& framework = frameworks_[index];
  framework.min_allocatable.clear();
  for (const auto& [name, minimums] : options.min_allocatable) {
    std::vector<Requirement>& requirements = framework.min_allocatable[intern_role(name)];
    for (const Resources& minimum : minimums) requirements.push_back(to_requirement(minimum, names_));
  }
  sync_members(index);
  mark_all_dirty();
}

void HierarchicalAllocator::suppress(const FrameworkId& id, const std::vector<std::string>& names) {
  Index index;
  Framework* framework = find_framework(id, &index);
  if (!framework) return;
  for (const Index role : roles_named(*framework, names)) {
    if (!subscribed(*framework, role) || contains_value(framework->suppressed, role)) continue;
    framework->suppressed.push_back(role);
    sync_activity(index, role);
  }
}

void HierarchicalAllocator::revive(const FrameworkId& id, const std::vector<std::string>& names) {
  Index index;
  Framework* framework = find_framework(id, &index);
  if (!framework) return;
  for (const Index role : roles_named(*framework, names)) {
    std::erase(framework->suppressed, role);
    // A new epoch makes every decline filter of the role stale at once, wherever it is.
    if (Member* m = member(index, role)) m->epoch = next_epoch_++;
    sync_activity(index, role);
  }
  mark_all_dirty();
}

void HierarchicalAllocator::request(const FrameworkId& id, std::vector<ResourceRequest> requests) {
  Index index;
  Framework* framework = find_framework(id, &index);
  if (!framework) return;
  framework->requests = std::move(requests);
  sync_members(index);
  mark_all_dirty();
}

// ---------------------------------------------------------------------------------------------
// Agents

void HierarchicalAllocator::add_agent(const AgentId& id, const Resources& total,
                                      const std::vector<std::pair<FrameworkId, Resources>>& used) {
  if (find_agent(id)) remove_agent(id);
  Index index;
  if (auto it = agent_index_.find(id); it != agent_index_.end()) {
    index = it->second;
  } else {
    index = static_cast<Index>(agents_.size());
    agents_.emplace_back();
    dirty_.push_back(0);
    agent_index_.emplace(id, index);
    const auto position = std::upper_bound(agent_order_.begin(), agent_order_.end(), id,
                                           [&](const AgentId& a, Index b) { return a < agents_[b].id; });
    agent_order_.insert(position, index);
  }
  {
    Agent& agent = agents_[index];
    agent.id = id;
    agent.present = true;
    agent.active = true;
    agent.overcommitted = false;
    agent.total = total.unallocated();
    agent.reserved = has_reservations(agent.total);
    agent.holdings.clear();
    erase_filters(agent, [](const Filter&) { return true; });
    track_reservations(agent.total, true);
    change_totals(agent.total, true);
  }
  Resources available = agents_[index].total;
  for (const auto& [framework_id, resources] : used) {
    Index framework_index;
    if (!find_framework(framework_id, &framework_index)) {
      // Resources of a framework the master has not added (yet): held by an inactive one, in
      // the roles they were allocated to, until the master adds or removes it.
      std::vector<std::string> roles;
      for_each_allocation_role(resources, [&](const std::string& name, const Resources&) {
        roles.push_back(name.empty() ? "*" : name);
      });
      framework_index = new_framework(framework_id, false);
      set_roles(framework_index, roles);
    }
    const Framework& framework = frameworks_[framework_index];
    const std::string first_role = framework.roles.empty() ? "*" : roles_[framework.roles.front()].name;
    for_each_allocation_role(resources, [&](const std::string& name, const Resources& part) {
      const Resources wanted = part.unallocated();
      const Resources got = take(available, wanted);
      if (!(got == wanted)) agents_[index].overcommitted = true;
      hold(framework_index, index, got.allocated_to(name.empty() ? first_role : name));
    });
  }
  set_available(agents_[index], std::move(available));
  mark_dirty(index);
  if (quota_active()) mark_all_dirty();
}

void HierarchicalAllocator::remove_agent(const AgentId& id) {
  Index index;
  Agent* agent = find_agent(id, &index);
  if (!agent) return;
  auto holdings = std::move(agent->holdings);
  agent->holdings.clear();
  for (const Holding& h : holdings) release(h.framework, index, h.resources);
  // Mesos's `removeFilters`: a returning agent starts without any.
  erase_filters(*agent, [](const Filter&) { return true; });
  agent->last_refused.reset();
  agent->refused_grant = Resources{};
  track_reservations(agent->total, false);
  change_totals(agent->total, false);
  set_available(*agent, {});
  agent->total = {};
  agent->present = false;
  agent->active = false;
  if (quota_active()) mark_all_dirty();
}

void HierarchicalAllocator::activate_agent(const AgentId& id) {
  Index index;
  if (Agent* agent = find_agent(id, &index)) {
    agent->active = true;
    mark_dirty(index);
  }
}

void HierarchicalAllocator::deactivate_agent(const AgentId& id) {
  if (Agent* agent = find_agent(id)) agent->active = false;
}

void HierarchicalAllocator::update_agent_total(const AgentId& id, const Resources& total) {
  Index index;
  Agent* agent = find_agent(id, &index);
  if (!agent) return;
  track_reservations(agent->total, false);
  change_totals(agent->total, false);
  agent->total = total.unallocated();
  agent->reserved = has_reservations(agent->total);
  track_reservations(agent->total, true);
  change_totals(agent->total, true);
  recompute_available(index);
  mark_dirty(index);
  if (quota_active()) mark_all_dirty();
}

Result<void> HierarchicalAllocator::update_allocation(const FrameworkId& framework_id, const AgentId& agent_id,
                                                      const Resources& from, const Resources& to) {
  Index framework_index, agent_index;
  Framework* framework = find_framework(framework_id, &framework_index);
  if (!framework) return fail(Errc::not_found, fmt::format("update allocation: no framework {}", framework_id));
  Agent* agent = find_agent(agent_id, &agent_index);
  if (!agent) return fail(Errc::not_found, fmt::format("update allocation: no agent {}", agent_id));
  Holding* h = holding(*agent, framework_index);
  if (h == nullptr || !h->resources.contains(from)) {
    return fail(Errc::invalid_argument,
                fmt::format("update allocation: framework {} does not hold {} on agent {}", framework_id,
                            from.to_string(), agent_id));
  }
  const Resources from_plain = from.unallocated();
  if (!agent->total.contains(from_plain)) {
    return fail(Errc::invalid_argument,
                fmt::format("update allocation: agent {} has no {}", agent_id, from_plain.to_string()));
  }
  for (const Resource& r : to) {
    if (!r.allocation_role) {
      return fail(Errc::invalid_argument,
                  fmt::format("update allocation: {} carries no allocation role", Resources{r}.to_string()));
    }
  }
  // The sorters see a conversion, not a new grant: no allocation is counted (Mesos's
  // `DRFSorter::update`).
  h->resources -= from;
  for_each_allocation_role(from, [&](const std::string& name, const Resources& part) {
    const Index role_index = role_index_.at(name);
    Role& role = roles_[role_index];
    Member* m = member(framework_index, role_index);
    const Quantities quantities = scalar_quantities(part, names_);
    role.frameworks.unallocated(static_cast<Client>(m - role.members.data()), quantities);
    role_sorter_.unallocated(*role.client, quantities);
    add_to_roles(role_index, {}, unreserved_quantities(part, names_), false);
    if (!has_allocation_role(h->resources, name) && !has_allocation_role(to, name)) --m->agents;
  });
  for_each_allocation_role(to, [&](const std::string& name, const Resources& part) {
    const Index role_index = intern_role(name);
    const Client client = track(framework_index, role_index);
    Role& role = roles_[role_index];
    if (!has_allocation_role(h->resources, name) && !has_allocation_role(from, name)) ++role.members[client].agents;
    const Quantities quantities = scalar_quantities(part, names_);
    role.frameworks.allocated(client, quantities, /*count=*/false);
    role_sorter_.allocated(*role.client, quantities, /*count=*/false);
    add_to_roles(role_index, {}, unreserved_quantities(part, names_), true);
    sync_activity(framework_index, role_index);
  });
  h->resources += to;
  if (h->resources.empty()) {
    drop_holding(agent->holdings, framework_index);
  }
  track_reservations(agent->total, false);
  change_totals(agent->total, false);
  agent->total -= from_plain;
  agent->total += to.unallocated();
  agent->reserved = has_reservations(agent->total);
  track_reservations(agent->total, true);
  change_totals(agent->total, true);
  for_each_allocation_role(from, [&](const std::string& name, const Resources&) {
    const Index role_index = role_index_.at(name);
    if (!subscribed(frameworks_[framework_index], role_index)) untrack_if_idle(framework_index, role_index);
  });
  mark_dirty(agent_index);
  if (quota_active()) mark_all_dirty();
  return {};
}

void HierarchicalAllocator::recover(const FrameworkId& framework_id, const AgentId& agent_id,
                                   const Resources& resources, std::optional<Duration> refuse_for, TimePoint now) {
  Index framework_index, agent_index;
  Framework* framework = find_framework(framework_id, &framework_index);
  Agent* agent = find_agent(agent_id, &agent_index);
  if (!framework || !agent) return;
  // The refused grant (see `Agent::refused_grant`) coming back: its filter shares `last_refused`
  // without comparing, and if all of it returns to an agent with nothing else free, what is free
  // is `last_refused` again.
  const bool refused_grant = !resources.empty() && resources.shares_items_with(agent->refused_grant);
  // Bookkeeping may be asked to release what an agent re-registration already reset: take only
  // what the framework holds.
  if (Holding* h = holding(*agent, framework_index)) {
    Resources taken = take(h->resources, resources);
    if (h->resources.empty()) {
      drop_holding(agent->holdings, framework_index);
    }
    if (!taken.empty()) {
      const bool refused_free = refused_grant && taken.shares_items_with(resources) && agent->available.empty() &&
                                !agent->overcommitted;
      if (refused_free) {
        // `release` and `give_back` without reading `taken`: it is `*last_refused` allocated to
        // `refused_role`.
        DCOS_ASSERT(agent->last_refused);  // `refused_grant` is dropped with it.
        const Refusal& refusal = *agent->last_refused;
        release_role(framework_index, agent_index, agent->refused_role, refusal.all, refusal.unreserved);
        agent->available = refusal.resources;
        agent->available_unreserved += refusal.unreserved;
        available_unreserved_ += refusal.unreserved;
        agent->available_refused = agent->available_equals_refused = true;
      } else {
        release(framework_index, agent_index, taken);
        give_back(agent_index, std::move(taken));
      }
      mark_dirty(agent_index);
      if (quota_active()) mark_all_dirty();
    }
  }
  if (refuse_for && *refuse_for > Duration::zero() && !resources.empty()) {
    // The filter outlives at least one allocation interval, so the next periodic cycle sees it
    // (MESOS-4302).
    const TimePoint until = now + std::max(*refuse_for, options_.allocation_interval);
    if (refused_grant) {  // All in `refused_role`, without reading them.
      add_filter(framework_index, agent_index, agent->refused_role, resources, until, now);
    } else {
      for_each_allocation_role(resources, [&](const std::string& name, const Resources& part) {
        if (!name.empty()) {
          add_filter(framework_index, agent_index, intern_role(name), part, until, now);
          return;
        }
        const std::vector<Index> roles = frameworks_[framework_index].roles;
        for (const Index role : roles) add_filter(framework_index, agent_index, role, part, until, now);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Weights and quota

Result<void> HierarchicalAllocator::update_weights(const std::map<std::string, double>& weights) {
  for (const auto& [role, weight] : weights) {
    if (role.empty() || role == "*") return fail(Errc::invalid_argument, fmt::format("weight: invalid role '{}'", role));
    if (!std::isfinite(weight) || weight <= 0) {
      return fail(Errc::invalid_argument, fmt::format("weight of role {}: {} is not positive", role, weight));
    }
  }
  for (const auto& [role, weight] : weights) {
    weights_[role] = weight;
    roles_[intern_role(role)].weight = weight;
    role_sorter_.set_weight(role, weight);
  }
  mark_all_dirty();
  return {};
}

Result<void> HierarchicalAllocator::update_quota(const std::string& role, const Quota& quota) {
  if (role.empty() || role == "*") return fail(Errc::invalid_argument, fmt::format("quota: invalid role '{}'", role));
  if (role.find('/') != std::string::npos) {
    return fail(Errc::invalid_argument, fmt::format("quota: role {} is nested; only top-level roles have quota", role));
  }
  for (const auto* amounts : {&quota.guarantees, &quota.limits}) {
    for (const auto& [name, value] : *amounts) {
      if (name.empty() || !std::isfinite(value) || value < 0) {
        return fail(Errc::invalid_argument, fmt::format("quota of role {}: {}:{} is invalid", role, name, value));
      }
    }
  }
  for (const auto& [name, guarantee] : quota.guarantees) {
    auto limit = quota.limits.find(name);
    if (limit != quota.limits.end() && to_milli(guarantee) > to_milli(limit->second)) {
      return fail(Errc::invalid_argument, fmt::format("quota of role {}: guarantee {}:{} exceeds its limit {}", role,
                                                      name, guarantee, limit->second));
    }
  }
  Role& r = roles_[intern_role(role)];
  quota_roles_ += (quota.empty() ? 0 : 1) - (r.quota.empty() ? 0 : 1);
  r.quota = quota;
  r.guarantees = Quantities{};
  r.limits.clear();
  for (const auto& [name, value] : quota.guarantees) r.guarantees.set(names_.index(name), to_milli(value));
  r.guarantees_met = unsatisfied(r).empty();
  for (const auto& [name, value] : quota.limits) r.limits.emplace_back(names_.index(name), to_milli(value));
  mark_all_dirty();
  return {};
}

std::map<std::string, Quota> HierarchicalAllocator::quotas() const {
  std::map<std::string, Quota> out;
  for (const Role& role : roles_) {
    if (!role.quota.empty()) out.emplace(role.name, role.quota);
  }
  return out;
}

std::vector<RoleInfo> HierarchicalAllocator::roles() const {
  std::map<Index, std::vector<FrameworkId>> frameworks;
  for (const Framework& framework : frameworks_) {
    if (!framework.present) continue;
    for (const Tracked& t : framework.tracked) frameworks[t.role].push_back(framework.id);
  }
  std::map<std::string, RoleInfo> out;
  for (Index index = 0; index < roles_.size(); ++index) {
    const Role& role = roles_[index];
    if (role.tracked == 0 && !role.weight && role.quota.empty() && role.reserved.empty() &&
        role.unreserved_allocated.empty()) {
      continue;
    }
    RoleInfo info;
    info.name = role.name;
    info.weight = role.weight.value_or(1.0);
    info.quota = role.quota;
    if (role.client) info.allocated = to_resource_quantities(role_sorter_.allocation(*role.client), names_);
    info.reserved = to_resource_quantities(role.reserved, names_);
    if (role.parent == no_role) {
      info.consumed_quota = to_resource_quantities(role.reserved + role.unreserved_allocated, names_);
    }
    if (auto it = frameworks.find(index); it != frameworks.end()) {
      info.frameworks = it->second;
      std::sort(info.frameworks.begin(), info.frameworks.end());
    }
    out.emplace(role.name, std::move(info));
  }
  std::vector<RoleInfo> list;
  for (auto& [name, info] : out) list.push_back(std::move(info));
  return list;
}

std::unique_ptr<Allocator> make_drf_allocator(AllocatorOptions options) {
  return std::make_unique<HierarchicalAllocator>(std::move(options));
}

}  // namespace dcos
