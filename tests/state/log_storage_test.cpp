// `LogStorage` on the single-writer log (`MemoryLog`, and the replicated log over TCP where
// marked): displaced writers restart and replay, appends whose reply was lost are recognised by
// their uuid, lost elections are retried, and truncation keeps every live snapshot (a storage
// that replays from scratch still sees them all).
#include "dcos/state/log_storage.hpp"  // First: proves the header is self-contained.

#include <catch2/catch.hpp>

#include "dcos/state/memory_log.hpp"
#include "dcos/state/replicated_log_adapter.hpp"
#include "dcos/state/state.hpp"
#include "state/local_replicated_log.hpp"
#include "state/state_suite.hpp"

namespace {

using namespace dcos::state;
using dcos::state::testing::run;
using dcos::state::testing::Slaves;
namespace asio = boost::asio;

std::optional<Variable<Slaves>> store(asio::io_context& io, State<Slaves>& state, const Variable<Slaves>& variable,
                                      Slaves value) {
  auto stored = run(io, state.store(variable.mutate(std::move(value))));
  REQUIRE(stored);
  return *stored;
}

Variable<Slaves> fetch(asio::io_context& io, State<Slaves>& state, const std::string& name = "slaves") {
  auto fetched = run(io, state.fetch(name));
  REQUIRE(fetched);
  return *fetched;
}

// Two storages, two writers of one log, taking turns as two masters would after failovers.
void displaced_writers_take_turns(LogStorage& storage_a, LogStorage& storage_b) {
  asio::io_context io;
  State<Slaves> a(storage_a);
  State<Slaves> b(storage_b);

  // A writes first.
  auto a1 = store(io, a, fetch(io, a), Slaves{{"a1"}});
  REQUIRE(a1);
  CHECK(storage_a.starts() == 1);

  // B starts (displacing A), replays A's store and builds on it.
  Variable<Slaves> seen_by_b = fetch(io, b);
  CHECK(seen_by_b.get() == Slaves{{"a1"}});
  auto b1 = store(io, b, seen_by_b, Slaves{{"a1", "b1"}});
  REQUIRE(b1);

  // A does not know yet: its fetch answers from its replay (stale), and a store built on that
  // conflicts -- after which A has caught up as a reader and replayed B's store, electing
  // nobody: B is still the writer, and its next store goes through.
  CHECK(fetch(io, a).get() == Slaves{{"a1"}});
  CHECK_FALSE(store(io, a, *a1, Slaves{{"a2"}}));
  CHECK(storage_a.starts() == 1);
  auto b2 = store(io, b, *b1, Slaves{{"a1", "b1", "b2"}});
  REQUIRE(b2);
  CHECK(storage_b.starts() == 1);

  // A's next operation starts its writer again (displacing B) and replays B's stores.
  Variable<Slaves> seen_by_a = fetch(io, a);
  CHECK(storage_a.starts() == 2);
  CHECK(seen_by_a.get() == Slaves{{"a1", "b1", "b2"}});
  auto a2 = store(io, a, seen_by_a, Slaves{{"a1", "b1", "b2", "a2"}});
  REQUIRE(a2);

  // And now B is the displaced one; its current-looking variable is stale.
  CHECK_FALSE(store(io, b, *b2, Slaves{{"b3"}}));
  CHECK(storage_b.starts() == 1);
  CHECK(fetch(io, b).get() == Slaves{{"a1", "b1", "b2", "a2"}});
  CHECK(storage_b.starts() == 2);
}

}  // namespace

TEST_CASE("a displaced log writer catches up without displacing the other, then restarts and replays", "[state][core]") {
  MemoryLog log;
  auto writer_a = log.writer();
  auto writer_b = log.writer();
  LogStorage storage_a(log, *writer_a);
  LogStorage storage_b(log, *writer_b);
  displaced_writers_take_turns(storage_a, storage_b);
}

TEST_CASE("displaced writers on the replicated log catch up, restart, replay and see each other's stores",
          "[state][shell]") {
  dcos::state::testing::LocalReplicatedLog cluster(3);
  ReplicatedLogAdapter on_0(cluster.log(0));
  ReplicatedLogAdapter on_1(cluster.log(1));
  LogStorage storage_a(on_0, on_0);
  LogStorage storage_b(on_1, on_1);
  displaced_writers_take_turns(storage_a, storage_b);
}

TEST_CASE("a log append whose reply was lost is recognised by its uuid", "[state][core]") {
  asio::io_context io;
  MemoryLog log;
  auto writer = log.writer();
  LogStorage storage(log, *writer);
  State<Slaves> state(storage);
  Variable<Slaves> fetched = fetch(io, state);

  // The append is chosen but the writer hears "demoted": the storage catches up, replays, finds
  // its own fresh uuid and reports success rather than a false conflict.
  log.lose_next_append_reply();
  auto stored = store(io, state, fetched, Slaves{{"localhost"}});
  REQUIRE(stored);
  CHECK(storage.starts() == 1);
  Variable<Slaves> now = fetch(io, state);
  CHECK(storage.starts() == 2);  // The next operation starts the writer again.
  CHECK(now.get() == Slaves{{"localhost"}});
  CHECK(now.version() == stored->version());

  // Likewise for an expunge.
  log.lose_next_append_reply();
  auto expunged = run(io, state.expunge(now));
  REQUIRE(expunged);
  CHECK(*expunged);
  CHECK(fetch(io, state).get().hostnames.empty());
}

TEST_CASE("a log storage retries lost elections, then gives up with unavailable", "[state][core]") {
  asio::io_context io;
  MemoryLog log;
  auto writer = log.writer();
  SECTION("two lost elections, then elected") {
    LogStorage storage(log, *writer);
    State<Slaves> state(storage);
    log.lose_next_elections(2);
    Variable<Slaves> fetched = fetch(io, state);  // Retried after 100-200 ms each.
    CHECK(fetched.get().hostnames.empty());
    CHECK(storage.starts() == 1);
  }
  SECTION("never elected") {
    LogStorage storage(log, *writer, LogStorageOptions{.start_timeout = std::chrono::milliseconds(300)});
    State<Slaves> state(storage);
    log.lose_next_elections(1000);
    auto fetched = run(io, state.fetch("slaves"));
    REQUIRE_FALSE(fetched);
    CHECK(fetched.error().code == dcos::make_error_code(dcos::Errc::unavailable));
  }
}

TEST_CASE("log truncation keeps every live snapshot", "[state][core]") {
  asio::io_context io;
  MemoryLog log;
  auto writer = log.writer();
  LogStorage storage(log, *writer, LogStorageOptions{.truncate_lag = 3});
  State<Slaves> state(storage);

  // "old" is written once; "hot" many times; "gone" is stored then expunged.
  REQUIRE(store(io, state, fetch(io, state, "old"), Slaves{{"old"}}));
  auto gone = store(io, state, fetch(io, state, "gone"), Slaves{{"gone"}});
  REQUIRE(gone);
  auto expunged = run(io, state.expunge(*gone));
  REQUIRE(expunged);
  CHECK(*expunged);
  for (int i = 0; i < 20; ++i) REQUIRE(store(io, state, fetch(io, state, "hot"), Slaves{{std::to_string(i)}}));
  CHECK(run(io, log.beginning()).value() == 0);  // "old" at position 1 pins the log.

  // Rewrite "old": now the log can drop everything below the oldest live snapshot.
  REQUIRE(store(io, state, fetch(io, state, "old"), Slaves{{"old2"}}));
  REQUIRE(store(io, state, fetch(io, state, "hot"), Slaves{{"last"}}));
  const LogPosition beginning = run(io, log.beginning()).value();
  CHECK(beginning > 20);

  // A new storage replays from the beginning and sees exactly the live names and values.
  auto other_writer = log.writer();
  LogStorage other(log, *other_writer, LogStorageOptions{.truncate_lag = 3});
  State<Slaves> replayed(other);
  auto names = run(io, replayed.names());
  REQUIRE(names);
  CHECK(*names == std::set<std::string>{"hot", "old"});
  CHECK(fetch(io, replayed, "old").get() == Slaves{{"old2"}});
  CHECK(fetch(io, replayed, "hot").get() == Slaves{{"last"}});

  // The first storage, displaced and now behind the truncation, replays afresh too.
  CHECK(store(io, replayed, fetch(io, replayed, "gone"), Slaves{{"back"}}));
  for (int i = 0; i < 8; ++i) REQUIRE(store(io, replayed, fetch(io, replayed, "hot"), Slaves{{"x"}}));
  REQUIRE(store(io, replayed, fetch(io, replayed, "old"), Slaves{{"old3"}}));
  REQUIRE(store(io, replayed, fetch(io, replayed, "gone"), Slaves{{"back2"}}));
  REQUIRE(store(io, replayed, fetch(io, replayed, "hot"), Slaves{{"y"}}));
  REQUIRE(run(io, log.beginning()).value() > beginning);
  CHECK_FALSE(store(io, state, fetch(io, state, "old"), Slaves{{"stale"}}));
  CHECK(fetch(io, state, "old").get() == Slaves{{"old3"}});
  CHECK(fetch(io, state, "gone").get() == Slaves{{"back2"}});
  CHECK(fetch(io, state, "hot").get() == Slaves{{"y"}});
}
