#pragma once
// An in-memory replicated log for core tests: nodes with a `MemoryLogStorage`, a `Replica` and,
// when a test asks, a `Coordinator`, `Recovery` or `CatchUp`; one FIFO network that a test can
// filter (Mesos's DROP_PROTOBUFS). Each node carries out its cores' `Ready` as the real shell
// does: persist, then send. No clock, no threads: `run()` delivers until nothing moves, `tick()`
// drives retransmissions.

#include <catch2/catch.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dcos/replicated_log/catch_up.hpp"
#include "dcos/replicated_log/coordinator.hpp"
#include "dcos/replicated_log/recovery.hpp"
#include "dcos/replicated_log/replica.hpp"
#include "dcos/replicated_log/storage.hpp"

namespace dcos::replicated_log::testing {

inline std::vector<NodeId> nodes(std::initializer_list<std::uint32_t> ids) {
  std::vector<NodeId> out;
  for (std::uint32_t id : ids) out.push_back(NodeId{id});
  return out;
}

struct Node {
  NodeId id;
  MemoryLogStorage storage;
  std::unique_ptr<Replica> replica;
  std::unique_ptr<Coordinator> coordinator;
  std::unique_ptr<Recovery> recovery;
  std::unique_ptr<CatchUp> catch_up;
  std::vector<CoordinatorEvent> events;
  bool up = false;

  // (Re)creates the replica from what its storage holds, as a restarted process would.
  void start() {
    coordinator.reset();
    recovery.reset();
    catch_up.reset();
    replica = std::make_unique<Replica>(id, storage.recover().value(), storage);
    up = true;
  }
  void stop() {
    coordinator.reset();
    recovery.reset();
    catch_up.reset();
    replica.reset();
    up = false;
  }
};

class Harness {
 public:
  // `count` nodes 0..count-1. With `initialized`, each storage starts VOTING, as after
  // `mesos-log initialize`; replicas are not started until `start()`.
  explicit Harness(std::size_t count, bool initialized = true) {
    for (std::size_t i = 0; i < count; ++i) {
      auto node = std::make_unique<Node>();
      node->id = NodeId{static_cast<std::uint32_t>(i)};
      if (initialized) {
        WriteBatch batch;
        batch.metadata = Metadata{Status::voting, Proposal{}};
        (void)node->storage.write(batch);
      }
      nodes_.push_back(std::move(node));
    }
  }

  Node& node(std::uint32_t i) { return *nodes_.at(i); }
  Replica& replica(std::uint32_t i) { return *nodes_.at(i)->replica; }
  void start(std::uint32_t i) { node(i).start(); }
  void start_all() {
    for (auto& node : nodes_) node->start();
  }

  // A coordinator on node `i` talking to `network` with `quorum`. Each call is a new
  // incarnation with a fresh proposer id.
  Coordinator& coordinator(std::uint32_t i, std::vector<NodeId> network, std::size_t quorum) {
    CoordinatorConfig config;
    config.self = NodeId{i};
    config.proposer = next_proposer_++ * 16 + i;
    config.replicas = std::move(network);
    config.quorum = quorum;
    node(i).coordinator = std::make_unique<Coordinator>(config, replica(i));
    node(i).events.clear();
    return *node(i).coordinator;
  }

  Recovery& recovery(std::uint32_t i, std::vector<NodeId> network, std::size_t quorum, bool auto_initialize = true) {
    RecoveryConfig config;
    config.self = NodeId{i};
    config.proposer = next_proposer_++ * 16 + i;
    config.replicas = std::move(network);
    config.quorum = quorum;
    config.auto_initialize = auto_initialize;
    node(i).recovery = std::make_unique<Recovery>(config, replica(i));
    node(i).recovery->start();
    return *node(i).recovery;
  }

  CatchUp& catch_up(std::uint32_t i, std::vector<NodeId> network, std::size_t quorum, IntervalSet positions) {
    CatchUpConfig config;
    config.self = NodeId{i};
    config.proposer = next_proposer_++ * 16 + i;
    config.replicas = std::move(network);
    config.quorum = quorum;
    node(i).catch_up = std::make_unique<CatchUp>(config, replica(i), std::move(positions));
    node(i).catch_up->start();
    return *node(i).catch_up;
  }

  // Messages for which `drop` returns true are lost.
  std::function<bool(const Envelope&)> drop;
  std::size_t delivered = 0;

  // Delivers messages until none are left.
  void run() {
    for (;;) {
      flush();
      if (queue_.empty()) return;
      Envelope envelope = std::move(queue_.front());
      queue_.pop_front();
      if (drop && drop(envelope)) continue;
      deliver(envelope);
    }
  }

  // `count` times: tick every core, then `run()`.
  void tick(int count = 1) {
    for (int i = 0; i < count; ++i) {
      for (auto& node : nodes_) {
        if (!node->up) continue;
        if (node->coordinator) node->coordinator->tick();
        if (node->recovery) node->recovery->tick();
        if (node->catch_up) node->catch_up->tick();
      }
      run();
    }
  }

  // Mesos `Coordinator::elect()`: the index once elected, nullopt if the election was lost.
  // Gives up (and returns nullopt) after `ticks` ticks without an outcome.
  std::optional<Position> elect(std::uint32_t i, int ticks = 20) {
    Node& n = node(i);
    n.events.clear();
    if (!n.coordinator->elect()) return std::nullopt;
    for (int t = 0;; ++t) {
      run();
      for (const CoordinatorEvent& e : n.events) {
        if (e.type == CoordinatorEvent::Type::elected) return e.position;
        if (e.type == CoordinatorEvent::Type::election_lost) return std::nullopt;
      }
      if (t == ticks) return std::nullopt;
      tick();
    }
  }

  // Mesos `Coordinator::append()`: the position once committed, nullopt when demoted (or no
  // outcome after `ticks` ticks).
  std::optional<Position> append(std::uint32_t i, std::string bytes, int ticks = 20) {
    Node& n = node(i);
    n.events.clear();
    auto position = n.coordinator->append(std::move(bytes));
    if (!position) return std::nullopt;
    return await_write(n, *position, ticks);
  }

  std::optional<Position> truncate(std::uint32_t i, Position to, int ticks = 20) {
    Node& n = node(i);
    n.events.clear();
    auto position = n.coordinator->truncate(to);
    if (!position) return std::nullopt;
    return await_write(n, *position, ticks);
  }

  // Every node's `learned_end`-bounded reads agree: a cheap cross-check for tests.
  std::vector<std::string> appended(std::uint32_t i, Position from, Position to) {
    std::vector<std::string> out;
    auto actions = replica(i).read(from, to);
    if (!actions) return out;
    for (const Action& action : *actions) {
      if (action.type == ActionType::append) out.push_back(action.bytes);
    }
    return out;
  }

 private:
  std::optional<Position> await_write(Node& n, Position position, int ticks) {
    for (int t = 0;; ++t) {
      run();
      for (const CoordinatorEvent& e : n.events) {
        if (e.type == CoordinatorEvent::Type::committed && e.position == position) return position;
        if (e.type == CoordinatorEvent::Type::write_failed && e.position == position) return std::nullopt;
      }
      if (t == ticks) return std::nullopt;
      tick();
    }
  }

  void flush() {
    for (auto& node : nodes_) {
      if (!node->up) continue;
      // Cores first (they may hand the replica actions to persist), the replica last.
      if (node->coordinator) {
        const CoordinatorReady& ready = node->coordinator->ready();
        for (const Envelope& out : ready.messages) queue_.push_back(out);
        for (const CoordinatorEvent& e : ready.events) node->events.push_back(e);
        node->coordinator->advance();
      }
      if (node->recovery) {
        for (const Envelope& out : node->recovery->ready().messages) queue_.push_back(out);
        node->recovery->advance();
      }
      if (node->catch_up) {
        for (const Envelope& out : node->catch_up->ready().messages) queue_.push_back(out);
        node->catch_up->advance();
      }
      const Ready& ready = node->replica->ready();
      if (!ready.empty()) {
        REQUIRE_FALSE(!node->storage.write(ready));
        for (const Envelope& out : ready.messages) queue_.push_back(out);
        node->replica->advance();
      }
    }
  }

  void deliver(const Envelope& envelope) {
    if (envelope.to.node.value >= nodes_.size()) return;
    Node& n = *nodes_[envelope.to.node.value];
    if (!n.up) return;
    ++delivered;
    switch (envelope.to.port) {
      case Port::replica:
        n.replica->step(envelope);
        break;
      case Port::coordinator:
        if (n.coordinator) n.coordinator->step(envelope);
        break;
      case Port::recovery:
        if (n.recovery) n.recovery->step(envelope);
        break;
      case Port::catch_up:
        if (n.recovery) n.recovery->step(envelope);
        if (n.catch_up) n.catch_up->step(envelope);
        break;
    }
  }

  std::vector<std::unique_ptr<Node>> nodes_;
  std::deque<Envelope> queue_;
  std::uint64_t next_proposer_ = 1;
};

// Filters for `Harness::drop`.
template <typename T>
bool is(const Envelope& envelope) {
  return std::holds_alternative<T>(envelope.message);
}

}  // namespace dcos::replicated_log::testing
