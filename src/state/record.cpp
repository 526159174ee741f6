#include "record.hpp"

#include <cstdint>

#include <fmt/format.h>

namespace dcos::state::detail {

namespace {

constexpr std::uint8_t format_version = 1;
constexpr std::size_t uuid_bytes_max = 255;

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Reads from the front of `in`, consuming what it reads.
struct Reader {
  std::string_view in;
  bool u8(std::uint8_t& v) {
    if (in.empty()) return false;
    v = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (in.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[i]);
    in.remove_prefix(4);
    return true;
  }
  bool bytes(std::size_t n, std::string& v) {
    if (in.size() < n) return false;
    v.assign(in.substr(0, n));
    in.remove_prefix(n);
    return true;
  }
};

}  // namespace

Result<void> check_uuid(const Entry& entry) {
  if (entry.uuid.size() > uuid_bytes_max) {
    return fail(Errc::invalid_argument,
                fmt::format("name={}: uuid of {} bytes, at most {}", entry.name, entry.uuid.size(), uuid_bytes_max));
  }
  return {};
}

std::string encode_record(std::string_view uuid, std::string_view value) {
  DCOS_ASSERT(uuid.size() <= uuid_bytes_max);
  std::string out;
  out.reserve(2 + uuid.size() + value.size());
  out.push_back(static_cast<char>(format_version));
  out.push_back(static_cast<char>(uuid.size()));
  out.append(uuid);
  out.append(value);
  return out;
}

Result<Entry> decode_record(std::string name, std::string_view bytes) {
  Reader reader{bytes};
  std::uint8_t format = 0;
  std::uint8_t uuid_size = 0;
  Entry entry{std::move(name), {}, {}};
  if (!reader.u8(format) || format != format_version || !reader.u8(uuid_size) ||
      !reader.bytes(uuid_size, entry.uuid)) {
    return fail(Errc::corruption, fmt::format("name={}: bad entry record of {} bytes", entry.name, bytes.size()));
  }
  entry.value.assign(reader.in);
  return entry;
}

std::string encode_operation(const Operation& operation) {
  const Entry& entry = operation.entry;
  std::string out;
  out.push_back(static_cast<char>(format_version));
  out.push_back(static_cast<char>(operation.type));
  put_u32(out, static_cast<std::uint32_t>(entry.name.size()));
  out.append(entry.name);
  if (operation.type == Operation::Type::snapshot) {
    DCOS_ASSERT(entry.uuid.size() <= uuid_bytes_max);
    out.push_back(static_cast<char>(entry.uuid.size()));
    out.append(entry.uuid);
    out.append(entry.value);
  }
  return out;
}

Result<Operation> decode_operation(std::string_view bytes) {
  Reader reader{bytes};
  std::uint8_t format = 0;
  std::uint8_t type = 0;
  std::uint32_t name_size = 0;
  Operation operation;
  const auto bad = [&] {
    return fail(Errc::corruption, fmt::format("bad state operation of {} bytes", bytes.size()));
  };
  if (!reader.u8(format) || format != format_version || !reader.u8(type) || !reader.u32(name_size) ||
      !reader.bytes(name_size, operation.entry.name)) {
    return bad();
  }
  switch (static_cast<Operation::Type>(type)) {
    case Operation::Type::snapshot: {
      std::uint8_t uuid_size = 0;
      if (!reader.u8(uuid_size) || !reader.bytes(uuid_size, operation.entry.uuid)) return bad();
      operation.type = Operation::Type::snapshot;
      operation.entry.value.assign(reader.in);
      return operation;
    }
    case Operation::Type::expunge:
      if (!reader.in.empty()) return bad();
      operation.type = Operation::Type::expunge;
      return operation;
  }
  return bad();
}

}  // namespace dcos::state::detail
