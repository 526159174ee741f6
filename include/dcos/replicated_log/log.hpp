#pragma once
// The replicated log as a library: one `Log` per replica process, talking to its peers over TCP.
//
//   auto log = Log::open(options).value();        // Opens LevelDB, recovers, starts serving.
//   log->start([](Result<Position> elected) {});    // Writer: elect; `elected` is the index.
//   log->append("bytes", [](Result<Position> p) {}); // Writer: once chosen; reads here see it.
//   log->read(from, to);                            // Reader: APPEND entries of [from, to].
//
// Only one writer at a time makes progress cluster-wide: a `start()` elsewhere displaces this
// one, whose next append fails with `Errc::not_leader` (outcome unknown: the entry may or may
// not be in the log); it must `start()` again. Appends may be issued concurrently (thousands in
// flight): they share LevelDB sync writes and message frames (group commit).
//
// Threads: a core thread that runs the network (Asio) and the cores, and a disk thread that
// performs every durable write (a replica's replies wait for it). Callbacks run on the core thread; they may call back into the
// `Log` but must not block. The blocking helpers (`*_sync`) must not be called from a callback.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "dcos/common/result.hpp"
#include "dcos/replicated_log/types.hpp"

namespace dcos::replicated_log {

struct LogOptions {
  NodeId self;
  // Every replica of the log, this one included, with the address it listens on.
  std::vector<std::pair<NodeId, boost::asio::ip::tcp::endpoint>> replicas;
  std::string path;              // LevelDB directory of this replica.
  std::size_t quorum = 0;        // 0: a majority of `replicas`.
  bool auto_initialize = true;   // Two-phase initialisation of a brand-new log.
  std::chrono::milliseconds tick{50};  // Retransmission and recovery pace.
  std::size_t writes_in_flight_max = 8192;
};

struct Entry {
  Position position = 0;
  std::string data;
};

struct LogStatus {
  Status status = Status::empty;
  Position begin = 0;
  Position end = 0;
  std::optional<Position> learned_end;  // Readers see [begin, learned_end].
  bool writer = false;                  // This replica's writer is elected.
};

class Log {
 public:
  using Callback = std::function<void(Result<Position>)>;

  static Result<std::unique_ptr<Log>> open(LogOptions options);
  // Closes the log (see `close`).
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // The address this replica listens on (useful with port 0).
  boost::asio::ip::tcp::endpoint endpoint() const;

  // Writer. `start` waits for this replica to finish recovery, then elects; it reports the
  // index (the last position before the first append) or `Errc::not_leader` if it lost.
  void start(Callback done);
  void append(std::string data, Callback done);
  void truncate(Position to, Callback done);

  // Reader: the APPEND entries in [from, to], which must lie within [begin, learned_end].
  Result<std::vector<Entry>> read(Position from, Position to);
  // Learns from the other replicas every position up to the highest end a quorum reports and
  // returns that end (Mesos `Reader::catchup`).
  void catch_up(Callback done);
  LogStatus status();

  // Stops the replica: every operation in flight fails with `Errc::cancelled`, and so does every
  // later one, at once, on the caller's thread (`read` too; `status` answers empty). Blocks until
  // the log's threads are done: no callback runs on them afterwards. Closing twice is harmless.
  void close();

  // Blocking conveniences for tools and tests.
  Result<Position> start_sync();
  Result<Position> append_sync(std::string data);
  Result<Position> truncate_sync(Position to);
  Result<Position> catch_up_sync();

 private:
  class Impl;
  explicit Log(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dcos::replicated_log
