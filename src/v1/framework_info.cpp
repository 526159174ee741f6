#include "dcos/v1/framework_info.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace dcos::v1 {

bool FrameworkInfo::has_capability(std::string_view type) const {
  return std::find(capabilities.begin(), capabilities.end(), type) != capabilities.end();
}

std::vector<std::string> FrameworkInfo::effective_roles() const {
  if (has_capability("MULTI_ROLE")) return roles;
  return {role.value_or("*")};
}

FrameworkInfo decode_framework_info(const Fields& f) {
  Fields fields = f;
  FrameworkInfo info;
  info.user = fields.required("user", fields.string("user"));
  info.name = fields.required("name", fields.string("name"));
  if (auto id = fields.id("id")) info.id = FrameworkId(*id);
  info.failover_timeout = fields.number("failover_timeout").value_or(0.0);
  info.checkpoint = fields.boolean("checkpoint").value_or(false);
  info.role = fields.string("role");
  info.roles = fields.strings("roles");
  info.hostname = fields.string("hostname");
  info.principal = fields.string("principal");
  info.webui_url = fields.string("webui_url");
  for (const auto& capability : fields.array("capabilities")) {
    if (!capability.is_object()) continue;
    auto type = capability.find("type");
    // Unknown capability names are dropped, as for any unknown enum in an optional field.
    if (type != capability.end() && type->is_string()) info.capabilities.push_back(type->get<std::string>());
  }
  if (const auto* labels = fields.get("labels")) info.labels = *labels;
  if (const auto* filters = fields.get("offer_filters")) info.offer_filters = *filters;
  fields.done();
  return info;
}

nlohmann::json to_json(const FrameworkInfo& info) {
  nlohmann::json j = {{"user", info.user}, {"name", info.name}};
  if (info.id) j["id"] = *info.id;
  j["failover_timeout"] = info.failover_timeout;
  j["checkpoint"] = info.checkpoint;
  if (info.role) j["role"] = *info.role;
  if (!info.roles.empty()) j["roles"] = info.roles;
  if (info.hostname) j["hostname"] = *info.hostname;
  if (info.principal) j["principal"] = *info.principal;
  if (info.webui_url) j["webui_url"] = *info.webui_url;
  if (!info.capabilities.empty()) {
    nlohmann::json capabilities = nlohmann::json::array();
    for (const auto& c : info.capabilities) capabilities.push_back({{"type", c}});
    j["capabilities"] = capabilities;
  }
  if (!info.labels.is_null()) j["labels"] = info.labels;
  if (!info.offer_filters.is_null()) j["offer_filters"] = info.offer_filters;
  return j;
}

std::string role_problem(std::string_view role) {
  if (role == "*") return {};
  if (role.empty()) return "Role name cannot be empty";
  if (role.front() == '/' || role.back() == '/') return fmt::format("Role '{}' cannot start or end with '/'", role);
  size_t start = 0;
  while (start <= role.size()) {
    const auto slash = role.find('/', start);
    const auto segment = role.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) return fmt::format("Role '{}' has an empty path segment", role);
    if (segment == "." || segment == "..") return fmt::format("Role '{}' cannot have '.' or '..' segments", role);
    if (segment.front() == '-') return fmt::format("Role '{}' segments cannot start with '-'", role);
    if (segment == "*") return fmt::format("Role '{}' cannot have '*' as a segment", role);
    for (char c : segment) {
      if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)) || c == '\\') {
        return fmt::format("Role '{}' cannot contain whitespace, control characters or backslashes", role);
      }
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

std::string framework_info_problem(const FrameworkInfo& info) {
  const bool multi_role = info.has_capability("MULTI_ROLE");
  if (!multi_role && !info.roles.empty()) return "'FrameworkInfo.roles' requires the MULTI_ROLE capability";
  if (multi_role && info.role) return "'FrameworkInfo.role' must not be set with the MULTI_ROLE capability";
  std::set<std::string> seen;
  for (const auto& role : info.effective_roles()) {
    if (auto problem = role_problem(role); !problem.empty()) return problem;
    if (!seen.insert(role).second) return fmt::format("'FrameworkInfo.roles' contains duplicate role '{}'", role);
  }
  if (!std::isfinite(info.failover_timeout) || info.failover_timeout < 0 ||
      info.failover_timeout > 9.2e9) {
    return "Invalid 'FrameworkInfo.failover_timeout': must be a non-negative duration";
  }
  if (info.id) {
    if (auto problem = id_problem(info.id->value()); !problem.empty()) return "Invalid 'FrameworkInfo.id': " + problem;
  }
  return {};
}

}  // namespace dcos::v1
