#include "dcos/allocator/drf_sorter.hpp"

#include <algorithm>

#include "dcos/common/result.hpp"

namespace dcos {

// A node of the client tree. Leaves are clients; inner nodes exist for hierarchical paths. Each
// inner node keeps the children that have active leaves below them in `order`, sorted by DRF,
// so a visit walks only what can be offered and a grant moves one node per level.
//
// Laid out for the cycle: a grant's move compares keys along a path of siblings, and a visit
// reads each sibling's `leaf` and `client`; both find all they read in line 0 (the links, then
// the key). Line 1 holds what a grant updates besides the key: the weight, and the allocation's
// header and first four amounts.
struct alignas(64) DrfSorter::Node : OrderLinks {
  double share = 0;         // Weighted dominant share; the sort key.
  std::uint64_t count = 0;  // Grants made to the subtree (Mesos's `allocation.count`).
  std::uint64_t rank = 0;   // Place among its siblings by name: the path order, without strings.
  Node* parent = nullptr;
  Client client = 0;          // Leaves only.
  bool leaf = true;
  bool virtual_leaf = false;  // "eng/.": the client "eng" beside its children.
  bool active = false;        // Leaves only.
  bool ordered = false;       // Linked into `parent->order`.
  double weight = 1;
  Quantities allocation;   // Of the whole subtree.
  long active_leaves = 0;  // Active clients in the subtree (a leaf: 0 or 1).
  std::string name;        // Last path component, or "." for a virtual leaf.
  std::string path;        // Full path ("eng/web", "eng/.").
  std::vector<std::unique_ptr<Node>> children;  // Sorted by name; `rank` is the index.
  OrderSet order;  // Inner nodes but the root (see `root_order_`).
};

bool DrfSorter::Order::operator()(const Node& a, const Node& b) const {
  if (a.share != b.share) return a.share < b.share;
  if (a.count != b.count) return a.count < b.count;
  // Siblings share their path up to their names, so name order is path order (Mesos's tie-break).
  return a.rank < b.rank;
}

namespace {

// Sets `rank` of the children from `first` on to their index. Linked ones keep their order:
// their ranks all move by the same step.
template <typename Children, typename Iterator>
void renumber(Children& children, Iterator first) {
  for (auto it = first; it != children.end(); ++it) (*it)->rank = static_cast<std::uint64_t>(it - children.begin());
}

}  // namespace

DrfSorter::DrfSorter(Paths paths) : root_(std::make_unique<Node>()), paths_(paths) { root_->leaf = false; }
DrfSorter::~DrfSorter() = default;
DrfSorter::DrfSorter(DrfSorter&&) noexcept = default;
DrfSorter& DrfSorter::operator=(DrfSorter&&) noexcept = default;

DrfSorter::OrderSet& DrfSorter::order_of(Node* node) { return node == root_.get() ? root_order_ : node->order; }

DrfSorter::Node* DrfSorter::node(Client client) const {
  DCOS_ASSERT(client < clients_.size() && clients_[client] != nullptr);
  return clients_[client];
}

DrfSorter::Node* DrfSorter::find_child(Node* parent, std::string_view name) const {
  auto it = std::lower_bound(parent->children.begin(), parent->children.end(), name,
                             [](const std::unique_ptr<Node>& child, std::string_view n) { return child->name < n; });
  return it != parent->children.end() && (*it)->name == name ? it->get() : nullptr;
}

DrfSorter::Node* DrfSorter::adopt(Node* parent, std::unique_ptr<Node> child) {
  auto it = std::lower_bound(parent->children.begin(), parent->children.end(), child->name,
                             [](const std::unique_ptr<Node>& c, const std::string& n) { return c->name < n; });
  it = parent->children.insert(it, std::move(child));
  // Ranks of later siblings move up by one: their order among themselves (and so in any ordered
  // set) is unchanged.
  renumber(parent->children, it);
  return it->get();
}

void DrfSorter::disown(Node* parent, const Node* child) {
  auto it = std::find_if(parent->children.begin(), parent->children.end(),
                         [&](const std::unique_ptr<Node>& c) { return c.get() == child; });
  DCOS_ASSERT(it != parent->children.end());
  it = parent->children.erase(it);
  renumber(parent->children, it);
}

double DrfSorter::weight_of(std::string_view path) const {
  auto it = weights_.find(path);
  return it == weights_.end() ? 1.0 : it->second;
}

DrfSorter::Node* DrfSorter::make_child(Node* parent, std::string name, bool leaf) {
  auto child = std::make_unique<Node>();
  child->path = parent == root_.get() ? name : parent->path + "/" + name;
  child->name = std::move(name);
  child->parent = parent;
  child->leaf = leaf;
  child->weight = weight_of(child->path);
  return adopt(parent, std::move(child));
}

double DrfSorter::compute_share(const Node* node) const {
  // Mesos's `calculateShare`: the dominant fraction over the scalars with a positive total.
  double share = 0;
  for (std::size_t i = 0; i < totals_.size(); ++i) {
    const Milli total = totals_.get(i);
    if (total <= 0) continue;
    share = std::max(share, static_cast<double>(node->allocation.get(i)) / static_cast<double>(total));
  }
  return share / node->weight;
}

// Changes to a node's sort key happen only while it is out of its parent's ordered set.
template <typename Change>
void DrfSorter::rekey(Node* node, Change&& change) {
  if (!node->ordered) {
    change();
    return;
  }
  auto& order = order_of(node->parent);
  order.erase(order.iterator_to(*node));
  change();
  order.insert(*node);
}

void DrfSorter::add_active_leaves(Node* from, long delta) {
  for (Node* current = from; current != root_.get(); current = current->parent) {
    const long before = current->active_leaves;
    current->active_leaves += delta;
    DCOS_ASSERT(current->active_leaves >= 0);
    if (before == 0 && current->active_leaves > 0) {
      order_of(current->parent).insert(*current);
      current->ordered = true;
    } else if (before > 0 && current->active_leaves == 0) {
      OrderSet& order = order_of(current->parent);
      order.erase(order.iterator_to(*current));
      current->ordered = false;
    }
  }
  root_->active_leaves += delta;
}

DrfSorter::Client DrfSorter::add(std::string_view path) {
  std::vector<std::string_view> tokens;
  if (paths_ == Paths::hierarchical) {
    std::size_t start = 0;
    for (std::size_t slash; (slash = path.find('/', start)) != std::string_view::npos; start = slash + 1) {
      tokens.push_back(path.substr(start, slash - start));
    }
    tokens.push_back(path.substr(start));
  } else {
    tokens.push_back(path);
  }

  // Walk down as far as the tree goes (Mesos's `DRFSorter::add`, phase 1). A client met on the
  // way becomes an inner node, and moves to its virtual leaf "." with what it holds.
  Node* current = root_.get();
  std::size_t i = 0;
  for (; i < tokens.size(); ++i) {
    if (current != root_.get() && current->leaf) {
      auto dot = std::make_unique<Node>();
      dot->name.push_back('.');  // Not `= "."`: GCC 12 warns (-Wstringop-overflow) on that assign.
      dot->path = current->path + "/.";
      dot->parent = current;
      dot->virtual_leaf = true;
      dot->client = current->client;
      dot->allocation = current->allocation;
      dot->count = current->count;
      dot->weight = weight_of(dot->path);
      dot->share = compute_share(dot.get());
      dot->active_leaves = current->active ? 1 : 0;
      dot->active = current->active;
      current->leaf = false;
      current->active = false;
      Node* placed = adopt(current, std::move(dot));
      clients_[placed->client] = placed;
      if (placed->active_leaves > 0) {
        current->order.insert(*placed);
        placed->ordered = true;
      }
    }
    Node* child = find_child(current, tokens[i]);
    if (child == nullptr) break;
    current = child;
  }
  Node* leaf = nullptr;
  if (i == tokens.size()) {
    DCOS_ASSERT(!current->leaf && current != root_.get());  // Else `path` is a client already.
    DCOS_ASSERT(find_child(current, ".") == nullptr);
    leaf = make_child(current, ".", true);
    leaf->virtual_leaf = true;
  } else {
    for (; i < tokens.size(); ++i) current = make_child(current, std::string(tokens[i]), i + 1 == tokens.size());
    leaf = current;
  }

  Client client;
  if (!free_.empty()) {
    client = free_.back();
    free_.pop_back();
  } else {
    client = static_cast<Client>(clients_.size());
    clients_.push_back(nullptr);
  }
  clients_[client] = leaf;
  leaf->client = client;
  return client;
}

void DrfSorter::remove(Client client) {
  Node* leaf = node(client);
  deactivate(client);
  if (!leaf->allocation.empty()) unallocated(client, Quantities(leaf->allocation));
  clients_[client] = nullptr;
  free_.push_back(client);

  // Remove the leaf, then inner nodes left empty; an inner node left with only its virtual
  // leaf turns back into that client's leaf.
  Node* current = leaf->parent;
  disown(current, leaf);
  while (current != root_.get()) {
    Node* parent = current->parent;
    if (current->children.empty()) {
      DCOS_ASSERT(!current->ordered);
      disown(parent, current);
      current = parent;
      continue;
    }
    if (current->children.size() == 1 && current->children.front()->virtual_leaf) {
      Node* dot = current->children.front().get();
      current->leaf = true;
      current->active = dot->active;
      current->client = dot->client;
      clients_[dot->client] = current;
      current->order.clear();
      current->children.clear();
    }
    break;
  }
}

void DrfSorter::activate(Client client) {
  Node* leaf = node(client);
  if (leaf->active) return;
  leaf->active = true;
  add_active_leaves(leaf, +1);
}

void DrfSorter::deactivate(Client client) {
  Node* leaf = node(client);
  if (!leaf->active) return;
  leaf->active = false;
  add_active_leaves(leaf, -1);
}

bool DrfSorter::active(Client client) const { return node(client)->active; }

std::size_t DrfSorter::active_size() const { return static_cast<std::size_t>(root_->active_leaves); }

void DrfSorter::set_weight(std::string_view path, double weight) {
  DCOS_ASSERT(weight > 0);
  weights_.insert_or_assign(std::string(path), weight);
  // Find the node at `path`; for a client with children that is the inner node (Mesos's
  // `updateWeight`), so the weight applies to the whole subtree.
  Node* current = root_.get();
  std::size_t start = 0;
  while (current != nullptr) {
    const std::size_t slash = paths_ == Paths::hierarchical ? path.find('/', start) : std::string_view::npos;
    current = find_child(current, path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (current == nullptr) return;
  rekey(current, [&] {
    current->weight = weight;
    current->share = compute_share(current);
  });
}

void DrfSorter::set_totals(const Quantities& totals) {
  if (totals == totals_ && totals.size() == totals_.size()) return;
  totals_ = totals;
  dirty_ = true;
}

void DrfSorter::allocated(Client client, const Quantities& quantities, bool count) {
  for (Node* current = node(client); current != root_.get(); current = current->parent) {
    rekey(current, [&] {
      current->allocation += quantities;
      if (count) ++current->count;
      current->share = compute_share(current);
    });
  }
  root_->allocation += quantities;
}

void DrfSorter::unallocated(Client client, const Quantities& quantities) {
  for (Node* current = node(client); current != root_.get(); current = current->parent) {
    rekey(current, [&] {
      current->allocation -= quantities;
      current->share = compute_share(current);
    });
  }
  root_->allocation -= quantities;
}

const Quantities& DrfSorter::allocation(Client client) const { return node(client)->allocation; }

double DrfSorter::share(Client client) const { return compute_share(node(client)); }

const std::string& DrfSorter::path(Client client) const {
  const Node* leaf = node(client);
  return leaf->virtual_leaf ? leaf->parent->path : leaf->path;
}

void DrfSorter::refresh() {
  // New totals change every share: recompute them and rebuild each ordered set (Mesos re-sorts
  // the whole tree on its `dirty` flag in the same way).
  auto rebuild = [&](auto& self, Node* node) -> void {
    OrderSet& order = order_of(node);
    order.clear();
    for (const auto& child : node->children) {
      child->share = compute_share(child.get());
      child->ordered = false;
      if (!child->leaf) self(self, child.get());
    }
    for (const auto& child : node->children) {
      if (child->active_leaves == 0) continue;
      order.insert(*child);
      child->ordered = true;
    }
  };
  rebuild(rebuild, root_.get());
  dirty_ = false;
}

void DrfSorter::visit_impl(void* context, Callback callback) {
  if (dirty_) refresh();
  auto walk = [&](auto& self, const OrderSet& order) -> bool {
    for (const Node& child : order) {
      if (child.leaf ? !callback(context, child.client) : !self(self, child.order)) return false;
    }
    return true;
  };
  walk(walk, root_order_);
}

}  // namespace dcos
