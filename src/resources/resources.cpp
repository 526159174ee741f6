#include "dcos/resources/resources.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

namespace dcos {
namespace {

// Mesos keeps scalars in fixed point with three decimal digits.
double round_scalar(double v) { return std::round(v * 1000.0) / 1000.0; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  size_t depth = 0, start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[' || s[i] == '{' || s[i] == '(') ++depth;
    if ((s[i] == ']' || s[i] == '}' || s[i] == ')') && depth > 0) --depth;
    if (s[i] == separator && depth == 0) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(s.substr(start));
  return parts;
}

std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  s = trim(s);
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "[1-2, 5-9]" -> ranges; nullopt with `error` set when malformed.
std::optional<Ranges> parse_ranges(std::string_view text, std::string& error) {
  text = trim(text);
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') {
    error = "ranges must look like [begin-end, ...]";
    return std::nullopt;
  }
  std::vector<Range> items;
  const auto body = trim(text.substr(1, text.size() - 2));
  if (body.empty()) return Ranges{};
  for (auto part : split(body, ',')) {
    part = trim(part);
    const auto dash = part.find('-');
    if (dash == std::string_view::npos) {
      error = fmt::format("range '{}' has no '-'", part);
      return std::nullopt;
    }
    const auto begin = parse_u64(part.substr(0, dash));
    const auto end = parse_u64(part.substr(dash + 1));
    if (!begin || !end) {
      error = fmt::format("range '{}' is not two unsigned integers", part);
      return std::nullopt;
    }
    if (*begin > *end) {
      error = fmt::format("range '{}' ends before it begins", part);
      return std::nullopt;
    }
    items.push_back({*begin, *end});
  }
  return Ranges(std::move(items));
}

const char* type_name(ValueType t) {
  switch (t) {
    case ValueType::scalar: return "SCALAR";
    case ValueType::ranges: return "RANGES";
    case ValueType::set: return "SET";
  }
  return "SCALAR";
}

}  // namespace

// ---- Ranges ----

Ranges::Ranges(std::vector<Range> ranges) : items_(std::move(ranges)) { normalize(); }

void Ranges::normalize() {
  std::sort(items_.begin(), items_.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  coalesce();
}

void Ranges::coalesce() {
  // In place: `last` is the newest range kept. A range ending at UINT64_MAX swallows the rest.
  if (items_.empty()) return;
  auto last = items_.begin();
  for (auto it = std::next(items_.begin()); it != items_.end(); ++it) {
    if (last->end == UINT64_MAX) continue;
    if (it->begin <= last->end + 1) {
      last->end = std::max(last->end, it->end);
    } else {
      *++last = *it;
    }
  }
  items_.erase(std::next(last), items_.end());
}

std::uint64_t Ranges::count() const {
  std::uint64_t n = 0;
  for (const Range& r : items_) n += r.end - r.begin + 1;
  return n;
}

bool Ranges::contains(const Ranges& other) const {
  // Both sorted and disjoint: the only range here that can hold `r` is the first one ending at or
  // after it, and that one only moves forward, so one merge-like pass decides.
  auto mine = items_.begin();
  for (const Range& r : other.items_) {
    while (mine != items_.end() && mine->end < r.end) ++mine;
    if (mine == items_.end() || mine->begin > r.begin) return false;
  }
  return true;
}

Ranges& Ranges::operator+=(const Ranges& other) {
  if (other.items_.empty()) return *this;
  if (items_.empty()) {
    items_ = other.items_;
    return *this;
  }
  // Both sorted already: merge them, then coalesce, without a full sort.
  const auto middle = static_cast<std::ptrdiff_t>(items_.size());
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  std::inplace_merge(items_.begin(), items_.begin() + middle, items_.end(),
                     [](const Range& a, const Range& b) { return a.begin < b.begin; });
  coalesce();
  return *this;
}

Ranges& Ranges::operator-=(const Ranges& other) {
  if (items_.empty() || other.items_.empty()) return *this;
  // One pass over both sorted lists: each range here loses the cuts overlapping it, which start
  // at the first cut not ending before it.
  std::vector<Range> out;
  out.reserve(items_.size() + other.items_.size());
  auto first_cut = other.items_.begin();
  for (Range r : items_) {
    while (first_cut != other.items_.end() && first_cut->end < r.begin) ++first_cut;
    bool left = true;  // Some of `r` is left after the cuts so far.
    for (auto cut = first_cut; cut != other.items_.end() && cut->begin <= r.end; ++cut) {
      if (r.begin < cut->begin) out.push_back({r.begin, cut->begin - 1});
      if (cut->end >= r.end) {
        left = false;
        break;
      }
      r.begin = cut->end + 1;  // The cut ends inside `r`: what follows it is left.
    }
    if (left) out.push_back(r);
  }
  items_ = std::move(out);
  return *this;
}

std::string Ranges::to_string() const {
  std::string out = "[";
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i) out += ", ";
    out += fmt::format("{}-{}", items_[i].begin, items_[i].end);
  }
  return out + "]";
}

// ---- Resource ----

bool Resource::empty() const {
  switch (type) {
    case ValueType::scalar: return round_scalar(scalar) <= 0;
    case ValueType::ranges: return ranges.empty();
    case ValueType::set: return set.empty();
  }
  return true;
}

bool Resource::addable(const Resource& other) const {
  return type == other.type && name == other.name && role == other.role &&
         allocation_role == other.allocation_role && reservations == other.reservations;
}

namespace {

// A stack of one static level says no more than `role`: drop it (the canonical form).
void canonicalize(Resource& r) {
  if (r.reservations.size() == 1 && !r.reservations.front().dynamic) r.reservations.clear();
}

}  // namespace

Resource Resource::popped() const {
  Resource out = *this;
  if (out.reservations.empty()) {
    out.role = "*";
    return out;
  }
  out.reservations.pop_back();
  out.role = out.reservations.empty() ? "*" : out.reservations.back().role;
  canonicalize(out);
  return out;
}

Resource Resource::pushed(Reservation reservation) const {
  Resource out = *this;
  if (out.reservations.empty() && out.reserved()) out.reservations.push_back({false, out.role, std::nullopt, {}});
  out.role = reservation.role;
  out.reservations.push_back(std::move(reservation));
  canonicalize(out);
  return out;
}

// ---- Resources ----

const std::vector<Resource>& Resources::no_items() {
  static const std::vector<Resource> none;
  return none;
}

std::vector<Resource>& Resources::mutable_items() {
  if (!items_) {
    items_ = std::make_shared<std::vector<Resource>>();
  } else if (items_.use_count() != 1) {
    items_ = std::make_shared<std::vector<Resource>>(*items_);
  } else {
    // The last other copy may have been released by another thread just now: its reads of the
    // items happen before the writes that follow (the release half is in the count's decrement).
    std::atomic_thread_fence(std::memory_order_acquire);
  }
  return *items_;
}

Resources::Resources(std::initializer_list<Resource> items) {
  for (const Resource& r : items) *this += r;
}

Resources::Resources(std::vector<Resource> items) {
  for (const Resource& r : items) *this += r;
}

namespace {

// The item of `items` that `want` would combine with, or the end. Collections of the same kinds
// built the same way keep them in the same order, so the item at `hint` is tried first.
std::vector<Resource>::const_iterator find_addable(const std::vector<Resource>& items, const Resource& want,
                                                   std::size_t hint) {
  if (hint < items.size() && items[hint].addable(want)) return items.begin() + static_cast<std::ptrdiff_t>(hint);
  return std::find_if(items.begin(), items.end(), [&](const Resource& r) { return r.addable(want); });
}

}  // namespace

bool Resources::contains(const Resources& other) const {
  if (items_ == other.items_) return true;  // Copies of one another.
  const std::vector<Resource>& mine = items();
  const std::vector<Resource>& theirs = other.items();
  for (std::size_t i = 0; i < theirs.size(); ++i) {
    const Resource& want = theirs[i];
    const auto it = find_addable(mine, want, i);
    if (it == mine.end()) return false;
    switch (want.type) {
      case ValueType::scalar:
        if (round_scalar(it->scalar - want.scalar) < 0) return false;
        break;
      case ValueType::ranges:
        if (!it->ranges.contains(want.ranges)) return false;
        break;
      case ValueType::set:
        if (!std::includes(it->set.begin(), it->set.end(), want.set.begin(), want.set.end())) return false;
        break;
    }
  }
  return true;
}

Resources& Resources::operator+=(const Resource& r) {
  if (r.empty()) return *this;
  // `r` may be one of the items shared with another copy: unsharing leaves those to that copy.
  std::vector<Resource>& items = mutable_items();
  auto it = std::find_if(items.begin(), items.end(), [&](const Resource& mine) { return mine.addable(r); });
  if (it == items.end()) {
    items.push_back(r);
    if (r.type == ValueType::scalar) items.back().scalar = round_scalar(r.scalar);
    return *this;
  }
  switch (r.type) {
    case ValueType::scalar: it->scalar = round_scalar(it->scalar + r.scalar); break;
    case ValueType::ranges: it->ranges += r.ranges; break;
    case ValueType::set: it->set.insert(r.set.begin(), r.set.end()); break;
  }
  return *this;
}

Resources& Resources::operator+=(const Resources& other) {
  if (other.empty()) return *this;
  if (empty()) return *this = other;  // Shares `other`'s items.
  for (const Resource& r : other.items()) *this += r;
  return *this;
}

Resources& Resources::operator-=(const Resources& other) {
  DCOS_ASSERT(contains(other));
  if (other.empty()) return *this;
  if (items_ == other.items_) return *this = Resources{};
  std::vector<Resource>& items = mutable_items();
  for (const Resource& cut : other.items()) {
    auto it = std::find_if(items.begin(), items.end(), [&](const Resource& r) { return r.addable(cut); });
    switch (cut.type) {
      case ValueType::scalar: it->scalar = round_scalar(it->scalar - cut.scalar); break;
      case ValueType::ranges: it->ranges -= cut.ranges; break;
      case ValueType::set:
        for (const auto& item : cut.set) it->set.erase(item);
        break;
    }
    if (it->empty()) items.erase(it);
  }
  if (items.empty()) items_.reset();
  return *this;
}

bool Resources::operator==(const Resources& other) const {
  return contains(other) && other.contains(*this);
}

double Resources::scalar(std::string_view name) const {
  double total = 0;
  for (const Resource& r : items()) {
    if (r.name == name && r.type == ValueType::scalar) total += r.scalar;
  }
  return round_scalar(total);
}

std::optional<Ranges> Resources::ranges(std::string_view name) const {
  std::optional<Ranges> out;
  for (const Resource& r : items()) {
    if (r.name == name && r.type == ValueType::ranges) {
      if (!out) out.emplace();
      *out += r.ranges;
    }
  }
  return out;
}

std::map<std::string, double> Resources::scalars() const {
  std::map<std::string, double> out;
  for (const Resource& r : items()) {
    if (r.type == ValueType::scalar) out[r.name] = round_scalar(out[r.name] + r.scalar);
  }
  return out;
}

Resources Resources::allocated_to(const std::string& role) const& {
  if (empty()) return {};
  Resources out;
  out.mutable_items().reserve(items_->size());
  for (Resource r : *items_) {
    r.allocation_role = role;
    out += r;
  }
  return out;
}

namespace {

// Items that differ only in allocation role merge once they get the same one; when they all have
// one role already, none do, and a collection re-tagged in place stays normalized.
bool one_allocation_role(const std::vector<Resource>& items) {
  return std::all_of(items.begin(), items.end(),
                     [&](const Resource& r) { return r.allocation_role == items.front().allocation_role; });
}

}  // namespace

Resources Resources::allocated_to(const std::string& role) && {
  if (empty()) return {};
  if (!one_allocation_role(*items_)) return std::as_const(*this).allocated_to(role);
  if (items_->front().allocation_role == role) return std::move(*this);  // Shared or not, as it is.
  for (Resource& r : mutable_items()) r.allocation_role = role;
  return std::move(*this);
}

Resources Resources::unallocated() const& {
  if (empty()) return {};
  Resources out;
  out.mutable_items().reserve(items_->size());
  for (Resource r : *items_) {
    r.allocation_role.reset();
    out += r;
  }
  return out;
}

Resources Resources::unallocated() && {
  if (empty()) return {};
  if (!one_allocation_role(*items_)) return std::as_const(*this).unallocated();
  if (!items_->front().allocation_role) return std::move(*this);
  for (Resource& r : mutable_items()) r.allocation_role.reset();
  return std::move(*this);
}

Resources Resources::allocatable_to(const std::string& role) const {
  Resources out;
  for (const Resource& r : items()) {
    if (r.role == "*" || r.role == role) out += r;
  }
  return out;
}

nlohmann::json Resources::summary() const {
  nlohmann::json out = {{"cpus", 0.0}, {"gpus", 0.0}, {"mem", 0.0}, {"disk", 0.0}};
  for (const auto& [name, value] : scalars()) out[name] = value;
  std::map<std::string, Ranges> ranges;
  std::map<std::string, std::set<std::string>> sets;
  for (const Resource& r : items()) {
    if (r.type == ValueType::ranges) ranges[r.name] += r.ranges;
    if (r.type == ValueType::set) sets[r.name].insert(r.set.begin(), r.set.end());
  }
  for (const auto& [name, value] : ranges) out[name] = value.to_string();
  for (const auto& [name, items] : sets) out[name] = "{" + fmt::format("{}", fmt::join(items, ", ")) + "}";
  return out;
}

std::string Resources::to_string() const {
  std::string out;
  for (const Resource& r : items()) {
    if (!out.empty()) out += ';';
    out += r.name;
    if (r.role != "*") out += "(" + r.role + ")";
    out += ':';
    switch (r.type) {
      case ValueType::scalar: out += fmt::format("{}", r.scalar); break;
      case ValueType::ranges: out += r.ranges.to_string(); break;
      case ValueType::set: out += "{" + fmt::format("{}", fmt::join(r.set, ",")) + "}"; break;
    }
  }
  return out;
}

Result<Resources> parse_resources(std::string_view text, const std::string& default_role) {
  text = trim(text);
  if (!text.empty() && text.front() == '[') {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return fail(Errc::invalid_argument, "resources: not valid JSON");
    return resources_from_json(j);
  }
  Resources out;
  if (text.empty()) return out;
  for (auto entry : split(text, ';')) {
    entry = trim(entry);
    if (entry.empty()) continue;
    const auto colon = entry.find(':');
    if (colon == std::string_view::npos) {
      return fail(Errc::invalid_argument, fmt::format("resources: entry '{}' has no ':' between name and value", entry));
    }
    auto key = trim(entry.substr(0, colon));
    const auto value = trim(entry.substr(colon + 1));
    Resource r;
    r.role = default_role;
    if (const auto open = key.find('('); open != std::string_view::npos) {
      if (key.back() != ')') {
        return fail(Errc::invalid_argument, fmt::format("resources: entry '{}' has an unclosed role '('", entry));
      }
      r.role = std::string(key.substr(open + 1, key.size() - open - 2));
      key = trim(key.substr(0, open));
      if (r.role.empty()) return fail(Errc::invalid_argument, fmt::format("resources: entry '{}' has an empty role", entry));
    }
    if (key.empty()) return fail(Errc::invalid_argument, fmt::format("resources: entry '{}' has no name", entry));
    r.name = std::string(key);
    if (!value.empty() && value.front() == '[') {
      std::string error;
      auto ranges = parse_ranges(value, error);
      if (!ranges) return fail(Errc::invalid_argument, fmt::format("resources: '{}': {}", entry, error));
      r.type = ValueType::ranges;
      r.ranges = std::move(*ranges);
    } else if (!value.empty() && value.front() == '{') {
      if (value.back() != '}') {
        return fail(Errc::invalid_argument, fmt::format("resources: '{}': set must end with '}}'", entry));
      }
      r.type = ValueType::set;
      for (auto item : split(value.substr(1, value.size() - 2), ',')) {
        item = trim(item);
        if (!item.empty()) r.set.insert(std::string(item));
      }
    } else {
      const auto number = parse_double(value);
      if (!number) {
        return fail(Errc::invalid_argument, fmt::format("resources: '{}': value '{}' is not a number", entry, value));
      }
      if (*number < 0) {
        return fail(Errc::invalid_argument, fmt::format("resources: '{}': value must not be negative", entry));
      }
      r.type = ValueType::scalar;
      r.scalar = *number;
    }
    out += r;
  }
  return out;
}

nlohmann::json to_json(const Resource& r) {
  nlohmann::json j = {{"name", r.name}, {"type", type_name(r.type)}};
  switch (r.type) {
    case ValueType::scalar: j["scalar"] = {{"value", r.scalar}}; break;
    case ValueType::ranges: {
      nlohmann::json range = nlohmann::json::array();
      for (const Range& x : r.ranges.items()) range.push_back({{"begin", x.begin}, {"end", x.end}});
      j["ranges"] = {{"range", range}};
      break;
    }
    case ValueType::set: j["set"] = {{"item", r.set}}; break;
  }
  j["role"] = r.role;
  if (!r.reservations.empty()) {
    // Both formats: `reservation` (pre-refinement) for the top level, `reservations` (the stack).
    nlohmann::json stack = nlohmann::json::array();
    for (const Reservation& level : r.reservations) stack.push_back(to_json(level));
    if (r.dynamically_reserved()) {
      nlohmann::json top = stack.back();
      top.erase("type");
      top.erase("role");
      j["reservation"] = std::move(top);
    }
    j["reservations"] = std::move(stack);
  }
  if (r.allocation_role) j["allocation_info"] = {{"role", *r.allocation_role}};
  return j;
}

nlohmann::json to_json(const Reservation& r) {
  nlohmann::json j = {{"type", r.dynamic ? "DYNAMIC" : "STATIC"}, {"role", r.role}};
  if (r.principal) j["principal"] = *r.principal;
  if (!r.labels.is_null()) j["labels"] = r.labels;
  return j;
}

nlohmann::json to_json(const Resources& resources) {
  nlohmann::json out = nlohmann::json::array();
  for (const Resource& r : resources) out.push_back(to_json(r));
  return out;
}

namespace {

// Numbers or numeric strings, as Mesos's JSON-to-protobuf converter accepts.
std::optional<double> json_number(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) return parse_double(j.get<std::string>());
  return std::nullopt;
}

std::optional<std::uint64_t> json_u64(const nlohmann::json& j) {
  if (j.is_number_unsigned()) return j.get<std::uint64_t>();
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(j.get<std::int64_t>());
  if (j.is_string()) return parse_u64(j.get<std::string>());
  return std::nullopt;
}

const nlohmann::json* member(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Result<Resource> resource_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail(Errc::invalid_argument, "resource: expected an object");
  Resource r;
  const auto* name = member(j, "name");
  const auto* type = member(j, "type");
  if (!name || !type) {
    std::string missing = !name ? "name" : "";
    if (!type) missing += missing.empty() ? "type" : ", type";
    return fail(Errc::invalid_argument, "Missing required fields: " + missing);
  }
  if (!name->is_string()) return fail(Errc::invalid_argument, "resource: 'name' must be a string");
  r.name = name->get<std::string>();
  const std::string type_text = type->is_string() ? type->get<std::string>() : "";
  if (type_text == "SCALAR") {
    r.type = ValueType::scalar;
    const auto* scalar = member(j, "scalar");
    const auto* value = scalar && scalar->is_object() ? member(*scalar, "value") : nullptr;
    const auto number = value ? json_number(*value) : std::nullopt;
    if (!number) return fail(Errc::invalid_argument, fmt::format("resource '{}': SCALAR needs scalar.value as a number", r.name));
    if (*number < 0) return fail(Errc::invalid_argument, fmt::format("resource '{}': negative scalar", r.name));
    r.scalar = *number;
  } else if (type_text == "RANGES") {
    r.type = ValueType::ranges;
    const auto* ranges = member(j, "ranges");
    if (!ranges || !ranges->is_object()) return fail(Errc::invalid_argument, fmt::format("resource '{}': RANGES needs 'ranges'", r.name));
    std::vector<Range> items;
    if (const auto* list = member(*ranges, "range")) {
      if (!list->is_array()) return fail(Errc::invalid_argument, fmt::format("resource '{}': ranges.range must be an array", r.name));
      for (const auto& x : *list) {
        const auto* b = x.is_object() ? member(x, "begin") : nullptr;
        const auto* e = x.is_object() ? member(x, "end") : nullptr;
        // Each optional tested before the values are compared: with `!begin || !end || *begin >
        // *end` in one condition GCC 12 warned that `*begin` may be read unset (-Wmaybe-uninitialized).
        const auto begin = b ? json_u64(*b) : std::nullopt;
        const auto end = e ? json_u64(*e) : std::nullopt;
        if (!begin || !end) {
          return fail(Errc::invalid_argument, fmt::format("resource '{}': each range needs begin <= end", r.name));
        }
        const std::uint64_t first = *begin, last = *end;
        if (first > last) {
          return fail(Errc::invalid_argument, fmt::format("resource '{}': each range needs begin <= end", r.name));
        }
        items.push_back({first, last});
      }
    }
    r.ranges = Ranges(std::move(items));
  } else if (type_text == "SET") {
    r.type = ValueType::set;
    const auto* set = member(j, "set");
    if (!set || !set->is_object()) return fail(Errc::invalid_argument, fmt::format("resource '{}': SET needs 'set'", r.name));
    if (const auto* items = member(*set, "item")) {
      if (!items->is_array()) return fail(Errc::invalid_argument, fmt::format("resource '{}': set.item must be an array", r.name));
      for (const auto& item : *items) {
        if (!item.is_string()) return fail(Errc::invalid_argument, fmt::format("resource '{}': set items must be strings", r.name));
        r.set.insert(item.get<std::string>());
      }
    }
  } else {
    return fail(Errc::invalid_argument, fmt::format("resource '{}': unsupported type '{}'", r.name, type_text));
  }
  if (const auto* role = member(j, "role")) {
    if (!role->is_string()) return fail(Errc::invalid_argument, fmt::format("resource '{}': 'role' must be a string", r.name));
    r.role = role->get<std::string>();
  }
  if (const auto* reservation = member(j, "reservation")) {
    // Pre-refinement format: a dynamic reservation for `role`.
    if (!reservation->is_object()) return fail(Errc::invalid_argument, fmt::format("resource '{}': 'reservation' must be an object", r.name));
    if (r.role == "*") return fail(Errc::invalid_argument, fmt::format("resource '{}': 'reservation' needs a 'role'", r.name));
    Reservation level{true, r.role, std::nullopt, {}};
    if (const auto* principal = member(*reservation, "principal"); principal && principal->is_string()) {
      level.principal = principal->get<std::string>();
    }
    if (const auto* labels = member(*reservation, "labels")) level.labels = *labels;
    r.reservations = {std::move(level)};
  }
  if (const auto* reservations = member(j, "reservations"); reservations && reservations->is_array() && !reservations->empty()) {
    // Post-refinement format: the stack, bottom first; the last one is the effective role.
    std::vector<Reservation> stack;
    for (const auto& level : *reservations) {
      const auto* role = level.is_object() ? member(level, "role") : nullptr;
      if (!role || !role->is_string() || role->get<std::string>().empty() || role->get<std::string>() == "*") {
        return fail(Errc::invalid_argument, fmt::format("resource '{}': each reservation needs a 'role'", r.name));
      }
      Reservation parsed{false, role->get<std::string>(), std::nullopt, {}};
      const auto* type = member(level, "type");
      // Without a type, a level above the bottom or one with a principal can only be dynamic.
      parsed.dynamic = type ? type->is_string() && type->get<std::string>() == "DYNAMIC" : !stack.empty();
      if (const auto* principal = member(level, "principal"); principal && principal->is_string()) {
        parsed.principal = principal->get<std::string>();
        if (!type) parsed.dynamic = true;
      }
      if (const auto* labels = member(level, "labels")) parsed.labels = *labels;
      stack.push_back(std::move(parsed));
    }
    r.role = stack.back().role;
    r.reservations = std::move(stack);
  }
  canonicalize(r);
  if (const auto* info = member(j, "allocation_info"); info && info->is_object()) {
    if (const auto* role = member(*info, "role"); role && role->is_string()) r.allocation_role = role->get<std::string>();
  }
  return r;
}

Result<Resources> resources_from_json(const nlohmann::json& j) {
  if (!j.is_array()) return fail(Errc::invalid_argument, "resources: expected an array of Resource objects");
  Resources out;
  for (const auto& item : j) {
    auto r = resource_from_json(item);
    if (!r) return tl::unexpected(r.error());
    out += *r;
  }
  return out;
}

Result<Attributes> parse_attributes(std::string_view text) {
  Attributes out;
  text = trim(text);
  if (text.empty()) return out;
  for (auto entry : split(text, ';')) {
    entry = trim(entry);
    if (entry.empty()) continue;
    const auto colon = entry.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return fail(Errc::invalid_argument, fmt::format("attributes: entry '{}' must be name:value", entry));
    }
    Attribute a;
    a.name = std::string(trim(entry.substr(0, colon)));
    const auto value = trim(entry.substr(colon + 1));
    if (!value.empty() && value.front() == '[') {
      std::string error;
      auto ranges = parse_ranges(value, error);
      if (!ranges) return fail(Errc::invalid_argument, fmt::format("attributes: '{}': {}", entry, error));
      a.value = std::move(*ranges);
    } else if (auto number = parse_double(value)) {
      a.value = *number;
    } else {
      a.value = std::string(value);
    }
    out.push_back(std::move(a));
  }
  return out;
}

nlohmann::json to_json(const Attributes& attributes) {
  nlohmann::json out = nlohmann::json::array();
  for (const Attribute& a : attributes) {
    nlohmann::json j = {{"name", a.name}};
    if (const auto* text = std::get_if<std::string>(&a.value)) {
      j["type"] = "TEXT";
      j["text"] = {{"value", *text}};
    } else if (const auto* number = std::get_if<double>(&a.value)) {
      j["type"] = "SCALAR";
      j["scalar"] = {{"value", *number}};
    } else {
      nlohmann::json range = nlohmann::json::array();
      for (const Range& x : std::get<Ranges>(a.value).items()) range.push_back({{"begin", x.begin}, {"end", x.end}});
      j["type"] = "RANGES";
      j["ranges"] = {{"range", range}};
    }
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json attributes_summary(const Attributes& attributes) {
  nlohmann::json out = nlohmann::json::object();
  for (const Attribute& a : attributes) {
    if (const auto* text = std::get_if<std::string>(&a.value)) out[a.name] = *text;
    else if (const auto* number = std::get_if<double>(&a.value)) out[a.name] = *number;
    else out[a.name] = std::get<Ranges>(a.value).to_string();
  }
  return out;
}

}  // namespace dcos
