#pragma once
// A log in memory with the replicated log's single-writer semantics (log.hpp): every
// `Writer::start()` displaces the writer that started before it, whose next append or truncate
// returns nullopt. For tests (with faults to inject) and benchmarks. Thread-safe.
//
// Position 0 holds a NOP, as in a brand-new replicated log, so the first append lands at 1.

#include <map>
#include <memory>
#include <mutex>

#include "dcos/state/log.hpp"

namespace dcos::state {

class MemoryLog final : public LogReader {
 public:
  class Writer;

  // `yield`: every operation first goes through the caller's executor queue once, so that
  // coroutines interleave at each call as they would over a network.
  explicit MemoryLog(bool yield = true) : yield_(yield) {}

  // A new writer (not started). The log must outlive it.
  std::unique_ptr<Writer> writer();

  boost::asio::awaitable<Result<std::vector<LogEntry>>> read(LogPosition from, LogPosition to) override;
  boost::asio::awaitable<Result<LogPosition>> beginning() override;
  boost::asio::awaitable<Result<LogPosition>> ending() override;
  // Everything is learned at once in memory: the end.
  boost::asio::awaitable<Result<LogPosition>> catch_up() override;

  // Faults for tests. The next append, by any writer, is written but its writer is told it was
  // demoted (the Paxos outcome "unknown": a quorum accepted, then a rival's election adopted it).
  void lose_next_append_reply();
  // The next `n` calls to `Writer::start()` lose the election.
  void lose_next_elections(int n);

  // Positions written so far, including NOPs and truncations.
  LogPosition end() const;

 private:
  struct Slot {
    bool append = false;  // Else a NOP or a TRUNCATE.
    std::string data;
  };
  boost::asio::awaitable<void> maybe_yield() const;

  const bool yield_;
  mutable std::mutex mutex_;
  std::map<LogPosition, Slot> slots_{{0, Slot{}}};
  LogPosition begin_ = 0;
  LogPosition end_ = 0;  // The last position written.
  std::uint64_t epoch_ = 0;  // Of the writer that started last.
  bool lose_next_append_reply_ = false;
  int lose_next_elections_ = 0;
};

class MemoryLog::Writer final : public LogWriter {
 public:
  explicit Writer(MemoryLog& log) : log_(log) {}
  boost::asio::awaitable<Result<std::optional<LogPosition>>> start() override;
  boost::asio::awaitable<Result<std::optional<LogPosition>>> append(std::string bytes) override;
  boost::asio::awaitable<Result<std::optional<LogPosition>>> truncate(LogPosition to) override;

 private:
  MemoryLog& log_;
  std::uint64_t epoch_ = 0;  // 0: never started.
};

}  // namespace dcos::state
