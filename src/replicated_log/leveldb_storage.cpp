#include "dcos/replicated_log/leveldb_storage.hpp"

#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "dcos/replicated_log/codec.hpp"

namespace dcos::replicated_log {
namespace {

tl::unexpected<Error> failure(const leveldb::Status& status, std::string_view what) {
  const Errc code = status.IsCorruption() ? Errc::corruption : Errc::io_error;
  return fail(code, fmt::format("{}: {}", what, status.ToString()));
}

}  // namespace

Result<std::unique_ptr<LevelDbLogStorage>> LevelDbLogStorage::open(const std::string& path) {
  std::error_code created;
  std::filesystem::create_directories(path, created);  // LevelDB creates only the last level.
  if (created) return fail(created, fmt::format("create log storage path={}", path));
  leveldb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  leveldb::DB* db = nullptr;
  leveldb::Status status = leveldb::DB::Open(options, path, &db);
  if (!status.ok()) return failure(status, fmt::format("open log storage path={}", path));
  return std::unique_ptr<LevelDbLogStorage>(new LevelDbLogStorage(path, std::unique_ptr<leveldb::DB>(db)));
}

LevelDbLogStorage::LevelDbLogStorage(std::string path, std::unique_ptr<leveldb::DB> db)
    : path_(std::move(path)), db_(std::move(db)) {}

LevelDbLogStorage::~LevelDbLogStorage() = default;

Result<Recovered> LevelDbLogStorage::recover() {
  Metadata metadata;
  std::string value;
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  leveldb::Status status = db_->Get(read, leveldb::Slice(metadata_key().data(), metadata_key().size()), &value);
  if (status.ok()) {
    auto decoded = decode_metadata(value);
    if (!decoded) return tl::unexpected(decoded.error());
    metadata = *decoded;
  } else if (!status.IsNotFound()) {
    return failure(status, "recover metadata");
  }

  RecoveredBuilder builder;
  read.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read));
  for (it->Seek(action_key(0)); it->Valid(); it->Next()) {
    const leveldb::Slice key = it->key();
    if (!position_of_key(std::string_view(key.data(), key.size()))) break;  // Past the actions.
    auto action = decode_action(std::string_view(it->value().data(), it->value().size()));
    if (!action) return tl::unexpected(action.error());
    builder.add(*action);
  }
  if (!it->status().ok()) return failure(it->status(), "recover actions");
  return std::move(builder).finish(metadata);
}

Result<void> LevelDbLogStorage::write(const WriteBatch& batch) {
  leveldb::WriteBatch updates;
  const Position keep_from = batch.truncate_before.value_or(0);
  for (const Action& action : batch.actions) {
    if (action.position >= keep_from) updates.Put(action_key(action.position), encode(action));
  }
  if (batch.truncate_before && *batch.truncate_before > 0) {
    // Delete what exists below the truncation point: an iterator finds it, so holes and long
    // truncated stretches cost nothing (Mesos LogStorageTest.TruncateWithManyHoles).
    leveldb::ReadOptions read;
    read.fill_cache = false;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read));
    const std::string end = action_key(*batch.truncate_before);
    for (it->Seek(action_key(0)); it->Valid() && it->key().compare(end) < 0; it->Next()) {
      updates.Delete(it->key());
    }
    if (!it->status().ok()) return failure(it->status(), "truncate scan");
  }
  if (batch.metadata) updates.Put(std::string(metadata_key()), encode(*batch.metadata));

  leveldb::WriteOptions options;
  options.sync = batch.sync;
  leveldb::Status status = db_->Write(options, &updates);
  if (!status.ok()) return failure(status, fmt::format("persist {} actions", batch.actions.size()));
  return {};
}

Result<std::optional<Action>> LevelDbLogStorage::read(Position position) const {
  std::string value;
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  leveldb::Status status = db_->Get(read, action_key(position), &value);
  if (status.IsNotFound()) return std::optional<Action>{};
  if (!status.ok()) return failure(status, fmt::format("read position={}", position));
  auto action = decode_action(value);
  if (!action) return tl::unexpected(action.error());
  return std::optional<Action>{std::move(*action)};
}

}  // namespace dcos::replicated_log
