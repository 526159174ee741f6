#include "dcos/replicated_log/recovery.hpp"  // First: proves the header is self-contained.

#include <catch2/catch.hpp>

#include "dcos/replicated_log/catch_up.hpp"
#include "replicated_log/harness.hpp"

namespace {

using namespace dcos::replicated_log;
using dcos::replicated_log::testing::Harness;
using dcos::replicated_log::testing::is;
using dcos::replicated_log::testing::nodes;

bool to_node(const Envelope& e, std::uint32_t node) { return e.to.node == NodeId{node}; }

std::vector<std::string> numbers(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(std::to_string(i));
  return out;
}

// Replicas 0..voting-1 initialised and holding appends 1..10 (elected by coordinator on 0).
void write_ten(Harness& h, std::vector<NodeId> network, std::size_t quorum) {
  h.coordinator(0, std::move(network), quorum);
  REQUIRE(h.elect(0) == Position{0});
  for (Position p = 1; p <= 10; ++p) REQUIRE(h.append(0, std::to_string(p)) == p);
}

}  // namespace

TEST_CASE("RecoverTest.AutoInitialization: three EMPTY replicas initialise in two phases",
          "[replicated_log][core]") {
  Harness h(3, /*initialized=*/false);
  h.start_all();
  Recovery& r0 = h.recovery(0, nodes({0, 1, 2}), 2);
  Recovery& r1 = h.recovery(1, nodes({0, 1, 2}), 2);
  h.run();
  h.tick(10);
  // Replica 2 runs no recovery yet and stays EMPTY: 0 and 1 may reach STARTING, never VOTING.
  CHECK_FALSE(r0.done());
  CHECK_FALSE(r1.done());
  CHECK(h.replica(0).status() == Status::starting);
  CHECK(h.replica(2).status() == Status::empty);

  Recovery& r2 = h.recovery(2, nodes({0, 1, 2}), 2);
  h.run();
  h.tick(10);
  CHECK(r0.done());
  CHECK(r1.done());
  CHECK(r2.done());
  for (std::uint32_t i : {0u, 1u, 2u}) CHECK(h.node(i).storage.metadata().status == Status::voting);

  h.coordinator(0, nodes({0, 1, 2}), 2);
  CHECK(h.elect(0) == Position{0});
  CHECK(h.append(0, "hello world") == Position{1});
  CHECK(h.appended(0, 1, 1) == std::vector<std::string>{"hello world"});
}

TEST_CASE("RecoverTest.AutoInitializationRetry: lost recover requests are retried", "[replicated_log][core]") {
  Harness h(3, /*initialized=*/false);
  h.start_all();
  int dropped = 0;
  h.drop = [&](const Envelope& e) { return is<RecoverRequest>(e) && to_node(e, 2) && dropped++ < 2; };
  Recovery& r0 = h.recovery(0, nodes({0, 1, 2}), 2);
  Recovery& r1 = h.recovery(1, nodes({0, 1, 2}), 2);
  Recovery& r2 = h.recovery(2, nodes({0, 1, 2}), 2);
  h.run();
  h.tick(20);
  CHECK(dropped >= 2);
  CHECK(r0.done());
  CHECK(r1.done());
  CHECK(r2.done());
  h.coordinator(0, nodes({0, 1, 2}), 2);
  CHECK(h.elect(0) == Position{0});
  CHECK(h.append(0, "hello world") == Position{1});
}

TEST_CASE("auto-initialisation can be turned off", "[replicated_log][core]") {
  Harness h(3, /*initialized=*/false);
  h.start_all();
  for (std::uint32_t i : {0u, 1u, 2u}) h.recovery(i, nodes({0, 1, 2}), 2, /*auto_initialize=*/false);
  h.run();
  h.tick(20);
  for (std::uint32_t i : {0u, 1u, 2u}) CHECK(h.replica(i).status() == Status::empty);
}

TEST_CASE("CoordinatorTest.RecoveryRace: no election without a quorum of VOTING replicas",
          "[replicated_log][core]") {
  // Replica 0 finished auto-initialisation; 1 and 2 are still STARTING. A coordinator's election
  // fails promptly (IGNORED answers) instead of hanging; once replica 1 is VOTING it succeeds,
  // and replica 2 then goes STARTING -> RECOVERING -> VOTING.
  Harness h(3, /*initialized=*/false);
  for (std::uint32_t i : {0u, 1u, 2u}) {
    WriteBatch batch;
    batch.metadata = Metadata{i == 0 ? Status::voting : Status::starting, Proposal{}};
    (void)h.node(i).storage.write(batch);
  }
  h.start_all();
  h.coordinator(0, nodes({0, 1, 2}), 2);
  CHECK_FALSE(h.elect(0));
  bool lost = false;
  for (const auto& e : h.node(0).events) lost |= e.type == CoordinatorEvent::Type::election_lost;
  CHECK(lost);

  Recovery& r1 = h.recovery(1, nodes({0, 1, 2}), 2);
  h.run();
  h.tick(5);
  REQUIRE(r1.done());
  h.coordinator(0, nodes({0, 1, 2}), 2);
  CHECK(h.elect(0) == Position{0});

  Recovery& r2 = h.recovery(2, nodes({0, 1, 2}), 2);
  h.run();
  h.tick(5);
  CHECK(r2.done());
  CHECK(h.append(0, "hello world") == Position{1});
}

TEST_CASE("RecoverTest.RacingCatchup: two empty replicas join a five-replica log at once",
          "[replicated_log][core]") {
  Harness h(5);
  for (std::uint32_t i : {3u, 4u}) h.node(i).storage = MemoryLogStorage{};  // EMPTY.
  h.start_all();
  write_ten(h, nodes({0, 1, 2}), 3);

  Recovery& r3 = h.recovery(3, nodes({0, 1, 2, 3, 4}), 3);
  Recovery& r4 = h.recovery(4, nodes({0, 1, 2, 3, 4}), 3);
  h.run();
  h.tick(10);
  REQUIRE(r3.done());
  REQUIRE(r4.done());
  CHECK(h.appended(3, 1, 10) == numbers(1, 10));
  CHECK(h.appended(4, 1, 10) == numbers(1, 10));

  h.coordinator(3, nodes({0, 1, 2, 3, 4}), 3);
  Position index = h.elect(3).value_or(99);
  if (index == 99) index = h.elect(3).value_or(99);
  CHECK(index == 10);
  CHECK(h.append(3, "hello hello") == Position{11});
  CHECK(h.appended(3, 11, 11) == std::vector<std::string>{"hello hello"});
}

TEST_CASE("RecoverTest.RecoverProtocolRetry: recovery waits for a quorum of VOTING replicas",
          "[replicated_log][core]") {
  Harness h(3, /*initialized=*/false);
  WriteBatch voting;
  voting.metadata = Metadata{Status::voting, Proposal{}};
  (void)h.node(0).storage.write(voting);
  h.start_all();
  Recovery& r2 = h.recovery(2, nodes({0, 1, 2}), 2, /*auto_initialize=*/true);
  h.run();
  h.tick(10);
  CHECK_FALSE(r2.done());
  // Replica 1 is initialised by hand (`dcos-log initialize`) and restarted.
  (void)h.node(1).storage.write(voting);
  h.start(1);
  h.tick(10);
  CHECK(r2.done());
}

TEST_CASE("RecoverTest.CatchupTruncated: catching up truncated positions yields the truncation",
          "[replicated_log][core]") {
  Harness h(3);
  h.node(2).storage = MemoryLogStorage{};
  h.start_all();
  write_ten(h, nodes({0, 1}), 2);
  REQUIRE(h.truncate(0, 5) == Position{11});

  // A stale recovered range: positions 1..10, from before the truncation.
  CatchUp& c = h.catch_up(2, nodes({0, 1, 2}), 2, IntervalSet(1, 10));
  h.run();
  h.tick(5);
  CHECK(c.done());
  CHECK(h.replica(2).begin() == 5);
  CHECK(h.replica(2).end() == 10);
  CHECK(h.appended(2, 5, 10) == numbers(5, 10));
  h.start(2);  // Storage recovery agrees.
  CHECK(h.replica(2).begin() == 5);
  CHECK(h.replica(2).end() == 10);
}

TEST_CASE("RecoverTest.CatchupVotingWithGap: a VOTING replica that missed everything catches up",
          "[replicated_log][core]") {
  Harness h(3);
  h.start_all();
  h.drop = [](const Envelope& e) { return to_node(e, 2); };
  write_ten(h, nodes({0, 1, 2}), 2);
  REQUIRE(h.truncate(0, 5) == Position{11});
  h.drop = nullptr;
  CHECK(h.replica(2).end() == 0);

  CatchUp& c = h.catch_up(2, nodes({0, 1, 2}), 2, IntervalSet(0, 11));
  h.run();
  h.tick(5);
  CHECK(c.done());
  CHECK(h.replica(2).begin() == 5);
  CHECK(h.replica(2).end() == 11);
  CHECK(h.replica(2).learned_end() == Position{11});
  CHECK(h.appended(2, 5, 10) == numbers(5, 10));
}

TEST_CASE("RecoverTest.CatchupRetry: catch-up survives a silent peer and settles holes by Paxos",
          "[replicated_log][core]") {
  // Replica 1 never learned anything and replica 0 ignores us for a while: the chunk cannot be
  // fetched from a quorum, so catch-up falls back to explicit Paxos per position, which must
  // wait for replica 0 and then recovers the original values.
  Harness h(3);
  h.node(2).storage = MemoryLogStorage{};
  h.start_all();
  h.drop = [](const Envelope& e) { return is<LearnedMessage>(e) && to_node(e, 1); };
  write_ten(h, nodes({0, 1}), 2);
  bool silent = true;
  h.drop = [&](const Envelope& e) { return silent && to_node(e, 0) && e.from.node == NodeId{2}; };
  CatchUp& c = h.catch_up(2, nodes({0, 1, 2}), 2, IntervalSet(1, 10));
  h.run();
  h.tick(12);
  CHECK_FALSE(c.done());
  silent = false;
  h.tick(12);
  CHECK(c.done());
  CHECK(h.appended(2, 1, 10) == numbers(1, 10));
}

TEST_CASE("a wiped replica recovers through catch-up and then votes", "[replicated_log][core]") {
  Harness h(3);
  h.start_all();
  write_ten(h, nodes({0, 1, 2}), 2);
  h.node(2).stop();
  h.node(2).storage = MemoryLogStorage{};  // Disk lost.
  h.start(2);
  CHECK(h.replica(2).status() == Status::empty);
  Recovery& r = h.recovery(2, nodes({0, 1, 2}), 2);
  h.run();
  h.tick(5);
  REQUIRE(r.done());
  CHECK(h.node(2).storage.metadata().status == Status::voting);
  CHECK(h.appended(2, 1, 10) == numbers(1, 10));
  // It adopted the quorum's promise: the old coordinator may still write.
  CHECK(h.replica(2).promised() == h.replica(0).promised());
  CHECK(h.append(0, "11") == Position{11});
}

TEST_CASE("a replica that crashes while catching up restarts RECOVERING and finishes",
          "[replicated_log][core]") {
  Harness h(3);
  h.start_all();
  write_ten(h, nodes({0, 1, 2}), 2);
  h.node(2).stop();
  h.node(2).storage = MemoryLogStorage{};
  h.start(2);
  // Catch-up answers are lost, so the catch-up cannot finish.
  h.drop = [](const Envelope& e) { return to_node(e, 2) && !is<RecoverResponse>(e); };
  h.recovery(2, nodes({0, 1, 2}), 2);
  h.run();
  h.tick(3);
  CHECK(h.node(2).storage.metadata().status == Status::recovering);
  h.node(2).stop();
  h.drop = nullptr;
  h.start(2);
  CHECK(h.replica(2).status() == Status::recovering);
  Recovery& r = h.recovery(2, nodes({0, 1, 2}), 2);
  h.run();
  h.tick(5);
  CHECK(r.done());
  CHECK(h.appended(2, 1, 10) == numbers(1, 10));
}

TEST_CASE("catch-up fills a hole nobody learned with a NOP, and an accepted value with itself",
          "[replicated_log][core]") {
  // Positions 11 ("v", accepted by replica 0 only) and 12 (accepted by nobody: the writer
  // skipped it) were left behind by a failed writer; catch-up on replica 2 settles both.
  Harness h(3);
  h.start_all();
  write_ten(h, nodes({0, 1, 2}), 2);
  h.drop = [](const Envelope& e) { return is<WriteRequest>(e) && !to_node(e, 0); };
  Coordinator& writer = *h.node(0).coordinator;
  REQUIRE(writer.append("v") == Position{11});
  h.run();
  h.drop = [](const Envelope&) { return true; };
  REQUIRE(writer.append("lost") == Position{12});
  REQUIRE(writer.append("w") == Position{13});
  h.run();
  h.drop = [](const Envelope& e) { return is<WriteRequest>(e) && std::get<WriteRequest>(e.message).action.position != 13; };
  writer.tick();
  writer.tick();
  h.run();
  h.drop = nullptr;
  writer.abandon();
  h.run();

  CatchUp& c = h.catch_up(2, nodes({0, 1, 2}), 2, IntervalSet(11, 13));
  h.run();
  h.tick(10);
  REQUIRE(c.done());
  auto actions = h.replica(2).read(11, 13);
  REQUIRE(actions);
  REQUIRE(actions->size() == 3);
  CHECK((*actions)[0].bytes == "v");
  CHECK((*actions)[1].type == ActionType::nop);
  CHECK((*actions)[2].bytes == "w");
}
