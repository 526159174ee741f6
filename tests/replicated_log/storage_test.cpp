#include "dcos/replicated_log/leveldb_storage.hpp"  // First: proves the header is self-contained.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <functional>

#include "dcos/replicated_log/codec.hpp"
#include "dcos/replicated_log/storage.hpp"

namespace {

using namespace dcos::replicated_log;
namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed at the end of the test.
struct TempDir {
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           fmt::format("dcos-log-test-{}-{}", ::getpid(), counter++);
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

Action record(Position position, std::string bytes, bool learned = true) {
  Action action = append_value(position, std::move(bytes));
  action.promised = Proposal{1, 1};
  action.performed = Proposal{1, 1};
  action.learned = learned;
  return action;
}

Action truncation(Position position, Position to) {
  Action action = truncate_value(position, to);
  action.promised = Proposal{1, 1};
  action.performed = Proposal{1, 1};
  action.learned = true;
  return action;
}

void put(LogStorage& storage, const Action& action) {
  WriteBatch batch;
  batch.actions.push_back(action);
  if (action.learned && action.type == ActionType::truncate) batch.truncate_before = action.to;
  REQUIRE(storage.write(batch));
}

// Runs `body` against a memory storage and a LevelDB one (which it also reopens).
void for_each_storage(const std::function<void(LogStorage&, const std::function<LogStorage&()>&)>& body) {
  SECTION("memory") {
    MemoryLogStorage storage;
    body(storage, [&]() -> LogStorage& { return storage; });
  }
  SECTION("leveldb") {
    TempDir dir;
    auto storage = LevelDbLogStorage::open(dir.path.string());
    REQUIRE(storage);
    std::unique_ptr<LevelDbLogStorage> db = std::move(*storage);
    body(*db, [&]() -> LogStorage& {
      db.reset();
      db = std::move(LevelDbLogStorage::open(dir.path.string()).value());
      return *db;
    });
  }
}

}  // namespace

TEST_CASE("codec round-trips actions, metadata and every message", "[replicated_log][core]") {
  Action append = record(7, std::string("a\0b", 3));
  Action nop = nop_value(3);
  nop.tombstone = true;
  nop.learned = true;
  nop.performed = Proposal{};
  Action promise_only;
  promise_only.position = 1ull << 40;
  promise_only.promised = Proposal{~0ull, 12345};
  for (const Action& a : {append, nop, promise_only, truncation(9, 4)}) {
    auto decoded = decode_action(encode(a));
    REQUIRE(decoded);
    CHECK(decoded->position == a.position);
    CHECK(decoded->promised == a.promised);
    CHECK(decoded->performed == a.performed);
    CHECK(decoded->learned == a.learned);
    CHECK(same_value(*decoded, a));
  }
  Metadata metadata{Status::recovering, Proposal{5, 6}};
  CHECK(decode_metadata(encode(metadata)).value() == metadata);

  PromiseResponse promise_response{Verdict::accepted, Proposal{2, 3}, Proposal{}, Position{4}, 9, append};
  FetchResponse fetch_response{1, 2, 3, 0, {append, nop}};
  std::vector<Message> messages = {
      PromiseRequest{Proposal{1, 2}, std::nullopt}, PromiseRequest{Proposal{1, 2}, Position{5}},
      promise_response, WriteRequest{Proposal{1, 2}, append},
      WriteResponse{Verdict::rejected, Proposal{1, 2}, Proposal{3, 4}, 5}, LearnedMessage{append},
      RecoverRequest{99}, RecoverResponse{99, Status::voting, 1, 2, Proposal{3, 4}},
      FetchRequest{1, 2, 3}, fetch_response};
  for (const Message& m : messages) {
    Envelope e{Address{NodeId{1}, Port::coordinator}, Address{NodeId{300}, Port::replica}, m};
    const std::string bytes = encode(e);
    auto decoded = decode_envelope(bytes);
    REQUIRE(decoded);
    CHECK(decoded->from == e.from);
    CHECK(decoded->to == e.to);
    CHECK(decoded->message.index() == m.index());
    CHECK(encode(*decoded) == bytes);  // Every field survived.
    // Every truncation of a valid encoding is rejected, never misread.
    for (std::size_t n = 0; n < bytes.size(); ++n) CHECK_FALSE(decode_envelope(bytes.substr(0, n)));
  }
  CHECK_FALSE(decode_action("\x02"));
  CHECK_FALSE(decode_metadata(""));
}

TEST_CASE("action keys sort by position and before the metadata key", "[replicated_log][core]") {
  CHECK(action_key(1) < action_key(2));
  CHECK(action_key(2) < action_key(10));
  CHECK(action_key(255) < action_key(256));
  CHECK(action_key(9'999'999'999) < action_key(10'000'000'000));
  CHECK(action_key(~0ull) < std::string(metadata_key()));
  CHECK(position_of_key(action_key(123456789)) == Position{123456789});
  CHECK_FALSE(position_of_key(metadata_key()));
}

TEST_CASE("LogStorageTest.Truncate: storage drops positions below learned truncations", "[replicated_log][shell]") {
  for_each_storage([](LogStorage& storage, const std::function<LogStorage&()>& reopen) {
    Recovered empty = storage.recover().value();
    CHECK(empty.metadata.status == Status::empty);
    CHECK(empty.metadata.promised == Proposal{});
    CHECK(empty.begin == 0);
    CHECK(empty.end == 0);

    for (Position p = 0; p < 10; ++p) put(storage, record(p, std::to_string(p)));
    for (Position p = 0; p < 10; ++p) CHECK(storage.read(p).value()->bytes == std::to_string(p));
    put(storage, truncation(10, 3));
    for (Position p = 0; p < 11; ++p) {
      auto action = storage.read(p).value();
      if (p < 3) {
        CHECK_FALSE(action);
      } else if (p == 10) {
        REQUIRE(action);
        CHECK(action->type == ActionType::truncate);
        CHECK(action->to == 3);
      } else {
        CHECK(action->bytes == std::to_string(p));
      }
    }
    put(storage, truncation(11, 10));
    for (Position p = 0; p < 10; ++p) CHECK_FALSE(storage.read(p).value());
    CHECK(storage.read(10).value()->to == 3);

    LogStorage& again = reopen();
    Recovered recovered = again.recover().value();
    CHECK(recovered.begin == 10);
    CHECK(recovered.end == 11);
    CHECK(recovered.learned == IntervalSet(10, 11));
  });
}

TEST_CASE("LogStorageTest.TruncateWithEmptyLog and TruncateWithManyHoles", "[replicated_log][shell]") {
  for_each_storage([](LogStorage& storage, const std::function<LogStorage&()>&) {
    put(storage, truncation(1, 0));
    CHECK_FALSE(storage.read(0).value());
    CHECK(storage.read(1).value()->to == 0);

    const auto start = std::chrono::steady_clock::now();
    put(storage, truncation(600'020'000, 600'000'000));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    CHECK(storage.read(600'020'000).value()->to == 600'000'000);
    Recovered recovered = storage.recover().value();
    CHECK(recovered.begin == 600'000'000);
    CHECK(recovered.end == 600'020'000);
  });
}

TEST_CASE("storage recovers metadata, unlearned actions and holes", "[replicated_log][shell]") {
  for_each_storage([](LogStorage& storage, const std::function<LogStorage&()>& reopen) {
    WriteBatch batch;
    batch.metadata = Metadata{Status::voting, Proposal{4, 2}};
    batch.actions = {record(0, "a"), record(1, "b", false), record(5, "c")};
    REQUIRE(storage.write(batch));
    LogStorage& again = reopen();
    Recovered recovered = again.recover().value();
    CHECK(recovered.metadata == Metadata{Status::voting, Proposal{4, 2}});
    CHECK(recovered.begin == 0);
    CHECK(recovered.end == 5);
    IntervalSet learned;
    learned.add(0);
    learned.add(5);
    CHECK(recovered.learned == learned);
    CHECK_FALSE(again.read(1).value()->learned);
    CHECK_FALSE(again.read(3).value());
  });
}

TEST_CASE("a replica on LevelDB restores its promise and log after a restart", "[replicated_log][shell]") {
  // Mesos ReplicaTest.Restore against the real storage.
  TempDir dir;
  const Address from{NodeId{9}, Port::coordinator};
  const Address to{NodeId{0}, Port::replica};
  {
    auto storage = LevelDbLogStorage::open(dir.path.string()).value();
    WriteBatch init;
    init.metadata = Metadata{Status::voting, Proposal{}};
    REQUIRE(storage->write(init));
    Replica replica(NodeId{0}, storage->recover().value(), *storage);
    replica.step(Envelope{from, to, PromiseRequest{Proposal{1, 1}, std::nullopt}});
    replica.step(Envelope{from, to, WriteRequest{Proposal{1, 1}, append_value(1, "hello world")}});
    REQUIRE(storage->write(replica.ready()));
    CHECK(replica.ready().messages.size() == 2);
    replica.advance();
  }
  auto storage = LevelDbLogStorage::open(dir.path.string()).value();
  Replica replica(NodeId{0}, storage->recover().value(), *storage);
  CHECK(replica.promised() == Proposal{1, 1});
  CHECK(replica.end() == 1);
  auto actions = replica.read(1, 1).value();
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].bytes == "hello world");
  CHECK(actions[0].performed == Proposal{1, 1});
  CHECK_FALSE(actions[0].learned);
}

TEST_CASE("opening a LevelDB storage held by another opener fails cleanly", "[replicated_log][shell]") {
  TempDir dir;
  auto first = LevelDbLogStorage::open(dir.path.string());
  REQUIRE(first);
  auto second = LevelDbLogStorage::open(dir.path.string());
  REQUIRE_FALSE(second);
  CHECK(second.error().code == dcos::make_error_code(dcos::Errc::io_error));
}
