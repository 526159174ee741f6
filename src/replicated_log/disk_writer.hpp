#pragma once
// Runs a replica's durable writes on a thread of their own, so that the core thread keeps
// stepping messages (above all, counting acknowledgements) while an fsync is in progress.
// Batches are written in submission order; whatever queued up during one write goes into the
// next as one merged batch (one LevelDB sync for all of them: group commit at the disk).
//
// `durable(sequence)` is called on the writer thread after every batch up to `sequence` is
// written; it must not block (the shell posts it to its core thread). A failed write is fatal:
// nothing that depends on it may be sent, and later batches must not land after a hole, so the
// process aborts (as the shell did when it wrote in place).

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "dcos/replicated_log/storage.hpp"

namespace dcos::replicated_log::detail {

class DiskWriter {
 public:
  using Durable = std::function<void(std::uint64_t sequence)>;

  // `storage` must outlive the writer; it must allow reads from other threads during a write.
  DiskWriter(LogStorage& storage, Durable durable);
  ~DiskWriter();  // Finishes what was submitted, then joins.
  DiskWriter(const DiskWriter&) = delete;
  DiskWriter& operator=(const DiskWriter&) = delete;

  // `sequence` must exceed every one submitted before.
  void submit(std::uint64_t sequence, WriteBatch batch);

 private:
  void run();

  LogStorage& storage_;
  Durable durable_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::pair<std::uint64_t, WriteBatch>> queue_;  // Guarded by `mutex_`.
  bool stopping_ = false;                                    // Guarded by `mutex_`.
  std::thread thread_;
};

}  // namespace dcos::replicated_log::detail
