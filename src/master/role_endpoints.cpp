// Roles over HTTP: the operator calls GET_WEIGHTS, UPDATE_WEIGHTS, GET_QUOTA, UPDATE_QUOTA and
// GET_ROLES, and the classic `/weights` (GET, PUT), `/quota` (GET) and `/roles` endpoints, in
// Mesos's JSON shapes (reference/mesos-api.md §3). Decisions live in `MasterCore`.
#include <fmt/format.h>

#include "dcos/master/master.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::master {

namespace beast_http = http::beast_http;
using http::Status;

namespace {

http::Response json_ok(const http::Request& request, const nlohmann::json& body) {
  auto params = http::query_parameters(request.target());
  std::string text = v1::dump(body);
  if (auto jsonp = params.find("jsonp"); jsonp != params.end()) {
    return http::make_response(request, Status::ok, jsonp->second + "(" + text + ");", "text/javascript");
  }
  return http::make_json_response(request, Status::ok, text);
}

http::Response outcome_reply(const http::Request& request, const CallOutcome& outcome) {
  switch (outcome.code) {
    case CallOutcome::Code::accepted: return http::make_response(request, Status::ok);
    case CallOutcome::Code::bad_request: return http::make_response(request, Status::bad_request, outcome.message);
    case CallOutcome::Code::forbidden: return http::make_response(request, Status::forbidden, outcome.message);
    case CallOutcome::Code::not_implemented:
      return http::make_response(request, Status::not_implemented, outcome.message);
  }
  return http::make_response(request, Status::internal_server_error, "unreachable");
}

// The classic summary of quantities: cpus, gpus, mem and disk always present.
nlohmann::json summary(const ResourceQuantities& quantities) {
  nlohmann::json j = {{"cpus", 0.0}, {"gpus", 0.0}, {"mem", 0.0}, {"disk", 0.0}};
  for (const auto& [name, value] : quantities) j[name] = value;
  return j;
}

// v1 scalar `Resource`s.
nlohmann::json resources_v1(const ResourceQuantities& quantities) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, value] : quantities) {
    out.push_back({{"name", name}, {"type", "SCALAR"}, {"scalar", {{"value", value}}}});
  }
  return out;
}

ResourceQuantities quantities_of(const Resources& resources) {
  ResourceQuantities out;
  for (const auto& [name, value] : resources.scalars()) out[name] = value;
  return out;
}

// The body's sub-message `key` (e.g. "update_weights"), which must be an object.
Result<nlohmann::json> sub_message(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fail(Errc::invalid_argument, fmt::format("Expecting '{}' to be present", key));
  if (!it->is_object()) return fail(Errc::invalid_argument, fmt::format("'{}' must be an object", key));
  return *it;
}

}  // namespace

std::map<std::string, ResourceQuantities> Master::offered_by_role() const {
  std::map<std::string, Resources> offered;
  for (const auto& [id, offer] : core_.offers()) offered[offer.role] += offer.resources;
  std::map<std::string, ResourceQuantities> out;
  for (const auto& [role, resources] : offered) out[role] = quantities_of(resources);
  return out;
}

nlohmann::json Master::roles_json() const {
  const auto offered = offered_by_role();
  nlohmann::json roles = nlohmann::json::array();
  for (const RoleInfo& role : core_.roles()) {
    nlohmann::json frameworks = nlohmann::json::array();
    for (const FrameworkId& id : role.frameworks) frameworks.push_back(id.value());
    auto o = offered.find(role.name);
    nlohmann::json j = {{"name", role.name},
                        {"weight", role.weight},
                        {"frameworks", frameworks},
                        {"resources", summary(role.allocated)},
                        {"allocated", summary(role.allocated)},
                        {"offered", summary(o == offered.end() ? ResourceQuantities{} : o->second)},
                        {"reserved", summary(role.reserved)}};
    if (role.name.find('/') == std::string::npos && role.name != "*") {
      j["quota"] = {{"role", role.name},
                    {"guarantee", summary(role.quota.guarantees)},
                    {"limit", nlohmann::json::object()},
                    {"consumed", summary(role.consumed_quota)}};
      for (const auto& [name, value] : role.quota.limits) j["quota"]["limit"][name] = value;
    }
    roles.push_back(std::move(j));
  }
  return roles;
}

nlohmann::json Master::roles_v1_json() const {
  const auto offered = offered_by_role();
  nlohmann::json roles = nlohmann::json::array();
  for (const RoleInfo& role : core_.roles()) {
    nlohmann::json j = {{"name", role.name}, {"weight", role.weight}};
    nlohmann::json frameworks = nlohmann::json::array();
    for (const FrameworkId& id : role.frameworks) frameworks.push_back({{"value", id.value()}});
    if (!frameworks.empty()) j["frameworks"] = std::move(frameworks);
    if (!role.allocated.empty()) j["resources"] = j["allocated"] = resources_v1(role.allocated);
    if (auto o = offered.find(role.name); o != offered.end() && !o->second.empty()) {
      j["offered"] = resources_v1(o->second);
    }
    if (!role.reserved.empty()) j["reserved"] = resources_v1(role.reserved);
    if (role.name.find('/') == std::string::npos && role.name != "*") {
      nlohmann::json quota = {{"role", role.name}};
      if (!role.quota.guarantees.empty()) quota["guarantee"] = scalar_map_json(role.quota.guarantees);
      if (!role.quota.limits.empty()) quota["limit"] = scalar_map_json(role.quota.limits);
      if (!role.consumed_quota.empty()) quota["consumed"] = scalar_map_json(role.consumed_quota);
      j["quota"] = std::move(quota);
    }
    roles.push_back(std::move(j));
  }
  return roles;
}

std::optional<http::Reply> Master::role_call(const http::Request& request, const std::string& type,
                                             const nlohmann::json& body) {
  auto bad = [&](const std::string& message) {
    return http::make_response(request, Status::bad_request, "Failed to validate master::Call: " + message);
  };
  nlohmann::json response = {{"type", type}};
  if (type == "GET_WEIGHTS") {
    nlohmann::json infos = weight_infos_json(core_.role_config().weights);
    response["get_weights"] = nlohmann::json::object();
    if (!infos.empty()) response["get_weights"]["weight_infos"] = std::move(infos);
  } else if (type == "GET_QUOTA") {
    response["get_quota"] = {{"status", quota_status_json(core_.role_config().quotas)}};
  } else if (type == "GET_ROLES") {
    nlohmann::json roles = roles_v1_json();
    response["get_roles"] = nlohmann::json::object();
    if (!roles.empty()) response["get_roles"]["roles"] = std::move(roles);
  } else if (type == "UPDATE_WEIGHTS") {
    auto call = sub_message(body, "update_weights");
    if (!call) return bad(call.error().message);
    auto weights = decode_weight_infos(call->value("weight_infos", nlohmann::json::array()));
    if (!weights) return bad(weights.error().message);
    const CallOutcome outcome = core_.update_weights(*weights);
    if (outcome.code == CallOutcome::Code::accepted) record_weights(*weights);
    deliver();
    return outcome_reply(request, outcome);
  } else if (type == "UPDATE_QUOTA") {
    auto call = sub_message(body, "update_quota");
    if (!call) return bad(call.error().message);
    auto configs = decode_quota_configs(call->value("quota_configs", nlohmann::json::array()));
    if (!configs) return bad(configs.error().message);
    bool force = false;
    try {
      force = v1::Fields(*call, "update_quota.").boolean("force").value_or(false);
    } catch (const std::exception& e) {
      return bad(e.what());
    }
    const CallOutcome outcome = core_.update_quota(*configs, force);
    if (outcome.code == CallOutcome::Code::accepted) {
      std::map<std::string, Quota> quotas;
      for (const auto& [role, quota] : *configs) quotas[role] = quota;  // Empty: removed.
      record_quota(quotas);
    }
    deliver();
    return outcome_reply(request, outcome);
  } else {
    return std::nullopt;
  }
  return http::make_json_response(request, Status::ok, v1::dump(response));
}

http::Reply Master::weights_endpoint(const http::Request& request) {
  if (request.method() == beast_http::verb::get) return json_ok(request, weight_infos_json(core_.role_config().weights));
  if (request.method() != beast_http::verb::put) {
    auto response = http::make_response(request, Status::method_not_allowed, "Expecting 'GET' or 'PUT'");
    response.set(beast_http::field::allow, "GET, PUT");
    return response;
  }
  auto body = v1::parse_json_body(request.body());
  if (!body) return http::make_response(request, Status::bad_request, "Failed to parse update weights request: " + body.error().message);
  auto weights = decode_weight_infos(*body);
  if (!weights) return http::make_response(request, Status::bad_request, "Failed to validate update weights request: " + weights.error().message);
  const CallOutcome outcome = core_.update_weights(*weights);
  if (outcome.code == CallOutcome::Code::accepted) record_weights(*weights);
  deliver();
  return outcome_reply(request, outcome);
}

http::Reply Master::quota_endpoint(const http::Request& request) const {
  if (request.method() != beast_http::verb::get) {
    // Setting quota goes through the v1 UPDATE_QUOTA call (the POST/DELETE forms are deprecated).
    auto response = http::make_response(request, Status::method_not_allowed,
                                        "Expecting 'GET'; set quota with the v1 operator call UPDATE_QUOTA");
    response.set(beast_http::field::allow, "GET");
    return response;
  }
  return json_ok(request, quota_status_json(core_.role_config().quotas));
}

http::Reply Master::roles_endpoint(const http::Request& request) const {
  return json_ok(request, {{"roles", roles_json()}});
}

}  // namespace dcos::master
