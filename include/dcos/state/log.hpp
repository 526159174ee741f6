#pragma once
// What `LogStorage` (log_storage.hpp) needs from a replicated log: Mesos's `Log::Reader` and
// `Log::Writer` (`include/mesos/log/log.hpp`, reference/mesos-api.md §6.6) as coroutines.
//
// `ReplicatedLogAdapter` (replicated_log_adapter.hpp) implements both over `replicated_log::Log`;
// `MemoryLog` (memory_log.hpp) implements them in memory for tests and benchmarks.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dcos/common/result.hpp"

namespace dcos::state {

using LogPosition = std::uint64_t;

struct LogEntry {
  LogPosition position = 0;
  std::string data;
};

class LogReader {
 public:
  virtual ~LogReader() = default;
  // The APPEND entries at positions `from` to `to`, both included, in order (NOP and TRUNCATE
  // positions are skipped). Fails when part of the range was truncated or is not yet learned.
  virtual boost::asio::awaitable<Result<std::vector<LogEntry>>> read(LogPosition from, LogPosition to) = 0;
  // The first position not truncated away.
  virtual boost::asio::awaitable<Result<LogPosition>> beginning() = 0;
  // The last position written.
  virtual boost::asio::awaitable<Result<LogPosition>> ending() = 0;
  // Learns every position the other replicas hold up to the highest end a quorum of them
  // reports, and returns that end: everything up to it is readable here (Mesos
  // `Log::Reader::catchup`). Elects nobody, so a writer elsewhere stays the writer.
  virtual boost::asio::awaitable<Result<LogPosition>> catch_up() = 0;
};

// One writer; at most one writer of a log is valid at a time, the one that started last.
class LogWriter {
 public:
  virtual ~LogWriter() = default;
  // Becomes the writer. The last position in the log (everything up to it is readable), or
  // nullopt when another writer won the election (try again later).
  virtual boost::asio::awaitable<Result<std::optional<LogPosition>>> start() = 0;
  // Appends `bytes`. Its position, or nullopt when another writer has started since this one
  // did: the append may or may not be in the log, and this writer must `start()` again.
  virtual boost::asio::awaitable<Result<std::optional<LogPosition>>> append(std::string bytes) = 0;
  // Drops every position below `to` (an appended TRUNCATE). As `append`.
  virtual boost::asio::awaitable<Result<std::optional<LogPosition>>> truncate(LogPosition to) = 0;
};

}  // namespace dcos::state
