#pragma once
// The proposer half of Multi-Paxos: the single writer of the log.
//
// `elect()` asks every replica for an implicit promise under a fresh proposal. With a quorum,
// the coordinator knows nothing was accepted beyond `index` (the highest end reported), fills
// every position up to `index` that the local replica has not learned -- running full Paxos per
// position, so a hole a failed leader left gets that leader's accepted value, or a NOP -- and is
// then ELECTED: `append()` and `truncate()` take positions `index + 1`, `index + 2`, ... and need
// one round trip each (phase 2 only). Many writes may be in flight at once; each is reported
// `committed` when a quorum accepted it, whatever the order. A rejection means another
// coordinator holds a higher promise: this one is demoted (or loses the election), every write
// in flight fails with an unknown outcome, and the owner must `elect()` again.
//
// Pure core: no I/O, clock or randomness. The owner sends `ready().messages`, reports
// `ready().events`, then calls `advance()`; it calls `tick()` periodically so that unanswered
// requests are retransmitted (every message may be lost).

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dcos/common/result.hpp"
#include "dcos/replicated_log/interval_set.hpp"
#include "dcos/replicated_log/messages.hpp"
#include "dcos/replicated_log/types.hpp"

namespace spdlog {
class logger;
}

namespace dcos::replicated_log {

class Replica;
namespace detail {
class PaxosRound;
}

struct CoordinatorConfig {
  NodeId self;                   // The node hosting this coordinator and its local replica.
  std::uint64_t proposer = 0;    // Unique per coordinator incarnation (see `Proposal`).
  std::vector<NodeId> replicas;  // Every replica of the log, the local one included.
  std::size_t quorum = 0;        // Usually replicas.size() / 2 + 1.
  std::size_t writes_in_flight_max = 4096;
  std::size_t fills_in_flight_max = 256;
  std::uint64_t resend_ticks = 2;  // Retransmit what is unanswered after this many ticks.
};

enum class CoordinatorState { idle, electing, filling, elected };

struct CoordinatorEvent {
  enum class Type {
    elected,        // `position` is the index: the last position filled.
    election_lost,  // `promised` beat us (or too few replicas vote); elect() again.
    committed,      // The write at `position` is chosen.
    write_failed,   // The write at `position` has an unknown outcome (we were demoted).
    demoted,        // `promised` beat us while elected.
  };
  Type type;
  Position position = 0;
  Proposal promised;
};

struct CoordinatorReady {
  std::vector<Envelope> messages;
  std::vector<CoordinatorEvent> events;
  bool empty() const { return messages.empty() && events.empty(); }
};

class Coordinator {
 public:
  // `local` is the replica on this node; it must outlive the coordinator. Its learned positions
  // decide which positions an election fills, so that local reads are complete once elected.
  Coordinator(CoordinatorConfig config, const Replica& local);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Starts an election under a proposal above any seen so far. Requires: state idle.
  Result<Proposal> elect();
  // Proposes `bytes` at the next position. Requires: elected, and fewer than
  // `writes_in_flight_max` writes in flight (else `Errc::unavailable`).
  Result<Position> append(std::string bytes);
  // Proposes dropping every position below `to`. Requires as `append()`, and `to` no higher
  // than the position the truncation itself will take.
  Result<Position> truncate(Position to);
  // Gives up whatever is in progress (e.g. the owner's election timeout) and goes idle;
  // writes in flight are reported failed.
  void abandon();

  // A response for `Port::coordinator`.
  void step(const Envelope& in);
  void tick();

  CoordinatorState state() const { return state_; }
  Proposal proposal() const { return proposal_; }
  // The highest proposal seen in any rejection.
  Proposal highest_seen() const { return highest_seen_; }
  // Elected: the next position an append will take.
  Position next_position() const { return next_position_; }
  std::size_t writes_in_flight() const;

  const CoordinatorReady& ready() const { return ready_; }
  void advance() { ready_ = CoordinatorReady{}; }

 private:
  void on_promise(NodeId from, const PromiseResponse& response);
  void on_write(NodeId from, const WriteResponse& response);
  void on_round_changed(detail::PaxosRound& round);
  void begin_filling();
  void start_fills();
  void become_elected();
  void lose(Proposal promised);
  Result<Position> propose(Action value);
  void broadcast(const Message& message);
  void send_round(detail::PaxosRound& round, bool only_unanswered);
  void event(CoordinatorEvent::Type type, Position position = 0, Proposal promised = {});

  CoordinatorConfig config_;
  const Replica& local_;
  CoordinatorState state_ = CoordinatorState::idle;
  Proposal proposal_;
  Proposal highest_seen_;
  std::uint64_t ticks_ = 0;

  // Electing.
  std::vector<NodeId> promised_by_;
  std::size_t ignored_ = 0;
  std::uint64_t election_sent_tick_ = 0;
  Position index_ = 0;

  // Filling and elected: one Paxos round per position in flight.
  IntervalSet fill_queue_;
  std::map<Position, std::unique_ptr<detail::PaxosRound>> rounds_;
  std::size_t fills_in_flight_ = 0;
  Position next_position_ = 0;

  CoordinatorReady ready_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace dcos::replicated_log
