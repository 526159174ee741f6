#include "dcos/state/leveldb_storage.hpp"

#include <map>
#include <vector>

#include <fmt/format.h>
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "completion.hpp"
#include "record.hpp"

namespace dcos::state {

namespace asio = boost::asio;

namespace {

tl::unexpected<Error> leveldb_error(std::string_view what, const leveldb::Status& status) {
  const Errc code = status.IsCorruption() ? Errc::corruption : Errc::io_error;
  return fail(code, fmt::format("leveldb {}: {}", what, status.ToString()));
}

}  // namespace

Result<std::unique_ptr<LevelDbStorage>> LevelDbStorage::open(const std::string& path) {
  leveldb::Options options;
  options.create_if_missing = true;
  leveldb::DB* db = nullptr;
  leveldb::Status status = leveldb::DB::Open(options, path, &db);
  if (!status.ok()) return leveldb_error(fmt::format("open path={}", path), status);
  return std::unique_ptr<LevelDbStorage>(new LevelDbStorage(path, std::unique_ptr<leveldb::DB>(db)));
}

LevelDbStorage::LevelDbStorage(std::string path, std::unique_ptr<leveldb::DB> db)
    : path_(std::move(path)), db_(std::move(db)) {}

LevelDbStorage::~LevelDbStorage() {
  worker_.join();  // Runs what was posted (without `stop()`), so no operation is torn.
}

template <typename R, typename F>
asio::awaitable<R> LevelDbStorage::on_worker(F fn) {
  return detail::await_completion<R>([this, fn = std::move(fn)](detail::Completion<R> done) mutable {
    asio::post(worker_, [fn = std::move(fn), done = std::move(done)]() mutable { done(fn()); });
  });
}

// Worker thread only.
Result<std::optional<Entry>> LevelDbStorage::read(const std::string& name) {
  std::string bytes;
  leveldb::Status status = db_->Get(leveldb::ReadOptions(), name, &bytes);
  if (status.IsNotFound()) return std::optional<Entry>();
  if (!status.ok()) return leveldb_error(fmt::format("get name={}", name), status);
  Result<Entry> entry = detail::decode_record(name, bytes);
  if (!entry) return tl::unexpected(entry.error());
  return std::optional<Entry>(std::move(*entry));
}

asio::awaitable<Result<std::optional<Entry>>> LevelDbStorage::get(std::string name) {
  // Each job is named, not a temporary in the co_await: g++ 12 destroys some of those twice.
  auto job = [this, name = std::move(name)] { return read(name); };
  co_return co_await on_worker<Result<std::optional<Entry>>>(std::move(job));
}

struct LevelDbStorage::Write {
  bool expunge = false;
  Entry entry;
  std::string expected_uuid;  // Set only.
  detail::Completion<Result<bool>> done;
};

asio::awaitable<Result<bool>> LevelDbStorage::set(Entry entry, std::string expected_uuid) {
  if (auto ok = detail::check_uuid(entry); !ok) co_return tl::unexpected(ok.error());
  Write write{false, std::move(entry), std::move(expected_uuid), {}};
  co_return co_await enqueue(std::move(write));
}

asio::awaitable<Result<bool>> LevelDbStorage::expunge(Entry entry) {
  Write write{true, std::move(entry), {}, {}};
  co_return co_await enqueue(std::move(write));
}

asio::awaitable<Result<bool>> LevelDbStorage::enqueue(Write write) {
  auto start = [this, &write](detail::Completion<Result<bool>> done) {
    write.done = std::move(done);
    std::lock_guard lock(mutex_);
    queued_.push_back(std::move(write));
    if (!write_posted_) {
      write_posted_ = true;
      asio::post(worker_, [this] { write_queued(); });
    }
  };
  co_return co_await detail::await_completion<Result<bool>>(std::move(start));
}

// Worker thread. Each write is checked against the database as the earlier writes of this batch
// leave it (`overlay`), in arrival order, so the outcome is the one writing them one by one
// would give; only the fsync is shared. If the batch fails, every write in it gets the error.
void LevelDbStorage::write_queued() {
  std::deque<Write> writes;
  {
    std::lock_guard lock(mutex_);
    writes.swap(queued_);
    write_posted_ = false;  // What arrives from now on waits for the next batch.
  }
  std::map<std::string, std::optional<Entry>> overlay;
  std::vector<Result<bool>> results;
  leveldb::WriteBatch batch;
  for (Write& write : writes) {
    const std::string& name = write.entry.name;
    auto it = overlay.find(name);
    if (it == overlay.end()) {
      Result<std::optional<Entry>> stored = read(name);
      if (!stored) {
        results.push_back(tl::unexpected(stored.error()));
        continue;
      }
      it = overlay.emplace(name, std::move(*stored)).first;
    }
    const std::optional<Entry>& current = it->second;
    if (write.expunge) {
      if (!current || current->uuid != write.entry.uuid) {
        results.push_back(false);
        continue;
      }
      batch.Delete(name);
      it->second.reset();
    } else {
      if (current && current->uuid != write.expected_uuid) {
        results.push_back(false);
        continue;
      }
      batch.Put(name, detail::encode_record(write.entry.uuid, write.entry.value));
      it->second = write.entry;
    }
    results.push_back(true);
  }
  if (batch.ApproximateSize() > leveldb::WriteBatch().ApproximateSize()) {
    leveldb::WriteOptions options;
    options.sync = true;
    leveldb::Status status = db_->Write(options, &batch);
    if (!status.ok()) {
      auto error = leveldb_error(fmt::format("write batch of {} operations", writes.size()), status);
      for (Result<bool>& result : results) result = error;
    }
  }
  for (std::size_t i = 0; i < writes.size(); ++i) writes[i].done(std::move(results[i]));
}

asio::awaitable<Result<std::set<std::string>>> LevelDbStorage::names() {
  auto job = [this]() -> Result<std::set<std::string>> {
    std::set<std::string> names;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) names.insert(it->key().ToString());
    if (!it->status().ok()) return leveldb_error("scan names", it->status());
    return names;
  };
  co_return co_await on_worker<Result<std::set<std::string>>>(std::move(job));
}

}  // namespace dcos::state
