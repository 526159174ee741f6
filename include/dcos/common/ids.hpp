#pragma once
// Distinct id types: a `TaskId` is never silently a `FrameworkId`. On the wire every id is a
// Mesos ID message, `{"value":"..."}`.

#include <compare>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace dcos {

template <typename Tag>
class Id {
 public:
  Id() = default;
  explicit Id(std::string value) : value_(std::move(value)) {}
  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }
  auto operator<=>(const Id&) const = default;

 private:
  std::string value_;
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
    return std::hash<std::string>{}(id.value());
  }
};

template <typename Tag>
struct fmt::formatter<dcos::Id<Tag>> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const dcos::Id<Tag>& id, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(id.value(), ctx);
  }
};
