#pragma once
// `Storage` on a replicated log (log.hpp), as Mesos's `LogStorage` (`src/state/log.cpp`): every
// set and expunge is an operation appended to the log, and the storage replays the log into a
// map from name to the latest snapshot (docs/design/state.md, "Replicated log").
//
// The storage is the log's writer. The first operation starts the writer and replays the log;
// later ones use the map. Operations are serialised (one at a time, in arrival order). When an
// append finds the writer displaced by another (another master became the writer), the storage
// catches up as a reader, without electing itself (which would displace the other writer in
// turn), and replays what the other writer appended; the operation then reports whether its
// own append made it into the log (it recognises it by the entry's fresh uuid), so a displaced
// set is true only if it really took effect and false otherwise (a conflict: fetch again). The
// next operation starts the writer again. A `get` answers from the map and so may be stale while another writer is active;
// the next set then finds out.
//
// Log positions below the oldest live snapshot hold only superseded operations; the storage
// truncates them once `truncate_lag` of them have piled up.

#include <chrono>
#include <map>
#include <memory>

#include "dcos/common/clock.hpp"
#include "dcos/state/log.hpp"
#include "dcos/state/storage.hpp"

namespace spdlog {
class logger;
}

namespace dcos::state {

namespace detail {
class AsyncMutex;
}

struct LogStorageOptions {
  // How long starting the writer may keep losing elections before an operation fails with
  // `Errc::unavailable`. Elections are retried after a random 100-200 ms (Mesos's back-off).
  Duration start_timeout = std::chrono::seconds(10);
  // Truncate once this many positions below the oldest live snapshot can go; 0: never.
  LogPosition truncate_lag = 64;
};

class LogStorage final : public Storage {
 public:
  // `reader` and `writer` must be of one log and outlive the storage.
  LogStorage(LogReader& reader, LogWriter& writer, LogStorageOptions options = {});
  ~LogStorage() override;

  boost::asio::awaitable<Result<std::optional<Entry>>> get(std::string name) override;
  boost::asio::awaitable<Result<bool>> set(Entry entry, std::string expected_uuid) override;
  boost::asio::awaitable<Result<bool>> expunge(Entry entry) override;
  boost::asio::awaitable<Result<std::set<std::string>>> names() override;

  // Times the writer was started (the first start included): tests see restarts here.
  std::uint64_t starts() const { return starts_; }

 private:
  struct Snapshot {
    LogPosition position = 0;
    Entry entry;
  };

  // Requires the mutex. Starts the writer unless started, and replays up to its position.
  boost::asio::awaitable<Result<void>> start();
  // Requires the mutex. Replays from what was replayed through `position`, or afresh from the
  // log's beginning when another writer truncated past it.
  boost::asio::awaitable<Result<void>> catch_up_to(LogPosition position);
  boost::asio::awaitable<Result<void>> replay(LogPosition to);
  // Requires the mutex and a started writer. Appends `bytes`; true when this writer appended
  // it, false when it was displaced (the storage has started again and replayed the log).
  boost::asio::awaitable<Result<bool>> append(std::string bytes, const std::string& what);
  boost::asio::awaitable<void> maybe_truncate();

  LogReader& reader_;
  LogWriter& writer_;
  LogStorageOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<detail::AsyncMutex> mutex_;
  // Guarded by `mutex_`.
  bool started_ = false;
  std::uint64_t starts_ = 0;
  std::optional<LogPosition> index_;  // The next position to replay; none before the first start.
  LogPosition truncated_ = 0;         // Positions below it are gone (or never mattered).
  std::map<std::string, Snapshot> snapshots_;
};

}  // namespace dcos::state
