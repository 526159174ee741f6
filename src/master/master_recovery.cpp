// `MasterCore`'s side of the registry: recovering what it remembers, deciding what admitting an
// agent takes, and the effects of marking agents unreachable or gone once that is durable.
#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/master/master_core.hpp"

namespace dcos::master {

using v1::TaskState;

void MasterCore::recover(const Registry& registry, TimePoint now) {
  recovered_time_ = now;
  for (const auto& [id, info] : registry.agents) recovered_agents_.emplace(id, info);
  for (const auto& [id, time] : registry.unreachable) unreachable_[id] = time;
  for (const auto& [id, time] : registry.gone) gone_.insert(id);
  log::get("master")->info("recovered registry agents={} unreachable={} gone={}", registry.agents.size(),
                           registry.unreachable.size(), registry.gone.size());
}

nlohmann::json MasterCore::agent_info(const AgentRegistration& registration) {
  DCOS_ASSERT(registration.id.has_value());
  nlohmann::json info = {{"id", *registration.id},
                         {"hostname", registration.hostname},
                         {"port", registration.port},
                         {"resources", to_json(registration.resources)}};
  if (!registration.attributes.empty()) info["attributes"] = to_json(registration.attributes);
  return info;
}

Result<std::optional<RegistryOperation>> MasterCore::admission(AgentRegistration& registration) {
  if (!registration.id || registration.id->empty()) {
    registration.id = AgentId(fmt::format("{}-S{}", master_id_, next_agent_++));
    registration.new_agent = true;
    return RegistryOperation(AdmitAgent{*registration.id, agent_info(registration)});
  }
  const AgentId& id = *registration.id;
  if (gone_.contains(id)) return fail(Errc::permission_denied, fmt::format("Agent {} has been marked gone", id));
  if (agents_.contains(id) || recovered_agents_.contains(id)) return std::optional<RegistryOperation>();
  if (unreachable_.contains(id)) return RegistryOperation(MarkReachable{id, agent_info(registration)});
  // An id the registry never saw (say, an in-memory registry that did not survive): admit it
  // under that id, as Mesos lets unknown agents re-register when the registry is not strict.
  return RegistryOperation(AdmitAgent{id, agent_info(registration)});
}

void MasterCore::mark_unreachable(const AgentId& id, TimePoint now) {
  marking_unreachable_.erase(id);
  recovered_agents_.erase(id);
  if (auto it = agents_.find(id); it != agents_.end()) {
    mark_agent_unreachable(it->second, now);
  } else {
    unreachable_[id] = now;  // Recovered but never back: nothing of it is running here.
  }
}

void MasterCore::mark_gone(const AgentId& id, TimePoint now) {
  gone_.insert(id);
  recovered_agents_.erase(id);
  unreachable_.erase(id);
  marking_unreachable_.erase(id);
  auto agent = agents_.find(id);
  if (agent != agents_.end()) {
    for (const OfferId& offer : std::vector<OfferId>(agent->second.offers.begin(), agent->second.offers.end())) {
      rescind_offer(offer, /*recover=*/false);
    }
  }
  // Every task on it is gone for good, unreachable ones (still known to partition-aware
  // frameworks) included.
  for (auto& [framework_id, framework] : frameworks_) {
    std::vector<TaskId> on_agent;
    for (const auto& [task_id, task] : framework.tasks) {
      if (task.info.agent_id == id) on_agent.push_back(task_id);
    }
    for (const TaskId& task_id : on_agent) {
      Task& task = framework.tasks.at(task_id);
      if (!is_terminal(task.state)) {
        v1::TaskStatus status = master_status(task, TaskState::gone_by_operator, "REASON_SLAVE_REMOVED_BY_OPERATOR",
                                              fmt::format("Agent {} was marked gone", id), now);
        task.state = TaskState::gone_by_operator;
        task.status_update_state = TaskState::gone_by_operator;
        task.statuses.push_back(status);
        send_update(framework, status);
        count("master/tasks_gone_by_operator");
      }
      task.resources_released = true;  // The agent leaves the allocator below, with them.
      complete_task(framework, task_id);
    }
  }
  if (agent != agents_.end()) {
    allocator().remove_agent(id);
    effects_.push_back({Effect::Kind::close_agent, id.value(), {}, {}});
    agents_.erase(agent);
  }
  log::get("master")->warn("agent marked gone agent={}", id);
}

void MasterCore::prune(const Prune& pruned) {
  for (const AgentId& id : pruned.unreachable) unreachable_.erase(id);
  for (const AgentId& id : pruned.gone) gone_.erase(id);
}

}  // namespace dcos::master
