#pragma once
// Pipelines a replica's durable writes, so that its owner can keep stepping the cores while
// storage syncs (the leader's own write runs beside its followers', and any quorum of
// acknowledgements, the local one or not, commits an append).
//
// The owner hands every `Replica::ready()` to `push()` instead of persisting it in place:
//   - the batch to persist comes back with a sequence number; the owner writes batches to storage
//     in that order (merging queued ones into one write is fine, see `WriteBatch::merge`) and
//     reports each finished one with `durable(sequence)`;
//   - the `Ready`'s messages are held until every batch pushed so far, this one included, is
//     durable: a reply never leaves before the state that justifies it, nor before state an
//     earlier reply relied on (a retransmitted write is acknowledged from a pending record);
//   - meanwhile the queue is the replica's `ActionReader`: it answers from the newest pending
//     batch that holds a position, else from `durable`, so the replica sees its own writes.
//
// Pure bookkeeping, no I/O or threads: the `Log` shell and the simulation use it alike. Not
// thread-safe; the storage may read `durable` concurrently only if it allows that itself.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "dcos/replicated_log/storage.hpp"

namespace dcos::replicated_log {

class WriteQueue final : public ActionReader {
 public:
  struct Pushed {
    std::optional<WriteBatch> batch;  // Persist this, as `sequence`, after every earlier one.
    std::uint64_t sequence = 0;       // Meaningful with `batch`.
    std::vector<Envelope> send;       // Free to send now (nothing pending).
  };

  // `durable` is what storage holds; it must outlive the queue.
  explicit WriteQueue(const ActionReader& durable);

  Pushed push(const Ready& ready);
  // Storage holds every batch up to `sequence`: drops them from the overlay and returns the
  // messages now free to send, in the order they were pushed.
  std::vector<Envelope> durable(std::uint64_t sequence);

  Result<std::optional<Action>> read(Position position) const override;

  // Batches pushed and not yet durable.
  std::size_t pending() const { return batches_.size(); }
  std::uint64_t last_sequence() const { return next_sequence_ - 1; }

 private:
  struct Held {
    std::uint64_t after;  // Sent once this sequence is durable.
    std::vector<Envelope> messages;
  };
  struct Pending {
    std::uint64_t sequence;
    std::vector<Position> positions;
  };

  const ActionReader& durable_;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t durable_sequence_ = 0;
  std::deque<Pending> batches_;
  std::map<Position, std::pair<std::uint64_t, Action>> overlay_;  // Newest pending record.
  std::deque<Held> held_;
};

}  // namespace dcos::replicated_log
