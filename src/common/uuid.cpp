#include "dcos/common/uuid.hpp"

#include <array>
#include <cstring>
#include <stdexcept>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_io.hpp>

namespace dcos {
namespace {

boost::uuids::uuid random_uuid() {
  thread_local boost::uuids::random_generator generator;
  return generator();
}

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string random_uuid_bytes() {
  const auto id = random_uuid();
  return std::string(reinterpret_cast<const char*>(id.data), id.size());
}

std::string random_uuid_string() { return boost::uuids::to_string(random_uuid()); }

bool is_valid_uuid_bytes(std::string_view bytes) {
  if (bytes.size() != 16) return false;
  const int version = (static_cast<unsigned char>(bytes[6]) >> 4) & 0x0f;
  return version >= 1 && version <= 5;
}

std::string uuid_bytes_to_string(std::string_view bytes) {
  boost::uuids::uuid id;
  std::memcpy(id.data, bytes.data(), 16);
  return boost::uuids::to_string(id);
}

std::optional<std::string> uuid_string_to_bytes(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  try {
    const boost::uuids::uuid id = boost::uuids::string_generator()(text.begin(), text.end());
    return std::string(reinterpret_cast<const char*>(id.data), 16);
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    const int v = decode_char(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace dcos
