#pragma once
// What the operator set about roles: weights (UPDATE_WEIGHTS, `PUT /weights`) and quota
// (UPDATE_QUOTA). The master keeps one `RoleConfig` (`MasterCore::role_config()`), mirrors it
// into the allocator, and the registry persists it so a new leader restores it
// (`MasterCore::restore_role_config`). Plain values; the JSON helpers speak Mesos's v1 shapes
// (`WeightInfo`, `QuotaConfig`, `QuotaStatus`).

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcos/allocator/allocator.hpp"
#include "dcos/common/result.hpp"

namespace dcos::master {

struct RoleConfig {
  std::map<std::string, double> weights;  // Roles whose weight was set (others weigh 1.0).
  std::map<std::string, Quota> quotas;    // Top-level roles with a non-empty quota.
  bool operator==(const RoleConfig&) const = default;
};

using QuotaConfigs = std::vector<std::pair<std::string, Quota>>;

// The problem with one weight or quota entry (Mesos's validation), or empty when it is fine.
// Roles must pass `v1::role_problem` and not be "*"; weights positive and finite; quota only on
// top-level roles, amounts non-negative and finite, no guarantee above its limit.
std::string weight_problem(const std::string& role, double weight);
std::string quota_problem(const std::string& role, const Quota& quota);

// Decoders for the operator calls' bodies; errors are texts for a 400 and name the field.
// `weight_infos`: [{"role": "eng", "weight": 2.0}]. A role given twice is an error.
Result<std::map<std::string, double>> decode_weight_infos(const nlohmann::json& weight_infos);
// `quota_configs`: [{"role": "eng", "guarantees": {"cpus": {"value": 1}}, "limits": {...}}].
Result<QuotaConfigs> decode_quota_configs(const nlohmann::json& quota_configs);

// `[{"weight": 2.0, "role": "eng"}]`, by role.
nlohmann::json weight_infos_json(const std::map<std::string, double>& weights);
// `QuotaConfig`: {"role", "guarantees": {name: {"value"}}, "limits": {...}}; empty maps omitted.
nlohmann::json quota_config_json(const std::string& role, const Quota& quota);
// `QuotaStatus`: {"infos": [QuotaInfo], "configs": [QuotaConfig]}; empty lists omitted.
nlohmann::json quota_status_json(const std::map<std::string, Quota>& quotas);
// `{name: {"value": x}}` (a v1 `map<string, Value.Scalar>`).
nlohmann::json scalar_map_json(const ResourceQuantities& quantities);

// For the registry: a self-describing JSON document and its inverse.
nlohmann::json to_json(const RoleConfig& config);
Result<RoleConfig> role_config_from_json(const nlohmann::json& j);

}  // namespace dcos::master
