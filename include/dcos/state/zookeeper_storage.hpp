#pragma once
// `Storage` in ZooKeeper: one persistent znode per name under `root`, holding an entry record
// (docs/design/state.md, "ZooKeeper"). The test-and-set is ZooKeeper's own compare-and-swap on
// the znode's data version (`stat.version`), so any number of storages, in any number of
// processes, may share one root.
//
// Runs the multi-threaded ZooKeeper C client: requests are asynchronous, their completions come
// on the client's completion thread and are posted back to the awaiting coroutine's executor.
// The few blocking client calls (creating and closing a session) run on the storage's own
// worker thread. Connection loss and session expiry are transient: an operation retries (on a
// new session after an expiry) until `operation_timeout`, then fails with `Errc::unavailable`.
// An operation retried after a lost reply recognises its own write by the entry's fresh uuid.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "dcos/common/clock.hpp"
#include "dcos/state/storage.hpp"

namespace spdlog {
class logger;
}
struct _zhandle;  // The ZooKeeper C client's handle type (zookeeper.h: `zhandle_t`).

namespace dcos::state {

struct ZooKeeperOptions {
  std::string servers;  // "host:port,host:port".
  std::string root;     // Absolute znode path holding one child per name, e.g. "/dcos/state".
  Duration session_timeout = std::chrono::seconds(10);
  // How long one operation keeps retrying through connection loss and session expiry.
  Duration operation_timeout = std::chrono::seconds(10);
  // Larger values are refused (`Errc::invalid_argument`): a znode holds at most about 1 MB
  // (the server's `jute.maxbuffer`), record and request headers included.
  std::size_t value_bytes_max = 1000 * 1024;
};

class ZooKeeperStorage final : public Storage {
 public:
  // Starts connecting in the background; `Errc::invalid_argument` for a bad root or server
  // list. Creates `root` (and its parents) on the first write that needs it.
  static Result<std::unique_ptr<ZooKeeperStorage>> open(ZooKeeperOptions options);
  // Closes the session; blocks until the client's threads stop. Requires: no operation running.
  ~ZooKeeperStorage() override;

  boost::asio::awaitable<Result<std::optional<Entry>>> get(std::string name) override;
  boost::asio::awaitable<Result<bool>> set(Entry entry, std::string expected_uuid) override;
  boost::asio::awaitable<Result<bool>> expunge(Entry entry) override;
  boost::asio::awaitable<Result<std::set<std::string>>> names() override;

  // The znode that holds `name`: `root` + "/" + the name with every byte outside
  // [A-Za-z0-9._-] written as %XX ("." and ".." too, which ZooKeeper reserves).
  std::string path_of(const std::string& name) const;

  // Sessions created so far, the first included (tests: a reconnect after expiry adds one).
  std::uint64_t sessions() const;

 private:
  struct Session;  // One ZooKeeper C client handle (src/state/zookeeper_storage.cpp).

  explicit ZooKeeperStorage(ZooKeeperOptions options);
  std::shared_ptr<Session> session();
  void reconnect(const std::shared_ptr<Session>& broken);
  void connect();  // Worker thread.
  static void on_watch(_zhandle* handle, int type, int state, const char* path, void* context);

  // Carries out `attempt` until it gives a definite answer or `operation_timeout` passes.
  template <typename R, typename Attempt>
  boost::asio::awaitable<Result<R>> retrying(std::string what, Attempt attempt);
  boost::asio::awaitable<int> ensure_root(_zhandle* handle);

  ZooKeeperOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  mutable std::mutex mutex_;
  std::shared_ptr<Session> session_;  // Null while connecting.
  bool connecting_ = false;
  bool closing_ = false;
  std::uint64_t sessions_ = 0;
  boost::asio::thread_pool worker_{1};
};

}  // namespace dcos::state
