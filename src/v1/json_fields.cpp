#include "dcos/v1/json_fields.hpp"

#include <charconv>

#include <fmt/format.h>

namespace dcos::v1 {

Fields::Fields(const nlohmann::json& object, std::string path) : object_(&object), path_(std::move(path)) {
  if (!object.is_object()) {
    throw DecodeError(fmt::format("Expecting '{}' to be a JSON object", path_.empty() ? "body" : path_.substr(0, path_.size() - 1)));
  }
}

const nlohmann::json* Fields::get(const char* key) const {
  auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

void Fields::type_error(const char* key, const char* expected) const {
  throw DecodeError(fmt::format("Failed to parse field '{}{}': expected {}", path_, key, expected));
}

std::optional<std::string> Fields::string(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) type_error(key, "a string");
  return v->get<std::string>();
}

std::optional<double> Fields::number(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (v->is_number()) return v->get<double>();
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    double d = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size()) return d;
  }
  type_error(key, "a number");
}

std::optional<std::int64_t> Fields::integer(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (d == static_cast<double>(static_cast<std::int64_t>(d))) return static_cast<std::int64_t>(d);
  }
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    std::int64_t i = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size()) return i;
  }
  type_error(key, "an integer");
}

std::optional<std::uint64_t> Fields::unsigned_integer(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<std::uint64_t>();
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    std::uint64_t i = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size()) return i;
  }
  type_error(key, "an unsigned integer");
}

std::optional<bool> Fields::boolean(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string() && v->get<std::string>() == "true") return true;
  if (v->is_string() && v->get<std::string>() == "false") return false;
  type_error(key, "a boolean");
}

std::optional<Fields> Fields::object(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_object()) type_error(key, "an object");
  return Fields(*v, path_ + key + ".");
}

std::vector<nlohmann::json> Fields::array(const char* key) const {
  const auto* v = get(key);
  if (!v) return {};
  if (!v->is_array()) type_error(key, "an array");
  return v->get<std::vector<nlohmann::json>>();
}

std::vector<std::string> Fields::strings(const char* key) const {
  std::vector<std::string> out;
  for (const auto& item : array(key)) {
    if (!item.is_string()) type_error(key, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::optional<std::string> Fields::id(const char* key) const {
  auto o = object(key);
  if (!o) return std::nullopt;
  auto value = o->string("value");
  if (!value) throw DecodeError(fmt::format("Missing required fields: {}{}.value", path_, key));
  return value;
}

void Fields::done() const {
  if (missing_.empty()) return;
  throw DecodeError(fmt::format("Missing required fields: {}", fmt::join(missing_, ", ")));
}

Result<nlohmann::json> parse_json_body(std::string_view body, int depth_max) {
  int depth = 0;
  bool too_deep = false;
  auto callback = [&](int event_depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if (event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start) {
      depth = event_depth + 1;
      if (depth > depth_max) too_deep = true;
    }
    return !too_deep;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body, callback);
  } catch (const nlohmann::json::parse_error& e) {
    if (too_deep) return fail(Errc::invalid_argument, fmt::format("JSON nested deeper than {} levels", depth_max));
    return fail(Errc::invalid_argument, fmt::format("Failed to parse JSON: {}", e.what()));
  } catch (const nlohmann::json::exception& e) {
    // E.g. a number too large for a double.
    return fail(Errc::invalid_argument, fmt::format("Failed to parse JSON: {}", e.what()));
  }
  if (too_deep) return fail(Errc::invalid_argument, fmt::format("JSON nested deeper than {} levels", depth_max));
  return j;
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
}

}  // namespace dcos::v1
