// Ports of Mesos's `registrar_tests.cpp`: the registrar's operations, recovery, batching and its
// failure modes (timeouts on a fault-injecting storage, a conflicting second master).
#include "dcos/master/registrar.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "dcos/state/in_memory_storage.hpp"
#include "dcos/state/log_storage.hpp"
#include "dcos/state/replicated_log_adapter.hpp"
#include "master/faulty_storage.hpp"
#include "state/local_replicated_log.hpp"
#include "support/run_until.hpp"

namespace dcos::master {
namespace {

using namespace std::chrono_literals;

using dcos::testing::run_until;

nlohmann::json agent_info(const std::string& id) {
  return {{"id", {{"value", id}}}, {"hostname", id + ".example"}, {"port", 5051}};
}

// A registrar and what its calls returned, on one io_context.
// `storage` is borrowed: it outlives the harness, whose io_context ends the operations still in
// flight (destroying it destroys them).
std::shared_ptr<state::Storage> borrow(state::Storage& storage) { return {std::shared_ptr<void>(), &storage}; }

struct Harness {
  explicit Harness(state::Storage& storage, RegistrarOptions options = {})
      : registrar(io.get_executor(), clock, borrow(storage), options) {
    registrar.on_failure([this](const Error& error) { failures.push_back(error); });
  }
  Result<Registry> recover(std::string master = "master-1") {
    std::optional<Result<Registry>> out;
    registrar.recover({{"id", master}}, [&](Result<Registry> r) { out = std::move(r); });
    REQUIRE(run_until(io, [&] { return out.has_value(); }));
    return *out;
  }
  Result<bool> apply(RegistryOperation op) {
    std::optional<Result<bool>> out;
    registrar.apply(std::move(op), [&](Result<bool> r) { out = std::move(r); });
    REQUIRE(run_until(io, [&] { return out.has_value(); }));
    return *out;
  }

  boost::asio::io_context io;
  ManualClock clock;
  Registrar registrar;
  std::vector<Error> failures;
};

// What a fresh registrar recovers from `storage`.
Registry recovered(state::Storage& storage) {
  Harness other(storage);
  auto registry = other.recover("master-2");
  REQUIRE(registry);
  return *registry;
}

const TimePoint t0 = TimePoint(1'700'000'000s);

}  // namespace

TEST_CASE("registrar bootstraps an empty registry and stores it at recovery", "[registrar]") {
  state::InMemoryStorage storage;
  Harness h(storage);
  auto registry = h.recover("master-1");
  REQUIRE(registry);
  CHECK(registry->agents.empty());
  CHECK(registry->master_info == nlohmann::json{{"id", "master-1"}});
  CHECK(h.registrar.stats().stores == 1);
  // Stored, not just fetched: the next master finds the first one's info.
  CHECK(recovered(storage).master_info == nlohmann::json{{"id", "master-2"}});
}

TEST_CASE("registrar admits an agent, and admitting it twice fails", "[registrar]") {
  state::InMemoryStorage storage;
  Harness h(storage);
  REQUIRE(h.recover());
  auto admitted = h.apply(AdmitAgent{AgentId("S1"), agent_info("S1")});
  REQUIRE(admitted);
  CHECK(*admitted);
  auto again = h.apply(AdmitAgent{AgentId("S1"), agent_info("S1")});
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Errc::conflict);
  CHECK(h.failures.empty());  // A refused operation is not a registrar failure.
  const Registry after = recovered(storage);
  REQUIRE(after.agents.size() == 1);
  CHECK(after.agents.at(AgentId("S1")) == agent_info("S1"));
}

TEST_CASE("registrar marks an admitted agent unreachable, but not an unknown one", "[registrar]") {
  state::InMemoryStorage storage;
  Harness h(storage);
  REQUIRE(h.recover());
  REQUIRE(h.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}));
  auto marked = h.apply(MarkUnreachable{AgentId("S1"), t0});
  REQUIRE(marked);
  CHECK(*marked);
  auto unknown = h.apply(MarkUnreachable{AgentId("S2"), t0});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == Errc::not_found);
  const Registry after = recovered(storage);
  CHECK(after.agents.empty());
  CHECK(after.unreachable == std::map<AgentId, TimePoint>{{AgentId("S1"), t0}});
}

TEST_CASE("registrar marks an unreachable agent reachable with its new info", "[registrar]") {
  state::InMemoryStorage storage;
  Harness h(storage);
  REQUIRE(h.recover());
  REQUIRE(h.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}));
  REQUIRE(h.apply(MarkUnreachable{AgentId("S1"), t0}));
  nlohmann::json info = agent_info("S1");
  info["port"] = 5052;
  auto reachable = h.apply(MarkReachable{AgentId("S1"), info});
  REQUIRE(reachable);
  CHECK(*reachable);
  // Marking it reachable again changes nothing: no store.
  const auto stores = h.registrar.stats().stores;
  auto again = h.apply(MarkReachable{AgentId("S1"), info});
  REQUIRE(again);
  CHECK_FALSE(*again);
  CHECK(h.registrar.stats().stores == stores);
  // An agent never admitted is not "reachable again".
  CHECK_FALSE(h.apply(MarkReachable{AgentId("S9"), agent_info("S9")}));
  const Registry after = recovered(storage);
  CHECK(after.unreachable.empty());
  CHECK(after.agents.at(AgentId("S1"))["port"] == 5052);
}

TEST_CASE("registrar marks admitted and unreachable agents gone, for good", "[registrar]") {
  state::InMemoryStorage storage;
  Harness h(storage);
  REQUIRE(h.recover());
  REQUIRE(h.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}));
  REQUIRE(h.apply(AdmitAgent{AgentId("S2"), agent_info("S2")}));
  REQUIRE(h.apply(MarkUnreachable{AgentId("S2"), t0}));
  CHECK(h.apply(MarkGone{AgentId("S1"), t0 + 1s}).value_or(false));
  CHECK(h.apply(MarkGone{AgentId("S2"), t0 + 2s}).value_or(false));
  CHECK_FALSE(h.apply(MarkGone{AgentId("S2"), t0 + 3s}).value());  // Gone already: no change.
  CHECK(h.apply(MarkGone{AgentId("S3"), t0}).error().code == Errc::not_found);
  // Gone is final: neither admission nor "reachable" brings it back.
  CHECK(h.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}).error().code == Errc::conflict);
  CHECK(h.apply(MarkReachable{AgentId("S2"), agent_info("S2")}).error().code == Errc::conflict);
  const Registry after = recovered(storage);
  CHECK(after.agents.empty());
  CHECK(after.unreachable.empty());
  CHECK(after.gone == std::map<AgentId, TimePoint>{{AgentId("S1"), t0 + 1s}, {AgentId("S2"), t0 + 2s}});
}

TEST_CASE("registrar prunes unreachable and gone agents", "[registrar]") {
  state::InMemoryStorage storage;
  Harness h(storage);
  REQUIRE(h.recover());
  for (const char* id : {"S1", "S2", "S3", "S4"}) REQUIRE(h.apply(AdmitAgent{AgentId(id), agent_info(id)}));
  REQUIRE(h.apply(MarkUnreachable{AgentId("S1"), t0}));
  REQUIRE(h.apply(MarkUnreachable{AgentId("S2"), t0}));
  REQUIRE(h.apply(MarkGone{AgentId("S3"), t0}));
  REQUIRE(h.apply(MarkGone{AgentId("S4"), t0}));
  auto pruned = h.apply(Prune{{AgentId("S1"), AgentId("S3")}, {AgentId("S4")}});  // S3 is not unreachable.
  REQUIRE(pruned);
  CHECK(*pruned);
  CHECK_FALSE(h.apply(Prune{{AgentId("S1")}, {}}).value());  // Nothing left to prune.
  const Registry after = recovered(storage);
  CHECK(after.unreachable == std::map<AgentId, TimePoint>{{AgentId("S2"), t0}});
  CHECK(after.gone == std::map<AgentId, TimePoint>{{AgentId("S3"), t0}});
}

TEST_CASE("registrar persists weights and quota", "[registrar]") {
  state::InMemoryStorage storage;
  Harness h(storage);
  REQUIRE(h.recover());
  CHECK(h.apply(UpdateWeights{{{"eng", 2.5}, {"ops", 1.0}}}).value());
  CHECK(h.apply(UpdateWeights{{{"bad", -1}}}).error().code == Errc::invalid_argument);
  CHECK(h.apply(UpdateQuota{{{"eng", Quota{{{"cpus", 4}}, {{"mem", 4096}}}}}}).value());
  // (Another registrar's recovery would take the registry over: look at this one's.)
  const Registry& now = h.registrar.registry();
  CHECK(now.weights == std::map<std::string, double>{{"eng", 2.5}});  // Weight 1 is the default: not kept.
  REQUIRE(now.quota.contains("eng"));
  CHECK(now.quota.at("eng") == Quota{{{"cpus", 4}}, {{"mem", 4096}}});
  // An empty quota and a weight of 1 remove the entries.
  CHECK(h.apply(UpdateQuota{{{"eng", Quota{}}}}).value());
  CHECK(h.apply(UpdateWeights{{{"eng", 1.0}}}).value());
  const Registry after = recovered(storage);
  CHECK(after.quota.empty());
  CHECK(after.weights.empty());
}

TEST_CASE("registrar applies the operations of one turn in order with one store", "[registrar]") {
  state::InMemoryStorage storage;
  Harness h(storage);
  REQUIRE(h.recover());
  const auto stores = h.registrar.stats().stores;
  std::vector<std::pair<std::string, Result<bool>>> results;
  auto record = [&](std::string what) { return [&results, what](Result<bool> r) { results.emplace_back(what, r); }; };
  h.registrar.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}, record("admit S1"));
  h.registrar.apply(MarkUnreachable{AgentId("S1"), t0}, record("unreachable S1"));
  h.registrar.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}, record("admit S1 again"));
  h.registrar.apply(MarkGone{AgentId("S1"), t0}, record("gone S1"));
  CHECK(results.empty());  // Never called back from inside `apply`.
  REQUIRE(run_until(h.io, [&] { return results.size() == 4; }));
  CHECK(h.registrar.stats().stores == stores + 1);
  CHECK(h.registrar.stats().largest_batch == 4);
  // In order: the third sees the second's effect (S1 is unreachable, so not admissible again).
  CHECK(results[0].first == "admit S1");
  CHECK(results[0].second.value());
  CHECK(results[1].second.value());
  CHECK(results[2].second.error().code == Errc::conflict);
  CHECK(results[3].second.value());
  CHECK(recovered(storage).gone.contains(AgentId("S1")));
}

TEST_CASE("registrar queues operations applied before recovery", "[registrar]") {
  state::InMemoryStorage storage;
  Harness h(storage);
  std::optional<Result<bool>> admitted;
  h.registrar.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}, [&](Result<bool> r) { admitted = r; });
  bool recovered_first = false;
  h.registrar.recover({{"id", "m"}}, [&](Result<Registry> r) { recovered_first = r && !admitted; });
  REQUIRE(run_until(h.io, [&] { return admitted.has_value(); }));
  CHECK(recovered_first);
  CHECK(admitted->value());
}

TEST_CASE("registrar fails when its fetch times out", "[registrar]") {
  state::InMemoryStorage inner;
  testing::FaultyStorage storage(inner);
  storage.hang_get = true;
  Harness h(storage, {.fetch_timeout = 60s, .store_timeout = 20s});
  std::optional<Result<Registry>> out;
  h.registrar.recover({{"id", "m"}}, [&](Result<Registry> r) { out = r; });
  h.io.poll();
  h.clock.advance(59s);
  h.io.poll();
  CHECK_FALSE(out);  // Not before `fetch_timeout`.
  h.clock.advance(1s);
  REQUIRE(run_until(h.io, [&] { return out.has_value(); }));
  REQUIRE_FALSE(*out);
  CHECK(out->error().code == Errc::timed_out);
  REQUIRE(h.failures.size() == 1);
  CHECK(h.failures[0].code == Errc::timed_out);
  // A failed registrar refuses everything after.
  auto admitted = h.apply(AdmitAgent{AgentId("S1"), agent_info("S1")});
  CHECK(admitted.error().code == Errc::timed_out);
}

TEST_CASE("registrar fails when a store times out, failing the batch and the queue", "[registrar]") {
  state::InMemoryStorage inner;
  testing::FaultyStorage storage(inner);
  Harness h(storage, {.fetch_timeout = 60s, .store_timeout = 20s});
  REQUIRE(h.recover());
  storage.hang_set = true;
  std::vector<Result<bool>> results;
  h.registrar.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}, [&](Result<bool> r) { results.push_back(r); });
  REQUIRE(run_until(h.io, [&] { return storage.sets == 2; }));  // The batch's store is hanging.
  h.registrar.apply(AdmitAgent{AgentId("S2"), agent_info("S2")}, [&](Result<bool> r) { results.push_back(r); });
  h.clock.advance(19s);
  h.io.poll();
  CHECK(results.empty());
  h.clock.advance(1s);
  REQUIRE(run_until(h.io, [&] { return results.size() == 2; }));
  CHECK(results[0].error().code == Errc::timed_out);
  CHECK(results[1].error().code == Errc::timed_out);
  CHECK(h.failures.size() == 1);
}

TEST_CASE("a registrar destroyed mid-store leaves the store to finish on a storage it keeps alive", "[registrar]") {
  boost::asio::io_context io;
  ManualClock clock;
  state::InMemoryStorage inner;
  auto storage = std::make_shared<testing::FaultyStorage>(inner);
  const std::weak_ptr<testing::FaultyStorage> weak = storage;
  bool answered = false;
  {
    Registrar registrar(io.get_executor(), clock, storage);
    bool recovered = false;
    registrar.recover({{"id", "master-1"}}, [&](Result<Registry> r) { recovered = r.has_value(); });
    REQUIRE(run_until(io, [&] { return recovered; }));
    storage->hang_set = true;
    registrar.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}, [&](Result<bool>) { answered = true; });
    REQUIRE(run_until(io, [&] { return storage->sets == 2; }));  // The batch's store is under way.
  }
  storage.reset();
  REQUIRE_FALSE(weak.expired());  // The store in flight holds the storage.
  weak.lock()->release();         // The store goes on, into the wrapper and `inner`.
  io.restart();
  io.run();
  CHECK(weak.expired());
  CHECK_FALSE(answered);  // The registrar that queued it is gone.
  CHECK(recovered(inner).agents.contains(AgentId("S1")));
}

TEST_CASE("registrar fails when a store fails", "[registrar]") {
  state::InMemoryStorage inner;
  testing::FaultyStorage storage(inner);
  Harness h(storage);
  REQUIRE(h.recover());
  storage.fail_next_set = true;
  CHECK(h.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}).error().code == Errc::io_error);
  CHECK(h.failures.size() == 1);
  CHECK(h.registrar.failure().has_value());
}

TEST_CASE("registrar fails when another master stored the registry since", "[registrar]") {
  state::InMemoryStorage storage;
  Harness first(storage);
  REQUIRE(first.recover("master-1"));
  Harness second(storage);
  REQUIRE(second.recover("master-2"));  // The new leader's recovery stores the registry.
  auto admitted = first.apply(AdmitAgent{AgentId("S1"), agent_info("S1")});
  REQUIRE_FALSE(admitted);
  CHECK(admitted.error().code == Errc::conflict);
  CHECK(first.failures.size() == 1);
  // The second master is unaffected.
  CHECK(second.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}).value());
}

TEST_CASE("registry round-trips through JSON and refuses an unknown format", "[registrar]") {
  Registry registry;
  registry.master_info = {{"id", "m"}};
  registry.agents.emplace(AgentId("S1"), agent_info("S1"));
  registry.unreachable.emplace(AgentId("S2"), t0 + 123ns);
  registry.gone.emplace(AgentId("S3"), t0);
  registry.weights["eng"] = 3;
  registry.quota["eng"] = Quota{{{"cpus", 1}}, {}};
  const nlohmann::json j = registry;
  CHECK(j["format"] == 1);
  CHECK(j.get<Registry>() == registry);
  nlohmann::json future = j;
  future["format"] = 2;
  CHECK_THROWS_AS(future.get<Registry>(), nlohmann::json::exception);
  nlohmann::json empty_id = j;
  empty_id["agents"][0]["id"]["value"] = "";
  CHECK_THROWS_AS(empty_id.get<Registry>(), nlohmann::json::exception);
}

TEST_CASE("registrar keeps the registry on the replicated log across registrars", "[registrar][shell]") {
  state::testing::LocalReplicatedLog log(1);
  {
    state::ReplicatedLogAdapter adapter(log.log(0));
    state::LogStorage storage(adapter, adapter);
    Harness h(storage);
    REQUIRE(h.recover());
    REQUIRE(h.apply(AdmitAgent{AgentId("S1"), agent_info("S1")}));
    REQUIRE(h.apply(MarkGone{AgentId("S1"), t0}));
    REQUIRE(h.apply(AdmitAgent{AgentId("S2"), agent_info("S2")}));
  }
  // A new storage replays the log (as a restarted master does).
  state::ReplicatedLogAdapter adapter(log.log(0));
  state::LogStorage storage(adapter, adapter);
  const Registry after = recovered(storage);
  CHECK(after.gone.contains(AgentId("S1")));
  CHECK(after.agents.contains(AgentId("S2")));
}

}  // namespace dcos::master

namespace dcos::master {

TEST_CASE("registry garbage collection prunes marks older than the age limit, then the oldest over the count",
          "[registrar]") {
  using namespace std::chrono_literals;
  const TimePoint t = TimePoint(1'700'000'000s);
  Registry registry;
  registry.unreachable = {{AgentId("U1"), t}, {AgentId("U2"), t + 10s}, {AgentId("U3"), t + 20s}};
  registry.gone = {{AgentId("G1"), t + 5s}, {AgentId("G2"), t + 30s}};
  // Age: at t+40s with a 25 s limit, U1 (40 s), U2 (30 s) and G1 (35 s) are too old.
  Prune by_age = prune_plan(registry, t + 40s, 25s, 100);
  CHECK(by_age.unreachable == std::set<AgentId>{AgentId("U1"), AgentId("U2")});
  CHECK(by_age.gone == std::set<AgentId>{AgentId("G1")});
  // Count: at most 1 of each list is kept, the newest.
  Prune by_count = prune_plan(registry, t + 40s, 1h, 1);
  CHECK(by_count.unreachable == std::set<AgentId>{AgentId("U1"), AgentId("U2")});
  CHECK(by_count.gone == std::set<AgentId>{AgentId("G1")});
  // Nothing to prune.
  Prune none = prune_plan(registry, t + 40s, 1h, 100);
  CHECK(none.unreachable.empty());
  CHECK(none.gone.empty());
  REQUIRE(apply(registry, by_age).value());
  CHECK(registry.unreachable.size() == 1);
  CHECK(registry.gone.size() == 1);
}

}  // namespace dcos::master
