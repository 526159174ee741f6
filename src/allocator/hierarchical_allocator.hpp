#pragma once
// Mesos's hierarchical DRF allocator as a pure core (docs/design/allocator.md). State lives in
// dense slots; totals, shares, each agent's free resources and each role's quota consumption are
// kept incrementally, and what a cycle reads about an agent (its holdings and decline filters) is
// stored with the agent. A cycle visits only agents whose offers could have changed, and a grant
// moves one client per level in the sorters instead of re-sorting.
//
// The API half is in hierarchical_allocator.cpp, the cycle in hierarchical_allocator_cycle.cpp.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/container/deque.hpp>
#include <boost/container/small_vector.hpp>

#include "allocator/resource_math.hpp"
#include "dcos/allocator/allocator.hpp"
#include "dcos/allocator/drf_sorter.hpp"
#include "dcos/allocator/quantities.hpp"

namespace dcos {

class HierarchicalAllocator final : public Allocator {
 public:
  explicit HierarchicalAllocator(AllocatorOptions options);

  void add_framework(const FrameworkId& id, std::vector<std::string> roles, bool active) override;
  void remove_framework(const FrameworkId& id) override;
  void activate_framework(const FrameworkId& id) override;
  void deactivate_framework(const FrameworkId& id) override;
  void update_framework(const FrameworkId& id, std::vector<std::string> roles, FrameworkOptions options) override;

  void add_agent(const AgentId& id, const Resources& total,
                 const std::vector<std::pair<FrameworkId, Resources>>& used) override;
  void remove_agent(const AgentId& id) override;
  void activate_agent(const AgentId& id) override;
  void deactivate_agent(const AgentId& id) override;
  void update_agent_total(const AgentId& id, const Resources& total) override;
  Result<void> update_allocation(const FrameworkId& framework, const AgentId& agent, const Resources& from,
                                 const Resources& to) override;

  void recover(const FrameworkId& framework, const AgentId& agent, const Resources& resources,
               std::optional<Duration> refuse_for, TimePoint now) override;
  void suppress(const FrameworkId& framework, const std::vector<std::string>& roles) override;
  void revive(const FrameworkId& framework, const std::vector<std::string>& roles) override;
  void request(const FrameworkId& framework, std::vector<ResourceRequest> requests) override;

  Result<void> update_weights(const std::map<std::string, double>& weights) override;
  Result<void> update_quota(const std::string& role, const Quota& quota) override;
  std::map<std::string, double> weights() const override { return weights_; }
  std::map<std::string, Quota> quotas() const override;
  std::vector<RoleInfo> roles() const override;

  void allocate(TimePoint now, std::vector<Grant>& grants) override;
  using Allocator::allocate;

 private:
  using Index = std::uint32_t;
  using Client = DrfSorter::Client;
  static constexpr Index no_role = UINT32_MAX;

  struct Tracked {
    Index role;
    Client client;  // In the role's framework sorter; see `Role::members`.
  };
  struct Framework {
    FrameworkId id;
    bool present = false;
    bool active = false;
    std::vector<Index> roles;       // Subscribed, in the order given.
    std::vector<Index> suppressed;  // Roles offered nothing until revived.
    std::vector<Tracked> tracked;   // Roles it is subscribed to or holds resources in.
    std::map<Index, std::vector<Requirement>> min_allocatable;  // Replaces the global minimum.
    std::vector<ResourceRequest> requests;
  };
  // A framework tracked in a role: what a cycle needs of it without touching the framework.
  // One line each (their vector is aligned to them).
  struct alignas(64) Member {
    Index framework;
    std::uint64_t epoch = 0;    // Decline filters of another epoch are stale (revived, removed).
    std::uint32_t agents = 0;   // Agents where it holds resources allocated to the role.
    bool own_minimum = false;   // Has its own minimum offer for the role.
    bool requesting = false;    // Has outstanding requests.
    // The framework's id, for its grants: read here, beside what the cycle has just read, a
    // grant touches no `Framework`.
    FrameworkId id;
  };
  // What a cycle reads of every role it visits comes first, then what a grant updates and what
  // quota reads. With hundreds of roles, each visited once per that many agents, every line a
  // visit touches is one more the caches must keep per role.
  struct Role {
    DrfSorter frameworks{DrfSorter::Paths::flat};
    std::vector<Member> members;  // By framework-sorter client.
    Index top;                    // The top-level ancestor (itself when top-level): where quota applies.
    Index parent;                 // `no_role` for a top-level role.
    bool guarantees_met = true;   // Consumed quota covers `guarantees` (kept by `add_to_roles`).
    std::optional<Client> client;  // In the role sorter, while frameworks are tracked.
    std::string name;
    std::vector<std::pair<std::size_t, Milli>> limits;
    Quantities unreserved_allocated;  // Unreserved scalars allocated to it and its subroles.
    Quantities reserved;              // Reservations for this role and its subroles.
    Quantities guarantees;
    int tracked = 0;
    std::optional<double> weight;  // As set by UPDATE_WEIGHTS.
    Quota quota;                   // Top-level roles only.
  };
  struct Holding {
    Index framework;
    Resources resources;  // Tagged with allocation roles.
  };
  using Holdings = boost::container::small_vector<Holding, 2>;
  struct Refusal {  // Refused resources, unallocated, with their scalar quantities counted once.
    Resources resources;
    Quantities all, unreserved;
  };
  struct Filter {  // Mesos's `RefusedOfferFilter` for (framework, role) on one agent.
    Index framework;
    Index role;
    std::uint64_t epoch;  // The `Member::epoch` it was made in.
    // Unallocated form; an offer within them is filtered. Shared by equal filters on the agent
    // (every framework that declined the same free resources), so k filters cost one copy:
    // points into a `Refusal`, which it keeps.
    std::shared_ptr<const Resources> refused;
    TimePoint until;
  };
  // Laid out for the cycle, which visits thousands of agents whose state has left the caches
  // since the declines before it: what every candidate is checked for first (line 0), then what a
  // grant reads and writes (lines 1 and 2, with three scalar names), the rest after.
  struct alignas(64) Agent {
    bool present = false;
    bool active = false;
    bool reserved = false;       // `total` holds reservations.
    bool overcommitted = false;  // Holdings exceed `total` (the total shrank under them).
    // `last_refused` covers `available`, known without comparing them: set when a filter is made
    // (the usual decline refuses what the agent has free), cleared by any change of either.
    bool available_refused = false;
    // `last_refused` equals `available` (and so covers it): set and cleared with
    // `available_refused`, and by a recovered `refused_grant`.
    bool available_equals_refused = false;
    Resources available;          // Unallocated form: `total` minus the holdings.
    std::vector<Filter> filters;  // Sorted by framework slot.
    // Bit `framework_bit(f)` is set for every framework `f` with a filter in `filters` (and may
    // be set for others): a cycle asks it before searching `filters`, which it then seldom reads.
    std::uint64_t filtered_frameworks = 0;
    std::shared_ptr<const Refusal> last_refused;  // Of the newest filter, to share with the next.
    // One per framework holding resources here; the usual one or two lie in the slot itself, so
    // a grant or a decline reads no block of its own for them.
    Holdings holdings;
    AgentId id;
    // The newest grant of all of `available` made while it equalled `*last_refused`: that copy
    // allocated to `refused_role`. A recovered value sharing its items is `*last_refused` tagged,
    // known without comparing them; when it all comes back to an agent with nothing else free,
    // it is released with the refusal's quantities, `available` becomes `*last_refused` itself
    // (shared, not copied) and the next grant of all of it takes these tagged items instead of
    // tagging its own, so declining what the last decline left free, every cycle, copies and
    // reads neither (docs/design/allocator.md, "Decline filters"). Dropped when `last_refused`
    // changes; empty if there is none.
    Resources refused_grant;
    Index refused_role = no_role;
    Quantities available_unreserved;
    Resources total;  // Unallocated form. Last: the cycle neither reads nor prefetches it.
  };
  struct Expiry {
    TimePoint until;
    Index agent;
    bool operator>(const Expiry& other) const { return until > other.until; }
  };
  enum class Stage { quota, fair };
  struct Pending {  // A grant's sorter update, applied once its agent is done.
    Index role;
    Client framework_client;
    Quantities quantities;
  };
  struct QuotaGrant {  // A stage-1 grant, for a fair-stage grant on the same agent to join.
    Index framework;
    Index role;
    Index agent;
    std::size_t grant;  // In `Cycle::grants`.
  };
  using GrantRange = std::pair<std::size_t, std::size_t>;  // [first, last) in `Cycle::quota_grants`.
  struct Cycle {
    TimePoint now;
    std::vector<Grant>& grants;  // The caller's, cleared.
    // `quota_grants_`, cleared. An agent's are made together, so they are adjacent.
    std::vector<QuotaGrant>& quota_grants;
    // By agent slot: `quota_grants_of_`.
    std::vector<GrantRange>& quota_grants_of;
    Quantities required_headroom;  // Unsatisfied guarantees of all roles, less stage-1 grants.
    std::vector<Pending> pending;
    bool widen = false;  // A change mid-cycle concerns every agent (a request was satisfied).
    Index quota_agent = UINT32_MAX;  // The agent stage 1 granted on last.
  };

  // Lookup and slots (hierarchical_allocator.cpp).
  Framework* find_framework(const FrameworkId& id, Index* index = nullptr);
  Agent* find_agent(const AgentId& id, Index* index = nullptr);
  Index intern_role(const std::string& name);
  Index new_framework(const FrameworkId& id, bool active);
  Quantities fair_totals() const;  // `totals_` without the excluded resources.

  // Framework membership in roles and sorters.
  Client track(Index framework, Index role);
  Member* member(Index framework, Index role);
  void untrack_if_idle(Index framework, Index role);
  void sync_activity(Index framework, Index role);
  void sync_activity(Index framework);
  void sync_members(Index framework);
  bool subscribed(const Framework& framework, Index role) const;
  void set_roles(Index framework, const std::vector<std::string>& roles);
  std::vector<Index> roles_named(const Framework& framework, const std::vector<std::string>& names) const;

  // Allocation bookkeeping.
  Holding* holding(Agent& agent, Index framework);
  static void drop_holding(Holdings& holdings, Index framework);
  void hold(Index framework, Index agent, const Resources& tagged);     // Sorters, quota, holdings.
  void release(Index framework, Index agent, const Resources& tagged);  // The reverse; `tagged` is gone.
  // `release` of one role's part, counted.
  void release_role(Index framework, Index agent, Index role, const Quantities& quantities,
                    const Quantities& unreserved);
  void give_back(Index agent, Resources tagged);                       // To the agent's free resources.
  void set_available(Agent& agent, Resources available);
  void recompute_available(Index agent);
  void track_reservations(const Resources& total, bool add);
  void add_to_roles(Index role, const Quantities& reserved, const Quantities& unreserved, bool add);
  void change_totals(const Resources& total, bool add);
  // `refused` in any allocation roles: the filter keeps them unallocated.
  void add_filter(Index framework, Index agent, Index role, const Resources& refused, TimePoint until,
                  TimePoint now);
  static std::uint64_t framework_bit(Index framework) { return std::uint64_t{1} << (framework % 64); }
  // Removes the filters `drop` picks from `agent`, keeping `filtered_frameworks` and the count.
  template <typename Pred>
  void erase_filters(Agent& agent, Pred drop);
  void expire_filters(TimePoint now);
  void rebuild_expiries();
  void mark_dirty(Index agent);
  void mark_all_dirty() { all_dirty_ = true; }
  bool quota_active() const { return quota_roles_ > 0; }

  // The cycle (hierarchical_allocator_cycle.cpp).
  // Fills `candidates_`.
  void take_candidates();
  bool eligible(Index agent) const;
  // Of the agents `order` lists, those a few places after `visiting` (a stage walks `order`).
  void prefetch_agent(const std::vector<Index>& order, std::size_t visiting) const;
  bool emptied_by_quota(Index agent) const {
    return agent < quota_state_.size() && quota_state_[agent] == QuotaState::emptied;
  }
  bool granted_by_quota(Index agent) const {
    return agent < quota_state_.size() && quota_state_[agent] != QuotaState::none;
  }
  void allocate_agent(Index agent, Stage stage, Cycle& cycle);
  void offer_to_role(Index agent, Index role, Stage stage, Cycle& cycle);
  Quantities unsatisfied(const Role& top) const;
  // The offer for `role` from `available` (its view of `agent`) in `stage`: `available` itself,
  // or `storage` when quota limits or headroom hold some back; null when stage 1 has nothing
  // towards the role's guarantees. `guarantee_part` gets the guaranteed quantities.
  const Resources* shape_offer(const Agent& agent, const Role& role, Stage stage, const Resources& available,
                               const Cycle& cycle, std::optional<Resources>& storage, Quantities& guarantee_part);
  bool filtered(const Agent& agent, const Member& member, Index role, const Resources& offer, TimePoint now) const;
  std::optional<std::size_t> matching_request(const Framework& framework, const Agent& agent,
                                               const Resources& offer) const;
  const std::vector<Requirement>& minimum_for(const Member& member, Index role) const;
  void grant(Index framework, Index role, Index agent, Client framework_client, Stage stage, const Resources& offer,
             Cycle& cycle);

  AllocatorOptions options_;
  std::vector<Requirement> min_allocatable_;
  ResourceNames names_;
  std::vector<bool> excluded_;  // By name index: left out of shares.
  std::vector<bool> non_scalar_;  // By name index: held as ranges or a set by some agent's total, ever.

  std::deque<Framework> frameworks_;
  std::vector<Index> free_frameworks_;
  std::unordered_map<FrameworkId, Index> framework_index_;
  // Slots never move, and 256 of them lie in one block (std::deque holds two per block). A cycle
  // walks agents in id order, which is slot order when ids sort in the order agents registered:
  // their state then streams in from memory, prefetched by the hardware, instead of coming one
  // scattered block at a time; in any order, neighbours share pages. `std::allocator` keeps
  // each slot cache-line aligned.
  using AgentSlots = boost::container::deque<Agent, std::allocator<Agent>,
                                             boost::container::deque_options_t<boost::container::block_size<256>>>;
  AgentSlots agents_;
  std::unordered_map<AgentId, Index> agent_index_;
  std::vector<Index> agent_order_;  // Every agent slot, by id: the order a cycle visits them in.
  std::vector<Index> candidates_;   // Of the current cycle; kept to reuse its storage.
  // A cycle's stage-1 grants and their ranges by agent slot, kept so that a steady cycle neither
  // allocates nor zeroes memory for them. A range means something only while its agent's
  // `quota_state_` is not `none`: stage 1 writes an agent's range afresh at its first grant there,
  // never reading what an earlier cycle left (memory a large cycle would wait for).
  std::vector<QuotaGrant> quota_grants_;
  std::vector<GrantRange> quota_grants_of_;
  // By agent slot, what stage 1 did there this cycle: nothing, grants, or grants that left the
  // agent with nothing free, which the fair stage's walk over every agent then passes without
  // reading (or prefetching) its slot. All `none` outside a cycle.
  enum class QuotaState : std::uint8_t { none, granted, emptied };
  std::vector<QuotaState> quota_state_;
  std::deque<Role> roles_;
  std::unordered_map<std::string, Index> role_index_;
  DrfSorter role_sorter_{DrfSorter::Paths::hierarchical};
  std::vector<Index> role_of_client_;

  std::map<std::string, double> weights_;
  int quota_roles_ = 0;
  Quantities totals_;                // Scalars of every agent's total.
  Quantities available_unreserved_;  // Headroom: free unreserved scalars of every agent.
  bool totals_changed_ = false;
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries_;
  std::size_t filter_count_ = 0;  // Live filters on all agents.
  std::vector<Index> dirty_agents_;
  // By agent slot: 1 while queued in `dirty_agents_`. Apart from the slots, so that a cycle
  // choosing among many dirty agents reads a byte each instead of each agent's state.
  std::vector<std::uint8_t> dirty_;
  bool all_dirty_ = false;
  std::uint64_t next_epoch_ = 1;
};

}  // namespace dcos
