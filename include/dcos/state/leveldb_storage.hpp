#pragma once
// `Storage` in a local LevelDB directory, one key per name (docs/design/state.md, "LevelDB").
// Writes are synchronous (`WriteOptions::sync`): `set` and `expunge` return only once the
// change is on disk. Every LevelDB call runs on the storage's own worker thread, one at a time,
// which makes read-then-write atomic and keeps fsyncs off the caller's io_context thread.
// Group commit: the sets and expunges that arrive while one synced write is under way are
// checked in arrival order and go to disk together, in one synced batch.
// LevelDB locks its directory: one storage per directory per process, and one process.

#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "dcos/state/storage.hpp"

namespace leveldb {
class DB;
}

namespace dcos::state {

class LevelDbStorage final : public Storage {
 public:
  // Opens, creating if missing, the database in directory `path`. Blocks: call at start-up.
  static Result<std::unique_ptr<LevelDbStorage>> open(const std::string& path);
  // Waits for operations already handed to the worker, then closes the database.
  ~LevelDbStorage() override;

  boost::asio::awaitable<Result<std::optional<Entry>>> get(std::string name) override;
  boost::asio::awaitable<Result<bool>> set(Entry entry, std::string expected_uuid) override;
  boost::asio::awaitable<Result<bool>> expunge(Entry entry) override;
  boost::asio::awaitable<Result<std::set<std::string>>> names() override;

  const std::string& path() const { return path_; }

 private:
  LevelDbStorage(std::string path, std::unique_ptr<leveldb::DB> db);
  // Runs `fn` on the worker thread; resumes the caller on its own executor with the result.
  template <typename R, typename F>
  boost::asio::awaitable<R> on_worker(F fn);

  Result<std::optional<Entry>> read(const std::string& name);

  struct Write;  // A queued set or expunge and its completion.
  boost::asio::awaitable<Result<bool>> enqueue(Write write);
  void write_queued();  // Worker thread: one synced batch for everything queued.

  std::string path_;
  std::unique_ptr<leveldb::DB> db_;
  std::mutex mutex_;
  std::deque<Write> queued_;    // Guarded by `mutex_`.
  bool write_posted_ = false;   // Guarded by `mutex_`: a `write_queued` is on its way.
  boost::asio::thread_pool worker_{1};
};

}  // namespace dcos::state
