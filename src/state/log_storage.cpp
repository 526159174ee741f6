#include "dcos/state/log_storage.hpp"

#include <algorithm>
#include <random>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "async_mutex.hpp"
#include "dcos/common/duration.hpp"
#include "dcos/common/log.hpp"
#include "record.hpp"

namespace dcos::state {

namespace asio = boost::asio;
using detail::Operation;

LogStorage::LogStorage(LogReader& reader, LogWriter& writer, LogStorageOptions options)
    : reader_(reader),
      writer_(writer),
      options_(options),
      log_(dcos::log::get("state")),
      mutex_(std::make_unique<detail::AsyncMutex>()) {}

LogStorage::~LogStorage() = default;

asio::awaitable<Result<void>> LogStorage::start() {
  if (started_) co_return Result<void>();
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  std::minstd_rand random(std::random_device{}());
  LogPosition position = 0;
  for (;;) {
    Result<std::optional<LogPosition>> started = co_await writer_.start();
    if (!started) co_return tl::unexpected(started.error());
    if (*started) {
      position = **started;
      break;
    }
    // Another writer won. Wait a random 100-200 ms so that two contenders do not keep
    // displacing each other (Mesos's catch-up back-off).
    const auto delay = std::chrono::milliseconds(100 + random() % 100);
    if (std::chrono::steady_clock::now() + delay > deadline) {
      co_return fail(Errc::unavailable, "log storage: lost every writer election for " +
                                            format_duration(options_.start_timeout));
    }
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::use_awaitable);
  }
  ++starts_;
  if (auto caught_up = co_await catch_up_to(position); !caught_up) co_return caught_up;
  started_ = true;
  log_->info("log storage started writer position={} names={} starts={}", position, snapshots_.size(), starts_);
  co_return Result<void>();
}

asio::awaitable<Result<void>> LogStorage::catch_up_to(LogPosition position) {
  Result<LogPosition> begin = co_await reader_.beginning();
  if (!begin) co_return tl::unexpected(begin.error());
  if (!index_ || *index_ < *begin || *index_ > position + 1) {
    // First start, or another writer truncated past what we replayed: everything live is at or
    // above `begin` (truncation keeps every live snapshot), so replay it all afresh.
    snapshots_.clear();
    index_ = *begin;
  }
  truncated_ = std::max(truncated_, *begin);
  if (*index_ <= position) co_return co_await replay(position);
  co_return Result<void>();
}

asio::awaitable<Result<void>> LogStorage::replay(LogPosition to) {
  Result<std::vector<LogEntry>> entries = co_await reader_.read(*index_, to);
  if (!entries) co_return tl::unexpected(entries.error());
  for (LogEntry& entry : *entries) {
    Result<Operation> operation = detail::decode_operation(entry.data);
    if (!operation) {
      co_return fail(Errc::corruption, fmt::format("log storage: position {}: {}", entry.position,
                                                   operation.error().message));
    }
    if (operation->type == Operation::Type::snapshot) {
      std::string name = operation->entry.name;
      snapshots_.insert_or_assign(std::move(name), Snapshot{entry.position, std::move(operation->entry)});
    } else {
      snapshots_.erase(operation->entry.name);
    }
  }
  index_ = to + 1;
  co_return Result<void>();
}

asio::awaitable<Result<bool>> LogStorage::append(std::string bytes, const std::string& what) {
  Result<std::optional<LogPosition>> appended = co_await writer_.append(std::move(bytes));
  if (!appended) {
    started_ = false;  // The outcome is unknown: replay before answering anything else.
    co_return tl::unexpected(appended.error());
  }
  if (*appended && **appended == *index_) {
    index_ = **appended + 1;
    co_return true;
  }
  // Displaced by another writer (or, defensively, something we have not replayed sits below our
  // append). Whether our append is in the log, and what else is, replaying tells. Learn it as a
  // reader: electing ourselves again would displace the other writer in turn and fail its next
  // write, so two masters would bring each other down. The next operation starts the writer.
  log_->info("log storage writer displaced during {}; catching up as a reader", what);
  started_ = false;
  Result<LogPosition> end = co_await reader_.catch_up();
  if (!end) co_return tl::unexpected(end.error());
  if (auto caught_up = co_await catch_up_to(*end); !caught_up) co_return tl::unexpected(caught_up.error());
  co_return false;
}

asio::awaitable<void> LogStorage::maybe_truncate() {
  if (options_.truncate_lag == 0) co_return;
  LogPosition oldest = *index_;
  for (const auto& [name, snapshot] : snapshots_) oldest = std::min(oldest, snapshot.position);
  if (oldest < truncated_ + options_.truncate_lag) co_return;
  Result<std::optional<LogPosition>> truncated = co_await writer_.truncate(oldest);
  if (truncated && *truncated && **truncated == *index_) {
    truncated_ = oldest;
    index_ = **truncated + 1;
    co_return;
  }
  // The operation that called us has taken effect; only the clean-up failed. Replay next time.
  started_ = false;
  if (!truncated) {
    log_->warn("log storage truncate to={} failed: {}", oldest, truncated.error().message);
  }
}

asio::awaitable<Result<std::optional<Entry>>> LogStorage::get(std::string name) {
  auto guard = co_await mutex_->lock();
  if (auto started = co_await start(); !started) co_return tl::unexpected(started.error());
  auto it = snapshots_.find(name);
  if (it == snapshots_.end()) co_return std::optional<Entry>();
  co_return std::optional<Entry>(it->second.entry);
}

asio::awaitable<Result<bool>> LogStorage::set(Entry entry, std::string expected_uuid) {
  if (auto ok = detail::check_uuid(entry); !ok) co_return tl::unexpected(ok.error());
  auto guard = co_await mutex_->lock();
  if (auto started = co_await start(); !started) co_return tl::unexpected(started.error());
  auto it = snapshots_.find(entry.name);
  if (it != snapshots_.end() && it->second.entry.uuid != expected_uuid) co_return false;
  // Named, not temporaries in the co_await: g++ 12 destroys some of those twice.
  const Operation operation{Operation::Type::snapshot, entry};
  const std::string what = "set " + entry.name;
  Result<bool> appended = co_await append(detail::encode_operation(operation), what);
  if (!appended) co_return tl::unexpected(appended.error());
  if (!*appended) {
    it = snapshots_.find(entry.name);
    co_return it != snapshots_.end() && it->second.entry.uuid == entry.uuid;
  }
  std::string name = entry.name;
  snapshots_.insert_or_assign(std::move(name), Snapshot{*index_ - 1, std::move(entry)});
  co_await maybe_truncate();
  co_return true;
}

asio::awaitable<Result<bool>> LogStorage::expunge(Entry entry) {
  auto guard = co_await mutex_->lock();
  if (auto started = co_await start(); !started) co_return tl::unexpected(started.error());
  auto it = snapshots_.find(entry.name);
  if (it == snapshots_.end() || it->second.entry.uuid != entry.uuid) co_return false;
  const Operation operation{Operation::Type::expunge, Entry{entry.name, {}, {}}};
  const std::string what = "expunge " + entry.name;
  Result<bool> appended = co_await append(detail::encode_operation(operation), what);
  if (!appended) co_return tl::unexpected(appended.error());
  if (!*appended) co_return !snapshots_.contains(entry.name);
  snapshots_.erase(entry.name);
  co_await maybe_truncate();
  co_return true;
}

asio::awaitable<Result<std::set<std::string>>> LogStorage::names() {
  auto guard = co_await mutex_->lock();
  if (auto started = co_await start(); !started) co_return tl::unexpected(started.error());
  std::set<std::string> names;
  for (const auto& [name, snapshot] : snapshots_) names.insert(name);
  co_return names;
}

}  // namespace dcos::state
