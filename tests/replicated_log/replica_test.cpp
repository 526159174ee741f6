#include "dcos/replicated_log/replica.hpp"  // First: proves the header is self-contained.

#include <catch2/catch.hpp>

#include "dcos/replicated_log/storage.hpp"

namespace {

using namespace dcos::replicated_log;

const Address coordinator{NodeId{9}, Port::coordinator};

Envelope to_replica(Message message) { return Envelope{coordinator, Address{NodeId{0}, Port::replica}, std::move(message)}; }

PromiseRequest implicit(std::uint64_t round) { return PromiseRequest{Proposal{round, 1}, std::nullopt}; }
PromiseRequest explicit_promise(std::uint64_t round, Position position) {
  return PromiseRequest{Proposal{round, 1}, position};
}
WriteRequest write(std::uint64_t round, Action value) { return WriteRequest{Proposal{round, 1}, std::move(value)}; }

// A replica over memory storage that persists each `Ready` like the shell.
struct Fixture {
  explicit Fixture(Status status = Status::voting) {
    WriteBatch batch;
    batch.metadata = Metadata{status, Proposal{}};
    (void)storage.write(batch);
    restart();
  }
  void restart() { replica = std::make_unique<Replica>(NodeId{0}, storage.recover().value(), storage); }
  // Steps `message` in, persists, and returns the single reply (if any).
  std::optional<Message> step(Message message) {
    replica->step(to_replica(std::move(message)));
    const Ready& ready = replica->ready();
    REQUIRE(storage.write(ready));
    std::optional<Message> reply;
    if (!ready.messages.empty()) {
      REQUIRE(ready.messages.size() == 1);
      CHECK(ready.messages[0].to == coordinator);
      reply = ready.messages[0].message;
    }
    replica->advance();
    return reply;
  }
  PromiseResponse promise(PromiseRequest request) {
    auto reply = step(request);
    REQUIRE(reply);
    return std::get<PromiseResponse>(*reply);
  }
  std::optional<WriteResponse> write(WriteRequest request) {
    auto reply = step(std::move(request));
    if (!reply) return std::nullopt;
    return std::get<WriteResponse>(*reply);
  }

  MemoryLogStorage storage;
  std::unique_ptr<Replica> replica;
};

Action learned(Action value, std::uint64_t round = 1) {
  value.learned = true;
  value.performed = Proposal{round, 1};
  return value;
}

}  // namespace

TEST_CASE("ReplicaTest.Promise: implicit promises only grow", "[replicated_log][core]") {
  // Mesos ReplicaTest.Promise: 2 is accepted with end 0, 1 is rejected carrying 2, 3 is accepted.
  Fixture f;
  PromiseResponse r = f.promise(implicit(2));
  CHECK(r.verdict == Verdict::accepted);
  CHECK(r.proposal == Proposal{2, 1});
  CHECK(r.end == 0);
  CHECK_FALSE(r.action);
  CHECK(f.storage.metadata().promised == Proposal{2, 1});

  r = f.promise(implicit(1));
  CHECK(r.verdict == Verdict::rejected);
  CHECK(r.promised == Proposal{2, 1});
  CHECK(f.storage.metadata().promised == Proposal{2, 1});

  r = f.promise(implicit(3));
  CHECK(r.verdict == Verdict::accepted);
  CHECK(r.end == 0);
  CHECK(f.storage.metadata().promised == Proposal{3, 1});
}

TEST_CASE("replica answers a retransmitted promise again and rejects another proposer's equal round",
          "[replicated_log][core]") {
  // Proposals are unique per proposer, so the same proposal twice is a retransmission; the same
  // round from a lower proposer id is a different, lower proposal.
  Fixture f;
  CHECK(f.promise(implicit(2)).verdict == Verdict::accepted);
  CHECK(f.promise(implicit(2)).verdict == Verdict::accepted);
  PromiseResponse other = f.promise(PromiseRequest{Proposal{2, 0}, std::nullopt});
  CHECK(other.verdict == Verdict::rejected);
  CHECK(other.promised == Proposal{2, 1});
}

TEST_CASE("ReplicaTest.Append: a promised replica accepts a write and keeps it unlearned",
          "[replicated_log][core]") {
  Fixture f;
  REQUIRE(f.promise(implicit(1)).verdict == Verdict::accepted);
  auto w = f.write(write(1, append_value(1, "hello world")));
  REQUIRE(w);
  CHECK(w->verdict == Verdict::accepted);
  CHECK(w->position == 1);

  auto actions = f.replica->read(1, 1);
  REQUIRE(actions);
  REQUIRE(actions->size() == 1);
  const Action& a = actions->front();
  CHECK(a.position == 1);
  CHECK(a.promised == Proposal{1, 1});
  CHECK(a.performed == Proposal{1, 1});
  CHECK_FALSE(a.learned);
  CHECK(a.type == ActionType::append);
  CHECK(a.bytes == "hello world");
  CHECK(f.replica->end() == 1);
}

TEST_CASE("ReplicaTest.Restore: accepted actions and promises survive a restart", "[replicated_log][core]") {
  Fixture f;
  REQUIRE(f.promise(implicit(1)).verdict == Verdict::accepted);
  REQUIRE(f.write(write(1, append_value(1, "hello world")))->verdict == Verdict::accepted);
  f.restart();
  CHECK(f.replica->promised() == Proposal{1, 1});
  CHECK(f.replica->status() == Status::voting);
  CHECK(f.replica->end() == 1);
  auto actions = f.replica->read(1, 1);
  REQUIRE(actions);
  REQUIRE(actions->size() == 1);
  CHECK(actions->front().bytes == "hello world");
  CHECK(actions->front().performed == Proposal{1, 1});
  CHECK_FALSE(actions->front().learned);
  // The promise still binds after the restart.
  CHECK(f.promise(implicit(0)).verdict == Verdict::rejected);
}

TEST_CASE("ReplicaTest.NonVoting: EMPTY and RECOVERING replicas answer IGNORED", "[replicated_log][core]") {
  for (Status status : {Status::empty, Status::starting, Status::recovering}) {
    Fixture f(status);
    PromiseResponse p = f.promise(implicit(2));
    CHECK(p.verdict == Verdict::ignored);
    CHECK(p.proposal == Proposal{2, 1});
    auto w = f.write(write(3, append_value(1, "hello world")));
    REQUIRE(w);
    CHECK(w->verdict == Verdict::ignored);
    CHECK(w->proposal == Proposal{3, 1});
    CHECK(w->position == 1);
    CHECK(f.storage.actions().empty());
    CHECK(f.storage.metadata().promised == Proposal{});
    // Learned values are still taken: they are chosen, whatever our status.
    f.step(LearnedMessage{learned(append_value(4, "x"))});
    CHECK(f.replica->learned(4));
  }
}

TEST_CASE("replica rejects writes below its effective promise", "[replicated_log][core]") {
  Fixture f;
  REQUIRE(f.promise(implicit(5)).verdict == Verdict::accepted);
  auto w = f.write(write(4, append_value(1, "old")));
  REQUIRE(w);
  CHECK(w->verdict == Verdict::rejected);
  CHECK(w->promised == Proposal{5, 1});
  CHECK(f.storage.actions().empty());
  // An explicit promise above the implicit one binds that position only.
  REQUIRE(f.promise(explicit_promise(7, 2)).verdict == Verdict::accepted);
  CHECK(f.write(write(5, append_value(2, "x")))->verdict == Verdict::rejected);
  CHECK(f.write(write(5, append_value(3, "y")))->verdict == Verdict::accepted);
}

TEST_CASE("accepting a write raises the position's promise: a lower proposal cannot overwrite it",
          "[replicated_log][core]") {
  // The replica accepts 8 at position 1 without having promised 8 (it promised 3); a delayed
  // write under 5 must not replace the value accepted under 8.
  Fixture f;
  REQUIRE(f.promise(implicit(3)).verdict == Verdict::accepted);
  REQUIRE(f.write(write(8, append_value(1, "new")))->verdict == Verdict::accepted);
  auto w = f.write(write(5, append_value(1, "old")));
  REQUIRE(w);
  CHECK(w->verdict == Verdict::rejected);
  CHECK(w->promised == Proposal{8, 1});
  CHECK(f.storage.actions().at(1).bytes == "new");
}

TEST_CASE("explicit promises report what was accepted, and a learned value at any proposal",
          "[replicated_log][core]") {
  Fixture f;
  REQUIRE(f.promise(implicit(1)).verdict == Verdict::accepted);
  REQUIRE(f.write(write(1, append_value(1, "a")))->verdict == Verdict::accepted);

  // Unwritten position: accepted without an action, and the promise is persisted.
  PromiseResponse p = f.promise(explicit_promise(2, 5));
  CHECK(p.verdict == Verdict::accepted);
  CHECK(p.position == Position{5});
  CHECK_FALSE(p.action);
  CHECK(f.storage.actions().at(5).promised == Proposal{2, 1});
  CHECK_FALSE(f.storage.actions().at(5).has_value());

  // Written position: the previous action comes back, the promise rises.
  p = f.promise(explicit_promise(2, 1));
  CHECK(p.verdict == Verdict::accepted);
  REQUIRE(p.action);
  CHECK(p.action->bytes == "a");
  CHECK(p.action->performed == Proposal{1, 1});
  CHECK(f.storage.actions().at(1).promised == Proposal{2, 1});

  // Lower than the position's promise: rejected with it.
  p = f.promise(explicit_promise(1, 1));
  CHECK(p.verdict == Verdict::rejected);
  CHECK(p.promised == Proposal{2, 1});

  // Learned: handed over even to a low proposal, and nothing changes.
  f.step(LearnedMessage{learned(append_value(1, "a"))});
  p = f.promise(PromiseRequest{Proposal{0, 7}, Position{1}});
  CHECK(p.verdict == Verdict::accepted);
  REQUIRE(p.action);
  CHECK(p.action->learned);
  CHECK(p.action->bytes == "a");
}

TEST_CASE("a learned position is never overwritten", "[replicated_log][core]") {
  // MESOS-1271: the learned message may overtake the write that chose the value.
  Fixture f;
  REQUIRE(f.promise(implicit(1)).verdict == Verdict::accepted);
  f.step(LearnedMessage{learned(append_value(1, "chosen"))});
  auto other = f.write(write(2, append_value(1, "other")));
  REQUIRE(other);  // Rejected, so that a displaced writer learns it.
  CHECK(other->verdict == Verdict::rejected);
  CHECK(other->promised == Proposal{1, 1});
  auto same = f.write(write(2, append_value(1, "chosen")));
  REQUIRE(same);
  CHECK(same->verdict == Verdict::accepted);
  CHECK(f.storage.actions().at(1).bytes == "chosen");
  CHECK(f.storage.actions().at(1).learned);
  // A conflicting learned message is ignored too.
  f.step(LearnedMessage{learned(append_value(1, "other"))});
  CHECK(f.storage.actions().at(1).bytes == "chosen");
}

TEST_CASE("truncation drops positions below it and answers them with learned tombstones",
          "[replicated_log][core]") {
  Fixture f;
  for (Position p = 0; p < 10; ++p) f.step(LearnedMessage{learned(append_value(p, std::to_string(p)))});
  f.step(LearnedMessage{learned(truncate_value(10, 3))});
  CHECK(f.replica->begin() == 3);
  CHECK(f.replica->end() == 10);
  CHECK(f.storage.actions().begin()->first == 3);
  CHECK(f.replica->learned_end() == Position{10});

  auto bad = f.replica->read(2, 5);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "Bad read range (truncated position)");
  auto past = f.replica->read(3, 11);
  REQUIRE_FALSE(past);
  CHECK(past.error().message == "Bad read range (past end of log)");
  auto good = f.replica->read(3, 10);
  REQUIRE(good);
  CHECK(good->size() == 8);

  PromiseResponse p = f.promise(explicit_promise(4, 1));
  CHECK(p.verdict == Verdict::accepted);
  REQUIRE(p.action);
  CHECK(p.action->learned);
  CHECK(p.action->tombstone);
  CHECK(p.action->type == ActionType::nop);
  // Writes to truncated positions are rejected: the writer fell behind.
  auto late = f.write(write(9, append_value(1, "late")));
  REQUIRE(late);
  CHECK(late->verdict == Verdict::rejected);

  // A second truncation (Mesos LogStorageTest.Truncate) and a restart keep `begin`.
  f.step(LearnedMessage{learned(truncate_value(11, 10))});
  CHECK(f.replica->begin() == 10);
  f.restart();
  CHECK(f.replica->begin() == 10);
  CHECK(f.replica->end() == 11);
  CHECK(f.replica->learned_end() == Position{11});
}

TEST_CASE("a learned tombstone moves begin past it and survives a restart", "[replicated_log][core]") {
  Fixture f;
  Action tombstone = learned(nop_value(4));
  tombstone.tombstone = true;
  f.step(LearnedMessage{tombstone});
  CHECK(f.replica->begin() == 5);
  CHECK(f.replica->missing(0, 6) == IntervalSet(5, 6));
  f.restart();
  CHECK(f.replica->begin() == 5);
  CHECK(f.replica->end() == 4);
}

TEST_CASE("several steps share one Ready: one durable write for many requests (group commit)",
          "[replicated_log][core]") {
  MemoryLogStorage storage;
  WriteBatch init;
  init.metadata = Metadata{Status::voting, Proposal{}};
  (void)storage.write(init);
  Replica replica(NodeId{0}, storage.recover().value(), storage);
  replica.step(to_replica(implicit(1)));
  for (Position p = 1; p <= 100; ++p) replica.step(to_replica(write(1, append_value(p, "v"))));
  // A second write to one position in the same batch replaces the first.
  replica.step(to_replica(LearnedMessage{learned(append_value(7, "v"))}));
  const Ready& ready = replica.ready();
  CHECK(ready.metadata);
  CHECK(ready.actions.size() == 100);
  CHECK(ready.messages.size() == 101);
  // Reads see the pending batch before it is durable.
  CHECK(replica.learned(7));
  CHECK(replica.action(7).value()->learned);
  REQUIRE(storage.write(ready));
  replica.advance();
  CHECK(storage.actions().size() == 100);
  CHECK(storage.actions().at(7).learned);
}

TEST_CASE("fetch returns learned actions in bounded pieces", "[replicated_log][core]") {
  Fixture f;
  for (Position p = 0; p < 10; ++p) {
    if (p == 4) continue;  // A hole.
    f.step(LearnedMessage{learned(append_value(p, std::string(300'000, 'x')))});
  }
  auto reply = f.step(FetchRequest{7, 0, 9});
  REQUIRE(reply);
  const auto& response = std::get<FetchResponse>(*reply);
  CHECK(response.nonce == 7);
  CHECK(response.from == 0);
  // The answer stops once it holds 1 MiB of values: after four 300 kB actions, before 5. It
  // covers the hole at 4, which the responder does not have.
  CHECK(response.to == 4);
  CHECK(response.actions.size() == 4);

  reply = f.step(FetchRequest{8, 5, 20});
  const auto& rest = std::get<FetchResponse>(*reply);
  CHECK(rest.to == 8);
  CHECK(rest.actions.size() == 4);
  CHECK(rest.actions.front().position == 5);

  reply = f.step(FetchRequest{9, 9, 20});
  const auto& last = std::get<FetchResponse>(*reply);
  CHECK(last.to == 20);  // Nothing beyond the end: covered, with nothing in it.
  CHECK(last.actions.size() == 1);
}

TEST_CASE("recover requests report status, and range and promise only when voting", "[replicated_log][core]") {
  Fixture voting;
  REQUIRE(voting.promise(implicit(3)).verdict == Verdict::accepted);
  voting.step(LearnedMessage{learned(append_value(2, "x"))});
  auto reply = voting.step(RecoverRequest{42});
  const auto& r = std::get<RecoverResponse>(*reply);
  CHECK(r.nonce == 42);
  CHECK(r.status == Status::voting);
  CHECK(r.end == 2);
  CHECK(r.promised == Proposal{3, 1});

  Fixture empty(Status::empty);
  const auto e = std::get<RecoverResponse>(*empty.step(RecoverRequest{1}));
  CHECK(e.status == Status::empty);
}
