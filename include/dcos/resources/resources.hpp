#pragma once
// Resources: what agents advertise and frameworks are offered. Scalars (cpus, mem, disk, gpus),
// ranges (ports) and sets, each optionally reserved for a role and, once offered, tagged with the
// role it was allocated to. Pure values: no I/O.
//
// Arithmetic follows Mesos: resources with the same name, type, reservation role and allocation
// role combine; scalars keep 3 decimal digits (fixed point); subtracting what is not contained is
// a bug in the caller (check `contains` first).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcos/common/result.hpp"

namespace dcos {

enum class ValueType { scalar, ranges, set };

struct Range {
  std::uint64_t begin = 0;  // Inclusive.
  std::uint64_t end = 0;    // Inclusive.
  bool operator==(const Range&) const = default;
};

// Disjoint, sorted, coalesced ranges.
class Ranges {
 public:
  Ranges() = default;
  explicit Ranges(std::vector<Range> ranges);  // Sorts and coalesces.
  const std::vector<Range>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  std::uint64_t count() const;  // Number of values covered.
  bool contains(const Ranges& other) const;
  Ranges& operator+=(const Ranges& other);
  Ranges& operator-=(const Ranges& other);
  bool operator==(const Ranges&) const = default;
  std::string to_string() const;  // "[31000-32000, 33000-33001]"

 private:
  void normalize();  // Sorts, then coalesces.
  void coalesce();   // Requires: sorted by begin.
  std::vector<Range> items_;
};

// One level of a reservation (v1 `ReservationInfo`). Static ones come from the agent's
// `--resources`; dynamic ones from RESERVE operations, each refining the level below it to a
// subrole (`eng` then `eng/web`).
struct Reservation {
  bool dynamic = false;
  std::string role;
  std::optional<std::string> principal;
  nlohmann::json labels;  // v1 `Labels`, passed through; null when absent.
  bool operator==(const Reservation&) const = default;
};

struct Resource {
  std::string name;
  ValueType type = ValueType::scalar;
  double scalar = 0;
  Ranges ranges;
  std::set<std::string> set;
  std::string role = "*";                      // Reservation role; "*" is unreserved.
  std::optional<std::string> allocation_role;  // Set on offered and allocated resources.
  // The reservation stack, bottom first, when it holds a dynamic reservation; then
  // `reservations.back().role == role`. Empty for unreserved resources and for a plain static
  // reservation, which `role` describes alone (one canonical form, so equal resources add up).
  std::vector<Reservation> reservations;

  bool reserved() const { return role != "*"; }
  bool dynamically_reserved() const { return !reservations.empty() && reservations.back().dynamic; }
  // With the top reservation removed: the role below it ("*" at the bottom), in canonical form.
  Resource popped() const;
  // With `reservation` pushed on top: `role` becomes its role.
  Resource pushed(Reservation reservation) const;
  bool empty() const;
  // Same kind: would combine with `other` under addition.
  bool addable(const Resource& other) const;
};

// A normalized collection: at most one entry per (name, type, role, allocation role), no empties.
// A value type whose copies share their items until one of them changes (copy on write): a copy
// costs no allocation, so an offer and the allocator's record of it can hold the same items.
// As for any value type, distinct objects may be used from distinct threads, one object from
// one thread at a time.
class Resources {
 public:
  Resources() = default;
  Resources(std::initializer_list<Resource> items);
  explicit Resources(std::vector<Resource> items);

  // Valid until this object changes or is destroyed.
  const std::vector<Resource>& items() const { return items_ ? *items_ : no_items(); }
  bool empty() const { return !items_; }
  auto begin() const { return items().begin(); }
  auto end() const { return items().end(); }

  // True when every item of `other` is covered by an addable item here.
  bool contains(const Resources& other) const;
  // True when this and `other` are copies of one value, neither changed since (they share their
  // items): equal, known without reading the items. False says nothing about equality.
  bool shares_items_with(const Resources& other) const { return items_ == other.items_; }
  Resources& operator+=(const Resource& r);
  Resources& operator+=(const Resources& other);
  // Requires: `contains(other)`.
  Resources& operator-=(const Resources& other);
  friend Resources operator+(Resources a, const Resources& b) { return a += b; }
  friend Resources operator-(Resources a, const Resources& b) { return a -= b; }
  bool operator==(const Resources& other) const;

  // Sum of the scalar named `name` across roles (0 if absent).
  double scalar(std::string_view name) const;
  std::optional<Ranges> ranges(std::string_view name) const;
  // Scalar totals by name: {"cpus": 4, "mem": 1024}, across roles.
  std::map<std::string, double> scalars() const;
  // Copies with `allocation_role` set to `role` / cleared.
  Resources allocated_to(const std::string& role) const&;
  Resources unallocated() const&;
  // The same, changing the tags in place when every item has one allocation role (or none).
  Resources allocated_to(const std::string& role) &&;
  Resources unallocated() &&;
  // Only resources reserved for `role` or unreserved.
  Resources allocatable_to(const std::string& role) const;

  // Mesos's classic summary object: {"cpus":4.0,"gpus":0.0,"mem":1024.0,"disk":0.0,"ports":"[...]"}.
  nlohmann::json summary() const;
  // "cpus:4;mem:1024;ports:[31000-32000]" (roles in parentheses where reserved).
  std::string to_string() const;

 private:
  static const std::vector<Resource>& no_items();
  // The items, unshared first if another copy holds them too (allocated if there are none).
  std::vector<Resource>& mutable_items();
  // Null when empty (so `empty()` reads no further), else never empty; never changed while shared.
  std::shared_ptr<std::vector<Resource>> items_;
};

// Parses the agent's `--resources`: `cpus:4;mem:8192;ports:[31000-32000];bugs(eng):{a,b}`, or a
// JSON array of v1 `Resource` objects. Errors say which entry is wrong and why.
Result<Resources> parse_resources(std::string_view text, const std::string& default_role = "*");

// v1 JSON shape (`reference/mesos-api.md` §0.1). `to_json` writes `role` always (the
// pre-refinement format) and `allocation_info` when set.
// `to_json` also writes, for dynamic reservations, `reservation` (principal, labels) and the
// `reservations` stack.
nlohmann::json to_json(const Resource& r);
nlohmann::json to_json(const Resources& r);
nlohmann::json to_json(const Reservation& r);
// Decodes a v1 `Resource` / array of them; errors name the field at fault.
Result<Resource> resource_from_json(const nlohmann::json& j);
Result<Resources> resources_from_json(const nlohmann::json& j);

// Agent attributes: `rack:r1;level:9;keys:[1000-1500]` (text, scalar, ranges).
struct Attribute {
  std::string name;
  std::variant<std::string, double, Ranges> value;
};
using Attributes = std::vector<Attribute>;
Result<Attributes> parse_attributes(std::string_view text);
nlohmann::json to_json(const Attributes& attributes);      // v1 array of Attribute.
nlohmann::json attributes_summary(const Attributes& attributes);  // Classic {"rack":"r1"}.

}  // namespace dcos
