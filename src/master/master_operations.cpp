// MasterCore's operation feedback: offer operations a framework gave an `id` (RESERVE and
// UNRESERVE on agent default resources) are tracked until the framework has acknowledged their
// terminal status, as in Mesos 1.8+ (docs/design/agent-protocol.md, "Operation feedback").
//
// The master applies the operation at once (speculatively, as it always has) and sends it to the
// agent as APPLY_OPERATION. The agent checkpoints, then reports OPERATION_FINISHED (or
// OPERATION_FAILED) reliably: it resends until the framework's acknowledgement reaches it.
#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/master/master_core.hpp"

namespace dcos::master {

namespace {

nlohmann::json status_event(nlohmann::json status) {
  return {{"type", "UPDATE_OPERATION_STATUS"}, {"update_operation_status", {{"status", std::move(status)}}}};
}

// A status the master makes itself (drops, reconciliation): no uuid, so nothing to acknowledge.
nlohmann::json operation_status(const std::string& operation_id, const std::string& state, const std::string& message,
                             const std::optional<AgentId>& agent) {
  nlohmann::json status = {{"operation_id", {{"value", operation_id}}}, {"state", state}};
  if (!message.empty()) status["message"] = message;
  if (agent) status["agent_id"] = *agent;
  return status;
}

bool terminal_operation_state(const std::string& state) {
  return state == "OPERATION_FINISHED" || state == "OPERATION_FAILED" || state == "OPERATION_ERROR" ||
         state == "OPERATION_DROPPED" || state == "OPERATION_GONE_BY_OPERATOR" || state == "OPERATION_UNSUPPORTED";
}

}  // namespace

nlohmann::json to_json(const Operation& operation) {
  nlohmann::json statuses = nlohmann::json::array();
  for (const auto& status : operation.statuses) statuses.push_back(status);
  nlohmann::json out = {{"framework_id", operation.framework_id},
                        {"agent_id", operation.agent_id},
                        {"info", operation.info.is_null() ? nlohmann::json::object() : operation.info},
                        {"latest_status", operation.latest_status},
                        {"uuid", {{"value", base64_encode(uuid_string_to_bytes(operation.uuid).value_or(""))}}}};
  if (!statuses.empty()) out["statuses"] = std::move(statuses);
  return out;
}

void MasterCore::drop_operation(const Framework& framework, const std::string& operation_id,
                                const std::optional<AgentId>& agent, const std::string& state,
                                const std::string& message) {
  log::get("master")->warn("operation dropped framework={} operation={} state={}: {}", framework.id, operation_id,
                           state, message);
  if (framework.connected) send(framework.id, status_event(operation_status(operation_id, state, message, agent)));
}

void MasterCore::start_operation(Framework& framework, const Agent& agent, const std::string& operation_id,
                                 const nlohmann::json& info, const Resources& converted) {
  Operation operation;
  operation.framework_id = framework.id;
  operation.agent_id = agent.id;
  operation.id = operation_id;
  operation.uuid = random_uuid_string();
  operation.info = info;
  operation.latest_status = operation_status(operation_id, "OPERATION_PENDING", "", agent.id);
  // A reused id now names the new operation; the old one's late updates still reach the framework.
  framework.operations[operation_id] = operation.uuid;
  nlohmann::json apply = {{"framework_id", framework.id},
                          {"operation_id", {{"value", operation_id}}},
                          {"operation_uuid", operation.uuid},
                          {"resources", to_json(dynamically_reserved_part(agent.total))},
                          {"converted_resources", to_json(converted)}};
  send_agent(agent.id, {{"type", "APPLY_OPERATION"}, {"apply_operation", std::move(apply)}});
  operations_.emplace(operation.uuid, std::move(operation));
}

CallOutcome MasterCore::operation_status_update(const AgentId& agent_id, const FrameworkId& framework_id,
                                                const std::string& operation_uuid, nlohmann::json status) {
  if (!agents_.contains(agent_id)) return CallOutcome::bad(fmt::format("Unknown agent {}", agent_id));
  Framework* framework = find_framework(framework_id);
  if (framework == nullptr) {
    // Not subscribed (yet, after a failover; or removed): the agent resends until it is told
    // SHUTDOWN_FRAMEWORK.
    log::get("master")->info("operation status update for an unknown framework framework={} operation={}",
                             framework_id, operation_uuid);
    return CallOutcome::ok();
  }
  auto it = operations_.find(operation_uuid);
  if (it == operations_.end()) {
    // A master that failed over does not know the operation: the agent's update tells it.
    const std::string operation_id = status.value("operation_id", nlohmann::json::object()).value("value", "");
    if (operation_id.empty()) return CallOutcome::bad("Operation status update without 'operation_id'");
    Operation operation;
    operation.framework_id = framework_id;
    operation.agent_id = agent_id;
    operation.id = operation_id;
    operation.uuid = operation_uuid;
    it = operations_.emplace(operation_uuid, std::move(operation)).first;
    framework->operations.try_emplace(operation_id, operation_uuid);
  }
  Operation& operation = it->second;
  if (operation.framework_id != framework_id || operation.agent_id != agent_id) {
    return CallOutcome::bad("Operation status update from the wrong agent or for the wrong framework");
  }
  // Resends of the same status are not news for the books, but the framework may have missed it.
  if (operation.statuses.empty() || operation.statuses.back().value("uuid", nlohmann::json()) != status.value("uuid", nlohmann::json())) {
    operation.statuses.push_back(status);
  }
  operation.latest_status = status;
  if (framework->connected) send(framework_id, status_event(std::move(status)));
  return CallOutcome::ok();
}

CallOutcome MasterCore::acknowledge_operation_status(const FrameworkId& id, const AgentId& agent,
                                                     const std::string& operation_id, const std::string& uuid) {
  Framework& framework = *find_framework(id);
  count("master/messages_operation_status_update_acknowledgement");
  auto known = framework.operations.find(operation_id);
  if (known == framework.operations.end()) {
    log::get("master")->warn("acknowledgement for an unknown operation framework={} operation={}", id, operation_id);
    return CallOutcome::ok();
  }
  Operation& operation = operations_.at(known->second);
  if (operation.agent_id != agent) {
    return CallOutcome::bad(fmt::format("Operation '{}' is on agent {}, not {}", operation_id, operation.agent_id, agent));
  }
  const std::string latest = base64_decode(operation.latest_status.value("uuid", nlohmann::json::object()).value("value", ""))
                                 .value_or("");
  if (latest.empty() || latest != uuid) {
    // An ack of an older status, or a duplicate: the agent has moved on or will resend.
    log::get("master")->info("ignoring acknowledgement of an old operation status framework={} operation={}", id,
                             operation_id);
    return CallOutcome::ok();
  }
  if (agent_connected(agent)) {
    send_agent(agent, {{"type", "ACKNOWLEDGE_OPERATION_STATUS"},
                       {"acknowledge_operation_status",
                        {{"framework_id", id}, {"operation_uuid", operation.uuid}, {"uuid", base64_encode(uuid)}}}});
  }
  if (terminal_operation_state(operation.latest_status.value("state", ""))) {
    framework.operations.erase(known);
    operations_.erase(operation.uuid);
  }
  return CallOutcome::ok();
}

CallOutcome MasterCore::reconcile_operations(
    const FrameworkId& id, const std::vector<std::pair<std::string, std::optional<AgentId>>>& operations) {
  Framework& framework = *find_framework(id);
  count("master/messages_reconcile_operations");
  auto answer = [&](nlohmann::json status) {
    status.erase("uuid");  // A reconciliation answer is not to be acknowledged.
    send(id, status_event(std::move(status)));
  };
  if (operations.empty()) {
    for (const auto& [operation_id, uuid] : framework.operations) answer(operations_.at(uuid).latest_status);
    return CallOutcome::ok();
  }
  for (const auto& [operation_id, agent] : operations) {
    if (auto known = framework.operations.find(operation_id); known != framework.operations.end()) {
      answer(operations_.at(known->second).latest_status);
      continue;
    }
    // Unknown to the master: what it knows of the agent says what may have become of it.
    std::string state = "OPERATION_UNKNOWN";
    if (agent) {
      if (gone_.contains(*agent)) {
        state = "OPERATION_GONE_BY_OPERATOR";
      } else if (unreachable_.contains(*agent)) {
        state = "OPERATION_UNREACHABLE";
      } else if (recovered_agents_.contains(*agent)) {
        state = "OPERATION_RECOVERING";  // Admitted before the failover, not back yet.
      }
    }
    answer(operation_status(operation_id, state, "", agent));
  }
  return CallOutcome::ok();
}

std::set<AgentId> MasterCore::forget_operations(Framework& framework) {
  // All of the framework's, including one whose id a later operation took over.
  std::set<AgentId> agents;
  std::erase_if(operations_, [&](const auto& entry) {
    if (entry.second.framework_id != framework.id) return false;
    agents.insert(entry.second.agent_id);
    return true;
  });
  framework.operations.clear();
  return agents;
}

}  // namespace dcos::master
