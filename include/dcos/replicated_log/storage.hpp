#pragma once
// Where a replica keeps its promise, status and actions: the one seam between the replicated
// log and a disk (leveldb's `Env` in spirit). `LevelDbLogStorage` (leveldb_storage.hpp) is the
// durable one; `MemoryLogStorage` serves tests and the simulation.

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "dcos/common/result.hpp"
#include "dcos/replicated_log/replica.hpp"

namespace dcos::replicated_log {

// One atomic write: what a replica's `Ready` asks to persist.
struct WriteBatch {
  std::optional<Metadata> metadata;
  std::vector<Action> actions;
  std::optional<Position> truncate_before;
  // Whether `write()` must wait until the batch is on disk. A `Ready` without messages needs
  // no sync: nobody is told anything that depends on it (typically learned flags, which
  // catch-up restores if lost). Storage writes are ordered, so the next synced batch makes it
  // durable too -- in particular before any reply based on it leaves.
  bool sync = true;

  static WriteBatch from(const Ready& ready) {
    return WriteBatch{ready.metadata, ready.actions, ready.truncate_before, !ready.messages.empty()};
  }

  // Folds a `later` batch into this one, so that writing the result equals writing both in
  // order: actions in order (a later record at a position wins), the higher truncation (which
  // never drops a later record: a replica persists nothing below its `begin`), the later
  // metadata, and a sync if either asked for one.
  void merge(WriteBatch later) {
    actions.reserve(actions.size() + later.actions.size());
    for (Action& action : later.actions) actions.push_back(std::move(action));
    if (later.truncate_before) truncate_before = std::max(truncate_before.value_or(0), *later.truncate_before);
    if (later.metadata) metadata = std::move(later.metadata);
    sync = sync || later.sync;
  }
};

class LogStorage : public ActionReader {
 public:
  // Reads metadata and every action back, as `Replica`'s constructor needs them. A log
  // that was never written recovers as EMPTY with begin = end = 0.
  virtual Result<Recovered> recover() = 0;
  // Applies `batch` atomically -- actions, then the truncation, then the metadata -- after every
  // earlier batch, and returns only once it is durable (if `batch.sync`). On failure nothing
  // may be sent that depends on it.
  virtual Result<void> write(const WriteBatch& batch) = 0;
  Result<void> write(const Ready& ready) { return write(WriteBatch::from(ready)); }
};

// Summarises stored records the way every storage's `recover()` must: `begin` from learned
// truncations and tombstones, `end` the highest position, the learned set. Feed every stored
// action in any order, then `finish()`.
class RecoveredBuilder {
 public:
  void add(const Action& action);
  Recovered finish(const Metadata& metadata) &&;

 private:
  Position begin_ = 0;
  Position end_ = 0;
  IntervalSet learned_;
};

class MemoryLogStorage final : public LogStorage {
 public:
  Result<Recovered> recover() override;
  Result<void> write(const WriteBatch& batch) override;
  using LogStorage::write;
  Result<std::optional<Action>> read(Position position) const override;

  // Applies only the first `records` records of `batch` in the order `write` applies them
  // (each action, the truncation, the metadata): a torn write, for the simulation.
  void write_prefix(const WriteBatch& batch, std::size_t records);
  static std::size_t records(const WriteBatch& batch);

  const Metadata& metadata() const { return metadata_; }
  const std::map<Position, Action>& actions() const { return actions_; }

 private:
  Metadata metadata_;
  std::map<Position, Action> actions_;
};

}  // namespace dcos::replicated_log
