#pragma once
// The untyped seam under `State<T>` (state.hpp): named, versioned byte strings with a
// test-and-set. Mesos's `Storage` (`include/mesos/state/storage.hpp`) in coroutine form. The
// model, the versioning rules and each storage's format are in docs/design/state.md.
//
// Every operation is a coroutine that runs on the caller's executor and resumes there, whatever
// thread a storage does its blocking or foreign-callback work on. Storages are safe to call from
// several coroutines (and threads) at once; each serialises what must be atomic. A storage must
// outlive every operation started on it.

#include <optional>
#include <set>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "dcos/common/result.hpp"

namespace dcos::state {

// One stored value. `uuid` is its version: `State` writes 16 fresh random bytes with every
// store, so equal uuids mean "the very same store" and never "an equal value".
struct Entry {
  std::string name;
  std::string uuid;
  std::string value;
  bool operator==(const Entry&) const = default;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // The entry named `name`, or nullopt when there is none.
  virtual boost::asio::awaitable<Result<std::optional<Entry>>> get(std::string name) = 0;

  // Test-and-set: writes `entry` when no entry named `entry.name` exists, or when the stored
  // one's uuid equals `expected_uuid`. Returns true when written, false when the stored entry
  // has another uuid (a conflict: someone stored since the caller fetched). An error only for a
  // failing backend; after an error the write may or may not have happened.
  virtual boost::asio::awaitable<Result<bool>> set(Entry entry, std::string expected_uuid) = 0;

  // Removes the entry named `entry.name` if its uuid equals `entry.uuid`. Returns true when it
  // was removed, false when it was absent or had another uuid.
  virtual boost::asio::awaitable<Result<bool>> expunge(Entry entry) = 0;

  // Every stored name.
  virtual boost::asio::awaitable<Result<std::set<std::string>>> names() = 0;
};

}  // namespace dcos::state
