#pragma once
// Reading v1 JSON with Mesos's rules (`reference/mesos-api.md` §0): `null` is absent, unknown
// keys are ignored, numbers may arrive as numeric strings and booleans as "true"/"false",
// unknown enum names in optional fields are dropped, and missing required fields are reported
// together as "Missing required fields: a, b".
//
// Decoders throw `DecodeError`; `decode_json` and the API handlers turn it into a 400.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcos/common/result.hpp"

namespace dcos::v1 {

struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads the fields of one JSON object; `path` prefixes field names in errors.
class Fields {
 public:
  Fields(const nlohmann::json& object, std::string path);
  // The value at `key`, or nullptr when absent or null.
  const nlohmann::json* get(const char* key) const;
  bool has(const char* key) const { return get(key) != nullptr; }

  std::optional<std::string> string(const char* key) const;
  std::optional<double> number(const char* key) const;
  std::optional<std::int64_t> integer(const char* key) const;
  std::optional<std::uint64_t> unsigned_integer(const char* key) const;
  std::optional<bool> boolean(const char* key) const;
  // The object at `key` (throws if present but not an object).
  std::optional<Fields> object(const char* key) const;
  // The array at `key` (empty when absent; throws if present but not an array).
  std::vector<nlohmann::json> array(const char* key) const;
  std::vector<std::string> strings(const char* key) const;
  // `{"value": "..."}` id messages.
  std::optional<std::string> id(const char* key) const;

  // Record a required field as missing when absent; call `done()` to throw for all of them.
  template <typename T>
  T required(const char* key, std::optional<T> value) {
    if (!value) {
      missing_.push_back(path_ + key);
      return T{};
    }
    return std::move(*value);
  }
  // Throws `DecodeError("Missing required fields: ...")` if any required field was missing.
  void done() const;
  const std::string& path() const { return path_; }
  const nlohmann::json& json() const { return *object_; }

 private:
  [[noreturn]] void type_error(const char* key, const char* expected) const;
  const nlohmann::json* object_;
  std::string path_;
  std::vector<std::string> missing_;
};

// Parses a request body with the limits a peer must not exceed: at most `depth_max` levels of
// nesting. Errors are texts for a 400 body.
Result<nlohmann::json> parse_json_body(std::string_view body, int depth_max = 64);

// Compact, ASCII-only JSON on one line: safe inside RecordIO for line-based clients.
std::string dump(const nlohmann::json& j);

}  // namespace dcos::v1
