#include "dcos/master/registry.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace dcos::master {

namespace {

constexpr int registry_format = 1;

nlohmann::json time_json(TimePoint t) { return {{"nanoseconds", t.time_since_epoch().count()}}; }
TimePoint time_from_json(const nlohmann::json& j) { return TimePoint(Duration(j.at("nanoseconds").get<std::int64_t>())); }

AgentId id_from_json(const nlohmann::json& j) {
  auto value = j.at("value").get<std::string>();
  if (value.empty()) throw nlohmann::json::other_error::create(501, "registry: empty agent id", &j);
  return AgentId(std::move(value));
}

// v1 `QuotaConfig` amounts: {"cpus": {"value": 2}}.
nlohmann::json quantities_json(const ResourceQuantities& quantities) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : quantities) j[name] = {{"value", value}};
  return j;
}
ResourceQuantities quantities_from_json(const nlohmann::json& j) {
  ResourceQuantities quantities;
  for (const auto& [name, value] : j.items()) quantities[name] = value.at("value").get<double>();
  return quantities;
}

// The lists an agent id may be in, for the "in at most one" invariant.
bool known(const Registry& registry, const AgentId& id) {
  return registry.agents.contains(id) || registry.unreachable.contains(id) || registry.gone.contains(id);
}

Result<bool> apply_one(Registry& r, const AdmitAgent& op) {
  if (r.gone.contains(op.id)) return fail(Errc::conflict, fmt::format("agent {} has been marked gone", op.id));
  if (known(r, op.id)) return fail(Errc::conflict, fmt::format("agent {} is already admitted", op.id));
  r.agents.emplace(op.id, op.info);
  return true;
}

Result<bool> apply_one(Registry& r, const MarkUnreachable& op) {
  auto it = r.agents.find(op.id);
  if (it == r.agents.end()) return fail(Errc::not_found, fmt::format("agent {} is not admitted", op.id));
  r.agents.erase(it);
  r.unreachable.emplace(op.id, op.time);
  return true;
}

Result<bool> apply_one(Registry& r, const MarkReachable& op) {
  if (r.gone.contains(op.id)) return fail(Errc::conflict, fmt::format("agent {} has been marked gone", op.id));
  if (r.agents.contains(op.id)) return false;  // A re-registration racing another: nothing to do.
  if (r.unreachable.erase(op.id) == 0) return fail(Errc::not_found, fmt::format("agent {} is not unreachable", op.id));
  r.agents.emplace(op.id, op.info);
  return true;
}

Result<bool> apply_one(Registry& r, const MarkGone& op) {
  if (r.gone.contains(op.id)) return false;
  if (r.agents.erase(op.id) == 0 && r.unreachable.erase(op.id) == 0) {
    return fail(Errc::not_found, fmt::format("agent {} is not known", op.id));
  }
  r.gone.emplace(op.id, op.time);
  return true;
}

Result<bool> apply_one(Registry& r, const Prune& op) {
  bool changed = false;
  for (const AgentId& id : op.unreachable) changed |= r.unreachable.erase(id) > 0;
  for (const AgentId& id : op.gone) changed |= r.gone.erase(id) > 0;
  return changed;
}

Result<bool> apply_one(Registry& r, const UpdateWeights& op) {
  for (const auto& [role, weight] : op.weights) {
    if (!std::isfinite(weight) || weight <= 0) {
      return fail(Errc::invalid_argument, fmt::format("weight of role '{}' must be positive, not {}", role, weight));
    }
  }
  const auto before = r.weights;
  for (const auto& [role, weight] : op.weights) {
    if (weight == 1.0) r.weights.erase(role);
    else r.weights[role] = weight;
  }
  return r.weights != before;
}

Result<bool> apply_one(Registry& r, const UpdateQuota& op) {
  const auto before = r.quota;
  for (const auto& [role, quota] : op.quotas) {
    if (quota.empty()) r.quota.erase(role);
    else r.quota[role] = quota;
  }
  return r.quota != before;
}

}  // namespace

void to_json(nlohmann::json& j, const Registry& r) {
  j = {{"format", registry_format}, {"master", r.master_info}};
  auto& agents = j["agents"] = nlohmann::json::array();
  for (const auto& [id, info] : r.agents) agents.push_back({{"id", id}, {"info", info}});
  for (const auto* list : {&r.unreachable, &r.gone}) {
    auto& out = j[list == &r.unreachable ? "unreachable" : "gone"] = nlohmann::json::array();
    for (const auto& [id, time] : *list) out.push_back({{"id", id}, {"timestamp", time_json(time)}});
  }
  auto& weights = j["weights"] = nlohmann::json::array();
  for (const auto& [role, weight] : r.weights) weights.push_back({{"role", role}, {"weight", weight}});
  auto& quotas = j["quota_configs"] = nlohmann::json::array();
  for (const auto& [role, quota] : r.quota) {
    quotas.push_back({{"role", role},
                      {"guarantees", quantities_json(quota.guarantees)},
                      {"limits", quantities_json(quota.limits)}});
  }
  j["maintenance"] = r.maintenance;
}

void from_json(const nlohmann::json& j, Registry& r) {
  const int format = j.at("format").get<int>();
  if (format != registry_format) {
    throw nlohmann::json::other_error::create(501, fmt::format("registry: unknown format {}", format), &j);
  }
  Registry out;
  out.master_info = j.at("master");
  for (const auto& a : j.at("agents")) out.agents.emplace(id_from_json(a.at("id")), a.at("info"));
  for (const auto& a : j.at("unreachable")) out.unreachable.emplace(id_from_json(a.at("id")), time_from_json(a.at("timestamp")));
  for (const auto& a : j.at("gone")) out.gone.emplace(id_from_json(a.at("id")), time_from_json(a.at("timestamp")));
  for (const auto& w : j.at("weights")) out.weights[w.at("role").get<std::string>()] = w.at("weight").get<double>();
  for (const auto& q : j.at("quota_configs")) {
    Quota quota{quantities_from_json(q.at("guarantees")), quantities_from_json(q.at("limits"))};
    out.quota[q.at("role").get<std::string>()] = std::move(quota);
  }
  out.maintenance = j.at("maintenance");
  r = std::move(out);
}

Prune prune_plan(const Registry& registry, TimePoint now, Duration max_age, std::size_t max_count) {
  auto plan = [&](const std::map<AgentId, TimePoint>& marked) {
    std::vector<std::pair<TimePoint, AgentId>> by_age;
    for (const auto& [id, time] : marked) by_age.emplace_back(time, id);
    std::sort(by_age.begin(), by_age.end());  // Oldest first.
    std::set<AgentId> out;
    for (std::size_t i = 0; i < by_age.size(); ++i) {
      const bool too_old = now - by_age[i].first > max_age;
      const bool too_many = by_age.size() - i > max_count;
      if (too_old || too_many) out.insert(by_age[i].second);
    }
    return out;
  };
  return Prune{plan(registry.unreachable), plan(registry.gone)};
}

Result<bool> apply(Registry& registry, const RegistryOperation& operation) {
  return std::visit([&](const auto& op) { return apply_one(registry, op); }, operation);
}

std::string describe(const RegistryOperation& operation) {
  struct Describe {
    std::string operator()(const AdmitAgent& op) const { return fmt::format("admit agent={}", op.id); }
    std::string operator()(const MarkUnreachable& op) const { return fmt::format("mark unreachable agent={}", op.id); }
    std::string operator()(const MarkReachable& op) const { return fmt::format("mark reachable agent={}", op.id); }
    std::string operator()(const MarkGone& op) const { return fmt::format("mark gone agent={}", op.id); }
    std::string operator()(const Prune& op) const {
      return fmt::format("prune unreachable={} gone={}", op.unreachable.size(), op.gone.size());
    }
    std::string operator()(const UpdateWeights& op) const { return fmt::format("update weights roles={}", op.weights.size()); }
    std::string operator()(const UpdateQuota& op) const { return fmt::format("update quota roles={}", op.quotas.size()); }
  };
  return std::visit(Describe{}, operation);
}

}  // namespace dcos::master
