#include "dcos/common/uuid.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <utility>
#include <vector>

TEST_CASE("base64_encode matches the RFC 4648 test vectors", "[common][core]") {
  // RFC 4648 section 10: "", "f", "fo", "foo", "foob", "fooba", "foobar".
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    INFO("plain: '" << plain << "'");
    CHECK(dcos::base64_encode(plain) == encoded);
    CHECK(dcos::base64_decode(encoded) == plain);
  }
  // The standard alphabet, not the URL-safe one: 0xfb 0xff encodes with '+' and '/'.
  CHECK(dcos::base64_encode("\xfb\xff") == "+/8=");
}

TEST_CASE("base64 round-trips every byte value", "[common][core]") {
  // All 256 byte values, at every length modulo 3, decode back to the same bytes.
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t cut = 0; cut < 3; ++cut) {
    const std::string input = bytes.substr(cut);
    CHECK(dcos::base64_decode(dcos::base64_encode(input)) == input);
  }
}

TEST_CASE("base64_decode is lenient like Mesos", "[common][core]") {
  // Missing padding is fine, whitespace is skipped, decoding stops at the first '='.
  CHECK(dcos::base64_decode("Zg") == "f");
  CHECK(dcos::base64_decode("Zm8") == "fo");
  CHECK(dcos::base64_decode("Zm9v\nYmFy") == "foobar");
  CHECK(dcos::base64_decode(" Zm9v\tYmFy\r\n") == "foobar");
  CHECK(dcos::base64_decode("Zg==garbage!") == "f");
  CHECK(dcos::base64_decode("=") == "");
}

TEST_CASE("base64_decode rejects characters outside the alphabet", "[common][core]") {
  // '*', the URL-safe '-' and '_', and non-ASCII bytes before any '=' give nullopt.
  CHECK_FALSE(dcos::base64_decode("Zm9v*"));
  CHECK_FALSE(dcos::base64_decode("-_8="));
  CHECK_FALSE(dcos::base64_decode("Zm\xc3\xa9"));
  CHECK_FALSE(dcos::base64_decode("!!"));
}

TEST_CASE("random_uuid_bytes gives valid, distinct version 4 UUIDs", "[common][core]") {
  // 16 bytes, version nibble 4, RFC 4122 variant bits 10, and no repeats over 1000 draws.
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string uuid = dcos::random_uuid_bytes();
    REQUIRE(uuid.size() == 16);
    CHECK(dcos::is_valid_uuid_bytes(uuid));
    CHECK((static_cast<unsigned char>(uuid[6]) >> 4) == 4);
    CHECK((static_cast<unsigned char>(uuid[8]) & 0xc0) == 0x80);
    seen.insert(uuid);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("is_valid_uuid_bytes checks the length and version nibble", "[common][core]") {
  // 15 or 17 bytes fail; version nibbles 1-5 pass; 0 and 6-15 fail.
  const std::string v4 = dcos::random_uuid_bytes();
  CHECK_FALSE(dcos::is_valid_uuid_bytes(v4.substr(0, 15)));
  CHECK_FALSE(dcos::is_valid_uuid_bytes(v4 + "x"));
  CHECK_FALSE(dcos::is_valid_uuid_bytes(""));
  CHECK_FALSE(dcos::is_valid_uuid_bytes("jhadf73jhakdlfha723adf"));  // The Mesos doc's example.
  for (int version = 0; version < 16; ++version) {
    std::string bytes(16, '\0');
    bytes[6] = static_cast<char>(version << 4);
    INFO("version nibble " << version);
    CHECK(dcos::is_valid_uuid_bytes(bytes) == (version >= 1 && version <= 5));
  }
}

TEST_CASE("UUID text forms are 36 characters in 8-4-4-4-12 groups", "[common][core]") {
  // A random string has dashes in the right places and version '4'; known bytes print exactly.
  const std::string text = dcos::random_uuid_string();
  REQUIRE(text.size() == 36);
  for (size_t i : {8u, 13u, 18u, 23u}) CHECK(text[i] == '-');
  CHECK(text[14] == '4');
  const std::string bytes("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
  CHECK(dcos::uuid_bytes_to_string(bytes) == "00112233-4455-6677-8899-aabbccddeeff");
  // And back; anything that is not the 36-character form is refused.
  CHECK(dcos::uuid_string_to_bytes("00112233-4455-6677-8899-aabbccddeeff") == bytes);
  CHECK(dcos::uuid_string_to_bytes(dcos::uuid_bytes_to_string(dcos::random_uuid_bytes())).value().size() == 16);
  CHECK_FALSE(dcos::uuid_string_to_bytes("00112233-4455-6677-8899-aabbccddeefg"));
  CHECK_FALSE(dcos::uuid_string_to_bytes("00112233-4455-6677-8899-aabbccddee"));
}
