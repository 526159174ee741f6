// `ZooKeeperStorage` against a real server (Debian's `zookeeper`) that restarts under it:
// operations retry through the connection loss and the data survives. Skips, saying why, where
// no server can run.
#include "dcos/state/zookeeper_storage.hpp"  // First: proves the header is self-contained.

#include <catch2/catch.hpp>

#include "dcos/state/state.hpp"
#include "state/state_suite.hpp"
#include "support/zookeeper_server.hpp"

namespace {

using namespace dcos::state;
using dcos::state::testing::run;
using dcos::state::testing::Slaves;
namespace asio = boost::asio;

}  // namespace

TEST_CASE("ZooKeeperStorage retries through a server restart", "[state][shell]") {
  auto server = dcos::testing::ZooKeeperServer::start();
  if (!server) {
    WARN("SKIPPED: ZooKeeper tests need a ZooKeeper server (Debian package `zookeeper`): "
         << server.error().message);
    return;
  }
  asio::io_context io;
  auto storage = ZooKeeperStorage::open({.servers = (*server)->connect_string(), .root = "/dcos/state",
                                         .operation_timeout = std::chrono::seconds(60)});
  REQUIRE(storage);
  State<Slaves> state(**storage);
  auto fetched = run(io, state.fetch("slaves"));
  REQUIRE(fetched);
  auto stored = run(io, state.store(fetched->mutate(Slaves{{"before"}})));
  REQUIRE(stored);
  REQUIRE(*stored);

  REQUIRE((*server)->restart());

  // The client reconnects (same session: the server restored it) and the store goes through.
  auto again = run(io, state.store((*stored)->mutate(Slaves{{"before", "after"}})));
  REQUIRE(again);
  CHECK(*again);
  auto now = run(io, state.fetch("slaves"));
  REQUIRE(now);
  CHECK(now->get() == Slaves{{"before", "after"}});
}

TEST_CASE("ZooKeeperStorage fails with unavailable when no server answers", "[state][shell]") {
  asio::io_context io;
  // Port 1 on loopback: nothing listens, connections are refused at once.
  auto storage = ZooKeeperStorage::open({.servers = "127.0.0.1:1", .root = "/dcos/state",
                                         .operation_timeout = std::chrono::milliseconds(500)});
  REQUIRE(storage);
  State<Slaves> state(**storage);
  auto fetched = run(io, state.fetch("slaves"));
  REQUIRE_FALSE(fetched);
  CHECK(fetched.error().code == dcos::make_error_code(dcos::Errc::unavailable));
}

TEST_CASE("ZooKeeperStorage refuses bad roots and oversized values", "[state][shell]") {
  for (const char* root : {"", "/", "relative", "/trailing/", "/a//b", "/zookeeper", "/zookeeper/x"}) {
    INFO("root=" << root);
    CHECK_FALSE(ZooKeeperStorage::open({.servers = "127.0.0.1:1", .root = root}));
  }
  asio::io_context io;
  auto storage = ZooKeeperStorage::open({.servers = "127.0.0.1:1", .root = "/dcos/state", .value_bytes_max = 100});
  REQUIRE(storage);
  CHECK((*storage)->path_of("a/b c") == "/dcos/state/a%2Fb%20c");
  CHECK((*storage)->path_of("..") == "/dcos/state/%2E%2E");
  // The size check comes before any request, so no server is needed.
  auto stored = run(io, (*storage)->set(Entry{"big", std::string(16, 'u'), std::string(200, 'x')}, ""));
  REQUIRE_FALSE(stored);
  CHECK(stored.error().code == dcos::make_error_code(dcos::Errc::invalid_argument));
}
