#pragma once
// Byte formats shared by the storages (docs/design/state.md, "Formats").
//
// Entry record -- a LevelDB value, a znode's data:
//   u8 format (1) | u8 uuid length | uuid | value (the rest)
// The name is the key (LevelDB) or the znode's name (ZooKeeper), so it is not repeated.
//
// Log operation -- one APPEND entry of the replicated log (`LogStorage`):
//   u8 format (1) | u8 type (1 snapshot, 2 expunge) | u32 big-endian name length | name |
//   snapshot only: u8 uuid length | uuid | value (the rest)

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dcos/common/result.hpp"
#include "dcos/state/storage.hpp"

namespace dcos::state::detail {

// Requires: `uuid.size() <= 255` (`State` writes 16 bytes).
std::string encode_record(std::string_view uuid, std::string_view value);
// The uuid and value of the record stored under `name`; `Errc::corruption` when malformed.
Result<Entry> decode_record(std::string name, std::string_view bytes);

struct Operation {
  enum class Type : std::uint8_t { snapshot = 1, expunge = 2 };
  Type type = Type::snapshot;
  Entry entry;  // Expunge: only `name` matters.
};

std::string encode_operation(const Operation& operation);
Result<Operation> decode_operation(std::string_view bytes);

// Checks what `encode_record` requires, for storages that take foreign entries.
Result<void> check_uuid(const Entry& entry);

}  // namespace dcos::state::detail
