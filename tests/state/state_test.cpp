// The state suite (state_suite.hpp: Mesos's state_tests.cpp scenarios, racing writers,
// persistence) against every storage: in memory, the log (on `MemoryLog`, and on the replicated
// log: three replicas over TCP), LevelDB in a temp dir, and a real ZooKeeper server started from
// Debian's `zookeeper` package.
#include "dcos/state/state.hpp"  // First: proves the header is self-contained.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include <fmt/format.h>

#include "dcos/state/in_memory_storage.hpp"
#include "dcos/state/leveldb_storage.hpp"
#include "dcos/state/log_storage.hpp"
#include "dcos/state/memory_log.hpp"
#include "dcos/state/replicated_log_adapter.hpp"
#include "dcos/state/zookeeper_storage.hpp"
#include "state/local_replicated_log.hpp"
#include "state/state_suite.hpp"
#include "support/zookeeper_server.hpp"

namespace {

using namespace dcos::state;
using dcos::state::testing::Fixture;
namespace fs = std::filesystem;

class InMemoryFixture final : public Fixture {
 public:
  Storage& storage() override { return storage_; }

 private:
  InMemoryStorage storage_;
};

class LogFixture final : public Fixture {
 public:
  LogFixture() { open(); }
  Storage& storage() override { return *storage_; }
  // A new storage and writer over the same log: another master's view, recovered by replay.
  bool reopen() override {
    open();
    return true;
  }

 private:
  void open() {
    storage_.reset();
    writer_ = log_.writer();
    storage_ = std::make_unique<LogStorage>(log_, *writer_, LogStorageOptions{.truncate_lag = 4});
  }

  MemoryLog log_;
  std::unique_ptr<MemoryLog::Writer> writer_;
  std::unique_ptr<LogStorage> storage_;
};

// Three replicas over TCP; the storage writes through replica 0. Reopening moves the storage to
// replica 1, as a master failover does: the new writer's election fills its replica, which it
// then replays.
class ReplicatedLogFixture final : public Fixture {
 public:
  ReplicatedLogFixture() : cluster_(3) { open(0); }
  ~ReplicatedLogFixture() override {
    storage_.reset();
    adapter_.reset();
  }
  Storage& storage() override { return *storage_; }
  bool reopen() override {
    open(1);
    return true;
  }

 private:
  void open(std::size_t replica) {
    storage_.reset();
    adapter_ = std::make_unique<ReplicatedLogAdapter>(cluster_.log(replica));
    storage_ = std::make_unique<LogStorage>(*adapter_, *adapter_, LogStorageOptions{.truncate_lag = 4});
  }

  dcos::state::testing::LocalReplicatedLog cluster_;
  std::unique_ptr<ReplicatedLogAdapter> adapter_;
  std::unique_ptr<LogStorage> storage_;
};

class LevelDbFixture final : public Fixture {
 public:
  LevelDbFixture() {
    static std::atomic<int> counter = 0;
    directory_ = fs::temp_directory_path() / fmt::format("dcos-state-test-{}-{}", ::getpid(), counter++);
    fs::remove_all(directory_);
    open();
  }
  ~LevelDbFixture() override {
    storage_.reset();
    fs::remove_all(directory_);
  }
  Storage& storage() override { return *storage_; }
  bool reopen() override {
    storage_.reset();  // LevelDB locks its directory: close before opening again.
    open();
    return true;
  }

 private:
  void open() {
    auto opened = LevelDbStorage::open(directory_.string());
    REQUIRE(opened);
    storage_ = std::move(*opened);
  }

  fs::path directory_;
  std::unique_ptr<LevelDbStorage> storage_;
};

class ZooKeeperFixture final : public Fixture {
 public:
  // Null (after a WARN saying why) when no ZooKeeper server can run here.
  static std::unique_ptr<Fixture> make() {
    std::string why;
    dcos::testing::ZooKeeperServer* server = dcos::testing::ZooKeeperServer::shared(&why);
    if (server == nullptr) {
      WARN("SKIPPED: ZooKeeper tests need a ZooKeeper server (Debian package `zookeeper`): " << why);
      return nullptr;
    }
    return std::unique_ptr<Fixture>(new ZooKeeperFixture(*server));
  }
  Storage& storage() override { return *storage_; }
  bool reopen() override {
    storage_ = open();  // A new session.
    return true;
  }
  // Every racing writer has a session of its own, as separate masters would.
  Storage& writer_storage(std::size_t i) override {
    while (writers_.size() <= i) writers_.push_back(open());
    return *writers_[i];
  }

 private:
  explicit ZooKeeperFixture(dcos::testing::ZooKeeperServer& server) : server_(server) {
    static std::atomic<int> counter = 0;
    root_ = fmt::format("/dcos-test/state-{}-{}", ::getpid(), counter++);
    storage_ = open();
  }
  std::unique_ptr<ZooKeeperStorage> open() {
    auto opened = ZooKeeperStorage::open({.servers = server_.connect_string(), .root = root_});
    REQUIRE(opened);
    return std::move(*opened);
  }

  dcos::testing::ZooKeeperServer& server_;
  std::string root_;
  std::unique_ptr<ZooKeeperStorage> storage_;
  std::vector<std::unique_ptr<ZooKeeperStorage>> writers_;
};

}  // namespace

TEST_CASE("state suite on InMemoryStorage", "[state][core]") {
  dcos::state::testing::run_state_suite([] { return std::make_unique<InMemoryFixture>(); });
}

TEST_CASE("state suite on LogStorage over a MemoryLog", "[state][core]") {
  dcos::state::testing::run_state_suite([] { return std::make_unique<LogFixture>(); });
}

TEST_CASE("state suite on LogStorage over the replicated log (3 replicas, TCP, LevelDB)", "[state][shell]") {
  dcos::state::testing::run_state_suite([] { return std::make_unique<ReplicatedLogFixture>(); });
}

TEST_CASE("state suite on LevelDbStorage", "[state][shell]") {
  dcos::state::testing::run_state_suite([] { return std::make_unique<LevelDbFixture>(); });
}

TEST_CASE("state suite on ZooKeeperStorage", "[state][shell]") {
  dcos::state::testing::run_state_suite(&ZooKeeperFixture::make);
}
