#pragma once
// The one suite every `Storage` must pass: Mesos's `state_tests.cpp` scenarios, a few more
// (odd names, a race from one absent fetch, persistence) and writers racing on one name. Each
// storage's test case (state_test.cpp) hands `run_state_suite` a factory of fixtures; every
// scenario runs in its own Catch2 section on a fresh fixture and a fresh io_context.

#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "dcos/state/state.hpp"

namespace dcos::state::testing {

namespace asio = boost::asio;

// Mesos's tests store a `Slaves` message; this is its JSON twin.
struct Slaves {
  std::vector<std::string> hostnames;
  bool operator==(const Slaves&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Slaves, hostnames)

// Builders that keep braced lists of string literals out of coroutines: g++ 12 fails on them
// there ("array used as initializer").
template <typename... Names>
Slaves hosts(Names... names) {
  return Slaves{std::vector<std::string>{std::string(names)...}};
}
template <typename... Names>
std::set<std::string> set_of(Names... names) {
  return std::set<std::string>{std::string(names)...};
}

struct Counter {
  int value = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Counter, value)

// Runs `task` to completion on `io` (which may have run before) and returns its value. A failed
// REQUIRE inside the coroutine throws out of `io.run()` into Catch2.
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> result;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result.emplace(co_await std::move(task)); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.restart();
  io.run();
  REQUIRE(result);
  return std::move(*result);
}

inline void run(asio::io_context& io, asio::awaitable<void> task) {
  bool done = false;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> {
        co_await std::move(task);
        done = true;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.restart();
  io.run();
  REQUIRE(done);
}

// Lets every other ready coroutine on this executor run once.
inline asio::awaitable<void> yield() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

class Fixture {
 public:
  virtual ~Fixture() = default;
  virtual Storage& storage() = 0;
  // Closes `storage()` and opens it again over the same data. False when the storage keeps
  // nothing (in memory).
  virtual bool reopen() { return false; }
  // The storage racing writer `i` uses: `storage()` itself, or an independent instance over the
  // same data (another session, another process's view) where the backend has those.
  virtual Storage& writer_storage(std::size_t) { return storage(); }
};

using FixtureFactory = std::function<std::unique_ptr<Fixture>()>;

// --- Mesos's state_tests.cpp -------------------------------------------------------------------

inline asio::awaitable<void> fetch_and_store_and_fetch(Fixture& fixture) {
  State<Slaves> state(fixture.storage());
  Result<Variable<Slaves>> variable = co_await state.fetch("slaves");
  REQUIRE(variable);
  CHECK(variable->name() == "slaves");
  CHECK(variable->get().hostnames.empty());  // Absent: a default value.
  CHECK(variable->version().size() == 16);
  Slaves slaves = variable->get();
  slaves.hostnames.push_back("localhost");
  Result<std::optional<Variable<Slaves>>> stored = co_await state.store(variable->mutate(slaves));
  REQUIRE(stored);
  REQUIRE(*stored);
  CHECK((*stored)->get() == slaves);
  CHECK((*stored)->version() != variable->version());  // A store always takes a new version.

  variable = co_await state.fetch("slaves");
  REQUIRE(variable);
  CHECK(variable->get() == slaves);
  CHECK(variable->version() == (*stored)->version());
}

inline asio::awaitable<void> fetch_and_store_and_store_and_fetch(Fixture& fixture) {
  State<Slaves> state(fixture.storage());
  Result<Variable<Slaves>> variable = co_await state.fetch("slaves");
  REQUIRE(variable);
  Result<std::optional<Variable<Slaves>>> first = co_await state.store(variable->mutate(hosts("localhost")));
  REQUIRE(first);
  REQUIRE(*first);
  // The variable a store returns is current: storing it again succeeds.
  Result<std::optional<Variable<Slaves>>> second = co_await state.store(**first);
  REQUIRE(second);
  REQUIRE(*second);
  CHECK((*second)->version() != (*first)->version());

  variable = co_await state.fetch("slaves");
  REQUIRE(variable);
  CHECK(variable->get() == hosts("localhost"));
  CHECK(variable->version() == (*second)->version());
}

inline asio::awaitable<void> fetch_and_store_and_store_fail_and_fetch(Fixture& fixture) {
  State<Slaves> state(fixture.storage());
  Result<Variable<Slaves>> fetched = co_await state.fetch("slaves");
  REQUIRE(fetched);
  Result<std::optional<Variable<Slaves>>> stored = co_await state.store(fetched->mutate(hosts("localhost")));
  REQUIRE(stored);
  REQUIRE(*stored);
  // `fetched` still carries the version it was fetched at, which is no longer stored.
  Result<std::optional<Variable<Slaves>>> stale = co_await state.store(fetched->mutate(hosts("localhost2")));
  REQUIRE(stale);  // A conflict is not an error...
  CHECK_FALSE(*stale);  // ...but an empty optional.

  Result<Variable<Slaves>> variable = co_await state.fetch("slaves");
  REQUIRE(variable);
  CHECK(variable->get() == hosts("localhost"));  // Unchanged by the stale store.
  CHECK(variable->version() == (*stored)->version());
}

inline asio::awaitable<void> fetch_and_store_and_expunge_and_fetch(Fixture& fixture) {
  State<Slaves> state(fixture.storage());
  Result<Variable<Slaves>> variable = co_await state.fetch("slaves");
  REQUIRE(variable);
  Result<std::optional<Variable<Slaves>>> stored = co_await state.store(variable->mutate(hosts("localhost")));
  REQUIRE(stored);
  REQUIRE(*stored);
  Result<bool> expunged = co_await state.expunge(**stored);
  REQUIRE(expunged);
  CHECK(*expunged);

  variable = co_await state.fetch("slaves");
  REQUIRE(variable);
  CHECK(variable->get().hostnames.empty());
  Result<std::set<std::string>> names = co_await state.names();
  REQUIRE(names);
  CHECK(names->empty());
}

inline asio::awaitable<void> fetch_and_store_and_expunge_and_expunge(Fixture& fixture) {
  State<Slaves> state(fixture.storage());
  Result<Variable<Slaves>> variable = co_await state.fetch("slaves");
  REQUIRE(variable);
  Result<std::optional<Variable<Slaves>>> stored = co_await state.store(variable->mutate(hosts("localhost")));
  REQUIRE(stored);
  REQUIRE(*stored);
  Result<bool> expunged = co_await state.expunge(**stored);
  REQUIRE(expunged);
  CHECK(*expunged);
  expunged = co_await state.expunge(**stored);
  REQUIRE(expunged);
  CHECK_FALSE(*expunged);
  // A variable that was never stored expunges nothing either.
  expunged = co_await state.expunge(*variable);
  REQUIRE(expunged);
  CHECK_FALSE(*expunged);
}

inline asio::awaitable<void> fetch_and_store_and_expunge_and_store_and_fetch(Fixture& fixture) {
  State<Slaves> state(fixture.storage());
  Result<Variable<Slaves>> variable = co_await state.fetch("slaves");
  REQUIRE(variable);
  Result<std::optional<Variable<Slaves>>> stored = co_await state.store(variable->mutate(hosts("localhost")));
  REQUIRE(stored);
  REQUIRE(*stored);
  Result<bool> expunged = co_await state.expunge(**stored);
  REQUIRE(expunged);
  CHECK(*expunged);
  // The name is absent again, so any version may create it (Mesos does the same).
  Result<std::optional<Variable<Slaves>>> again = co_await state.store(**stored);
  REQUIRE(again);
  REQUIRE(*again);

  variable = co_await state.fetch("slaves");
  REQUIRE(variable);
  CHECK(variable->get() == hosts("localhost"));
  CHECK(variable->version() == (*again)->version());
}

inline asio::awaitable<void> names(Fixture& fixture) {
  State<Slaves> state(fixture.storage());
  Result<std::set<std::string>> names = co_await state.names();
  REQUIRE(names);
  CHECK(names->empty());
  Result<Variable<Slaves>> variable = co_await state.fetch("slaves");
  REQUIRE(variable);
  names = co_await state.names();
  REQUIRE(names);
  CHECK(names->empty());  // Fetching writes nothing.
  Result<std::optional<Variable<Slaves>>> stored = co_await state.store(variable->mutate(hosts("localhost")));
  REQUIRE(stored);
  REQUIRE(*stored);
  names = co_await state.names();
  REQUIRE(names);
  CHECK(*names == set_of("slaves"));
}

// --- Beyond Mesos's list -----------------------------------------------------------------------

// Two variables from one fetch of an absent name: the first store creates it, the second
// conflicts, and a store of a value of another type under another name is independent.
inline asio::awaitable<void> two_stores_from_one_absent_fetch(Fixture& fixture) {
  State<Slaves> state(fixture.storage());
  Result<Variable<Slaves>> fetched = co_await state.fetch("slaves");
  REQUIRE(fetched);
  Result<std::optional<Variable<Slaves>>> first = co_await state.store(fetched->mutate(hosts("a")));
  REQUIRE(first);
  CHECK(*first);
  Result<std::optional<Variable<Slaves>>> second = co_await state.store(fetched->mutate(hosts("b")));
  REQUIRE(second);
  CHECK_FALSE(*second);

  State<Counter> counters(fixture.storage());
  Result<Variable<Counter>> counter = co_await counters.fetch("counter");
  REQUIRE(counter);
  Result<std::optional<Variable<Counter>>> stored = co_await counters.store(counter->mutate(Counter{7}));
  REQUIRE(stored);
  CHECK(*stored);
  Result<Variable<Slaves>> slaves = co_await state.fetch("slaves");
  REQUIRE(slaves);
  CHECK(slaves->get() == hosts("a"));
  Result<std::set<std::string>> names = co_await state.names();
  REQUIRE(names);
  CHECK(*names == set_of("counter", "slaves"));
}

inline std::vector<std::string> odd_name_list() {
  return {"a/b", "/", ".", "..", "%41", "with space", "zookeeper", "caf\xc3\xa9", std::string("nul\0byte", 8),
          std::string(255, 'x')};
}

// Names are arbitrary bytes (storages that map them to keys or znodes must escape them); the
// empty name is refused.
inline asio::awaitable<void> odd_names(Fixture& fixture) {
  State<Counter> state(fixture.storage());
  const std::vector<std::string> odd = odd_name_list();
  int value = 0;
  for (const std::string& name : odd) {
    INFO("name=" << name);
    Result<Variable<Counter>> variable = co_await state.fetch(name);
    REQUIRE(variable);
    Result<std::optional<Variable<Counter>>> stored = co_await state.store(variable->mutate(Counter{++value}));
    REQUIRE(stored);
    CHECK(*stored);
  }
  Result<std::set<std::string>> names = co_await state.names();
  REQUIRE(names);
  CHECK(*names == std::set<std::string>(odd.begin(), odd.end()));
  value = 0;
  for (const std::string& name : odd) {
    INFO("name=" << name);
    Result<Variable<Counter>> variable = co_await state.fetch(name);
    REQUIRE(variable);
    CHECK(variable->get().value == ++value);
  }
  Result<Variable<Counter>> empty = co_await state.fetch("");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code == make_error_code(Errc::invalid_argument));
  Result<Variable<Counter>> long_name = co_await state.fetch(std::string(name_bytes_max + 1, 'x'));
  REQUIRE_FALSE(long_name);
}

// Bytes that are not `T`'s JSON fetch as `Errc::corruption`, not as an exception.
inline asio::awaitable<void> fetch_of_another_type(Fixture& fixture) {
  State<Slaves> slaves(fixture.storage());
  Result<Variable<Slaves>> variable = co_await slaves.fetch("slaves");
  REQUIRE(variable);
  Result<std::optional<Variable<Slaves>>> stored = co_await slaves.store(variable->mutate(hosts("localhost")));
  REQUIRE(stored);
  State<Counter> counters(fixture.storage());
  Result<Variable<Counter>> counter = co_await counters.fetch("slaves");
  REQUIRE_FALSE(counter);
  CHECK(counter.error().code == make_error_code(Errc::corruption));
}

// --- Writers racing on one name ----------------------------------------------------------------

struct RaceTally {
  std::map<std::string, int> wins_by_base_version;  // How many stores succeeded from each version.
  int wins = 0;
  int conflicts = 0;
};

inline asio::awaitable<void> increment(Storage& storage, int times, RaceTally& tally) {
  State<Counter> state(storage);
  for (int done = 0; done < times;) {
    Result<Variable<Counter>> variable = co_await state.fetch("counter");
    REQUIRE(variable);
    co_await yield();  // Let the other writers fetch the same version.
    Result<std::optional<Variable<Counter>>> stored =
        co_await state.store(variable->mutate(Counter{variable->get().value + 1}));
    REQUIRE(stored);
    if (*stored) {
      ++tally.wins_by_base_version[variable->version()];
      ++tally.wins;
      ++done;
    } else {
      ++tally.conflicts;  // Someone else won this version: fetch again and retry.
    }
  }
}

// N writers each add 1 to a counter M times with fetch-then-store. Exactly one store wins per
// version (no version is the base of two successful stores), the others see a conflict and
// retry, and no increment is lost: the counter ends at N*M.
inline void racing_writers(Fixture& fixture, asio::io_context& io) {
  constexpr std::size_t writers = 5;
  constexpr int increments = 8;
  RaceTally tally;
  std::size_t finished = 0;
  for (std::size_t i = 0; i < writers; ++i) {
    asio::co_spawn(io, increment(fixture.writer_storage(i), increments, tally), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      ++finished;
    });
  }
  io.restart();
  io.run();
  REQUIRE(finished == writers);
  CHECK(tally.wins == static_cast<int>(writers) * increments);
  CHECK(tally.conflicts > 0);  // The yields make writers collide.
  for (const auto& [version, wins] : tally.wins_by_base_version) CHECK(wins == 1);
  State<Counter> state(fixture.storage());
  Result<Variable<Counter>> counter = run(io, state.fetch("counter"));
  REQUIRE(counter);
  CHECK(counter->get().value == static_cast<int>(writers) * increments);
  WARN("racing writers: " << tally.wins << " stores won, " << tally.conflicts << " conflicts retried");
}

// --- Persistence -------------------------------------------------------------------------------

inline void survives_reopen(Fixture& fixture, asio::io_context& io) {
  State<Slaves> state(fixture.storage());
  Result<Variable<Slaves>> variable = run(io, state.fetch("slaves"));
  REQUIRE(variable);
  Result<std::optional<Variable<Slaves>>> stored = run(io, state.store(variable->mutate(hosts("localhost"))));
  REQUIRE(stored);
  REQUIRE(*stored);
  if (!fixture.reopen()) return;  // Nothing to keep.
  State<Slaves> reopened(fixture.storage());
  variable = run(io, reopened.fetch("slaves"));
  REQUIRE(variable);
  CHECK(variable->get() == hosts("localhost"));
  CHECK(variable->version() == (*stored)->version());
  // The variable from before the reopen is still current.
  stored = run(io, reopened.store((*stored)->mutate(hosts("localhost", "other"))));
  REQUIRE(stored);
  CHECK(*stored);
}

// Every scenario, each in its own section on a fresh fixture. A null fixture skips the suite
// (the factory has said why with WARN).
inline void run_state_suite(const FixtureFactory& make) {
  using Body = std::function<asio::awaitable<void>(Fixture&)>;
  const std::vector<std::pair<const char*, Body>> scenarios = {
      {"FetchAndStoreAndFetch", fetch_and_store_and_fetch},
      {"FetchAndStoreAndStoreAndFetch", fetch_and_store_and_store_and_fetch},
      {"FetchAndStoreAndStoreFailAndFetch", fetch_and_store_and_store_fail_and_fetch},
      {"FetchAndStoreAndExpungeAndFetch", fetch_and_store_and_expunge_and_fetch},
      {"FetchAndStoreAndExpungeAndExpunge", fetch_and_store_and_expunge_and_expunge},
      {"FetchAndStoreAndExpungeAndStoreAndFetch", fetch_and_store_and_expunge_and_store_and_fetch},
      {"Names", names},
      {"TwoStoresFromOneAbsentFetch", two_stores_from_one_absent_fetch},
      {"OddNames", odd_names},
      {"FetchOfAnotherType", fetch_of_another_type},
  };
  for (const auto& [name, body] : scenarios) {
    DYNAMIC_SECTION(name) {
      std::unique_ptr<Fixture> fixture = make();
      if (!fixture) return;
      asio::io_context io;
      run(io, body(*fixture));
    }
  }
  SECTION("RacingWriters") {
    std::unique_ptr<Fixture> fixture = make();
    if (!fixture) return;
    asio::io_context io;
    racing_writers(*fixture, io);
  }
  SECTION("SurvivesReopen") {
    std::unique_ptr<Fixture> fixture = make();
    if (!fixture) return;
    asio::io_context io;
    survives_reopen(*fixture, io);
  }
}

}  // namespace dcos::state::testing
