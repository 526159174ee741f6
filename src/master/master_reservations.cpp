// MasterCore's dynamic reservations: RESERVE and UNRESERVE operations inside ACCEPT.
#include "dcos/common/log.hpp"
#include "dcos/master/master_core.hpp"
#include "dcos/master/reservation_operations.hpp"

namespace dcos::master {

void MasterCore::apply_reservation(Framework& framework, Agent& agent, const std::string& type,
                                   const Resources& resources, const std::string& offer_role, Resources& remaining) {
  const bool reserve = type == "RESERVE";
  auto conversion = reserve ? reserve_conversion(resources, framework.info, offer_role, remaining)
                            : unreserve_conversion(resources, framework.info, offer_role, remaining);
  if (!conversion) {
    // Mesos drops an invalid operation and goes on with the rest of the ACCEPT.
    log::get("master")->warn("dropping {} operation framework={} agent={}: {}", type, framework.id, agent.id,
                             conversion.error().message);
    count(reserve ? "master/messages_invalid_reserve" : "master/messages_invalid_unreserve");
    return;
  }
  // The accepted offers were removed but their resources are still the framework's allocation.
  auto updated = allocator().update_allocation(framework.id, agent.id, conversion->from, conversion->to);
  DCOS_ASSERT(updated);  // `from` is in `remaining`, which the framework holds on the agent.
  remaining -= conversion->from;
  remaining += conversion->to;
  agent.total -= conversion->from.unallocated();
  agent.total += conversion->to.unallocated();
  count(reserve ? "master/operations/reserve/finished" : "master/operations/unreserve/finished");
  log::get("master")->info("{} applied framework={} agent={} resources={}", type, framework.id, agent.id,
                           conversion->to.to_string());
}

}  // namespace dcos::master
