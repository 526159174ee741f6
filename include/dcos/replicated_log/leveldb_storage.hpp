#pragma once
// `LogStorage` on LevelDB with synchronous writes: `write()` returns only once the batch is on
// disk (WriteOptions::sync), so a replica never sends a reply that a crash could take back.
// Batches without replies (`WriteBatch::sync` false) skip the fsync; LevelDB's log keeps writes
// in order, so the next synced batch makes them durable as well.
// Layout (docs/design/replicated_log.md, "On-disk format"): key "m" holds the `Metadata`; key
// "a" + 8-byte big-endian position holds that position's `Action`, both encoded by `codec.hpp`.
// One LevelDB per replica; LevelDB itself allows one process per directory.

#include <memory>
#include <string>

#include "dcos/replicated_log/storage.hpp"

namespace leveldb {
class DB;
}

namespace dcos::replicated_log {

class LevelDbLogStorage final : public LogStorage {
 public:
  // Opens (creating if missing) the database in directory `path`.
  static Result<std::unique_ptr<LevelDbLogStorage>> open(const std::string& path);
  ~LevelDbLogStorage() override;

  // Scans every record: O(entries). The learned set is kept as intervals, so memory is small.
  Result<Recovered> recover() override;
  // One atomic LevelDB batch, synced: every action, then deletion of the actions below
  // `truncate_before`, then the metadata.
  Result<void> write(const WriteBatch& batch) override;
  using LogStorage::write;
  Result<std::optional<Action>> read(Position position) const override;

  const std::string& path() const { return path_; }

 private:
  LevelDbLogStorage(std::string path, std::unique_ptr<leveldb::DB> db);

  std::string path_;
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace dcos::replicated_log
