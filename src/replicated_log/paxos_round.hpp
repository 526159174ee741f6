#pragma once
// One Paxos instance for one position under one proposal (Lamport, "Paxos Made Simple" §2.2),
// shared by the coordinator (holes and appends) and catch-up. Pure bookkeeping: the owner
// sends `request()` to every replica, feeds the responses back and acts on `phase()`.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "dcos/replicated_log/messages.hpp"

namespace dcos::replicated_log::detail {

class PaxosRound {
 public:
  enum class Phase { promising, writing, chosen, rejected };

  // Phase 1 (explicit promise for `position`), then phase 2 with the highest-numbered value a
  // quorum reports, or a NOP when none reports one. A learned value reported by anyone ends
  // the round at once: it is chosen already.
  static PaxosRound fill(Position position, Proposal proposal, std::size_t quorum);
  // Phase 2 only: the proposer's implicit promise covers `value.position`.
  static PaxosRound write(Action value, Proposal proposal, std::size_t quorum);

  Phase phase() const { return phase_; }
  Position position() const { return value_.position; }
  Proposal proposal() const { return proposal_; }
  // The request of the current phase (promising or writing).
  Message request() const;
  // Feed a response; returns true when `phase()` changed.
  bool on_promise(NodeId from, const PromiseResponse& response);
  bool on_write(NodeId from, const WriteResponse& response);
  // Phase chosen: the learned action to broadcast.
  const Action& chosen() const { return value_; }
  // Phase rejected: the promise that beat ours.
  Proposal rejected_by() const { return rejected_by_; }
  // Whether `node` has answered the current phase.
  bool answered(NodeId node) const;
  // Number of replicas that answered IGNORED in the current phase.
  std::size_t ignored() const { return ignored_; }

  std::uint64_t sent_tick = 0;  // Owner's bookkeeping for retransmissions.

 private:
  PaxosRound() = default;
  void begin_writing();
  void choose(Action learned);

  Phase phase_ = Phase::promising;
  Proposal proposal_;
  std::size_t quorum_ = 0;
  Action value_;                     // Position always set; the value once writing.
  std::optional<Action> highest_;    // Phase 1: the highest-numbered accepted value seen.
  std::vector<NodeId> answered_;
  std::size_t accepted_ = 0;
  std::size_t ignored_ = 0;
  Proposal rejected_by_;
};

}  // namespace dcos::replicated_log::detail
