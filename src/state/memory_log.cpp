#include "dcos/state/memory_log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

namespace dcos::state {

namespace asio = boost::asio;

std::unique_ptr<MemoryLog::Writer> MemoryLog::writer() { return std::make_unique<Writer>(*this); }

asio::awaitable<void> MemoryLog::maybe_yield() const {
  if (yield_) co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

void MemoryLog::lose_next_append_reply() {
  std::lock_guard lock(mutex_);
  lose_next_append_reply_ = true;
}

void MemoryLog::lose_next_elections(int n) {
  std::lock_guard lock(mutex_);
  lose_next_elections_ = n;
}

LogPosition MemoryLog::end() const {
  std::lock_guard lock(mutex_);
  return end_;
}

asio::awaitable<Result<std::vector<LogEntry>>> MemoryLog::read(LogPosition from, LogPosition to) {
  co_await maybe_yield();
  std::lock_guard lock(mutex_);
  if (from > to || from < begin_ || to > end_) {
    co_return fail(Errc::invalid_argument,
                   fmt::format("bad read range [{}, {}] of log [{}, {}]", from, to, begin_, end_));
  }
  std::vector<LogEntry> entries;
  for (auto it = slots_.lower_bound(from); it != slots_.end() && it->first <= to; ++it) {
    if (it->second.append) entries.push_back(LogEntry{it->first, it->second.data});
  }
  co_return entries;
}

asio::awaitable<Result<LogPosition>> MemoryLog::beginning() {
  co_await maybe_yield();
  std::lock_guard lock(mutex_);
  co_return begin_;
}

asio::awaitable<Result<LogPosition>> MemoryLog::ending() {
  co_await maybe_yield();
  std::lock_guard lock(mutex_);
  co_return end_;
}

asio::awaitable<Result<LogPosition>> MemoryLog::catch_up() { co_return co_await ending(); }

asio::awaitable<Result<std::optional<LogPosition>>> MemoryLog::Writer::start() {
  co_await log_.maybe_yield();
  std::lock_guard lock(log_.mutex_);
  if (log_.lose_next_elections_ > 0) {
    --log_.lose_next_elections_;
    co_return std::optional<LogPosition>();
  }
  epoch_ = ++log_.epoch_;
  co_return std::optional<LogPosition>(log_.end_);
}

asio::awaitable<Result<std::optional<LogPosition>>> MemoryLog::Writer::append(std::string bytes) {
  co_await log_.maybe_yield();
  std::lock_guard lock(log_.mutex_);
  if (epoch_ == 0 || epoch_ != log_.epoch_) co_return std::optional<LogPosition>();
  const LogPosition position = ++log_.end_;
  log_.slots_[position] = Slot{true, std::move(bytes)};
  if (log_.lose_next_append_reply_) {
    log_.lose_next_append_reply_ = false;
    ++log_.epoch_;  // A rival started: this writer is displaced, yet its append was chosen.
    co_return std::optional<LogPosition>();
  }
  co_return std::optional<LogPosition>(position);
}

asio::awaitable<Result<std::optional<LogPosition>>> MemoryLog::Writer::truncate(LogPosition to) {
  co_await log_.maybe_yield();
  std::lock_guard lock(log_.mutex_);
  if (epoch_ == 0 || epoch_ != log_.epoch_) co_return std::optional<LogPosition>();
  const LogPosition position = ++log_.end_;
  DCOS_ASSERT(to <= position);
  log_.slots_[position] = Slot{};
  if (to > log_.begin_) {
    log_.begin_ = to;
    log_.slots_.erase(log_.slots_.begin(), log_.slots_.lower_bound(to));
  }
  co_return std::optional<LogPosition>(position);
}

}  // namespace dcos::state
