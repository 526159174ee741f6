#pragma once
// Catch-up: make the local replica learn a set of positions from its peers.
//
// First the cheap way: fetch learned values in chunks from every peer (`FetchRequest`), which
// needs no promise and disturbs no writer. Positions that a quorum of peers has not learned
// (a hole a failed leader left, or a write still in flight) are then settled by full Paxos
// per position, as Mesos `log::catchup` does: an explicit promise first under a low proposal
// (so that a learned value comes back without raising anyone's promise), then under proposals
// above the highest seen, backing off a few ticks between attempts so that a live writer can
// finish first. Everything learned goes into the local replica with `Replica::learn()`.
//
// Pure core: the owner sends `ready().messages`, carries out the local replica's `ready()`,
// calls `advance()`, and calls `tick()` periodically.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "dcos/replicated_log/interval_set.hpp"
#include "dcos/replicated_log/messages.hpp"

namespace spdlog {
class logger;
}

namespace dcos::replicated_log {

class Replica;
namespace detail {
class PaxosRound;
}

struct CatchUpConfig {
  NodeId self;
  std::uint64_t proposer = 0;    // Unique per incarnation, as for a coordinator.
  std::vector<NodeId> replicas;  // Every replica, the local one included.
  std::size_t quorum = 0;
  Position chunk_positions = 1024;     // Positions per fetch request.
  std::size_t chunks_in_flight_max = 4;
  std::size_t fills_in_flight_max = 64;
  std::uint64_t resend_ticks = 2;      // Retransmit unanswered requests after this many ticks.
  std::uint64_t fetch_attempts = 3;    // Then settle a chunk's missing positions by Paxos.
  std::uint64_t backoff_ticks = 2;     // Wait this long after a rejected Paxos round.
};

struct CatchUpReady {
  std::vector<Envelope> messages;
  bool empty() const { return messages.empty(); }
};

class CatchUp {
 public:
  // `local` must outlive this object. Positions below the local replica's `begin()` count as
  // learned.
  CatchUp(CatchUpConfig config, Replica& local, IntervalSet positions);
  ~CatchUp();
  CatchUp(const CatchUp&) = delete;
  CatchUp& operator=(const CatchUp&) = delete;

  void start();
  // A response for `Port::catch_up`.
  void step(const Envelope& in);
  void tick();
  // Every position is learned locally (the local replica's `ready()` may still hold them).
  bool done() const;
  // Positions still to learn.
  IntervalSet remaining() const;

  const CatchUpReady& ready() const { return ready_; }
  void advance() { ready_ = CatchUpReady{}; }

 private:
  struct Chunk {
    Position from = 0;
    Position to = 0;
    std::map<NodeId, Position> next;  // Peer -> first position it still owes us.
    std::set<NodeId> complete;        // Peers that answered for the whole chunk.
    std::uint64_t sent_tick = 0;
    std::uint64_t attempts = 1;
  };

  void on_fetch(NodeId from, const FetchResponse& response);
  void on_promise(NodeId from, const PromiseResponse& response);
  void on_write(NodeId from, const WriteResponse& response);
  void on_round_changed(detail::PaxosRound& round);
  void finish_chunk(std::uint64_t nonce, bool give_up);
  void pump();
  void start_round(Position position, std::uint64_t attempt);
  void send(NodeId to, Message message);
  void send_round(detail::PaxosRound& round, bool only_unanswered);
  Proposal next_proposal(std::uint64_t attempt) const;

  CatchUpConfig config_;
  Replica& local_;
  std::vector<NodeId> peers_;
  IntervalSet positions_;       // Everything asked for.
  IntervalSet to_fetch_;        // Not yet handed to a chunk.
  IntervalSet to_fill_;         // Waiting for a Paxos round.
  std::map<std::uint64_t, Chunk> chunks_;  // By nonce.
  std::uint64_t next_nonce_ = 1;
  struct Fill {
    std::unique_ptr<detail::PaxosRound> round;
    std::uint64_t attempt = 0;
    std::uint64_t retry_tick = 0;  // While backing off: when to retry.
  };
  std::map<Position, Fill> fills_;
  Proposal highest_seen_;
  std::uint64_t ticks_ = 0;
  bool started_ = false;
  CatchUpReady ready_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace dcos::replicated_log
