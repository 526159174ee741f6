// The agent's dynamic reservations: the master sends all of them (CHECKPOINT_RESOURCES) after
// each change; the agent checkpoints them and reports its total with them when it registers, so
// they survive an agent restart and a master failover (docs/design/agent-recovery.md,
// "Dynamic reservations"; Mesos's `Slave::checkpointResources`).
#include <fmt/format.h>

#include "dcos/agent/agent.hpp"
#include "dcos/common/log.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::agent {

void Agent::on_checkpoint_resources(const nlohmann::json& checkpoint) {
  if (auto done = checkpoint_resources(checkpoint.at("resources")); !done) {
    log::get("agent")->error("CHECKPOINT_RESOURCES from master not applied error={}", done.error().message);
  }
}

Result<void> Agent::checkpoint_resources(const nlohmann::json& reservations) {
  auto checkpointed = resources_from_json(reservations);
  if (!checkpointed) return fail(Errc::invalid_argument, "malformed resources: " + checkpointed.error().message);
  // The master's view cannot describe this agent: keep what is checkpointed, which
  // re-registering reports.
  auto total = apply_checkpointed_resources(resources_, *checkpointed);
  if (!total) return tl::unexpected(total.error());
  if (*checkpointed == checkpointed_) return {};
  // Durable before it counts: once the master sees this total again (after a restart of either),
  // it must be what the agent reports.
  if (auto written = write_atomically(layout().resources_info(), v1::dump(to_json(*checkpointed))); !written) {
    return fail(Errc::io_error, "checkpoint failed: " + written.error().message);
  }
  checkpointed_ = std::move(*checkpointed);
  total_ = std::move(*total);
  log::get("agent")->info("checkpointed dynamic reservations reserved={} total={}", checkpointed_.to_string(),
                          total_.to_string());
  return {};
}

Result<void> Agent::recover_checkpointed_resources() {
  auto text = read_file(layout().resources_info());
  if (!text) {
    if (text.error().code == make_error_code(Errc::not_found)) return {};
    return tl::unexpected(text.error());
  }
  auto json = v1::parse_json_body(*text);
  if (!json) {
    return fail(Errc::corruption, fmt::format("{}: {}", layout().resources_info(), json.error().message));
  }
  auto checkpointed = resources_from_json(*json);
  if (!checkpointed) {
    return fail(Errc::corruption, fmt::format("{}: {}", layout().resources_info(), checkpointed.error().message));
  }
  // As Mesos, an agent whose `--resources` no longer hold its reservations refuses to start.
  auto total = apply_checkpointed_resources(resources_, *checkpointed);
  if (!total) {
    return fail(Errc::invalid_argument, fmt::format("{} (remove {} to drop the reservations)", total.error().message,
                                                    layout().resources_info()));
  }
  checkpointed_ = std::move(*checkpointed);
  total_ = std::move(*total);
  if (!checkpointed_.empty()) {
    log::get("agent")->info("recovered dynamic reservations reserved={}", checkpointed_.to_string());
  }
  return {};
}

}  // namespace dcos::agent
