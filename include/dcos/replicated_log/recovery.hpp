#pragma once
// Recovery: how a replica that is not VOTING (brand new, wiped, or interrupted mid catch-up)
// becomes VOTING again (Mesos `src/log/recover.cpp`).
//
// Each round broadcasts a `RecoverRequest` and counts the answers, the local status included:
//   - a quorum of other replicas VOTING: persist RECOVERING (so a crash from here on can never
//     auto-initialise), adopt the highest promise they report, catch up every position from
//     the lowest `begin` to the highest `end` they report, then persist VOTING. Nothing beyond
//     that `end` can have been chosen (a quorum would show it) and nothing before that `begin`
//     is readable any more;
//   - auto-initialisation, phase 1: we are EMPTY and *all* replicas are EMPTY or STARTING:
//     persist STARTING and run another round;
//   - phase 2: we are STARTING and all replicas are STARTING or VOTING: persist VOTING. The two
//     phases keep one fast replica from becoming VOTING alone while the others are still EMPTY,
//     which would leave no quorum able to form (Mesos `RecoverProtocolProcess`);
//   - otherwise wait for more answers; after `retry_ticks` without a decision, run a new round.
//
// Pure core; the owner routes `Port::recovery` and `Port::catch_up` messages here, carries out
// `ready()` and the local replica's `ready()`, calls `advance()` and ticks it.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "dcos/replicated_log/catch_up.hpp"
#include "dcos/replicated_log/messages.hpp"

namespace spdlog {
class logger;
}

namespace dcos::replicated_log {

class Replica;

struct RecoveryConfig {
  NodeId self;
  std::uint64_t proposer = 0;    // Unique per incarnation: names requests and catch-up proposals.
  std::vector<NodeId> replicas;  // Every replica, the local one included.
  std::size_t quorum = 0;
  bool auto_initialize = true;
  std::uint64_t retry_ticks = 4;
  CatchUpConfig catch_up;        // `self`, `proposer`, `replicas` and `quorum` are filled in.
};

struct RecoveryReady {
  std::vector<Envelope> messages;
  bool empty() const { return messages.empty(); }
};

class Recovery {
 public:
  Recovery(RecoveryConfig config, Replica& local);
  ~Recovery();
  Recovery(const Recovery&) = delete;
  Recovery& operator=(const Recovery&) = delete;

  void start();
  void step(const Envelope& in);
  void tick();
  // The local replica is VOTING (its `ready()` may still hold the status to persist).
  bool done() const;
  // Catching up: the positions still to learn.
  const CatchUp* catch_up() const { return catch_up_.get(); }

  const RecoveryReady& ready() const { return ready_; }
  void advance() { ready_ = RecoveryReady{}; }

 private:
  void broadcast();
  void on_response(NodeId from, const RecoverResponse& response);
  void decide();
  void finish_catch_up_if_done();

  RecoveryConfig config_;
  Replica& local_;
  std::uint64_t nonce_ = 0;
  std::uint64_t rounds_ = 0;
  std::map<NodeId, RecoverResponse> responses_;
  std::uint64_t ticks_ = 0;
  std::uint64_t round_tick_ = 0;
  std::unique_ptr<CatchUp> catch_up_;
  bool started_ = false;
  RecoveryReady ready_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace dcos::replicated_log
