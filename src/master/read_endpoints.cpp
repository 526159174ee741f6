// The classic read endpoints (`/master/state`, `/master/frameworks`, `/master/slaves`,
// `/master/tasks`, `/flags`, `/version`, `/metrics/snapshot`) and the operator API's read calls,
// in Mesos's JSON shapes (reference/mesos-api.md §3).
#include <fmt/format.h>

#include "dcos/http/content_negotiation.hpp"
#include "dcos/master/master.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::master {

namespace beast_http = http::beast_http;
using http::Status;

namespace {

nlohmann::json task_json(const Task& task) {
  nlohmann::json statuses = nlohmann::json::array();
  for (const auto& s : task.statuses) {
    nlohmann::json j = {{"state", v1::to_string(s.state)}, {"timestamp", s.timestamp.value_or(0)}};
    if (s.healthy) j["healthy"] = *s.healthy;
    if (!s.container_status.is_null()) j["container_status"] = s.container_status;
    statuses.push_back(std::move(j));
  }
  nlohmann::json j = {{"id", task.info.task_id.value()},
                      {"name", task.info.name},
                      {"framework_id", task.framework_id.value()},
                      {"executor_id", task.info.executor.is_null() ? "" : task.executor_id.value()},
                      {"slave_id", task.info.agent_id.value()},
                      {"state", v1::to_string(task.state)},
                      {"resources", task.info.resources.summary()},
                      {"statuses", statuses}};
  if (auto r = task.info.resources.items(); !r.empty() && r.front().allocation_role) j["role"] = *r.front().allocation_role;
  if (task.info.extra.contains("labels")) j["labels"] = task.info.extra["labels"].value("labels", nlohmann::json::array());
  return j;
}

http::Response json_reply(const http::Request& request, const nlohmann::json& body) {
  auto params = http::query_parameters(request.target());
  std::string text = v1::dump(body);
  if (auto jsonp = params.find("jsonp"); jsonp != params.end()) {
    return http::make_response(request, Status::ok, jsonp->second + "(" + text + ");", "text/javascript");
  }
  return http::make_json_response(request, Status::ok, text);
}

}  // namespace

nlohmann::json Master::framework_json(const Framework& f) const {
  nlohmann::json tasks = nlohmann::json::array();
  nlohmann::json unreachable = nlohmann::json::array();
  for (const auto& [id, task] : f.tasks) {
    (task.state == v1::TaskState::unreachable ? unreachable : tasks).push_back(task_json(task));
  }
  nlohmann::json completed = nlohmann::json::array();
  for (const auto& task : f.completed_tasks) completed.push_back(task_json(task));
  nlohmann::json offers = nlohmann::json::array();
  for (const OfferId& id : f.offers) {
    const Offer& offer = core_.offers().at(id);
    offers.push_back({{"id", id.value()}, {"framework_id", f.id.value()}, {"slave_id", offer.agent_id.value()},
                      {"allocation_info", {{"role", offer.role}}}, {"resources", offer.resources.summary()}});
  }
  nlohmann::json capabilities = nlohmann::json::array();
  for (const auto& c : f.info.capabilities) capabilities.push_back(c);
  const Resources used = core_.framework_used(f.id);
  nlohmann::json j = {{"id", f.id.value()},
                      {"name", f.info.name},
                      {"user", f.info.user},
                      {"hostname", f.info.hostname.value_or("")},
                      {"webui_url", f.info.webui_url.value_or("")},
                      {"principal", f.info.principal.value_or("")},
                      {"failover_timeout", f.info.failover_timeout},
                      {"checkpoint", f.info.checkpoint},
                      {"capabilities", capabilities},
                      {"active", f.active},
                      {"connected", f.connected},
                      {"recovered", false},
                      {"registered_time", to_epoch_seconds(f.registered_time)},
                      {"unregistered_time", f.unregistered_time ? to_epoch_seconds(*f.unregistered_time) : 0.0},
                      {"used_resources", used.summary()},
                      {"resources", used.summary()},
                      {"offered_resources", core_.framework_offered(f.id).summary()},
                      {"tasks", tasks},
                      {"unreachable_tasks", unreachable},
                      {"completed_tasks", completed},
                      {"offers", offers},
                      {"executors", nlohmann::json::array()}};
  if (f.reregistered_time) j["reregistered_time"] = to_epoch_seconds(*f.reregistered_time);
  if (f.info.has_capability("MULTI_ROLE")) j["roles"] = f.info.roles;
  else j["role"] = f.info.role.value_or("*");
  if (!f.info.labels.is_null()) j["labels"] = f.info.labels.value("labels", nlohmann::json::array());
  return j;
}

nlohmann::json Master::agent_json(const Agent& a) const {
  const Resources used = core_.used_resources(a.id);
  nlohmann::json reserved = nlohmann::json::object();
  Resources unreserved;
  std::map<std::string, Resources> by_role;
  for (const Resource& r : a.total) {
    if (r.reserved()) by_role[r.role] += r;
    else unreserved += r;
  }
  for (const auto& [role, resources] : by_role) reserved[role] = resources.summary();
  nlohmann::json j = {{"id", a.id.value()},
                      {"hostname", a.hostname},
                      {"port", a.port},
                      {"pid", a.pid()},
                      {"attributes", attributes_summary(a.attributes)},
                      {"registered_time", to_epoch_seconds(a.registered_time)},
                      {"resources", a.total.summary()},
                      {"used_resources", used.summary()},
                      {"offered_resources", core_.offered_resources(a.id).summary()},
                      {"reserved_resources", reserved},
                      {"unreserved_resources", unreserved.summary()},
                      {"active", a.connected},
                      {"deactivated", false},
                      {"version", a.version},
                      {"capabilities", nlohmann::json::array({"MULTI_ROLE", "HIERARCHICAL_ROLE"})}};
  if (a.reregistered_time) j["reregistered_time"] = to_epoch_seconds(*a.reregistered_time);
  return j;
}

nlohmann::json Master::state_json() const {
  const auto& info = core_.master_info();
  nlohmann::json slaves = nlohmann::json::array();
  int active = 0;
  for (const auto& [id, agent] : core_.agents()) {
    slaves.push_back(agent_json(agent));
    if (agent.connected) ++active;
  }
  nlohmann::json frameworks = nlohmann::json::array();
  for (const auto& [id, f] : core_.frameworks()) frameworks.push_back(framework_json(f));
  nlohmann::json completed = nlohmann::json::array();
  for (const auto& f : core_.completed_frameworks()) completed.push_back(framework_json(f));
  nlohmann::json flags = nlohmann::json::object();
  for (const auto& [name, value] : config_.flags) flags[name] = value;
  return {{"version", DCOS_VERSION},
          {"build_date", ""},
          {"build_time", 0},
          {"build_user", ""},
          {"start_time", to_epoch_seconds(start_time_)},
          {"elected_time", to_epoch_seconds(start_time_)},
          {"id", core_.id()},
          {"pid", info.value("pid", "")},
          {"hostname", config_.hostname},
          {"capabilities", nlohmann::json::array()},
          {"activated_slaves", active},
          {"deactivated_slaves", 0},
          {"unreachable_slaves", core_.unreachable_agents().size()},
          {"leader", info.value("pid", "")},
          {"leader_info", {{"id", core_.id()}, {"pid", info.value("pid", "")}, {"port", info.value("port", 0)},
                           {"hostname", config_.hostname}}},
          {"cluster", config_.cluster},
          {"flags", flags},
          {"slaves", slaves},
          {"recovered_slaves", nlohmann::json::array()},
          {"frameworks", frameworks},
          {"completed_frameworks", completed},
          {"orphan_tasks", nlohmann::json::array()},
          {"roles", roles_json()},  // Not in Mesos's /state: weights, quota and shares at a glance.
          {"unregistered_frameworks", nlohmann::json::array()}};
}

http::Reply Master::state_endpoint(const http::Request& request) const { return json_reply(request, state_json()); }

http::Reply Master::frameworks_endpoint(const http::Request& request) const {
  auto params = http::query_parameters(request.target());
  nlohmann::json frameworks = nlohmann::json::array();
  for (const auto& [id, f] : core_.frameworks()) {
    if (params.contains("framework_id") && params["framework_id"] != id.value()) continue;
    frameworks.push_back(framework_json(f));
  }
  nlohmann::json completed = nlohmann::json::array();
  for (const auto& f : core_.completed_frameworks()) completed.push_back(framework_json(f));
  return json_reply(request, {{"frameworks", frameworks}, {"completed_frameworks", completed},
                              {"unregistered_frameworks", nlohmann::json::array()}});
}

http::Reply Master::slaves_endpoint(const http::Request& request) const {
  auto params = http::query_parameters(request.target());
  nlohmann::json slaves = nlohmann::json::array();
  for (const auto& [id, agent] : core_.agents()) {
    if (params.contains("slave_id") && params["slave_id"] != id.value()) continue;
    slaves.push_back(agent_json(agent));
  }
  return json_reply(request, {{"slaves", slaves}, {"recovered_slaves", nlohmann::json::array()}});
}

http::Reply Master::tasks_endpoint(const http::Request& request) const {
  auto params = http::query_parameters(request.target());
  std::vector<nlohmann::json> all;
  for (const auto& [id, f] : core_.frameworks()) {
    if (params.contains("framework_id") && params["framework_id"] != id.value()) continue;
    for (const auto& [tid, task] : f.tasks) all.push_back(task_json(task));
    for (const auto& task : f.completed_tasks) all.push_back(task_json(task));
  }
  if (params.contains("task_id")) {
    std::erase_if(all, [&](const nlohmann::json& t) { return t["id"] != params["task_id"]; });
  }
  size_t limit = 100, offset = 0;
  try {
    if (params.contains("limit")) limit = std::stoul(params["limit"]);
    if (params.contains("offset")) offset = std::stoul(params["offset"]);
  } catch (const std::exception&) {
    return http::make_response(request, Status::bad_request, "'limit' and 'offset' must be non-negative integers");
  }
  if (params["order"] != "asc") std::reverse(all.begin(), all.end());
  nlohmann::json tasks = nlohmann::json::array();
  for (size_t i = offset; i < all.size() && tasks.size() < limit; ++i) tasks.push_back(all[i]);
  return json_reply(request, {{"tasks", tasks}});
}

http::Reply Master::flags_endpoint(const http::Request& request) const {
  nlohmann::json flags = nlohmann::json::object();
  for (const auto& [name, value] : config_.flags) flags[name] = value;
  return json_reply(request, {{"flags", flags}});
}

http::Reply Master::version_endpoint(const http::Request& request) const {
  return json_reply(request, {{"version", DCOS_VERSION}, {"git_sha", ""}, {"git_branch", ""}, {"git_tag", ""},
                              {"build_date", ""}, {"build_time", 0}, {"build_user", ""}});
}

nlohmann::json Master::metrics_json() const {
  nlohmann::json m = nlohmann::json::object();
  m["master/elected"] = 1;
  m["master/uptime_secs"] = to_seconds(clock_.now() - start_time_);
  int connected = 0, disconnected = 0;
  Resources total, used;
  for (const auto& [id, agent] : core_.agents()) {
    (agent.connected ? connected : disconnected)++;
    total += agent.total;
    used += core_.used_resources(id);
  }
  if (registrar_) add_registrar_metrics(m);
  m["master/slaves_connected"] = connected;
  m["master/slaves_disconnected"] = disconnected;
  m["master/slaves_active"] = connected;
  m["master/slaves_inactive"] = disconnected;
  m["master/slaves_unreachable"] = core_.unreachable_agents().size();
  int f_connected = 0, f_disconnected = 0;
  std::map<v1::TaskState, int> states;
  for (const auto& [id, f] : core_.frameworks()) {
    (f.connected ? f_connected : f_disconnected)++;
    for (const auto& [tid, task] : f.tasks) states[task.state]++;
  }
  m["master/frameworks_connected"] = f_connected;
  m["master/frameworks_disconnected"] = f_disconnected;
  m["master/frameworks_active"] = f_connected;
  m["master/frameworks_inactive"] = f_disconnected;
  m["master/outstanding_offers"] = core_.offers().size();
  for (auto state : {v1::TaskState::staging, v1::TaskState::starting, v1::TaskState::running, v1::TaskState::killing}) {
    std::string name(v1::to_string(state).substr(5));
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    m["master/tasks_" + name] = states[state];
  }
  for (const char* name : {"finished", "failed", "killed", "lost", "error", "dropped", "unreachable", "gone",
                           "gone_by_operator"}) {
    m[fmt::format("master/tasks_{}", name)] = 0;
  }
  for (const auto& [name, value] : core_.counters()) {
    if (name.starts_with("master/tasks_") && !m.contains(name)) continue;
    if (name == "master/tasks_staging" || name == "master/tasks_starting" || name == "master/tasks_running" ||
        name == "master/tasks_killing") {
      continue;  // Gauges above, not counters.
    }
    m[name] = value;
  }
  for (const char* r : {"cpus", "mem", "disk", "gpus"}) {
    const double t = total.scalar(r), u = used.scalar(r);
    m[fmt::format("master/{}_total", r)] = t;
    m[fmt::format("master/{}_used", r)] = u;
    m[fmt::format("master/{}_percent", r)] = t > 0 ? u / t : 0.0;
  }
  return m;
}

http::Reply Master::metrics_endpoint(const http::Request& request) const { return json_reply(request, metrics_json()); }

http::Reply Master::operator_api(const http::Request& request) {
  if (auto refused = http::check_v1_call(request)) return std::move(*refused);
  auto body = v1::parse_json_body(request.body());
  if (!body) return http::make_response(request, Status::bad_request, body.error().message);
  const std::string type = body->is_object() ? body->value("type", "") : "";
  nlohmann::json response = {{"type", type}};
  if (type == "GET_HEALTH") {
    response["get_health"] = {{"healthy", true}};
  } else if (type == "GET_VERSION") {
    response["get_version"] = {{"version_info", {{"version", DCOS_VERSION}}}};
  } else if (type == "GET_FLAGS") {
    nlohmann::json flags = nlohmann::json::array();
    for (const auto& [name, value] : config_.flags) flags.push_back({{"name", name}, {"value", value}});
    response["get_flags"] = {{"flags", flags}};
  } else if (type == "GET_METRICS") {
    nlohmann::json metrics = nlohmann::json::array();
    const nlohmann::json snapshot = metrics_json();
    for (const auto& [name, value] : snapshot.items()) metrics.push_back({{"name", name}, {"value", value}});
    response["get_metrics"] = {{"metrics", metrics}};
  } else if (type == "GET_MASTER") {
    response["get_master"] = {{"master_info", core_.master_info()}, {"start_time", to_epoch_seconds(start_time_)},
                              {"elected_time", to_epoch_seconds(start_time_)}};
  } else if (type == "GET_OPERATIONS") {
    nlohmann::json operations = nlohmann::json::array();
    for (const auto& [uuid, operation] : core_.operations()) operations.push_back(to_json(operation));
    response["get_operations"] = nlohmann::json::object();
    if (!operations.empty()) response["get_operations"]["operations"] = std::move(operations);
  } else if (auto reply = role_call(request, type, *body)) {
    return std::move(*reply);
  } else if (auto reply = registry_call(request, type, *body)) {
    return std::move(*reply);
  } else if (auto reply = reservation_call(request, type, *body)) {
    return std::move(*reply);
  } else if (type.empty()) {
    return http::make_response(request, Status::bad_request, "Expecting 'type' to be present");
  } else {
    return http::make_response(request, Status::not_implemented, fmt::format("Operator call '{}' is not supported yet", type));
  }
  return http::make_json_response(request, Status::ok, v1::dump(response));
}

}  // namespace dcos::master
