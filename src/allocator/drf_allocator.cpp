// A simple, correct hierarchical-DRF-shaped allocator: frameworks sorted by dominant share
// (Ghodsi et al., "Dominant Resource Fairness", NSDI 2011), each agent's free resources offered
// whole to the lowest-share eligible framework, decline filters honoured.
#include <algorithm>
#include <map>
#include <set>

#include "dcos/allocator/allocator.hpp"

namespace dcos {
namespace {

struct FrameworkEntry {
  std::vector<std::string> roles;
  bool active = true;
  std::set<std::string> suppressed;
  Resources allocated;  // Across all agents.
  struct Filter {
    Resources resources;
    TimePoint until;
  };
  std::map<AgentId, std::vector<Filter>> filters;
};

struct AgentEntry {
  Resources total;
  bool active = true;
  std::map<FrameworkId, Resources> allocated;

  Resources available() const {
    Resources used;
    for (const auto& [framework, resources] : allocated) used += resources.unallocated();
    return total.contains(used) ? total - used : Resources{};
  }
};

class DrfAllocator final : public Allocator {
 public:
  explicit DrfAllocator(AllocatorOptions options) : options_(std::move(options)) {}

  void add_framework(const FrameworkId& id, std::vector<std::string> roles, bool active) override {
    auto& f = frameworks_[id];
    f.roles = std::move(roles);
    f.active = active;
  }
  void remove_framework(const FrameworkId& id) override {
    auto it = frameworks_.find(id);
    if (it == frameworks_.end()) return;
    for (auto& [agent_id, agent] : agents_) agent.allocated.erase(id);
    frameworks_.erase(it);
  }
  void activate_framework(const FrameworkId& id) override { set_active(frameworks_, id, true); }
  void deactivate_framework(const FrameworkId& id) override { set_active(frameworks_, id, false); }

  void add_agent(const AgentId& id, const Resources& total,
                 const std::vector<std::pair<FrameworkId, Resources>>& used) override {
    auto& agent = agents_[id];
    agent.total = total.unallocated();
    agent.active = true;
    agent.allocated.clear();
    for (const auto& [framework, resources] : used) {
      agent.allocated[framework] += resources;
      if (auto f = frameworks_.find(framework); f != frameworks_.end()) f->second.allocated += resources.unallocated();
    }
  }
  void remove_agent(const AgentId& id) override {
    auto it = agents_.find(id);
    if (it == agents_.end()) return;
    for (const auto& [framework, resources] : it->second.allocated) {
      if (auto f = frameworks_.find(framework); f != frameworks_.end()) {
        subtract_clamped(f->second.allocated, resources.unallocated());
        f->second.filters.erase(id);
      }
    }
    agents_.erase(it);
  }
  void activate_agent(const AgentId& id) override { set_active(agents_, id, true); }
  void deactivate_agent(const AgentId& id) override { set_active(agents_, id, false); }

  void recover(const FrameworkId& framework, const AgentId& agent_id, const Resources& resources,
               std::optional<Duration> refuse_for, TimePoint now) override {
    auto agent = agents_.find(agent_id);
    if (agent != agents_.end()) {
      auto& held = agent->second.allocated[framework];
      subtract_clamped(held, resources);
      if (held.empty()) agent->second.allocated.erase(framework);
    }
    auto f = frameworks_.find(framework);
    if (f == frameworks_.end()) return;
    subtract_clamped(f->second.allocated, resources.unallocated());
    if (refuse_for && *refuse_for > Duration::zero() && !resources.empty()) {
      f->second.filters[agent_id].push_back({resources.unallocated(), now + *refuse_for});
    }
  }

  void suppress(const FrameworkId& framework, const std::vector<std::string>& roles) override {
    auto f = frameworks_.find(framework);
    if (f == frameworks_.end()) return;
    for (const auto& role : roles.empty() ? f->second.roles : roles) f->second.suppressed.insert(role);
  }
  void revive(const FrameworkId& framework, const std::vector<std::string>& roles) override {
    auto f = frameworks_.find(framework);
    if (f == frameworks_.end()) return;
    for (const auto& role : roles.empty() ? f->second.roles : roles) f->second.suppressed.erase(role);
    f->second.filters.clear();
  }

  std::vector<Grant> allocate(TimePoint now) override {
    std::vector<Grant> grants;
    Resources cluster_total;
    for (const auto& [id, agent] : agents_) cluster_total += agent.total;
    const auto totals = cluster_total.scalars();
    for (auto& [agent_id, agent] : agents_) {
      if (!agent.active) continue;
      const Resources available = agent.available();
      if (!allocatable(available)) continue;
      bool granted = false;
      for (const FrameworkId& framework_id : sorted_frameworks(totals)) {
        auto& framework = frameworks_[framework_id];
        if (!framework.active) continue;
        // A multi-role framework is offered as the first of its unsuppressed roles that can
        // use this agent (its reservations count only for their own role).
        for (const std::string& role : framework.roles) {
          if (framework.suppressed.contains(role)) continue;
          Resources offer = available.allocatable_to(role);
          if (!allocatable(offer) || filtered(framework, agent_id, offer, now)) continue;
          offer = offer.allocated_to(role);
          agent.allocated[framework_id] += offer;
          framework.allocated += offer.unallocated();
          grants.push_back(Grant{framework_id, agent_id, role, std::move(offer)});
          granted = true;
          break;
        }
        if (granted) break;
      }
    }
    return grants;
  }

 private:
  template <typename Map, typename Key>
  static void set_active(Map& map, const Key& id, bool active) {
    if (auto it = map.find(id); it != map.end()) it->second.active = active;
  }

  // Bookkeeping may be asked to release what an agent re-registration already reset.
  static void subtract_clamped(Resources& from, const Resources& what) {
    for (const Resource& r : what) {
      Resources one{r};
      if (from.contains(one)) {
        from -= one;
      } else if (r.type == ValueType::scalar) {
        Resource rest = r;
        rest.scalar = 0;
        for (const Resource& mine : from) {
          if (mine.addable(r)) rest.scalar = mine.scalar;
        }
        from -= Resources{rest};
      }
    }
  }

  bool allocatable(const Resources& resources) const {
    if (resources.scalar("cpus") <= 0 && resources.scalar("mem") <= 0) return false;
    // Quantities only: reserved resources count like unreserved ones (as in Mesos).
    Resources quantities;
    for (Resource r : resources) {
      r.role = "*";
      r.allocation_role.reset();
      quantities += r;
    }
    return std::any_of(options_.min_allocatable.begin(), options_.min_allocatable.end(),
                       [&](const Resources& min) { return quantities.contains(min); });
  }

  static bool filtered(FrameworkEntry& framework, const AgentId& agent, const Resources& offer, TimePoint now) {
    auto it = framework.filters.find(agent);
    if (it == framework.filters.end()) return false;
    auto& filters = it->second;
    std::erase_if(filters, [&](const FrameworkEntry::Filter& f) { return f.until <= now; });
    const Resources plain = offer.unallocated();
    return std::any_of(filters.begin(), filters.end(), [&](const auto& f) { return f.resources.contains(plain); });
  }

  // Lowest dominant share first; ties by id so equal inputs give equal outputs.
  std::vector<FrameworkId> sorted_frameworks(const std::map<std::string, double>& totals) const {
    std::vector<std::pair<double, FrameworkId>> order;
    for (const auto& [id, framework] : frameworks_) {
      double share = 0;
      for (const auto& [name, used] : framework.allocated.scalars()) {
        auto total = totals.find(name);
        if (total != totals.end() && total->second > 0) share = std::max(share, used / total->second);
      }
      order.emplace_back(share, id);
    }
    std::sort(order.begin(), order.end());
    std::vector<FrameworkId> ids;
    for (auto& [share, id] : order) ids.push_back(std::move(id));
    return ids;
  }

  AllocatorOptions options_;
  std::map<FrameworkId, FrameworkEntry> frameworks_;
  std::map<AgentId, AgentEntry> agents_;
};

}  // namespace

std::unique_ptr<Allocator> make_drf_allocator(AllocatorOptions options) {
  return std::make_unique<DrfAllocator>(std::move(options));
}

}  // namespace dcos
