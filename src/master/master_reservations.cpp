// MasterCore's dynamic reservations: RESERVE and UNRESERVE operations inside ACCEPT, the
// operator's RESERVE_RESOURCES / UNRESERVE_RESOURCES, and keeping the agent's checkpointed copy
// in step with the master's view.
#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/master/master_core.hpp"
#include "dcos/master/reservation_operations.hpp"

namespace dcos::master {

namespace {

nlohmann::json checkpoint_event(const Resources& checkpointed) {
  return {{"type", "CHECKPOINT_RESOURCES"}, {"checkpoint_resources", {{"resources", to_json(checkpointed)}}}};
}

bool ranges_overlap(const Ranges& a, const Ranges& b) {
  for (const Range& x : a.items()) {
    for (const Range& y : b.items()) {
      if (x.begin <= y.end && y.begin <= x.end) return true;
    }
  }
  return false;
}

// True when giving back `offered` would free some of `needed`: an item of the same kind (name,
// type, reservation) with values in common.
bool overlaps(const Resources& offered, const Resources& needed) {
  for (const Resource& x : offered) {
    for (const Resource& y : needed) {
      if (!x.addable(y)) continue;
      if (x.type == ValueType::scalar && x.scalar > 0 && y.scalar > 0) return true;
      if (x.type == ValueType::ranges && ranges_overlap(x.ranges, y.ranges)) return true;
      if (x.type == ValueType::set) {
        for (const auto& item : x.set) {
          if (y.set.contains(item)) return true;
        }
      }
    }
  }
  return false;
}

}  // namespace

void MasterCore::apply_reservation(Framework& framework, Agent& agent, const std::string& type,
                                   const Resources& resources, const std::string& offer_role, Resources& remaining,
                                   const std::optional<std::string>& operation_id, const nlohmann::json& operation_info) {
  const bool reserve = type == "RESERVE";
  auto conversion = reserve ? reserve_conversion(resources, framework.info, offer_role, remaining)
                            : unreserve_conversion(resources, framework.info, offer_role, remaining);
  if (!conversion) {
    // Mesos drops an invalid operation and goes on with the rest of the ACCEPT.
    log::get("master")->warn("dropping {} operation framework={} agent={}: {}", type, framework.id, agent.id,
                             conversion.error().message);
    count(reserve ? "master/messages_invalid_reserve" : "master/messages_invalid_unreserve");
    if (operation_id) drop_operation(framework, *operation_id, agent.id, "OPERATION_ERROR", conversion.error().message);
    return;
  }
  // The accepted offers were removed but their resources are still the framework's allocation.
  auto updated = allocator().update_allocation(framework.id, agent.id, conversion->from, conversion->to);
  DCOS_ASSERT(updated);  // `from` is in `remaining`, which the framework holds on the agent.
  remaining -= conversion->from;
  remaining += conversion->to;
  agent.total -= conversion->from.unallocated();
  agent.total += conversion->to.unallocated();
  if (operation_id) {
    // APPLY_OPERATION carries the reservations to checkpoint, and asks for the operation's status.
    start_operation(framework, agent, *operation_id, operation_info, conversion->to);
  } else {
    send_checkpointed_resources(agent);
  }
  count(reserve ? "master/operations/reserve/finished" : "master/operations/unreserve/finished");
  log::get("master")->info("{} applied framework={} agent={} resources={}", type, framework.id, agent.id,
                           conversion->to.to_string());
}

Result<void> MasterCore::apply_operator_reservation(const AgentId& id, const std::string& type,
                                                    const Conversion& conversion) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return fail(Errc::not_found, fmt::format("No agent found with specified ID '{}'", id));
  Agent& agent = it->second;
  const Resources& from = conversion.from;
  // Free means not used by tasks nor offered: the total holds all three together.
  auto free_holds = [&] { return agent.total.contains(used_resources(id) + offered_resources(id) + from); };
  if (!agent.total.contains(from)) {
    return fail(Errc::unavailable, fmt::format("Agent {} does not have {}: its resources are {}", id,
                                               from.to_string(), agent.total.to_string()));
  }
  // Offers are only promises: give back those holding part of what is needed, one at a time,
  // until it is free (Mesos's `_operation`). Their frameworks get RESCIND and are offered what
  // is left at the next cycle. Unlike Mesos, the core sees exactly what is free, so no offer is
  // rescinded when the free resources suffice already.
  for (const OfferId& offer : std::vector<OfferId>(agent.offers.begin(), agent.offers.end())) {
    if (free_holds()) break;
    if (overlaps(offers_.at(offer).resources.unallocated(), from)) rescind_offer(offer, /*recover=*/true);
  }
  if (!free_holds()) {
    count(type == "RESERVE" ? "master/operations/reserve/failed" : "master/operations/unreserve/failed");
    return fail(Errc::unavailable, fmt::format("Agent {} does not have {} free: tasks use {} of its {}", id,
                                               from.to_string(), used_resources(id).to_string(),
                                               agent.total.to_string()));
  }
  agent.total -= from;
  agent.total += conversion.to;
  allocator().update_agent_total(id, agent.total);
  send_checkpointed_resources(agent);
  count(type == "RESERVE" ? "master/operations/reserve/finished" : "master/operations/unreserve/finished");
  log::get("master")->info("operator {} applied agent={} from={} to={}", type, id, from.to_string(),
                           conversion.to.to_string());
  return {};
}

void MasterCore::send_checkpointed_resources(const Agent& agent) {
  send_agent(agent.id, checkpoint_event(dynamically_reserved_part(agent.total)));
}

void MasterCore::keep_known_reservations(Agent& agent, const Resources& known_total) {
  const Resources known = dynamically_reserved_part(known_total);
  if (known == dynamically_reserved_part(agent.total)) return;
  // The agent's declared resources, with the master's reservations applied to them.
  const Resources declared = without_dynamic_reservations(agent.total);
  const Resources underneath = without_dynamic_reservations(known);
  if (!declared.contains(underneath)) {
    // The agent no longer has what the reservations were made on: take its word.
    log::get("master")->warn("agent re-registered without resources its reservations need agent={} reserved={} "
                             "resources={}",
                             agent.id, known.to_string(), agent.total.to_string());
    return;
  }
  agent.total = declared - underneath + known;
  log::get("master")->info("agent re-registered with stale reservations; sending the master's agent={} reserved={}",
                           agent.id, known.to_string());
  send_checkpointed_resources(agent);
}

}  // namespace dcos::master
