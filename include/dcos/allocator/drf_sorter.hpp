#pragma once
// Dominant resource fairness ordering (Ghodsi et al., "Dominant Resource Fairness", NSDI 2011)
// over a tree of clients, after Mesos's `DRFSorter`. A client's share is the largest fraction it
// holds of any resource in the cluster total, divided by its weight. With hierarchical paths
// ("eng/web") siblings are ordered by the share of their whole subtree, and a client that also
// has children ("eng" beside "eng/web") competes with them as the virtual leaf "eng/.", exactly
// as in Mesos. Ties go to fewer allocations so far, then to the lower path.
//
// Bookkeeping is incremental: a grant or a recovery moves one client (and its ancestors) within
// its parent's ordered set, O(depth * log siblings); only a change of the totals re-sorts the tree,
// lazily, on the next `visit`. The ordered sets are intrusive red-black trees threaded through the
// nodes themselves, so a move or a visit reads one cache line per node it passes, not a tree node
// and then the client's node. Single-threaded, pure, deterministic.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/intrusive/set.hpp>

#include "dcos/allocator/quantities.hpp"

namespace dcos {

class DrfSorter {
 public:
  using Client = std::uint32_t;
  enum class Paths { flat, hierarchical };  // Whether '/' separates levels of the tree.

  explicit DrfSorter(Paths paths = Paths::flat);
  ~DrfSorter();
  DrfSorter(DrfSorter&&) noexcept;
  DrfSorter& operator=(DrfSorter&&) noexcept;

  // Adds an inactive client with nothing allocated. Requires: `path` is not a client yet.
  Client add(std::string_view path);
  // Removes a client; what it still holds leaves its ancestors' allocations.
  void remove(Client client);
  // Only active clients are visited.
  void activate(Client client);
  void deactivate(Client client);
  bool active(Client client) const;

  // Weight of the node at `path` (a client, or an inner node of the hierarchy); default 1.
  // Requires: `weight > 0`.
  void set_weight(std::string_view path, double weight);
  // The cluster totals shares are computed against; excluded resources are given as zero.
  void set_totals(const Quantities& totals);

  // `client` was granted (or gave back) `quantities`. A grant counts one allocation, unless
  // `count` is false: what it holds was only converted (a reservation made or dropped).
  void allocated(Client client, const Quantities& quantities, bool count = true);
  void unallocated(Client client, const Quantities& quantities);

  const Quantities& allocation(Client client) const;
  double share(Client client) const;  // Weighted dominant share, as of the last update.
  const std::string& path(Client client) const;
  std::size_t size() const { return clients_.size() - free_.size(); }
  std::size_t active_size() const;

  // Calls `visit(client)` for the active clients in DRF order until it returns false.
  // Requires: `visit` does not change this sorter (collect updates, apply them afterwards).
  template <typename Visit>
  void visit(Visit&& visit) {
    visit_impl(&visit, [](void* context, Client client) { return (*static_cast<Visit*>(context))(client); });
  }

 private:
  // A node of the client tree; its sort key, the links of its place in its parent's ordered set
  // and what a visit reads share its first cache line (drf_sorter.cpp).
  struct Node;
  struct Order {  // DRF order of siblings.
    bool operator()(const Node& a, const Node& b) const;
  };
  // The links of a node's place in its parent's ordered set: three words, the colour kept in a
  // pointer's low bit.
  using OrderLinks = boost::intrusive::set_base_hook<boost::intrusive::optimize_size<true>,
                                                     boost::intrusive::link_mode<boost::intrusive::normal_link>>;
  // Children with active leaves below them, in DRF order. Keys tie only for one node (ranks
  // differ), so a multiset inserts without a uniqueness check.
  using OrderSet = boost::intrusive::multiset<Node, boost::intrusive::base_hook<OrderLinks>,
                                              boost::intrusive::compare<Order>,
                                              boost::intrusive::constant_time_size<false>>;
  using Callback = bool (*)(void*, Client);

  void visit_impl(void* context, Callback callback);
  Node* node(Client client) const;
  Node* find_child(Node* parent, std::string_view name) const;
  Node* make_child(Node* parent, std::string name, bool leaf);
  Node* adopt(Node* parent, std::unique_ptr<Node> child);  // Keeps children by name, ranks in step.
  void disown(Node* parent, const Node* child);            // Destroys `child`.
  template <typename Change>
  void rekey(Node* node, Change&& change);  // `change` may alter the sort key of `node`.
  void add_active_leaves(Node* from, long delta);  // Membership of ordered sets follows.
  void refresh();                                // Re-sorts everything after new totals.
  double compute_share(const Node* node) const;
  double weight_of(std::string_view path) const;
  OrderSet& order_of(Node* node);  // `root_order_` for the root.

  // What a visit and a grant read come first, together: a caller keeping a sorter per role
  // reads the first two lines of each one it visits, not its whole span.
  std::unique_ptr<Node> root_;
  // The root's ordered set, kept here rather than in the root: every visit and every grant to a
  // top-level client reads it, and a caller with a sorter per role then reads it in the same
  // line as the rest.
  OrderSet root_order_;
  std::vector<Node*> clients_;  // By `Client`; null when free.
  bool dirty_ = false;          // Totals changed: shares and order are stale until `refresh`.
  Paths paths_;
  Quantities totals_;
  std::vector<Client> free_;
  std::map<std::string, double, std::less<>> weights_;
};

}  // namespace dcos
