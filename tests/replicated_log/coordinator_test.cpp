#include "dcos/replicated_log/coordinator.hpp"  // First: proves the header is self-contained.

#include <catch2/catch.hpp>

#include "replicated_log/harness.hpp"

namespace {

using namespace dcos::replicated_log;
using dcos::replicated_log::testing::Harness;
using dcos::replicated_log::testing::is;
using dcos::replicated_log::testing::nodes;

bool to_node(const Envelope& e, std::uint32_t node) { return e.to.node == NodeId{node}; }
bool from_node(const Envelope& e, std::uint32_t node) { return e.from.node == NodeId{node}; }

std::vector<std::string> numbers(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(std::to_string(i));
  return out;
}

// Mesos tests use proposal numbers that collide, so a second coordinator's first election can
// fail; ours are unique per proposer and it may win at once. Either way one retry suffices.
std::optional<Position> elect_retrying(Harness& h, std::uint32_t node) {
  if (auto index = h.elect(node)) return index;
  return h.elect(node);
}

}  // namespace

TEST_CASE("CoordinatorTest.Elect: a new log's first election fills position 0 with a NOP",
          "[replicated_log][core]") {
  Harness h(2);
  h.start_all();
  h.coordinator(0, nodes({0, 1}), 2);
  CHECK(h.elect(0) == Position{0});
  auto actions = h.replica(0).read(0, 0);
  REQUIRE(actions);
  REQUIRE(actions->size() == 1);
  CHECK(actions->front().type == ActionType::nop);
  CHECK(actions->front().learned);
  CHECK(h.replica(1).learned(0));
}

TEST_CASE("CoordinatorTest.AppendRead and AppendReadError", "[replicated_log][core]") {
  Harness h(2);
  h.start_all();
  h.coordinator(0, nodes({0, 1}), 2);
  REQUIRE(h.elect(0) == Position{0});
  CHECK(h.append(0, "hello world") == Position{1});
  auto actions = h.replica(0).read(1, 1);
  REQUIRE(actions);
  REQUIRE(actions->size() == 1);
  CHECK(actions->front().type == ActionType::append);
  CHECK(actions->front().bytes == "hello world");
  CHECK(actions->front().learned);

  auto past = h.replica(0).read(2, 2);
  REQUIRE_FALSE(past);
  CHECK(past.error().message == "Bad read range (past end of log)");
}

TEST_CASE("CoordinatorTest.ElectNoQuorum: an election without a quorum stays pending", "[replicated_log][core]") {
  Harness h(2);
  h.start(0);  // Replica 1 never starts.
  Coordinator& coordinator = h.coordinator(0, nodes({0, 1}), 2);
  CHECK_FALSE(h.elect(0, /*ticks=*/10));
  CHECK(coordinator.state() == CoordinatorState::electing);
  CHECK(h.node(0).events.empty());
}

TEST_CASE("CoordinatorTest.AppendNoQuorum: an append without a quorum stays pending", "[replicated_log][core]") {
  Harness h(2);
  h.start_all();
  Coordinator& coordinator = h.coordinator(0, nodes({0, 1}), 2);
  REQUIRE(h.elect(0) == Position{0});
  h.node(1).stop();
  CHECK_FALSE(h.append(0, "hello world", /*ticks=*/10));
  CHECK(coordinator.writes_in_flight() == 1);
  CHECK(h.node(0).events.empty());  // Neither committed nor failed.

  // Replica 1 comes back: the retransmitted write completes.
  h.start(1);
  h.tick(3);
  REQUIRE(h.node(0).events.size() == 1);
  CHECK(h.node(0).events[0].type == CoordinatorEvent::Type::committed);
  CHECK(h.node(0).events[0].position == 1);
}

TEST_CASE("abandoning an elected coordinator fails its writes in flight", "[replicated_log][core]") {
  // Mesos CoordinatorTest.AppendDiscarded: the writer gives up on a write it cannot finish.
  Harness h(2);
  h.start_all();
  Coordinator& coordinator = h.coordinator(0, nodes({0, 1}), 2);
  REQUIRE(h.elect(0) == Position{0});
  h.node(1).stop();
  h.node(0).events.clear();
  REQUIRE(coordinator.append("hello world"));
  h.run();
  coordinator.abandon();
  h.run();
  REQUIRE(h.node(0).events.size() == 2);
  CHECK(h.node(0).events[0].type == CoordinatorEvent::Type::write_failed);
  CHECK(h.node(0).events[1].type == CoordinatorEvent::Type::demoted);
  auto again = coordinator.append("hello moto");
  REQUIRE_FALSE(again);
  CHECK(again.error().code == dcos::Errc::not_leader);
}

TEST_CASE("CoordinatorTest.Failover: a second coordinator's election returns the last position",
          "[replicated_log][core]") {
  Harness h(2);
  h.start_all();
  h.coordinator(0, nodes({0, 1}), 2);
  REQUIRE(h.elect(0) == Position{0});
  REQUIRE(h.append(0, "hello world") == Position{1});

  h.coordinator(1, nodes({0, 1}), 2);
  CHECK(elect_retrying(h, 1) == Position{1});
  CHECK(h.appended(1, 1, 1) == std::vector<std::string>{"hello world"});
}

TEST_CASE("CoordinatorTest.Demoted: a displaced coordinator learns it on its next write",
          "[replicated_log][core]") {
  Harness h(2);
  h.start_all();
  Coordinator& first = h.coordinator(0, nodes({0, 1}), 2);
  REQUIRE(h.elect(0) == Position{0});
  REQUIRE(h.append(0, "hello world") == Position{1});

  h.coordinator(1, nodes({0, 1}), 2);
  REQUIRE(elect_retrying(h, 1) == Position{1});

  CHECK_FALSE(h.append(0, "hello moto"));
  CHECK(first.state() == CoordinatorState::idle);
  bool demoted = false;
  for (const auto& e : h.node(0).events) demoted |= e.type == CoordinatorEvent::Type::demoted;
  CHECK(demoted);

  CHECK(h.append(1, "hello hello") == Position{2});
  CHECK(h.appended(1, 2, 2) == std::vector<std::string>{"hello hello"});
  // The demoted write never reached a quorum: nobody holds "hello moto" as learned.
  for (std::uint32_t i : {0u, 1u}) {
    auto at2 = h.replica(i).action(2);
    REQUIRE(at2);
    if (*at2 && (*at2)->learned) CHECK((*at2)->bytes == "hello hello");
  }
}

TEST_CASE("CoordinatorTest.Fill: a new coordinator fills its empty replica from the others",
          "[replicated_log][core]") {
  Harness h(3);
  h.start_all();
  h.coordinator(0, nodes({0, 1}), 2);
  REQUIRE(h.elect(0) == Position{0});
  REQUIRE(h.append(0, "hello world") == Position{1});

  // Replica 2 has seen nothing; its coordinator talks to replicas 1 and 2 only.
  h.coordinator(2, nodes({1, 2}), 2);
  CHECK(elect_retrying(h, 2) == Position{1});
  CHECK(h.appended(2, 1, 1) == std::vector<std::string>{"hello world"});
}

TEST_CASE("CoordinatorTest.NotLearnedFill: an accepted but unlearned value is filled with itself",
          "[replicated_log][core]") {
  Harness h(3);
  h.start_all();
  h.drop = [](const Envelope& e) { return is<LearnedMessage>(e) && to_node(e, 1); };
  h.coordinator(0, nodes({0, 1}), 2);
  REQUIRE(h.elect(0) == Position{0});
  REQUIRE(h.append(0, "hello world") == Position{1});
  CHECK_FALSE(h.replica(1).learned(1));

  h.coordinator(2, nodes({1, 2}), 2);
  CHECK(elect_retrying(h, 2) == Position{1});
  CHECK(h.appended(2, 1, 1) == std::vector<std::string>{"hello world"});
}

TEST_CASE("CoordinatorTest.MultipleAppends and MultipleAppendsNotLearnedFill", "[replicated_log][core]") {
  Harness h(3);
  h.start_all();
  h.drop = [](const Envelope& e) { return is<LearnedMessage>(e) && to_node(e, 1); };
  h.coordinator(0, nodes({0, 1}), 2);
  REQUIRE(h.elect(0) == Position{0});
  for (Position p = 1; p <= 10; ++p) REQUIRE(h.append(0, std::to_string(p)) == p);
  CHECK(h.appended(0, 1, 10) == numbers(1, 10));

  h.coordinator(2, nodes({1, 2}), 2);
  CHECK(elect_retrying(h, 2) == Position{10});
  CHECK(h.appended(2, 1, 10) == numbers(1, 10));
}

TEST_CASE("pipelined appends commit in any order and fill in order", "[replicated_log][core]") {
  // Group commit: 100 appends proposed before any answer; every one commits at its position.
  Harness h(3);
  h.start_all();
  Coordinator& coordinator = h.coordinator(0, nodes({0, 1, 2}), 2);
  REQUIRE(h.elect(0) == Position{0});
  h.node(0).events.clear();
  for (int i = 1; i <= 100; ++i) REQUIRE(coordinator.append(std::to_string(i)) == Position(i));
  h.run();
  CHECK(h.node(0).events.size() == 100);
  CHECK(coordinator.writes_in_flight() == 0);
  for (std::uint32_t node : {0u, 1u, 2u}) CHECK(h.appended(node, 1, 100) == numbers(1, 100));
  CHECK(h.replica(2).learned_end() == Position{100});
}

TEST_CASE("too many writes in flight is reported unavailable", "[replicated_log][core]") {
  Harness h(2);
  h.start_all();
  CoordinatorConfig config;
  config.self = NodeId{0};
  config.proposer = 77;
  config.replicas = nodes({0, 1});
  config.quorum = 2;
  config.writes_in_flight_max = 2;
  h.node(0).coordinator = std::make_unique<Coordinator>(config, h.replica(0));
  REQUIRE(h.elect(0) == Position{0});
  Coordinator& coordinator = *h.node(0).coordinator;
  REQUIRE(coordinator.append("a"));
  REQUIRE(coordinator.append("b"));
  auto third = coordinator.append("c");
  REQUIRE_FALSE(third);
  CHECK(third.error().code == dcos::Errc::unavailable);
  h.run();
  CHECK(coordinator.append("c") == Position{3});
}

TEST_CASE("CoordinatorTest.Truncate: reads below the truncation point fail", "[replicated_log][core]") {
  Harness h(2);
  h.start_all();
  h.coordinator(0, nodes({0, 1}), 2);
  REQUIRE(h.elect(0) == Position{0});
  for (Position p = 1; p <= 10; ++p) REQUIRE(h.append(0, std::to_string(p)) == p);
  CHECK(h.truncate(0, 7) == Position{11});

  auto bad = h.replica(0).read(6, 10);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "Bad read range (truncated position)");
  CHECK(h.appended(0, 7, 10) == numbers(7, 10));
  CHECK(h.replica(1).begin() == 7);
  // Truncating beyond the truncation's own position is refused.
  CHECK_FALSE(h.node(0).coordinator->truncate(13));
}

TEST_CASE("CoordinatorTest.TruncateNotLearnedFill and TruncateLearnedFill", "[replicated_log][core]") {
  for (bool learned : {false, true}) {
    DYNAMIC_SECTION((learned ? "learned" : "not learned")) {
      Harness h(3);
      h.start_all();
      if (!learned) h.drop = [](const Envelope& e) { return is<LearnedMessage>(e) && to_node(e, 1); };
      h.coordinator(0, nodes({0, 1}), 2);
      REQUIRE(h.elect(0) == Position{0});
      for (Position p = 1; p <= 10; ++p) REQUIRE(h.append(0, std::to_string(p)) == p);
      REQUIRE(h.truncate(0, 7) == Position{11});

      h.coordinator(2, nodes({1, 2}), 2);
      CHECK(elect_retrying(h, 2) == Position{11});
      auto bad = h.replica(2).read(6, 10);
      REQUIRE_FALSE(bad);
      CHECK(bad.error().message == "Bad read range (truncated position)");
      CHECK(h.appended(2, 7, 10) == numbers(7, 10));
      CHECK(h.replica(2).begin() == 7);
    }
  }
}

TEST_CASE("CoordinatorTest.RacingElect: of two concurrent candidates only one is elected",
          "[replicated_log][core]") {
  // Mesos left this one empty. Both broadcast their implicit promises before any answer; the
  // later (higher) proposal wins every replica, so the earlier candidate, although it gets a
  // quorum of implicit promises first, is rejected while filling position 0.
  Harness h(3);
  h.start_all();
  Coordinator& first = h.coordinator(0, nodes({0, 1, 2}), 2);
  Coordinator& second = h.coordinator(1, nodes({0, 1, 2}), 2);
  REQUIRE(first.elect());
  REQUIRE(second.elect());
  h.run();
  CHECK(first.state() == CoordinatorState::idle);
  CHECK(second.state() == CoordinatorState::elected);
  REQUIRE(h.node(0).events.size() == 1);
  CHECK(h.node(0).events[0].type == CoordinatorEvent::Type::election_lost);
  CHECK(h.node(0).events[0].promised == second.proposal());
  CHECK_FALSE(first.append("x"));

  // The loser retries with a higher proposal and displaces the winner, who learns it.
  REQUIRE(h.elect(0) == Position{0});
  CHECK_FALSE(h.append(1, "y"));
  CHECK(second.state() == CoordinatorState::idle);
  CHECK(h.append(0, "x") == Position{1});
}

TEST_CASE("CoordinatorTest.FillNoQuorum: filling waits for a quorum and then completes",
          "[replicated_log][core]") {
  // Mesos left this one empty. Replica 0 alone learned positions 1-3; replica 2 is down. A
  // coordinator on replica 1 gets its implicit promises from 0 and 1, but replica 0 stops
  // answering before the fill: the election stays pending until replica 0 answers again.
  Harness h(3);
  h.start_all();
  h.drop = [](const Envelope& e) { return is<LearnedMessage>(e) && !to_node(e, 0); };
  h.coordinator(0, nodes({0, 1, 2}), 2);
  REQUIRE(h.elect(0) == Position{0});
  for (Position p = 1; p <= 3; ++p) REQUIRE(h.append(0, std::to_string(p)) == p);
  h.node(2).stop();

  bool zero_silent = false;
  h.drop = [&](const Envelope& e) { return zero_silent && from_node(e, 0); };
  Coordinator& coordinator = h.coordinator(1, nodes({0, 1, 2}), 2);
  REQUIRE(coordinator.elect());
  // Deliver the three promise requests and the two answers, then silence replica 0.
  h.run();
  // The fill needed replica 0 (replica 1 has nothing learned): it completed only if replica 0
  // answered. Re-run the scenario with replica 0 silenced right after the implicit phase.
  if (coordinator.state() == CoordinatorState::elected) {
    CHECK(h.appended(1, 1, 3) == numbers(1, 3));
  }

  Harness g(3);
  g.start_all();
  g.drop = [](const Envelope& e) { return is<LearnedMessage>(e) && !to_node(e, 0); };
  g.coordinator(0, nodes({0, 1, 2}), 2);
  REQUIRE(g.elect(0) == Position{0});
  for (Position p = 1; p <= 3; ++p) REQUIRE(g.append(0, std::to_string(p)) == p);
  g.node(2).stop();
  g.drop = [](const Envelope& e) { return from_node(e, 0) && !is<PromiseResponse>(e); };
  // Replica 0 answers implicit promises but not explicit ones.
  g.drop = [](const Envelope& e) {
    if (!from_node(e, 0)) return false;
    const auto* promise = std::get_if<PromiseResponse>(&e.message);
    return promise == nullptr || promise->position.has_value();
  };
  Coordinator& filler = g.coordinator(1, nodes({0, 1, 2}), 2);
  REQUIRE(filler.elect());
  g.run();
  g.tick(5);
  CHECK(filler.state() == CoordinatorState::filling);
  g.drop = nullptr;
  g.tick(3);
  CHECK(filler.state() == CoordinatorState::elected);
  CHECK(g.appended(1, 1, 3) == numbers(1, 3));
}

TEST_CASE("CoordinatorTest.FillInconsistent: the fill picks the value of the highest proposal",
          "[replicated_log][core]") {
  // Mesos left this one empty. Position 1 holds "a" (proposal of coordinator 0) on replica 0 and
  // "b" (a higher proposal, coordinator 1) on replica 1; neither was chosen. A third coordinator
  // hearing both must propose "b": "a" cannot have been chosen, since a quorum promised the
  // higher proposal before "b" was written.
  Harness h(3);
  h.start_all();
  h.coordinator(0, nodes({0, 1, 2}), 2);
  REQUIRE(h.elect(0) == Position{0});
  h.drop = [](const Envelope& e) { return is<WriteRequest>(e) && !to_node(e, 0); };
  CHECK_FALSE(h.append(0, "a", /*ticks=*/2));

  // Coordinator 1 is elected by replicas 1 and 2 only, so it does not see "a".
  h.drop = [](const Envelope& e) { return to_node(e, 0) || from_node(e, 0); };
  h.coordinator(1, nodes({0, 1, 2}), 2);
  REQUIRE(h.elect(1) == Position{0});
  h.drop = [](const Envelope& e) { return (is<WriteRequest>(e) && !to_node(e, 1)) || to_node(e, 0); };
  CHECK_FALSE(h.append(1, "b", /*ticks=*/2));
  CHECK(h.replica(0).action(1).value()->bytes == "a");
  CHECK(h.replica(1).action(1).value()->bytes == "b");

  h.drop = nullptr;
  h.coordinator(2, nodes({0, 1, 2}), 2);
  REQUIRE(elect_retrying(h, 2) == Position{1});
  CHECK(h.appended(2, 1, 1) == std::vector<std::string>{"b"});
  // The stale coordinators' retransmissions are refused; everyone learns "b".
  h.tick(3);
  for (std::uint32_t i : {0u, 1u, 2u}) {
    CHECK(h.replica(i).learned(1));
    CHECK(h.appended(i, 1, 1) == std::vector<std::string>{"b"});
  }
}

TEST_CASE("CoordinatorTest.LearnedOnOneReplica_NotLearnedOnAnother", "[replicated_log][core]") {
  // Mesos left this one empty. Position 1 was chosen ("x" accepted by 0 and 1) but only
  // replica 0 learned it. A coordinator on replica 1 must fill it with "x" -- from replica 0's
  // learned copy, or, with replica 0 down, from replica 1's own accepted copy.
  for (bool zero_down : {false, true}) {
    DYNAMIC_SECTION((zero_down ? "learned replica down" : "learned replica up")) {
      Harness h(3);
      h.start_all();
      h.drop = [](const Envelope& e) { return to_node(e, 2) || (is<LearnedMessage>(e) && to_node(e, 1)); };
      h.coordinator(0, nodes({0, 1, 2}), 2);
      REQUIRE(h.elect(0) == Position{0});
      REQUIRE(h.append(0, "x") == Position{1});
      CHECK(h.replica(0).learned(1));
      CHECK_FALSE(h.replica(1).learned(1));
      CHECK_FALSE(h.replica(2).action(1).value());
      h.drop = nullptr;
      if (zero_down) h.node(0).stop();

      h.coordinator(1, nodes({0, 1, 2}), 2);
      REQUIRE(elect_retrying(h, 1) == Position{1});
      CHECK(h.appended(1, 1, 1) == std::vector<std::string>{"x"});
      CHECK(h.appended(2, 1, 1) == std::vector<std::string>{"x"});
    }
  }
}

TEST_CASE("CoordinatorTest.LearnedOnOneReplica_NotLearnedOnAnother_AnotherFailsAndRecovers",
          "[replicated_log][core]") {
  // Mesos left this one empty. As above, then replica 1 crashes before the new election and
  // restarts from its storage: its accepted (unlearned) "x" survives, and a coordinator on
  // replica 2 -- which never saw "x" -- still fills position 1 with it.
  Harness h(3);
  h.start_all();
  h.drop = [](const Envelope& e) { return to_node(e, 2) || (is<LearnedMessage>(e) && to_node(e, 1)); };
  h.coordinator(0, nodes({0, 1, 2}), 2);
  REQUIRE(h.elect(0) == Position{0});
  REQUIRE(h.append(0, "x") == Position{1});
  h.drop = nullptr;
  h.node(0).stop();
  h.node(1).stop();
  h.start(1);
  CHECK_FALSE(h.replica(1).learned(1));
  CHECK(h.replica(1).action(1).value()->bytes == "x");

  h.coordinator(2, nodes({0, 1, 2}), 2);
  REQUIRE(elect_retrying(h, 2) == Position{1});
  CHECK(h.appended(2, 1, 1) == std::vector<std::string>{"x"});
  CHECK(h.append(2, "y") == Position{2});
  h.start(0);
  CHECK(h.appended(0, 1, 1) == std::vector<std::string>{"x"});
}

TEST_CASE("a coordinator proposes above every proposal it saw rejected", "[replicated_log][core]") {
  // Two coordinators take turns; each election must outbid the other's last proposal.
  Harness h(2);
  h.start_all();
  h.coordinator(0, nodes({0, 1}), 2);
  h.coordinator(1, nodes({0, 1}), 2);
  Proposal last;
  for (int i = 0; i < 6; ++i) {
    const std::uint32_t node = i % 2;
    Coordinator& coordinator = *h.node(node).coordinator;
    coordinator.abandon();
    REQUIRE(elect_retrying(h, node));
    CHECK(coordinator.proposal() > last);
    last = coordinator.proposal();
  }
}
