#pragma once
// `FrameworkInfo`: who a framework is, as it tells the master on SUBSCRIBE.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcos/common/ids.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::v1 {

struct FrameworkInfo {
  std::string user;
  std::string name;
  std::optional<FrameworkId> id;
  double failover_timeout = 0;  // Seconds; 0 tears the framework down as soon as it disconnects.
  bool checkpoint = false;
  std::optional<std::string> role;  // Deprecated single role.
  std::vector<std::string> roles;   // With the MULTI_ROLE capability.
  std::optional<std::string> hostname;
  std::optional<std::string> principal;
  std::optional<std::string> webui_url;
  std::vector<std::string> capabilities;  // Capability type names, e.g. "PARTITION_AWARE".
  nlohmann::json labels;                  // Passed through untouched; null when absent.
  nlohmann::json offer_filters;           // Passed through untouched; null when absent.

  bool has_capability(std::string_view type) const;
  // The roles the framework is offered resources for: `roles` for MULTI_ROLE, else `role`
  // (default "*").
  std::vector<std::string> effective_roles() const;
};

FrameworkInfo decode_framework_info(const Fields& fields);  // Throws `DecodeError`.
nlohmann::json to_json(const FrameworkInfo& info);

// What is wrong with a framework's info (Mesos's validation), or empty when it is fine.
std::string framework_info_problem(const FrameworkInfo& info);
// Role names: not empty, not "." or "..", no leading '-', no whitespace or control chars, no
// path segments that are "." or ".." ("eng/web" is nested). "*" is the default role.
std::string role_problem(std::string_view role);

}  // namespace dcos::v1
