#pragma once
// UUIDs as Mesos uses them: status-update uuids travel as 16 raw bytes (base64 in JSON), stream
// and master ids as the 36-character text form.

#include <optional>
#include <string>
#include <string_view>

namespace dcos {

// A random (version 4) UUID as 16 raw bytes.
std::string random_uuid_bytes();
// A random (version 4) UUID in its 36-character text form.
std::string random_uuid_string();
// True when `bytes` is exactly 16 bytes with an RFC 4122 version nibble of 1 to 5.
bool is_valid_uuid_bytes(std::string_view bytes);
// The 36-character text form of 16 raw bytes. Requires: `bytes.size() == 16`.
std::string uuid_bytes_to_string(std::string_view bytes);
// The 16 raw bytes of a 36-character text form; nullopt when `text` is not one.
std::optional<std::string> uuid_string_to_bytes(std::string_view text);

// Standard base64 (RFC 4648, `+/`, `=` padding).
std::string base64_encode(std::string_view bytes);
// Lenient like Mesos: ignores whitespace, stops at the first '='; nullopt on other bad chars.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace dcos
