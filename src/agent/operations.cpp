// Operation feedback on the agent (docs/design/agent-protocol.md, "Operation feedback"): the
// master sends an operation a framework gave an id (RESERVE, UNRESERVE) as APPLY_OPERATION, with
// the agent's dynamic reservations after it. The agent checkpoints them as it does for
// CHECKPOINT_RESOURCES, then reports OPERATION_FINISHED, or OPERATION_FAILED when they cannot
// be applied. That status is checkpointed first and resent until the framework acknowledges it,
// across agent restarts, as Mesos's operation status update manager does.
#include <filesystem>

#include <fmt/format.h>

#include "dcos/agent/agent.hpp"
#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/v1/json_fields.hpp"

namespace fs = std::filesystem;

namespace dcos::agent {

namespace {

nlohmann::json update_record(const OperationUpdate& update) {
  return {{"framework_id", update.framework_id},
          {"operation_uuid", update.operation_uuid},
          {"status", update.status}};
}

}  // namespace

void Agent::on_apply_operation(const nlohmann::json& apply) {
  const auto log = log::get("agent");
  OperationUpdate update;
  update.framework_id = FrameworkId(apply.at("framework_id").at("value").get<std::string>());
  update.operation_uuid = apply.at("operation_uuid").get<std::string>();
  const std::string operation_id = apply.at("operation_id").at("value").get<std::string>();
  if (const OperationUpdate* known = operation_updates_.find(update.operation_uuid)) {
    // Applied already (the master sent it again): its status is what to say.
    send_operation_update(*known);
    return;
  }
  nlohmann::json status = {{"operation_id", {{"value", operation_id}}},
                           {"uuid", {{"value", base64_encode(random_uuid_bytes())}}},
                           {"agent_id", id_}};
  if (auto applied = checkpoint_resources(apply.at("resources")); applied) {
    status["state"] = "OPERATION_FINISHED";
    if (apply.contains("converted_resources")) status["converted_resources"] = apply["converted_resources"];
  } else {
    status["state"] = "OPERATION_FAILED";
    status["message"] = applied.error().message;
  }
  update.status = std::move(status);
  log->info("operation {} framework={} operation={} uuid={}", update.status["state"].get<std::string>(),
            update.framework_id, operation_id, update.operation_uuid);
  // Durable before the master hears of it: a restarted agent resends what was not acknowledged.
  if (auto written = write_atomically(layout().operation_updates(id_, update.operation_uuid),
                                      v1::dump(update_record(update)));
      !written) {
    log->error("checkpoint failed operation={} error={}", update.operation_uuid, written.error().message);
  }
  operation_updates_.add(update, clock_.now());
  send_operation_update(update);
}

void Agent::send_operation_update(const OperationUpdate& update) {
  if (!registered_) return;  // Sent on re-registration.
  post({{"type", "UPDATE_OPERATION_STATUS"},
        {"agent_id", id_},
        {"update_operation_status", update_record(update)}});
}

void Agent::on_acknowledge_operation_status(const nlohmann::json& ack) {
  const std::string operation_uuid = ack.at("operation_uuid").get<std::string>();
  auto status_uuid = base64_decode(ack.at("uuid").get<std::string>());
  if (!status_uuid || !operation_updates_.acknowledge(operation_uuid, *status_uuid)) return;
  std::error_code ec;
  fs::remove_all(fs::path(layout().operation_updates(id_, operation_uuid)).parent_path(), ec);
  log::get("agent")->info("operation status acknowledged uuid={}", operation_uuid);
}

void Agent::drop_operation_updates(const FrameworkId& framework) {
  for (const std::string& uuid : operation_updates_.remove_framework(framework)) {
    std::error_code ec;
    fs::remove_all(fs::path(layout().operation_updates(id_, uuid)).parent_path(), ec);
  }
}

void Agent::recover_operation_updates() {
  const auto log = log::get("agent");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(layout().operations_meta(id_), ec)) {
    const std::string uuid = entry.path().filename().string();
    auto text = read_file(layout().operation_updates(id_, uuid));
    auto record = text ? v1::parse_json_body(*text) : Result<nlohmann::json>(tl::unexpected(text.error()));
    try {
      if (!record) throw std::runtime_error(record.error().message);
      OperationUpdate update{FrameworkId(record->at("framework_id").at("value").get<std::string>()),
                             record->at("operation_uuid").get<std::string>(), record->at("status")};
      if (update.operation_uuid != uuid) throw std::runtime_error("operation uuid differs from its directory");
      operation_updates_.add(std::move(update), clock_.now());
    } catch (const std::exception& e) {
      // A torn or foreign file: the operation was applied (its reservations are checkpointed),
      // only its status is lost, which reconciliation answers.
      log->warn("skipping unreadable operation update path={} error={}", entry.path().string(), e.what());
    }
  }
}

}  // namespace dcos::agent
