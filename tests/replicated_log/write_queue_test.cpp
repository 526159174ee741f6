#include "dcos/replicated_log/write_queue.hpp"  // First: proves the header is self-contained.

#include <catch2/catch.hpp>

#include "dcos/replicated_log/replica.hpp"

namespace {

using namespace dcos::replicated_log;

const Address coordinator{NodeId{9}, Port::coordinator};

Envelope to_replica(Message message) { return Envelope{coordinator, Address{NodeId{0}, Port::replica}, std::move(message)}; }

WriteRequest write(std::uint64_t round, Position position, std::string bytes) {
  return WriteRequest{Proposal{round, 1}, append_value(position, std::move(bytes))};
}

// A VOTING replica promised round 1, reading through a write queue over memory storage; the
// test plays the disk.
struct Fixture {
  Fixture() {
    WriteBatch batch;
    batch.metadata = Metadata{Status::voting, Proposal{1, 1}};
    (void)storage.write(batch);
    replica = std::make_unique<Replica>(NodeId{0}, storage.recover().value(), queue);
  }
  // Steps `message` in and pushes the replica's `Ready` into the queue.
  WriteQueue::Pushed step(Message message) {
    replica->step(to_replica(std::move(message)));
    WriteQueue::Pushed pushed = queue.push(replica->ready());
    replica->advance();
    return pushed;
  }

  MemoryLogStorage storage;
  WriteQueue queue{storage};
  std::unique_ptr<Replica> replica;
};

}  // namespace

TEST_CASE("a write queue holds a replica's acknowledgement until its write is durable",
          "[replicated_log][core]") {
  Fixture f;
  WriteQueue::Pushed pushed = f.step(write(1, 1, "a"));
  REQUIRE(pushed.batch);
  CHECK(pushed.send.empty());
  CHECK(f.queue.pending() == 1);
  // The replica sees its pending write, storage does not have it yet.
  CHECK(f.replica->action(1).value()->bytes == "a");
  CHECK_FALSE(f.storage.read(1).value());

  REQUIRE(f.storage.write(*pushed.batch));
  std::vector<Envelope> sent = f.queue.durable(pushed.sequence);
  REQUIRE(sent.size() == 1);
  CHECK(std::get<WriteResponse>(sent[0].message).verdict == Verdict::accepted);
  CHECK(f.queue.pending() == 0);
  CHECK(f.replica->action(1).value()->bytes == "a");
}

TEST_CASE("a write queue holds a reply that needs no write behind earlier pending writes",
          "[replicated_log][core]") {
  Fixture f;
  WriteQueue::Pushed first = f.step(write(1, 1, "a"));
  REQUIRE(first.batch);
  // A retransmission is acknowledged from the pending record without a write of its own; it
  // must not leave before that record is durable.
  WriteQueue::Pushed again = f.step(write(1, 1, "a"));
  CHECK_FALSE(again.batch);
  CHECK(again.send.empty());
  REQUIRE(f.storage.write(*first.batch));
  std::vector<Envelope> sent = f.queue.durable(first.sequence);
  CHECK(sent.size() == 2);
  // With nothing pending, a reply leaves at once.
  WriteQueue::Pushed third = f.step(write(1, 1, "a"));
  CHECK_FALSE(third.batch);
  CHECK(third.send.size() == 1);
}

TEST_CASE("a write queue releases replies in push order as batches become durable",
          "[replicated_log][core]") {
  Fixture f;
  WriteQueue::Pushed one = f.step(write(1, 1, "a"));
  WriteQueue::Pushed two = f.step(write(1, 2, "b"));
  WriteQueue::Pushed three = f.step(write(1, 1, "a"));  // Rides behind batch two.
  REQUIRE((one.batch && two.batch && !three.batch));
  CHECK(two.sequence == one.sequence + 1);

  REQUIRE(f.storage.write(*one.batch));
  std::vector<Envelope> sent = f.queue.durable(one.sequence);
  REQUIRE(sent.size() == 1);
  CHECK(std::get<WriteResponse>(sent[0].message).position == 1);

  REQUIRE(f.storage.write(*two.batch));
  sent = f.queue.durable(two.sequence);
  REQUIRE(sent.size() == 2);
  CHECK(std::get<WriteResponse>(sent[0].message).position == 2);
  CHECK(std::get<WriteResponse>(sent[1].message).position == 1);
}

TEST_CASE("a write queue serves the newest pending record of a position", "[replicated_log][core]") {
  Fixture f;
  WriteQueue::Pushed accepted = f.step(write(1, 1, "a"));
  Action learned = append_value(1, "a");
  learned.promised = Proposal{1, 1};
  learned.performed = Proposal{1, 1};
  learned.learned = true;
  f.replica->learn(learned);
  WriteQueue::Pushed learn = f.queue.push(f.replica->ready());
  f.replica->advance();
  REQUIRE(learn.batch);
  CHECK_FALSE(learn.batch->sync);  // Nobody is told anything that depends on a learned flag.

  // The first batch becomes durable: the learned record, still pending, must win.
  REQUIRE(f.storage.write(*accepted.batch));
  (void)f.queue.durable(accepted.sequence);
  CHECK(f.replica->action(1).value()->learned);
  CHECK_FALSE(f.storage.read(1).value()->learned);
  REQUIRE(f.storage.write(*learn.batch));
  (void)f.queue.durable(learn.sequence);
  CHECK(f.storage.read(1).value()->learned);
  CHECK(f.replica->action(1).value()->learned);
}

TEST_CASE("merged write batches equal the batches written in order", "[replicated_log][core]") {
  auto record = [](Position position, std::string bytes, bool learned) {
    Action action = append_value(position, std::move(bytes));
    action.promised = Proposal{1, 1};
    action.performed = Proposal{1, 1};
    action.learned = learned;
    return action;
  };
  WriteBatch first;
  first.actions = {record(0, "z", true), record(1, "a", false), record(2, "b", true)};
  first.metadata = Metadata{Status::voting, Proposal{1, 1}};
  first.sync = false;
  WriteBatch second;
  second.actions = {record(1, "a", true), record(5, "c", false)};
  second.truncate_before = 1;  // Drops position 0 only.
  second.metadata = Metadata{Status::voting, Proposal{2, 1}};
  second.sync = true;

  MemoryLogStorage separately;
  REQUIRE(separately.write(first));
  REQUIRE(separately.write(second));
  MemoryLogStorage merged;
  WriteBatch both = first;
  both.merge(second);
  CHECK(both.sync);
  REQUIRE(merged.write(both));

  CHECK(merged.metadata().promised == separately.metadata().promised);
  REQUIRE(merged.actions().size() == separately.actions().size());
  for (const auto& [position, action] : separately.actions()) {
    INFO("position=" << position);
    REQUIRE(merged.actions().count(position) == 1);
    CHECK(same_value(merged.actions().at(position), action));
    CHECK(merged.actions().at(position).learned == action.learned);
  }
}
