#include "dcos/state/replicated_log_adapter.hpp"

#include <boost/asio/post.hpp>

#include "completion.hpp"
#include "dcos/replicated_log/log.hpp"

namespace dcos::state {

namespace asio = boost::asio;
using detail::Completion;
using replicated_log::Log;
using replicated_log::Position;

namespace {

// `Log`'s answer to a write or an election, as `LogWriter` reports it.
Result<std::optional<LogPosition>> writer_result(Result<Position> result) {
  if (result) return std::optional<LogPosition>(*result);
  if (result.error().code == make_error_code(Errc::not_leader)) return std::optional<LogPosition>();
  return tl::unexpected(result.error());
}

}  // namespace

ReplicatedLogAdapter::~ReplicatedLogAdapter() { worker_.join(); }

asio::awaitable<Result<std::vector<LogEntry>>> ReplicatedLogAdapter::read(LogPosition from, LogPosition to) {
  // Named, not a temporary in the co_await: g++ 12 destroys some of those twice.
  auto start = [this, from, to](Completion<Result<std::vector<LogEntry>>> done) {
    asio::post(worker_, [this, from, to, done = std::move(done)] {
      Result<std::vector<replicated_log::Entry>> entries = log_.read(from, to);
      if (!entries) return done(tl::unexpected(entries.error()));
      std::vector<LogEntry> out;
      out.reserve(entries->size());
      for (replicated_log::Entry& entry : *entries) out.push_back(LogEntry{entry.position, std::move(entry.data)});
      done(std::move(out));
    });
  };
  co_return co_await detail::await_completion<Result<std::vector<LogEntry>>>(std::move(start));
}

asio::awaitable<Result<LogPosition>> ReplicatedLogAdapter::beginning() {
  auto start = [this](Completion<Result<LogPosition>> done) {
    asio::post(worker_, [this, done = std::move(done)] { done(log_.status().begin); });
  };
  co_return co_await detail::await_completion<Result<LogPosition>>(std::move(start));
}

asio::awaitable<Result<LogPosition>> ReplicatedLogAdapter::ending() {
  auto start = [this](Completion<Result<LogPosition>> done) {
    asio::post(worker_, [this, done = std::move(done)] {
      const replicated_log::LogStatus status = log_.status();
      if (!status.learned_end) return done(fail(Errc::unavailable, "log: nothing learned yet"));
      done(*status.learned_end);
    });
  };
  co_return co_await detail::await_completion<Result<LogPosition>>(std::move(start));
}

asio::awaitable<Result<LogPosition>> ReplicatedLogAdapter::catch_up() {
  auto start = [this](Completion<Result<Position>> done) {
    log_.catch_up([done = std::move(done)](Result<Position> end) { done(std::move(end)); });
  };
  co_return co_await detail::await_completion<Result<Position>>(std::move(start));
}

asio::awaitable<Result<std::optional<LogPosition>>> ReplicatedLogAdapter::start() {
  auto start = [this](Completion<Result<Position>> done) {
    log_.start([done = std::move(done)](Result<Position> elected) { done(std::move(elected)); });
  };
  Result<Position> result = co_await detail::await_completion<Result<Position>>(std::move(start));
  co_return writer_result(std::move(result));
}

asio::awaitable<Result<std::optional<LogPosition>>> ReplicatedLogAdapter::append(std::string bytes) {
  auto start = [this, &bytes](Completion<Result<Position>> done) {
    log_.append(std::move(bytes), [done = std::move(done)](Result<Position> appended) { done(std::move(appended)); });
  };
  Result<Position> result = co_await detail::await_completion<Result<Position>>(std::move(start));
  co_return writer_result(std::move(result));
}

asio::awaitable<Result<std::optional<LogPosition>>> ReplicatedLogAdapter::truncate(LogPosition to) {
  auto start = [this, to](Completion<Result<Position>> done) {
    log_.truncate(to, [done = std::move(done)](Result<Position> truncated) { done(std::move(truncated)); });
  };
  Result<Position> result = co_await detail::await_completion<Result<Position>>(std::move(start));
  co_return writer_result(std::move(result));
}

}  // namespace dcos::state
