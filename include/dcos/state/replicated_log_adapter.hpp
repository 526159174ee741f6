#pragma once
// `LogReader` and `LogWriter` (log.hpp) over the replicated log's `Log` (replicated_log/log.hpp),
// so that `LogStorage` keeps its state in the real, replicated, durable log:
//
//   auto log = replicated_log::Log::open(options).value();
//   ReplicatedLogAdapter adapter(*log);
//   LogStorage storage(adapter, adapter);
//
// `Log`'s callbacks run on its core thread; the adapter posts them back to the awaiting
// coroutine's executor. `Log::read` and `Log::status` block until the core thread answers, so the
// adapter calls them on a worker thread of its own, never on the caller's. `Errc::not_leader`
// (lost the election, or displaced by another writer) becomes the nullopt of `LogWriter`.

#include <boost/asio/thread_pool.hpp>

#include "dcos/state/log.hpp"

namespace dcos::replicated_log {
class Log;
}

namespace dcos::state {

class ReplicatedLogAdapter final : public LogReader, public LogWriter {
 public:
  // `log` must outlive the adapter.
  explicit ReplicatedLogAdapter(replicated_log::Log& log) : log_(log) {}
  // Waits for reads already handed to the worker.
  ~ReplicatedLogAdapter() override;

  boost::asio::awaitable<Result<std::vector<LogEntry>>> read(LogPosition from, LogPosition to) override;
  boost::asio::awaitable<Result<LogPosition>> beginning() override;
  boost::asio::awaitable<Result<LogPosition>> ending() override;
  boost::asio::awaitable<Result<LogPosition>> catch_up() override;

  boost::asio::awaitable<Result<std::optional<LogPosition>>> start() override;
  boost::asio::awaitable<Result<std::optional<LogPosition>>> append(std::string bytes) override;
  boost::asio::awaitable<Result<std::optional<LogPosition>>> truncate(LogPosition to) override;

 private:
  replicated_log::Log& log_;
  boost::asio::thread_pool worker_{1};
};

}  // namespace dcos::state
