#include "dcos/replicated_log/log.hpp"  // First: proves the header is self-contained.

#include <catch2/catch.hpp>

#include <filesystem>
#include <future>
#include <thread>

#include <boost/asio.hpp>

namespace {

using namespace dcos::replicated_log;
using dcos::Result;
namespace fs = std::filesystem;
namespace asio = boost::asio;
using asio::ip::tcp;

std::uint16_t free_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// `count` replicas on 127.0.0.1 with LevelDB under a fresh temp directory.
struct LocalLog {
  explicit LocalLog(std::size_t count) {
    static int counter = 0;
    dir = fs::temp_directory_path() / fmt::format("dcos-log-shell-{}-{}", ::getpid(), counter++);
    fs::remove_all(dir);
    std::vector<std::pair<NodeId, tcp::endpoint>> endpoints;
    for (std::uint32_t i = 0; i < count; ++i) {
      endpoints.emplace_back(NodeId{i}, tcp::endpoint(asio::ip::make_address("127.0.0.1"), free_port()));
    }
    for (std::uint32_t i = 0; i < count; ++i) {
      LogOptions o;
      o.self = NodeId{i};
      o.replicas = endpoints;
      o.path = (dir / fmt::format("r{}", i)).string();
      o.tick = std::chrono::milliseconds(20);
      options.push_back(o);
      logs.push_back(nullptr);
    }
  }
  ~LocalLog() {
    logs.clear();
    fs::remove_all(dir);
  }
  Log& open(std::uint32_t i) {
    logs[i] = std::move(Log::open(options[i]).value());
    return *logs[i];
  }
  // Retries `start_sync` while the replicas finish initialising.
  Result<Position> start(std::uint32_t i) {
    auto elected = logs[i]->start_sync();
    for (int attempt = 0; !elected && attempt < 100; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      elected = logs[i]->start_sync();
    }
    return elected;
  }
  // Waits until replica `i` is VOTING (initialised or caught up).
  bool voting(std::uint32_t i) {
    for (int attempt = 0; attempt < 500; ++attempt) {
      if (logs[i]->status().status == Status::voting) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  fs::path dir;
  std::vector<LogOptions> options;
  std::vector<std::unique_ptr<Log>> logs;
};

}  // namespace

TEST_CASE("LogTest.WriteRead: three replicas over TCP auto-initialise, elect, append and read",
          "[replicated_log][shell]") {
  LocalLog cluster(3);
  for (std::uint32_t i = 0; i < 3; ++i) cluster.open(i);
  auto index = cluster.start(0);
  REQUIRE(index);
  CHECK(*index == 0);
  auto position = cluster.logs[0]->append_sync("hello world");
  REQUIRE(position);
  CHECK(*position == 1);
  auto entries = cluster.logs[0]->read(1, 1);
  REQUIRE(entries);
  REQUIRE(entries->size() == 1);
  CHECK(entries->front().position == 1);
  CHECK(entries->front().data == "hello world");

  // Concurrent appends share batches and all come back in order.
  std::atomic<int> done{0};
  for (int i = 0; i < 500; ++i) {
    cluster.logs[0]->append(std::to_string(i), [&](Result<Position> p) {
      CHECK(p);
      ++done;
    });
  }
  while (done < 500) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto all = cluster.logs[0]->read(2, 501);
  REQUIRE(all);
  CHECK(all->size() == 500);

  // LogTest.ReaderCatchup: another replica catches up to the end and reads the same.
  auto end = cluster.logs[2]->catch_up_sync();
  REQUIRE(end);
  CHECK(*end == 501);
  auto copy = cluster.logs[2]->read(1, 501);
  REQUIRE(copy);
  REQUIRE(copy->size() == 501);
  CHECK(copy->front().data == "hello world");
  CHECK(copy->back().data == (*all).back().data);
}

TEST_CASE("a second writer displaces the first, which must start again", "[replicated_log][shell]") {
  LocalLog cluster(3);
  for (std::uint32_t i = 0; i < 3; ++i) cluster.open(i);
  REQUIRE(cluster.start(0));
  REQUIRE(cluster.logs[0]->append_sync("a"));
  REQUIRE(cluster.start(1));
  auto stale = cluster.logs[0]->append_sync("b");
  REQUIRE_FALSE(stale);
  CHECK(stale.error().code == dcos::make_error_code(dcos::Errc::not_leader));
  auto position = cluster.logs[1]->append_sync("c");
  REQUIRE(position);
  auto entries = cluster.logs[1]->read(1, *position);
  REQUIRE(entries);
  CHECK(entries->front().data == "a");
  CHECK(entries->back().data == "c");
}

TEST_CASE("a restarted replica keeps its log; a wiped one recovers it from its peers", "[replicated_log][shell]") {
  LocalLog cluster(3);
  for (std::uint32_t i = 0; i < 3; ++i) cluster.open(i);
  REQUIRE(cluster.start(0));
  for (int i = 1; i <= 20; ++i) REQUIRE(cluster.logs[0]->append_sync(std::to_string(i)));
  // Every replica must have finished initialising before one loses its disk: a replica still
  // STARTING cannot finish without all others, nor can an EMPTY one without a VOTING quorum.
  for (std::uint32_t i = 0; i < 3; ++i) REQUIRE(cluster.voting(i));

  cluster.logs[1].reset();
  cluster.open(1);
  CHECK(cluster.logs[1]->status().status == Status::voting);

  cluster.logs[2].reset();
  fs::remove_all(cluster.options[2].path);
  cluster.open(2);
  CHECK(cluster.voting(2));
  LogStatus status = cluster.logs[2]->status();
  CHECK(status.status == Status::voting);
  CHECK(status.learned_end == std::optional<Position>(20));
  auto entries = cluster.logs[2]->read(1, 20);
  REQUIRE(entries);
  CHECK(entries->size() == 20);
  CHECK(entries->back().data == "20");

  // The writer still has a quorum and keeps going.
  CHECK(cluster.logs[0]->append_sync("21") == Position{21});
}

TEST_CASE("a one-replica log initialises itself and survives a restart", "[replicated_log][shell]") {
  // Mesos LogTest.Metrics runs a log of one replica with quorum 1.
  LocalLog cluster(1);
  cluster.open(0);
  REQUIRE(cluster.start(0) == Position{0});
  CHECK(cluster.logs[0]->append_sync("one") == Position{1});
  CHECK(cluster.logs[0]->truncate_sync(1) == Position{2});
  CHECK(cluster.logs[0]->append_sync("two") == Position{3});
  cluster.logs[0].reset();
  cluster.open(0);
  LogStatus status = cluster.logs[0]->status();
  CHECK(status.status == Status::voting);
  CHECK(status.begin == 1);
  auto entries = cluster.logs[0]->read(1, 3);
  REQUIRE(entries);
  REQUIRE(entries->size() == 2);
  CHECK(entries->front().data == "one");
  CHECK(entries->back().data == "two");
  // A new writer's election fills nothing and continues after the last position.
  REQUIRE(cluster.start(0) == Position{3});
  CHECK(cluster.logs[0]->append_sync("three") == Position{4});
}

TEST_CASE("closing a log fails what is in flight and everything after it, at once", "[replicated_log][shell]") {
  LocalLog cluster(3);
  Log& log = cluster.open(0);  // Alone of three: no quorum, so an election waits for ever.
  std::promise<Result<Position>> started;
  log.start([&](Result<Position> elected) { started.set_value(std::move(elected)); });
  log.close();
  auto in_flight = started.get_future();
  REQUIRE(in_flight.wait_for(std::chrono::seconds(0)) == std::future_status::ready);  // Answered by `close`.
  const Result<Position> start = in_flight.get();
  REQUIRE_FALSE(start);
  CHECK(start.error().code == dcos::make_error_code(dcos::Errc::cancelled));

  std::optional<Result<Position>> appended;
  log.append("late", [&](Result<Position> result) { appended = std::move(result); });
  REQUIRE(appended);  // On this thread, before `append` returned.
  CHECK(appended->error().code == dcos::make_error_code(dcos::Errc::cancelled));
  const auto read = log.read(1, 1);
  REQUIRE_FALSE(read);
  CHECK(read.error().code == dcos::make_error_code(dcos::Errc::cancelled));
  CHECK_FALSE(log.status().learned_end);
  log.close();  // Twice: harmless.
}
