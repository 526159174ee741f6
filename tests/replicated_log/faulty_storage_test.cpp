#include "faulty_storage.hpp"  // First: proves the header is self-contained.

#include <catch2/catch.hpp>

#include <memory>

#include "dcos/replicated_log/replica.hpp"
#include "dcos/replicated_log/write_queue.hpp"

namespace {

using namespace dcos::replicated_log;
using dcos::replicated_log::testing::FaultyLogStorage;

const Address coordinator{NodeId{9}, Port::coordinator};

// A replica run the way the `Log` shell runs it -- through a write queue, each batch written
// before its replies are released -- over storage whose Nth write fails. A failed write stops
// the "process" (the shell aborts); it restarts from what landed.
struct Node {
  Node(std::size_t fail_at, std::size_t landed) : storage(fail_at, landed) {
    WriteBatch init;
    init.metadata = Metadata{Status::voting, Proposal{1, 1}};
    REQUIRE(storage.write(init));
    restart();
  }
  void restart() {
    replica.reset();
    queue = std::make_unique<WriteQueue>(storage);
    replica = std::make_unique<Replica>(NodeId{0}, storage.recover().value(), *queue);
  }
  // Steps a write request in; returns the replies released, or nullopt if the process "died".
  std::optional<std::vector<Envelope>> write(Position position) {
    WriteRequest request{Proposal{1, 1}, append_value(position, "v" + std::to_string(position))};
    replica->step(Envelope{coordinator, Address{NodeId{0}, Port::replica}, request});
    WriteQueue::Pushed pushed = queue->push(replica->ready());
    replica->advance();
    std::vector<Envelope> released = std::move(pushed.send);
    if (pushed.batch) {
      if (!storage.write(*pushed.batch)) return std::nullopt;
      for (Envelope& e : queue->durable(pushed.sequence)) released.push_back(std::move(e));
    }
    return released;
  }

  FaultyLogStorage storage;
  std::unique_ptr<WriteQueue> queue;
  std::unique_ptr<Replica> replica;
};

}  // namespace

TEST_CASE("a lost write releases no acknowledgement; after a restart every acknowledged write is on disk",
          "[replicated_log][core]") {
  // Write 1 is the initial metadata; writes 2.. carry one accepted action each (one record: a
  // failure loses it whole). Fail each of them in turn.
  const std::size_t fail_at = GENERATE(2, 3, 4, 5);
  Node node(fail_at, 0);
  std::size_t failures = 0;
  for (Position position = 1; position <= 4; ++position) {
    INFO("fail_at=" << fail_at << " position=" << position);
    auto released = node.write(position);
    if (!released) {
      ++failures;
      CHECK_FALSE(node.storage.disk().read(position).value());  // Lost: nothing landed.
      node.restart();
      released = node.write(position);  // The coordinator retransmits.
      REQUIRE(released);
    }
    REQUIRE(released->size() == 1);
    const auto& response = std::get<WriteResponse>(released->front().message);
    CHECK(response.verdict == Verdict::accepted);
    // Released only once durable: the record is on disk with the acknowledged proposal.
    auto stored = node.storage.disk().read(position).value();
    REQUIRE(stored);
    CHECK(stored->performed == Proposal{1, 1});
    CHECK(stored->bytes == "v" + std::to_string(position));
  }
  CHECK(failures == 1);
  // A restart from disk keeps every acknowledged write.
  node.restart();
  CHECK(node.replica->end() == 4);
}

TEST_CASE("a torn write lands a prefix; the replica restarts from it without acknowledging the rest",
          "[replicated_log][core]") {
  // Write 2 carries a promise (metadata) and an accepted action: tear it after the action.
  Node node(2, 1);
  WriteRequest request{Proposal{2, 1}, append_value(1, "a")};  // Raises no implicit promise...
  PromiseRequest promise{Proposal{2, 1}, std::nullopt};         // ...but this one does.
  node.replica->step(Envelope{coordinator, Address{NodeId{0}, Port::replica}, promise});
  node.replica->step(Envelope{coordinator, Address{NodeId{0}, Port::replica}, request});
  WriteQueue::Pushed pushed = node.queue->push(node.replica->ready());
  node.replica->advance();
  REQUIRE(pushed.batch);
  REQUIRE(MemoryLogStorage::records(*pushed.batch) == 2);
  CHECK(pushed.send.empty());  // Both replies wait for the write...
  REQUIRE_FALSE(node.storage.write(*pushed.batch));
  // ...which tore: the action landed, the promise did not. Nothing was released, so nobody
  // counts on either; the restarted replica holds the older promise and the accepted value.
  node.restart();
  CHECK(node.replica->promised() == Proposal{1, 1});
  auto stored = node.replica->action(1).value();
  REQUIRE(stored);
  CHECK(stored->bytes == "a");
  CHECK_FALSE(stored->learned);
}
