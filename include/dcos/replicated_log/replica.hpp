#pragma once
// The acceptor and learner half of Multi-Paxos for one replica of the log.
//
// A `Replica` never touches a disk, socket or clock: the owner feeds it messages with `step()`
// (and local commands from `Recovery`/`CatchUp`), then carries out `ready()` in order -- write
// `metadata`, `actions` and `truncate_before` durably, *then* send `messages` -- and calls
// `advance()`. Several steps may be batched into one `Ready` (group commit). Because replies
// leave only after the state that justifies them is durable, a crash can lose only state that
// nobody was told about.
//
// Invariants (docs/design/replicated_log.md, "Replica"):
//   - the implicit promise and every per-position promise only grow;
//   - a learned position never changes value;
//   - a position accepts a value only under a proposal >= its effective promise, and accepting
//     raises that promise, so a lower proposal can never overwrite a higher one.

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "dcos/common/result.hpp"
#include "dcos/replicated_log/interval_set.hpp"
#include "dcos/replicated_log/messages.hpp"
#include "dcos/replicated_log/types.hpp"

namespace spdlog {
class logger;
}

namespace dcos::replicated_log {

// Read access to what a replica has made durable (`LogStorage` implements it).
class ActionReader {
 public:
  virtual ~ActionReader() = default;
  // The action stored at `position`, nullopt if there is none; an error on I/O failure.
  virtual Result<std::optional<Action>> read(Position position) const = 0;
};

// What a replica's storage holds, summarised at start-up (`LogStorage::recover()`).
struct Recovered {
  Metadata metadata;
  Position begin = 0;    // Positions below were truncated.
  Position end = 0;      // Highest position with any record; 0 for an empty log.
  IntervalSet learned;   // Learned positions in [begin, end].
};

// Effects to carry out, in this order: persist, then send.
struct Ready {
  std::optional<Metadata> metadata;        // Write if set.
  std::vector<Action> actions;             // Write each (replacing what is at its position).
  std::optional<Position> truncate_before; // Then delete every action below this position.
  std::vector<Envelope> messages;          // Send only once the above is durable.

  bool persist_empty() const { return !metadata && actions.empty() && !truncate_before; }
  bool empty() const { return persist_empty() && messages.empty(); }
};

class Replica {
 public:
  // `storage` must outlive the replica and must reflect every `Ready` handed out and
  // `advance()`d so far (the replica reads positions it has no pending write for from it).
  Replica(NodeId self, Recovered recovered, const ActionReader& storage);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // A message for `Port::replica`: promise, write, learned, recover or fetch request.
  void step(const Envelope& in);

  // Local commands from the owning node (recovery, catch-up, the `dcos-log` tool).
  void set_status(Status status);
  void adopt_promise(Proposal promised);  // Raises the implicit promise; never lowers it.
  void learn(const Action& action);       // As if a `LearnedMessage` arrived.

  NodeId id() const { return self_; }
  Status status() const { return metadata_.status; }
  Proposal promised() const { return metadata_.promised; }
  Position begin() const { return begin_; }
  Position end() const { return end_; }
  // Positions in [from, to] not learned here (positions below `begin()` count as learned).
  IntervalSet missing(Position from, Position to) const;
  bool learned(Position position) const;
  // The last position of the gap-free run of learned positions starting at `begin()`, or
  // nullopt when `begin()` itself is not learned. Readers see exactly [begin, learned_end].
  std::optional<Position> learned_end() const;
  // The action at `position` (pending writes included), nullopt if none or truncated.
  Result<std::optional<Action>> action(Position position) const;
  // Every action in [from, to], skipping holes; fails for a truncated or past-the-end range
  // (Mesos `Replica::read`).
  Result<std::vector<Action>> read(Position from, Position to) const;

  const Ready& ready() const { return ready_; }
  // The owner has carried out `ready()`.
  void advance();

  // Fetch answers stop after this many bytes of values (at least one action is sent).
  static constexpr std::size_t fetch_bytes_max = 1 << 20;
  static constexpr std::size_t fetch_actions_max = 4096;

 private:
  void on_promise(Address from, const PromiseRequest& request);
  void on_write(Address from, const WriteRequest& request);
  void on_learned(const Action& action);
  void on_recover(Address from, const RecoverRequest& request);
  void on_fetch(Address from, const FetchRequest& request);
  // Queues `action` for persisting and updates begin, end and learned.
  void persist(Action action);
  void reply(Address to, Message message);
  Action tombstone(Position position) const;

  NodeId self_;
  const ActionReader& storage_;
  Metadata metadata_;
  Position begin_ = 0;
  Position end_ = 0;
  IntervalSet learned_;
  Ready ready_;
  std::map<Position, std::size_t> pending_;  // Position -> index in `ready_.actions`.
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace dcos::replicated_log
