#include "dcos/master/role_config.hpp"

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "dcos/v1/framework_info.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::master {

namespace {

std::string role_name_problem(const std::string& role) {
  if (role == "*") return "Role '*' cannot be given a weight or quota";
  return v1::role_problem(role);
}

// `{name: {"value": x}}` into amounts; `path` names the field in errors.
ResourceQuantities decode_scalar_map(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) throw v1::DecodeError(fmt::format("'{}' must be an object", path));
  ResourceQuantities out;
  for (const auto& [name, value] : j.items()) {
    if (name.empty()) throw v1::DecodeError(fmt::format("'{}' has an empty resource name", path));
    if (!value.is_object()) throw v1::DecodeError(fmt::format("'{}.{}' must be an object with a 'value'", path, name));
    v1::Fields f(value, path + "." + name + ".");
    out[name] = f.required("value", f.number("value"));
    f.done();
  }
  return out;
}

}  // namespace

std::string weight_problem(const std::string& role, double weight) {
  if (auto problem = role_name_problem(role); !problem.empty()) return problem;
  if (!std::isfinite(weight) || weight <= 0) {
    return fmt::format("Invalid weight '{}' for role '{}': weights must be positive", weight, role);
  }
  return {};
}

std::string quota_problem(const std::string& role, const Quota& quota) {
  if (auto problem = role_name_problem(role); !problem.empty()) return problem;
  if (role.find('/') != std::string::npos) {
    return fmt::format("Quota of role '{}': only top-level roles can have quota", role);
  }
  for (const auto* amounts : {&quota.guarantees, &quota.limits}) {
    const char* kind = amounts == &quota.guarantees ? "guarantee" : "limit";
    for (const auto& [name, value] : *amounts) {
      if (!std::isfinite(value) || value < 0) {
        return fmt::format("Quota of role '{}': {} '{}:{}' must be non-negative and finite", role, kind, name, value);
      }
    }
  }
  for (const auto& [name, guarantee] : quota.guarantees) {
    auto limit = quota.limits.find(name);
    // Compared at the 3-digit precision resources keep.
    if (limit != quota.limits.end() && std::llround(guarantee * 1000) > std::llround(limit->second * 1000)) {
      return fmt::format("Quota of role '{}': guarantee '{}:{}' is above its limit '{}:{}'", role, name, guarantee,
                         name, limit->second);
    }
  }
  return {};
}

Result<std::map<std::string, double>> decode_weight_infos(const nlohmann::json& weight_infos) {
  try {
    if (!weight_infos.is_array()) throw v1::DecodeError("'weight_infos' must be an array");
    std::map<std::string, double> out;
    for (const auto& entry : weight_infos) {
      if (!entry.is_object()) throw v1::DecodeError("'weight_infos' entries must be objects");
      v1::Fields f(entry, "weight_infos.");
      const std::string role = f.required("role", f.string("role"));
      const double weight = f.required("weight", f.number("weight"));
      f.done();
      if (auto problem = weight_problem(role, weight); !problem.empty()) throw v1::DecodeError(problem);
      if (!out.emplace(role, weight).second) {
        throw v1::DecodeError(fmt::format("Role '{}' appears more than once in 'weight_infos'", role));
      }
    }
    return out;
  } catch (const std::exception& e) {  // DecodeError, and nlohmann's type errors.
    return fail(Errc::invalid_argument, e.what());
  }
}

Result<QuotaConfigs> decode_quota_configs(const nlohmann::json& quota_configs) {
  try {
    if (!quota_configs.is_array()) throw v1::DecodeError("'quota_configs' must be an array");
    QuotaConfigs out;
    std::set<std::string> seen;
    for (const auto& entry : quota_configs) {
      if (!entry.is_object()) throw v1::DecodeError("'quota_configs' entries must be objects");
      v1::Fields f(entry, "quota_configs.");
      const std::string role = f.required("role", f.string("role"));
      f.done();
      Quota quota;
      if (const auto* g = f.get("guarantees")) quota.guarantees = decode_scalar_map(*g, "quota_configs.guarantees");
      if (const auto* l = f.get("limits")) quota.limits = decode_scalar_map(*l, "quota_configs.limits");
      if (auto problem = quota_problem(role, quota); !problem.empty()) throw v1::DecodeError(problem);
      if (!seen.insert(role).second) {
        throw v1::DecodeError(fmt::format("Role '{}' appears more than once in 'quota_configs'", role));
      }
      out.emplace_back(role, std::move(quota));
    }
    return out;
  } catch (const std::exception& e) {
    return fail(Errc::invalid_argument, e.what());
  }
}

nlohmann::json weight_infos_json(const std::map<std::string, double>& weights) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [role, weight] : weights) out.push_back({{"weight", weight}, {"role", role}});
  return out;
}

nlohmann::json scalar_map_json(const ResourceQuantities& quantities) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : quantities) out[name] = {{"value", value}};
  return out;
}

nlohmann::json quota_config_json(const std::string& role, const Quota& quota) {
  nlohmann::json j = {{"role", role}};
  if (!quota.guarantees.empty()) j["guarantees"] = scalar_map_json(quota.guarantees);
  if (!quota.limits.empty()) j["limits"] = scalar_map_json(quota.limits);
  return j;
}

nlohmann::json quota_status_json(const std::map<std::string, Quota>& quotas) {
  nlohmann::json infos = nlohmann::json::array();
  nlohmann::json configs = nlohmann::json::array();
  for (const auto& [role, quota] : quotas) {
    configs.push_back(quota_config_json(role, quota));
    // The deprecated `QuotaInfo` carries the guarantees only, as v1 Resources.
    nlohmann::json guarantee = nlohmann::json::array();
    for (const auto& [name, value] : quota.guarantees) {
      guarantee.push_back({{"name", name}, {"type", "SCALAR"}, {"scalar", {{"value", value}}}});
    }
    nlohmann::json info = {{"role", role}};
    if (!guarantee.empty()) info["guarantee"] = std::move(guarantee);
    infos.push_back(std::move(info));
  }
  nlohmann::json status = nlohmann::json::object();
  if (!infos.empty()) status["infos"] = std::move(infos);
  if (!configs.empty()) status["configs"] = std::move(configs);
  return status;
}

nlohmann::json to_json(const RoleConfig& config) {
  nlohmann::json quotas = nlohmann::json::array();
  for (const auto& [role, quota] : config.quotas) quotas.push_back(quota_config_json(role, quota));
  return {{"weight_infos", weight_infos_json(config.weights)}, {"quota_configs", quotas}};
}

Result<RoleConfig> role_config_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail(Errc::invalid_argument, "role config: expected an object");
  RoleConfig config;
  auto weights = decode_weight_infos(j.value("weight_infos", nlohmann::json::array()));
  if (!weights) return tl::unexpected(weights.error());
  config.weights = std::move(*weights);
  auto quotas = decode_quota_configs(j.value("quota_configs", nlohmann::json::array()));
  if (!quotas) return tl::unexpected(quotas.error());
  for (auto& [role, quota] : *quotas) {
    if (!quota.empty()) config.quotas.emplace(role, std::move(quota));
  }
  return config;
}

}  // namespace dcos::master
