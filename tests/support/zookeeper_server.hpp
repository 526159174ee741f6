#pragma once
// A real, standalone ZooKeeper server for tests and benchmarks: Debian's `zookeeper` package
// run with java on 127.0.0.1, a free port and a fresh data directory. Start-up waits until the
// server answers "ruok" with "imok". Where it cannot start (no java, no package, no answer),
// `start` says why, so that a test can skip with that reason.
//
// The server is a child process that dies with the test process (PR_SET_PDEATHSIG), and is
// stopped (SIGTERM, then SIGKILL) by the destructor, which also removes the data directory.

#include <chrono>
#include <memory>
#include <string>
#include <sys/types.h>

#include "dcos/common/result.hpp"

namespace dcos::testing {

class ZooKeeperServer {
 public:
  static Result<std::unique_ptr<ZooKeeperServer>> start(
      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // A server shared by every caller in this process, started on first use. Null, with the
  // reason in `why`, when it cannot start; the first failure is remembered.
  static ZooKeeperServer* shared(std::string* why);
  ~ZooKeeperServer();
  ZooKeeperServer(const ZooKeeperServer&) = delete;
  ZooKeeperServer& operator=(const ZooKeeperServer&) = delete;

  // "127.0.0.1:<port>", for `zookeeper_init`.
  std::string connect_string() const;
  unsigned short port() const { return port_; }

  // Stops the server (its sessions go with it) and starts it again on the same port and data.
  Result<void> restart(std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  ZooKeeperServer(std::string directory, unsigned short port) : directory_(std::move(directory)), port_(port) {}
  Result<void> launch(std::chrono::milliseconds timeout);
  void stop();

  std::string directory_;
  unsigned short port_;
  pid_t pid_ = -1;
};

}  // namespace dcos::testing
