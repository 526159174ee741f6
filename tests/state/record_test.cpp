// The byte formats the storages share (src/state/record.hpp): round trips, and malformed bytes
// are `Errc::corruption`, never a crash.
#include "../src/state/record.hpp"  // First: proves the header is self-contained. (Private: src/.)

#include <catch2/catch.hpp>

using namespace dcos::state;
using namespace dcos::state::detail;

TEST_CASE("entry records round-trip and reject malformed bytes", "[state][core]") {
  const std::string uuid(16, '\x07');
  const std::string bytes = encode_record(uuid, std::string("{\"a\":1}\0tail", 12));
  CHECK(bytes.size() == 2 + 16 + 12);
  auto entry = decode_record("name", bytes);
  REQUIRE(entry);
  CHECK(*entry == Entry{"name", uuid, std::string("{\"a\":1}\0tail", 12)});

  auto empty = decode_record("name", encode_record(uuid, ""));
  REQUIRE(empty);
  CHECK(empty->value.empty());

  for (const std::string& bad : {std::string(), std::string("\x02\x00", 2), std::string("\x01"),
                                 std::string("\x01\x10short")}) {
    auto decoded = decode_record("name", bad);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == dcos::make_error_code(dcos::Errc::corruption));
  }
}

TEST_CASE("log operations round-trip and reject malformed bytes", "[state][core]") {
  const Operation snapshot{Operation::Type::snapshot, Entry{"a/b", std::string(16, 'u'), "value"}};
  auto decoded = decode_operation(encode_operation(snapshot));
  REQUIRE(decoded);
  CHECK(decoded->type == Operation::Type::snapshot);
  CHECK(decoded->entry == snapshot.entry);

  const Operation expunge{Operation::Type::expunge, Entry{"gone", {}, {}}};
  decoded = decode_operation(encode_operation(expunge));
  REQUIRE(decoded);
  CHECK(decoded->type == Operation::Type::expunge);
  CHECK(decoded->entry.name == "gone");

  std::string truncated = encode_operation(snapshot);
  truncated.resize(8);
  std::string unknown_type = encode_operation(expunge);
  unknown_type[1] = 9;
  std::string trailing = encode_operation(expunge) + "x";
  for (const std::string& bad : {std::string(), truncated, unknown_type, trailing}) {
    auto result = decode_operation(bad);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == dcos::make_error_code(dcos::Errc::corruption));
  }
}
