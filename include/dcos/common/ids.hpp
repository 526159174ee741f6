#pragma once
// Distinct id types: a `TaskId` is never silently a `FrameworkId`. On the wire every id is a
// Mesos ID message, `{"value":"..."}`.

#include <compare>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace dcos {

// An id is copied wherever it goes (offers, grants, tasks, status updates), so a copy never
// allocates: a short value (one the standard string keeps inline) is held inline, a longer one
// (a Mesos-style UUID id) in one immutable block shared by every copy, with its hash computed
// once. Copies may be used from distinct threads, like any value type.
template <typename Tag>
class Id {
 public:
  Id() = default;
  explicit Id(std::string value) {
    if (value.size() > inline_capacity) {
      value_.template emplace<Shared>(std::make_shared<const Long>(std::move(value)));
    } else {
      value_.template emplace<std::string>(std::move(value));
    }
  }
  Id(const Id&) = default;
  Id& operator=(const Id&) = default;
  // A moved-from id is empty, as a moved-from string is in practice.
  Id(Id&& other) noexcept : value_(std::move(other.value_)) { other.value_.template emplace<std::string>(); }
  Id& operator=(Id&& other) noexcept {
    if (this == &other) return *this;
    value_ = std::move(other.value_);
    other.value_.template emplace<std::string>();
    return *this;
  }

  const std::string& value() const {
    if (const auto* inline_value = std::get_if<std::string>(&value_)) return *inline_value;
    return std::get<Shared>(value_)->value;
  }
  bool empty() const { return value().empty(); }
  std::size_t hash() const noexcept {
    if (const auto* shared = std::get_if<Shared>(&value_)) return (*shared)->hash;
    return std::hash<std::string>{}(std::get<std::string>(value_));
  }
  friend bool operator==(const Id& a, const Id& b) {
    const auto* x = std::get_if<Shared>(&a.value_);
    const auto* y = std::get_if<Shared>(&b.value_);
    if (x && y && *x == *y) return true;  // Copies of one id: equal without reading it.
    return a.value() == b.value();
  }
  friend std::strong_ordering operator<=>(const Id& a, const Id& b) { return a.value() <=> b.value(); }

 private:
  static constexpr std::size_t inline_capacity = std::string{}.capacity();  // 15 in libstdc++.
  struct Long {
    explicit Long(std::string v) : value(std::move(v)), hash(std::hash<std::string>{}(value)) {}
    std::string value;
    std::size_t hash;
  };
  using Shared = std::shared_ptr<const Long>;
  std::variant<std::string, Shared> value_;
};

using FrameworkId = Id<struct FrameworkIdTag>;
using AgentId = Id<struct AgentIdTag>;
using TaskId = Id<struct TaskIdTag>;
using ExecutorId = Id<struct ExecutorIdTag>;
using OfferId = Id<struct OfferIdTag>;
using ContainerId = Id<struct ContainerIdTag>;

template <typename Tag>
void to_json(nlohmann::json& j, const Id<Tag>& id) {
  j = nlohmann::json{{"value", id.value()}};
}

// Mesos's ID rules (`validateID`): non-empty, at most 255 chars, not "." or "..", no control
// characters, no '/' or '\'. Returns an empty string when valid, else what is wrong.
std::string id_problem(std::string_view id);

}  // namespace dcos

template <typename Tag>
struct std::hash<dcos::Id<Tag>> {
  size_t operator()(const dcos::Id<Tag>& id) const noexcept {
    return id.hash();
  }
};

template <typename Tag>
struct fmt::formatter<dcos::Id<Tag>> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const dcos::Id<Tag>& id, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(id.value(), ctx);
  }
};
