#include "dcos/master/master_core.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/master/offer_filters.hpp"

namespace dcos::master {

using v1::TaskState;

namespace {

nlohmann::json event(const char* type) { return nlohmann::json{{"type", type}}; }

std::string framework_id_text(std::uint64_t n, const std::string& master_id) {
  return fmt::format("{}-{:04d}", master_id, n);
}

}  // namespace

MasterCore::MasterCore(std::string master_id, nlohmann::json master_info, MasterOptions options,
                       std::unique_ptr<Allocator> allocator)
    : master_id_(std::move(master_id)),
      master_info_(std::move(master_info)),
      options_(options),
      allocator_(std::move(allocator)) {}

Framework* MasterCore::find_framework(const FrameworkId& id) {
  auto it = frameworks_.find(id);
  return it == frameworks_.end() ? nullptr : &it->second;
}

void MasterCore::send(const FrameworkId& id, nlohmann::json e) {
  effects_.push_back({Effect::Kind::framework_event, id.value(), std::move(e), {}});
}

void MasterCore::send_agent(const AgentId& id, nlohmann::json e) {
  effects_.push_back({Effect::Kind::agent_event, id.value(), std::move(e), {}});
}

void MasterCore::send_update(Framework& framework, const v1::TaskStatus& status) {
  if (!framework.connected) return;  // Reliable updates are retried by the agent.
  nlohmann::json e = event("UPDATE");
  e["update"] = {{"status", v1::to_json(status)}};
  send(framework.id, std::move(e));
}

// ---------------------------------------------------------------------------------------------
// Subscription

SubscribeOutcome MasterCore::subscribe(v1::FrameworkInfo info, std::optional<FrameworkId> framework_id,
                                       std::vector<std::string> suppressed_roles, std::string stream_id,
                                       TimePoint now) {
  SubscribeOutcome outcome;
  if (auto problem = v1::framework_info_problem(info); !problem.empty()) {
    outcome.error = problem;
    return outcome;
  }
  auto options = framework_options(info);
  if (!options) {
    outcome.error = options.error().message;
    return outcome;
  }
  if (info.user == "root" && !options_.root_submissions) {
    outcome.error = "User 'root' is not allowed to run frameworks without --root_submissions set";
    return outcome;
  }
  const auto roles = info.effective_roles();
  for (const auto& role : suppressed_roles) {
    if (std::find(roles.begin(), roles.end(), role) == roles.end()) {
      outcome.error = fmt::format("Suppressed role '{}' is not one of the framework's roles", role);
      return outcome;
    }
  }
  if (framework_id) {
    const bool completed = std::any_of(completed_frameworks_.begin(), completed_frameworks_.end(),
                                       [&](const Framework& f) { return f.id == *framework_id; });
    if (completed) {
      outcome.error = "Framework has been removed";
      return outcome;
    }
  }

  Framework* framework = framework_id ? find_framework(*framework_id) : nullptr;
  if (framework) {
    if (framework->info.principal != info.principal) {
      outcome.error = "Changing framework's principal is not allowed";
      return outcome;
    }
    // Failover or reconnection: the old stream (if any) learns it lost, the new one wins.
    if (framework->connected) {
      nlohmann::json e = event("ERROR");
      e["error"] = {{"message", "Framework failed over"}};
      send(framework->id, std::move(e));
      effects_.push_back({Effect::Kind::close_framework, framework->id.value(), {}, {}});
    }
    // `user` and `checkpoint` cannot change on re-subscription; other fields may.
    info.user = framework->info.user;
    info.checkpoint = framework->info.checkpoint;
    info.id = framework->id;
    framework->info = std::move(info);
    framework->reregistered_time = now;
    framework->unregistered_time.reset();
    // Outstanding offers are rescinded; fresh ones follow from the next allocation.
    for (const OfferId& offer : std::vector<OfferId>(framework->offers.begin(), framework->offers.end())) {
      rescind_offer(offer, /*recover=*/true);
    }
  } else {
    if (framework_id) {
      // A framework id the master does not know (e.g. after a master failover): accept it, as
      // Mesos does, so the scheduler keeps its identity.
      info.id = *framework_id;
    } else {
      info.id = FrameworkId(framework_id_text(next_framework_++, master_id_));
    }
    Framework f;
    f.id = *info.id;
    f.info = std::move(info);
    f.registered_time = now;
    framework = &frameworks_.emplace(f.id, std::move(f)).first->second;
    allocator().add_framework(framework->id, framework->info.effective_roles(), true);
    log::get("master")->info("framework registered framework={} name={}", framework->id, framework->info.name);
  }
  // Roles (which may change on re-subscription) and `offer_filters`.
  allocator().update_framework(framework->id, framework->info.effective_roles(), std::move(*options));
  framework->connected = true;
  framework->active = true;
  framework->stream_id = stream_id;
  framework->last_heartbeat = now;
  effects_.push_back({Effect::Kind::open_framework, framework->id.value(), {}, std::move(stream_id)});
  allocator().activate_framework(framework->id);
  if (!suppressed_roles.empty()) allocator().suppress(framework->id, suppressed_roles);

  nlohmann::json e = event("SUBSCRIBED");
  e["subscribed"] = {{"framework_id", framework->id},
                     {"heartbeat_interval_seconds", to_seconds(options_.heartbeat_interval)},
                     {"master_info", master_info_}};
  send(framework->id, std::move(e));
  send(framework->id, event("HEARTBEAT"));
  outcome.framework_id = framework->id;
  outcome.stream_id = framework->stream_id;
  return outcome;
}

void MasterCore::scheduler_disconnected(const FrameworkId& id, const std::string& stream_id, TimePoint now) {
  Framework* framework = find_framework(id);
  if (!framework || framework->stream_id != stream_id || !framework->connected) return;
  framework->connected = false;
  framework->active = false;
  framework->unregistered_time = now;
  allocator().deactivate_framework(id);
  for (const OfferId& offer : std::vector<OfferId>(framework->offers.begin(), framework->offers.end())) {
    rescind_offer(offer, /*recover=*/true);
  }
  log::get("master")->info("framework disconnected framework={} failover_timeout={}s", id,
                           framework->info.failover_timeout);
  if (framework->info.failover_timeout <= 0) remove_framework(*framework, now);
}

CallOutcome MasterCore::check_caller(const std::optional<FrameworkId>& id, const std::string& stream_id) const {
  if (!id) return CallOutcome::bad("Expecting 'framework_id' to be present");
  auto it = frameworks_.find(*id);
  if (it == frameworks_.end()) return CallOutcome::bad("Framework cannot be found");
  if (!it->second.connected) return CallOutcome::forbidden("Framework is not subscribed");
  if (stream_id.empty()) return CallOutcome::bad("All non-subscribe calls should include the 'Mesos-Stream-Id' header");
  if (it->second.stream_id != stream_id) {
    return CallOutcome::bad(fmt::format("The stream ID '{}' included in this request didn't match the stream ID "
                                        "currently associated with framework ID {}",
                                        stream_id, id->value()));
  }
  return CallOutcome::ok();
}

CallOutcome MasterCore::teardown(const FrameworkId& id, TimePoint now) {
  Framework* framework = find_framework(id);
  if (!framework) return CallOutcome::bad("Framework cannot be found");
  effects_.push_back({Effect::Kind::close_framework, id.value(), {}, {}});
  remove_framework(*framework, now);
  return CallOutcome::ok();
}

void MasterCore::remove_framework(Framework& framework, TimePoint now) {
  const FrameworkId id = framework.id;
  log::get("master")->info("framework removed framework={}", id);
  for (const OfferId& offer : std::vector<OfferId>(framework.offers.begin(), framework.offers.end())) {
    rescind_offer(offer, /*recover=*/false);
  }
  // Agents still resending the framework's operation statuses drop them on SHUTDOWN_FRAMEWORK.
  std::set<AgentId> agents_told = forget_operations(framework);
  for (auto& [task_id, task] : framework.tasks) {
    auto agent = agents_.find(task.info.agent_id);
    if (agent != agents_.end()) {
      agent->second.tasks.erase({id, task_id});
      agents_told.insert(agent->first);
    }
    if (!is_terminal(task.state)) {
      task.state = TaskState::killed;
      task.statuses.push_back(master_status(task, TaskState::killed, "REASON_FRAMEWORK_REMOVED",
                                            "Framework removed", now));
    }
  }
  for (const AgentId& agent : agents_told) {
    if (agent_connected(agent)) {
      nlohmann::json e = event("SHUTDOWN_FRAMEWORK");
      e["shutdown_framework"] = {{"framework_id", id}};
      send_agent(agent, std::move(e));
    }
  }
  allocator().remove_framework(id);
  framework.connected = false;
  framework.active = false;
  framework.unregistered_time = now;
  for (auto& [task_id, task] : framework.tasks) framework.completed_tasks.push_back(std::move(task));
  framework.tasks.clear();
  completed_frameworks_.push_back(std::move(framework));
  while (completed_frameworks_.size() > static_cast<size_t>(options_.max_completed_frameworks)) {
    completed_frameworks_.pop_front();
  }
  frameworks_.erase(id);
}

// ---------------------------------------------------------------------------------------------
// Offers

void MasterCore::allocate(TimePoint now) {
  std::map<FrameworkId, nlohmann::json> batches;
  allocation_pending_ = false;
  allocator_->allocate(now, grants_);
  for (Grant& grant : grants_) {
    Framework* framework = find_framework(grant.framework);
    auto agent = agents_.find(grant.agent);
    if (!framework || !framework->connected || agent == agents_.end() || !agent->second.connected) {
      allocator_->recover(grant.framework, grant.agent, grant.resources, std::nullopt, now);
      continue;
    }
    Offer offer{OfferId(fmt::format("{}-O{}", master_id_, next_offer_++)), grant.framework, grant.agent, grant.role,
                std::move(grant.resources), now};
    framework->offers.insert(offer.id);
    agent->second.offers.insert(offer.id);
    nlohmann::json j = {{"id", offer.id},
                        {"framework_id", offer.framework_id},
                        {"agent_id", offer.agent_id},
                        {"hostname", agent->second.hostname},
                        {"url",
                         {{"scheme", "http"},
                          {"address", {{"hostname", agent->second.hostname}, {"ip", agent->second.hostname},
                                       {"port", agent->second.port}}},
                          {"path", "/slave(1)"}}}};
    const bool multi_role = framework->info.has_capability("MULTI_ROLE");
    j["resources"] = to_json(multi_role ? offer.resources : offer.resources.unallocated());
    if (!agent->second.attributes.empty()) j["attributes"] = agent->second.attributes_json;
    if (multi_role) j["allocation_info"] = {{"role", offer.role}};
    batches[offer.framework_id].push_back(std::move(j));
    offers_.emplace(offer.id, std::move(offer));
  }
  grants_.clear();  // Their resources now live in the offers; the storage stays for the next cycle.
  for (auto& [framework, offers] : batches) {
    nlohmann::json e = event("OFFERS");
    e["offers"] = {{"offers", std::move(offers)}};
    send(framework, std::move(e));
    count("master/outstanding_offers_sent", 1);
  }
}

void MasterCore::remove_offer(const OfferId& id) {
  auto it = offers_.find(id);
  if (it == offers_.end()) return;
  if (Framework* framework = find_framework(it->second.framework_id)) framework->offers.erase(id);
  if (auto agent = agents_.find(it->second.agent_id); agent != agents_.end()) agent->second.offers.erase(id);
  offers_.erase(it);
}

void MasterCore::rescind_offer(const OfferId& id, bool recover) {
  auto it = offers_.find(id);
  if (it == offers_.end()) return;
  const Offer offer = it->second;
  remove_offer(id);
  if (recover) allocator().recover(offer.framework_id, offer.agent_id, offer.resources, std::nullopt, TimePoint{});
  Framework* framework = find_framework(offer.framework_id);
  if (framework && framework->connected) {
    nlohmann::json e = event("RESCIND");
    e["rescind"] = {{"offer_id", offer.id}};
    send(offer.framework_id, std::move(e));
  }
}

v1::TaskStatus MasterCore::master_status(const Task& task, TaskState state, std::string reason, std::string message,
                                         TimePoint now) const {
  v1::TaskStatus status;
  status.task_id = task.info.task_id;
  status.state = state;
  status.source = "SOURCE_MASTER";
  status.reason = std::move(reason);
  status.message = std::move(message);
  status.agent_id = task.info.agent_id;
  status.executor_id = task.executor_id;
  status.timestamp = to_epoch_seconds(now);
  return status;
}

void MasterCore::launch_failed(Framework& framework, const v1::TaskInfo& info, TaskState state,
                               const std::string& reason, const std::string& message, TimePoint now) {
  Task task;
  task.info = info;
  task.framework_id = framework.id;
  task.executor_id = ExecutorId(info.task_id.value());
  send_update(framework, master_status(task, state, reason, message, now));
  count(fmt::format("master/tasks_{}", state == TaskState::error ? "error" : state == TaskState::dropped ? "dropped" : "lost"));
}

CallOutcome MasterCore::accept(const FrameworkId& id, const v1::Fields& accept, TimePoint now) {
  Framework& framework = *find_framework(id);
  std::vector<OfferId> offer_ids;
  for (const auto& o : accept.array("offer_ids")) {
    v1::Fields f(o, "accept.offer_ids.");
    auto value = f.required("value", f.string("value"));
    f.done();
    offer_ids.emplace_back(value);
  }
  std::optional<double> refuse_seconds;
  if (auto filters = accept.object("filters")) refuse_seconds = filters->number("refuse_seconds");

  // Decode operations up front: a malformed call is refused whole with 400.
  struct Operation {
    std::string type;
    std::vector<v1::TaskInfo> tasks;
    nlohmann::json executor;  // LAUNCH_GROUP: the group's (default) executor.
    Resources resources;  // RESERVE, UNRESERVE.
    std::optional<std::string> id;  // Asks for operation feedback (master_operations.cpp).
    nlohmann::json info;            // As given.
  };
  std::vector<Operation> operations;
  for (const auto& o : accept.array("operations")) {
    v1::Fields f(o, "accept.operations.");
    Operation op;
    op.type = f.required("type", f.string("type"));
    op.id = f.id("id");
    op.info = o;
    if (op.type == "LAUNCH") {
      if (auto launch = f.object("launch")) {
        for (const auto& t : launch->array("task_infos")) op.tasks.push_back(v1::decode_task_info(v1::Fields(t, "accept.operations.launch.task_infos.")));
      }
    } else if (op.type == "LAUNCH_GROUP") {
      if (auto launch = f.object("launch_group")) {
        if (const auto* executor = launch->get("executor")) op.executor = *executor;
        if (auto group = launch->object("task_group")) {
          for (const auto& t : group->array("tasks")) op.tasks.push_back(v1::decode_task_info(v1::Fields(t, "accept.operations.launch_group.task_group.tasks.")));
        }
      }
    } else if (op.type == "RESERVE" || op.type == "UNRESERVE") {
      const char* key = op.type == "RESERVE" ? "reserve" : "unreserve";
      auto sub = f.object(key);
      const nlohmann::json* resources = sub ? sub->get("resources") : nullptr;
      if (!resources) throw v1::DecodeError(fmt::format("Missing required fields: accept.operations.{}.resources", key));
      auto decoded = resources_from_json(*resources);
      if (!decoded) throw v1::DecodeError(fmt::format("'accept.operations.{}.resources': {}", key, decoded.error().message));
      op.resources = std::move(*decoded);
    }
    f.done();
    operations.push_back(std::move(op));
  }
  count("master/messages_accept_offers");

  // Offer validation: each offer exists, belongs to this framework, is used once, and all are
  // on one agent.
  std::string offer_problem;
  std::set<OfferId> seen;
  std::optional<AgentId> agent_id;
  Resources offered;
  std::string role;
  if (offer_ids.empty()) offer_problem = "No offers specified";
  for (const OfferId& offer_id : offer_ids) {
    auto it = offers_.find(offer_id);
    if (!seen.insert(offer_id).second) {
      offer_problem = fmt::format("Offer {} is used more than once", offer_id);
    } else if (it == offers_.end()) {
      offer_problem = fmt::format("Offer {} is no longer valid", offer_id);
    } else if (it->second.framework_id != id) {
      offer_problem = fmt::format("Offer {} is not for framework {}", offer_id, id);
    } else if (agent_id && *agent_id != it->second.agent_id) {
      offer_problem = "Aggregated offers must belong to one single agent";
    } else {
      agent_id = it->second.agent_id;
      offered += it->second.resources;
      role = it->second.role;
    }
  }
  if (!offer_problem.empty()) {
    // Valid offers named in a bad call are returned to the pool.
    for (const OfferId& offer_id : seen) {
      auto it = offers_.find(offer_id);
      if (it != offers_.end() && it->second.framework_id == id) {
        const Offer offer = it->second;
        remove_offer(offer_id);
        allocator().recover(id, offer.agent_id, offer.resources, std::nullopt, now);
      }
    }
    const bool partition_aware = framework.partition_aware();
    for (const Operation& op : operations) {
      if (op.id && op.tasks.empty()) drop_operation(framework, *op.id, agent_id, "OPERATION_ERROR", offer_problem);
      for (const v1::TaskInfo& task : op.tasks) {
        launch_failed(framework, task, partition_aware ? TaskState::dropped : TaskState::lost, "REASON_INVALID_OFFERS",
                      offer_problem, now);
      }
    }
    return CallOutcome::ok();
  }
  for (const OfferId& offer_id : offer_ids) remove_offer(offer_id);
  Agent& agent = agents_.at(*agent_id);
  const bool multi_role = framework.info.has_capability("MULTI_ROLE");

  Resources remaining = offered;
  std::set<TaskId> launched_here;
  for (const Operation& op : operations) {
    if (op.type == "RESERVE" || op.type == "UNRESERVE") {
      // Applied in order: later operations (LAUNCH) see the converted resources.
      apply_reservation(framework, agent, op.type, op.resources, role, remaining, op.id, op.info);
      continue;
    }
    if (op.type != "LAUNCH" && op.type != "LAUNCH_GROUP") {
      log::get("master")->warn("operation not supported framework={} type={}", id, op.type);
      if (op.id) {
        drop_operation(framework, *op.id, agent.id, "OPERATION_UNSUPPORTED",
                       fmt::format("{} operations are not supported", op.type));
      }
      continue;
    }
    if (op.id) {
      // Tasks report through their status updates; Mesos refuses an id on launches.
      drop_operation(framework, *op.id, agent.id, "OPERATION_ERROR",
                     fmt::format("The 'id' field is not supported for {} operations", op.type));
      continue;
    }
    const bool group = op.type == "LAUNCH_GROUP";
    // Non-MULTI_ROLE frameworks send resources without allocation_info; tag them.
    auto wanted_by = [&](const v1::TaskInfo& info) {
      return multi_role ? info.resources : info.resources.unallocated().allocated_to(role);
    };
    // Why `info` may not launch with `left` still offered and `taken` ids used; empty if it may.
    auto problem_of = [&](const v1::TaskInfo& info, const Resources& left, const std::set<TaskId>& taken) {
      std::string problem;
      if (auto p = id_problem(info.task_id.value()); !p.empty()) problem = "Task ID is invalid: " + p;
      else if (framework.tasks.contains(info.task_id) || taken.contains(info.task_id))
        problem = fmt::format("Task has duplicate ID: {}", info.task_id);
      else if (info.agent_id != *agent_id)
        problem = fmt::format("Task uses agent {} but the offer is on agent {}", info.agent_id, *agent_id);
      else if (info.command.has_value() == !info.executor.is_null())
        problem = "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present";
      else if (group && !info.executor.is_null())
        problem = "Task in a task group must not have an ExecutorInfo (the group's executor runs it)";
      else if (info.command && !info.command->value)
        problem = "Task's CommandInfo must have a 'value'";
      else if (info.resources.empty())
        problem = "Task uses no resources";
      else if (!left.contains(wanted_by(info)))
        problem = fmt::format("Task uses more resources {} than available {}", info.resources.to_string(),
                              left.unallocated().to_string());
      return problem;
    };
    if (group) {
      // A task group launches whole or not at all, as Mesos validates it as one.
      std::string problem;
      if (!op.executor.is_object() || op.executor.value("type", "") != "DEFAULT") {
        problem = "A task group needs an ExecutorInfo of type DEFAULT";
      }
      Resources left = remaining;
      std::set<TaskId> taken = launched_here;
      for (const v1::TaskInfo& info : op.tasks) {
        if (!problem.empty()) break;
        problem = problem_of(info, left, taken);
        left -= wanted_by(info);
        taken.insert(info.task_id);
      }
      if (!problem.empty()) {
        for (const v1::TaskInfo& info : op.tasks) launch_failed(framework, info, TaskState::error, "REASON_TASK_GROUP_INVALID", problem, now);
        continue;
      }
    }
    nlohmann::json group_tasks = nlohmann::json::array();
    for (const v1::TaskInfo& info : op.tasks) {
      const std::string problem = problem_of(info, remaining, launched_here);
      if (!problem.empty()) {
        launch_failed(framework, info, TaskState::error, "REASON_TASK_INVALID", problem, now);
        continue;
      }
      Task task;
      task.info = info;
      task.info.resources = multi_role ? info.resources : info.resources.unallocated().allocated_to(role);
      task.framework_id = id;
      const nlohmann::json& executor = group ? op.executor : info.executor;
      task.executor_id = executor.is_null() ? ExecutorId(info.task_id.value())
                                            : ExecutorId(executor.value("executor_id", nlohmann::json::object()).value("value", ""));
      task.state = TaskState::staging;
      remaining -= task.info.resources;
      launched_here.insert(info.task_id);
      agent.tasks.insert({id, info.task_id});
      if (group) {
        group_tasks.push_back(v1::to_json(task.info));
      } else {
        nlohmann::json e = event("RUN_TASK");
        e["run_task"] = {{"framework_id", id}, {"framework_info", v1::to_json(framework.info)}, {"task", v1::to_json(task.info)}};
        send_agent(agent.id, std::move(e));
      }
      framework.tasks.emplace(info.task_id, std::move(task));
      count("master/tasks_staging");
      count("master/messages_launch_tasks");
    }
    if (!group_tasks.empty()) {
      // One event for the whole group: the agent hands it to one default executor
      // (docs/design/agent-protocol.md).
      nlohmann::json e = event("RUN_TASK_GROUP");
      e["run_task_group"] = {{"framework_id", id}, {"framework_info", v1::to_json(framework.info)},
                             {"executor", op.executor}, {"task_group", {{"tasks", std::move(group_tasks)}}}};
      send_agent(agent.id, std::move(e));
    }
  }
  const Duration refuse = from_seconds(refuse_seconds.value_or(5.0) < 0 ? 5.0 : std::min(refuse_seconds.value_or(5.0), 365.0 * 86400));
  if (!remaining.empty()) allocator().recover(id, *agent_id, remaining, refuse, now);
  return CallOutcome::ok();
}

CallOutcome MasterCore::decline(const FrameworkId& id, const std::vector<OfferId>& offer_ids,
                                std::optional<double> refuse_seconds, TimePoint now) {
  count("master/messages_decline_offers");
  double seconds = refuse_seconds.value_or(5.0);
  if (seconds < 0) seconds = 5.0;
  seconds = std::min(seconds, 365.0 * 86400);
  for (const OfferId& offer_id : offer_ids) {
    auto it = offers_.find(offer_id);
    if (it == offers_.end() || it->second.framework_id != id) continue;
    const Offer offer = it->second;
    remove_offer(offer_id);
    allocator().recover(id, offer.agent_id, offer.resources, from_seconds(seconds), now);
  }
  return CallOutcome::ok();
}

CallOutcome MasterCore::update_framework(const FrameworkId& id, v1::FrameworkInfo info,
                                         std::vector<std::string> suppressed_roles) {
  Framework& framework = *find_framework(id);
  if (!info.id || *info.id != id) return CallOutcome::bad("'framework_info.id' must equal 'framework_id'");
  if (auto problem = v1::framework_info_problem(info); !problem.empty()) return CallOutcome::bad(problem);
  if (info.user != framework.info.user) return CallOutcome::bad("Updating 'FrameworkInfo.user' is unsupported");
  if (info.checkpoint != framework.info.checkpoint) return CallOutcome::bad("Updating 'FrameworkInfo.checkpoint' is unsupported");
  if (info.principal != framework.info.principal) return CallOutcome::bad("Changing framework's principal is not allowed");
  auto options = framework_options(info);
  if (!options) return CallOutcome::bad(options.error().message);
  const auto roles = info.effective_roles();
  for (const auto& role : suppressed_roles) {
    if (std::find(roles.begin(), roles.end(), role) == roles.end()) {
      return CallOutcome::bad(fmt::format("Suppressed role '{}' is not one of the framework's roles", role));
    }
  }
  if (roles != framework.info.effective_roles()) {
    // Offers made to roles the framework leaves are void; tasks keep their resources, which
    // stay allocated to the old role until they finish.
    for (const OfferId& offer : std::vector<OfferId>(framework.offers.begin(), framework.offers.end())) {
      if (std::find(roles.begin(), roles.end(), offers_.at(offer).role) == roles.end()) rescind_offer(offer, true);
    }
    log::get("master")->info("framework roles updated framework={} roles={}", id, fmt::join(roles, ","));
  }
  allocator().update_framework(id, roles, std::move(*options));
  framework.info = std::move(info);
  allocator().revive(id, {});
  if (!suppressed_roles.empty()) allocator().suppress(id, suppressed_roles);
  return CallOutcome::ok();
}

CallOutcome MasterCore::revive(const FrameworkId& id, const std::vector<std::string>& roles) {
  count("master/messages_revive_offers");
  allocator().revive(id, roles);
  return CallOutcome::ok();
}

CallOutcome MasterCore::request(const FrameworkId& id, std::vector<ResourceRequest> requests) {
  count("master/messages_resource_request");
  allocator().request(id, std::move(requests));
  return CallOutcome::ok();
}

CallOutcome MasterCore::suppress(const FrameworkId& id, const std::vector<std::string>& roles) {
  count("master/messages_suppress_offers");
  allocator().suppress(id, roles);
  return CallOutcome::ok();
}

// ---------------------------------------------------------------------------------------------
// Tasks

CallOutcome MasterCore::kill(const FrameworkId& id, const TaskId& task_id, const std::optional<AgentId>& agent_id,
                             std::optional<Duration> grace, TimePoint now) {
  count("master/messages_kill_task");
  Framework& framework = *find_framework(id);
  auto it = framework.tasks.find(task_id);
  if (it == framework.tasks.end()) {
    // Unknown task: answer as explicit reconciliation would.
    return reconcile(id, {{task_id, agent_id}}, now);
  }
  Task& task = it->second;
  if (!agent_connected(task.info.agent_id)) return CallOutcome::ok();  // Retried by the scheduler.
  nlohmann::json e = event("KILL_TASK");
  e["kill_task"] = {{"framework_id", id}, {"task_id", task_id}};
  if (grace) e["kill_task"]["grace_period_ns"] = grace->count();
  send_agent(task.info.agent_id, std::move(e));
  return CallOutcome::ok();
}

CallOutcome MasterCore::shutdown_executor(const FrameworkId& id, const ExecutorId& executor, const AgentId& agent) {
  if (!agent_connected(agent)) return CallOutcome::ok();
  nlohmann::json e = event("SHUTDOWN_EXECUTOR");
  e["shutdown_executor"] = {{"framework_id", id}, {"executor_id", executor}};
  send_agent(agent, std::move(e));
  return CallOutcome::ok();
}

CallOutcome MasterCore::acknowledge(const FrameworkId& id, const AgentId& agent_id, const TaskId& task_id,
                                    const std::string& uuid) {
  Framework& framework = *find_framework(id);
  auto agent = agents_.find(agent_id);
  if (agent == agents_.end()) {
    count("master/invalid_status_update_acknowledgements");
    return CallOutcome::ok();
  }
  count("master/valid_status_update_acknowledgements");
  if (agent->second.connected) {
    nlohmann::json e = event("ACKNOWLEDGE");
    e["acknowledge"] = {{"framework_id", id}, {"task_id", task_id}, {"uuid", base64_encode(uuid)}};
    send_agent(agent_id, std::move(e));
  }
  auto it = framework.tasks.find(task_id);
  if (it != framework.tasks.end() && it->second.status_update_uuid == uuid && it->second.status_update_state &&
      is_terminal(*it->second.status_update_state)) {
    complete_task(framework, task_id);
  }
  return CallOutcome::ok();
}

void MasterCore::release_task_resources(Task& task) {
  if (task.resources_released) return;
  task.resources_released = true;
  allocator().recover(task.framework_id, task.info.agent_id, task.info.resources, std::nullopt, TimePoint{});
}

void MasterCore::complete_task(Framework& framework, const TaskId& id) {
  auto it = framework.tasks.find(id);
  if (it == framework.tasks.end()) return;
  release_task_resources(it->second);
  if (auto agent = agents_.find(it->second.info.agent_id); agent != agents_.end()) {
    agent->second.tasks.erase({framework.id, id});
  }
  framework.completed_tasks.push_back(std::move(it->second));
  while (framework.completed_tasks.size() > static_cast<size_t>(options_.max_completed_tasks_per_framework)) {
    framework.completed_tasks.pop_front();
  }
  framework.tasks.erase(it);
}

CallOutcome MasterCore::reconcile(const FrameworkId& id,
                                  const std::vector<std::pair<TaskId, std::optional<AgentId>>>& tasks, TimePoint now) {
  count("master/messages_reconcile_tasks");
  Framework& framework = *find_framework(id);
  auto reply = [&](const Task& task, TaskState state, std::optional<double> unreachable_time) {
    v1::TaskStatus status = master_status(task, state, "REASON_RECONCILIATION", "Reconciliation: Latest task state", now);
    status.unreachable_time_seconds = unreachable_time;
    send_update(framework, status);
  };
  if (tasks.empty()) {
    for (const auto& [task_id, task] : framework.tasks) {
      reply(task, task.status_update_state.value_or(task.state), task.unreachable_time);
    }
    return CallOutcome::ok();
  }
  const bool partition_aware = framework.partition_aware();
  for (const auto& [task_id, agent_id] : tasks) {
    auto it = framework.tasks.find(task_id);
    if (it != framework.tasks.end()) {
      reply(it->second, it->second.status_update_state.value_or(it->second.state), it->second.unreachable_time);
      continue;
    }
    Task unknown;
    unknown.info.task_id = task_id;
    unknown.executor_id = ExecutorId(task_id.value());
    if (agent_id) unknown.info.agent_id = *agent_id;
    TaskState state;
    std::optional<double> unreachable_time;
    if (agent_id && agents_.contains(*agent_id)) {
      state = partition_aware ? TaskState::gone : TaskState::lost;
    } else if (agent_id && unreachable_.contains(*agent_id)) {
      state = partition_aware ? TaskState::unreachable : TaskState::lost;
      unreachable_time = to_epoch_seconds(unreachable_.at(*agent_id));
    } else {
      state = partition_aware ? TaskState::unknown : TaskState::lost;
    }
    v1::TaskStatus status = master_status(unknown, state, "REASON_RECONCILIATION", "Reconciliation: Task is unknown", now);
    if (!agent_id) status.agent_id.reset();
    status.executor_id.reset();
    status.unreachable_time_seconds = unreachable_time;
    send_update(framework, status);
  }
  return CallOutcome::ok();
}

CallOutcome MasterCore::message(const FrameworkId& id, const AgentId& agent, const ExecutorId& executor,
                                const std::string& data) {
  count("master/messages_framework_to_executor");
  if (!agent_connected(agent)) {
    count("master/dropped_messages");
    return CallOutcome::ok();
  }
  nlohmann::json e = event("FRAMEWORK_MESSAGE");
  e["framework_message"] = {{"framework_id", id}, {"executor_id", executor}, {"data", base64_encode(data)}};
  send_agent(agent, std::move(e));
  return CallOutcome::ok();
}

// ---------------------------------------------------------------------------------------------
// Agents

bool MasterCore::agent_connected(const AgentId& id) const {
  auto it = agents_.find(id);
  return it != agents_.end() && it->second.connected;
}

AgentId MasterCore::register_agent(AgentRegistration registration, std::string stream, TimePoint now) {
  const auto log = log::get("master");
  AgentId id;
  const bool known = registration.id && !registration.new_agent &&
                     (agents_.contains(*registration.id) || unreachable_.contains(*registration.id) ||
                      recovered_agents_.contains(*registration.id));
  if (known) {
    id = *registration.id;
  } else if (registration.id && !registration.id->empty()) {
    // An agent from before a master failover: keep its id.
    id = *registration.id;
  } else {
    id = AgentId(fmt::format("{}-S{}", master_id_, next_agent_++));
  }
  const bool was_unreachable = unreachable_.erase(id) > 0;
  recovered_agents_.erase(id);
  marking_unreachable_.erase(id);
  auto [it, inserted] = agents_.try_emplace(id);
  Agent& agent = it->second;
  if (inserted) {
    agent.id = id;
    agent.registered_time = now;
    count(known || (registration.id && !registration.new_agent) ? "master/slave_reregistrations"
                                                                 : "master/slave_registrations");
  } else {
    agent.reregistered_time = now;
    count("master/slave_reregistrations");
    if (agent.connected) effects_.push_back({Effect::Kind::close_agent, id.value(), {}, {}});
    // Offers on the old connection are void.
    for (const OfferId& offer : std::vector<OfferId>(agent.offers.begin(), agent.offers.end())) rescind_offer(offer, true);
  }
  agent.hostname = registration.hostname;
  agent.port = registration.port;
  const Resources known_total = std::exchange(agent.total, registration.resources);
  agent.attributes = registration.attributes;
  agent.attributes_json = to_json(registration.attributes);
  agent.version = registration.version;
  agent.connected = true;
  agent.last_seen = now;
  agent.last_ping = now;

  effects_.push_back({Effect::Kind::open_agent, id.value(), {}, std::move(stream)});
  nlohmann::json registered = event("REGISTERED");
  registered["registered"] = {{"agent_id", id}, {"master_info", master_info_}};
  send_agent(id, std::move(registered));
  if (!inserted) keep_known_reservations(agent, known_total);

  // Reconcile what the agent reports with what the master knows.
  std::vector<std::pair<FrameworkId, Resources>> used;
  std::set<std::pair<FrameworkId, TaskId>> reported;
  for (Task& reported_task : registration.tasks) {
    const auto key = std::make_pair(reported_task.framework_id, reported_task.info.task_id);
    Framework* framework = find_framework(reported_task.framework_id);
    if (!framework) {
      auto info = registration.frameworks.find(reported_task.framework_id);
      const bool completed = std::any_of(completed_frameworks_.begin(), completed_frameworks_.end(),
                                         [&](const Framework& f) { return f.id == reported_task.framework_id; });
      if (completed || info == registration.frameworks.end()) {
        nlohmann::json e = event("SHUTDOWN_FRAMEWORK");
        e["shutdown_framework"] = {{"framework_id", reported_task.framework_id}};
        send_agent(id, std::move(e));
        continue;
      }
      // A framework known only to the agent (master failover): recover it, disconnected.
      Framework f;
      f.id = reported_task.framework_id;
      f.info = info->second;
      f.info.id = f.id;
      f.registered_time = now;
      f.unregistered_time = now;
      framework = &frameworks_.emplace(f.id, std::move(f)).first->second;
      allocator().add_framework(framework->id, framework->info.effective_roles(), false);
    }
    if (was_unreachable && !framework->partition_aware()) {
      // Non-partition-aware frameworks were told TASK_LOST: such tasks must not come back.
      nlohmann::json e = event("KILL_TASK");
      e["kill_task"] = {{"framework_id", framework->id}, {"task_id", reported_task.info.task_id}};
      send_agent(id, std::move(e));
      continue;
    }
    reported.insert(key);
    auto existing = framework->tasks.find(reported_task.info.task_id);
    if (existing == framework->tasks.end()) {
      reported_task.resources_released = false;
      existing = framework->tasks.emplace(reported_task.info.task_id, std::move(reported_task)).first;
    } else {
      existing->second.state = reported_task.state;
      existing->second.unreachable_time.reset();
      existing->second.resources_released = false;
    }
    if (!is_terminal(existing->second.state)) used.emplace_back(framework->id, existing->second.info.resources);
    else existing->second.resources_released = true;
    agent.tasks.insert(key);
  }
  // Tasks the master thought were here but the agent does not report are gone.
  for (const auto& key : std::set<std::pair<FrameworkId, TaskId>>(agent.tasks)) {
    if (reported.contains(key)) continue;
    agent.tasks.erase(key);
    Framework* framework = find_framework(key.first);
    if (!framework) continue;
    auto task = framework->tasks.find(key.second);
    if (task == framework->tasks.end()) continue;
    const TaskState state = framework->partition_aware() ? TaskState::gone : TaskState::lost;
    v1::TaskStatus status = master_status(task->second, state, "REASON_SLAVE_REMOVED", "Task is unknown to the agent", now);
    task->second.state = state;
    task->second.status_update_state = state;
    task->second.statuses.push_back(status);
    send_update(*framework, status);
    task->second.resources_released = true;
    complete_task(*framework, key.second);
  }
  allocator().remove_agent(id);
  allocator().add_agent(id, agent.total, used);
  log->info("agent registered agent={} hostname={} resources={}", id, agent.hostname, agent.total.to_string());
  return id;
}

void MasterCore::agent_disconnected(const AgentId& id, TimePoint now) {
  auto it = agents_.find(id);
  if (it == agents_.end() || !it->second.connected) return;
  Agent& agent = it->second;
  agent.connected = false;
  // Pings stop being answered now; `tick` marks it unreachable if it does not come back in time.
  agent.last_seen = std::min(agent.last_seen, now);
  allocator().deactivate_agent(id);
  for (const OfferId& offer : std::vector<OfferId>(agent.offers.begin(), agent.offers.end())) rescind_offer(offer, true);
  log::get("master")->info("agent disconnected agent={}", id);
}

void MasterCore::agent_pong(const AgentId& id, TimePoint now) {
  auto it = agents_.find(id);
  if (it != agents_.end() && it->second.connected) it->second.last_seen = now;
}

void MasterCore::mark_agent_unreachable(Agent& agent, TimePoint now) {
  const AgentId id = agent.id;
  log::get("master")->warn("agent unreachable agent={} hostname={}", id, agent.hostname);
  count("master/slave_unreachable_completed");
  for (const OfferId& offer : std::vector<OfferId>(agent.offers.begin(), agent.offers.end())) rescind_offer(offer, false);
  std::set<FrameworkId> frameworks_told;
  for (const auto& [framework_id, task_id] : agent.tasks) {
    Framework* framework = find_framework(framework_id);
    if (!framework) continue;
    auto task = framework->tasks.find(task_id);
    if (task == framework->tasks.end()) continue;
    frameworks_told.insert(framework_id);
    if (is_terminal(task->second.state)) continue;
    const TaskState state = framework->partition_aware() ? TaskState::unreachable : TaskState::lost;
    v1::TaskStatus status = master_status(task->second, state, "REASON_SLAVE_REMOVED",
                                          fmt::format("Agent {} is unreachable", agent.hostname), now);
    status.unreachable_time_seconds = to_epoch_seconds(now);
    task->second.state = state;
    task->second.status_update_state = state;
    task->second.unreachable_time = to_epoch_seconds(now);
    task->second.statuses.push_back(status);
    send_update(*framework, status);
    count(state == TaskState::lost ? "master/tasks_lost" : "master/tasks_unreachable");
  }
  for (const FrameworkId& framework_id : frameworks_told) {
    Framework* framework = find_framework(framework_id);
    if (!framework || !framework->connected) continue;
    nlohmann::json e = event("FAILURE");
    e["failure"] = {{"agent_id", id}};
    send(framework_id, std::move(e));
  }
  // Tasks stay known (as unreachable) for partition-aware frameworks; others' are completed.
  for (const auto& [framework_id, task_id] : std::set<std::pair<FrameworkId, TaskId>>(agent.tasks)) {
    Framework* framework = find_framework(framework_id);
    if (!framework) continue;
    auto task = framework->tasks.find(task_id);
    if (task == framework->tasks.end()) continue;
    task->second.resources_released = true;
    if (!framework->partition_aware()) complete_task(*framework, task_id);
  }
  allocator().remove_agent(id);
  unreachable_[id] = now;
  agents_.erase(id);
  effects_.push_back({Effect::Kind::close_agent, id.value(), {}, {}});
}

CallOutcome MasterCore::status_update(const AgentId& agent_id, const FrameworkId& framework_id, v1::TaskStatus status,
                                      std::optional<TaskState> latest_state, TimePoint now) {
  auto agent = agents_.find(agent_id);
  if (agent == agents_.end() || !agent->second.connected) {
    count("master/invalid_status_updates");
    return CallOutcome::forbidden("Agent is not registered");
  }
  agent->second.last_seen = now;
  Framework* framework = find_framework(framework_id);
  if (!framework) {
    count("master/invalid_status_updates");
    return CallOutcome::ok();  // The agent learns via SHUTDOWN_FRAMEWORK on re-registration.
  }
  count("master/valid_status_updates");
  auto it = framework->tasks.find(status.task_id);
  if (it != framework->tasks.end()) {
    Task& task = it->second;
    const TaskState previous = task.state;
    task.state = latest_state.value_or(status.state);
    task.status_update_state = status.state;
    task.status_update_uuid = status.uuid;
    if (task.statuses.empty() || task.statuses.back().state != status.state || task.statuses.back().uuid != status.uuid) {
      task.statuses.push_back(status);
    }
    if (previous != task.state) count(fmt::format("master/tasks_{}", [&] {
                                        std::string name(v1::to_string(task.state).substr(5));
                                        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
                                        return name;
                                      }()));
    if (is_terminal(task.state)) release_task_resources(task);
  }
  send_update(*framework, status);
  return CallOutcome::ok();
}

CallOutcome MasterCore::executor_message(const AgentId& agent, const FrameworkId& framework_id,
                                         const ExecutorId& executor, const std::string& data) {
  count("master/messages_executor_to_framework");
  Framework* framework = find_framework(framework_id);
  if (!framework || !framework->connected) {
    count("master/dropped_messages");
    return CallOutcome::ok();
  }
  nlohmann::json e = event("MESSAGE");
  e["message"] = {{"agent_id", agent}, {"executor_id", executor}, {"data", base64_encode(data)}};
  send(framework_id, std::move(e));
  return CallOutcome::ok();
}

// ---------------------------------------------------------------------------------------------
// Time

void MasterCore::tick(TimePoint now) {
  // Scheduler heartbeats.
  for (auto& [id, framework] : frameworks_) {
    if (framework.connected && now - framework.last_heartbeat >= options_.heartbeat_interval) {
      framework.last_heartbeat = now;
      send(id, event("HEARTBEAT"));
    }
  }
  // Agent health: ping every `agent_ping_timeout`; unreachable after `max_agent_ping_timeouts`
  // timeouts without hearing from it.
  const Duration silence_max = options_.agent_ping_timeout * options_.max_agent_ping_timeouts;
  std::vector<AgentId> silent;
  for (auto& [id, agent] : agents_) {
    if (now - agent.last_seen >= silence_max) {
      silent.push_back(id);
      continue;
    }
    if (agent.connected && now - agent.last_ping >= options_.agent_ping_timeout) {
      agent.last_ping = now;
      send_agent(id, event("PING"));
    }
  }
  // After a failover, agents that did not re-register in time are unreachable too (Mesos's
  // `--agent_reregister_timeout`).
  if (recovered_time_ && now - *recovered_time_ >= options_.agent_reregister_timeout) {
    for (const auto& [id, info] : recovered_agents_) silent.push_back(id);
  }
  // The registry is written first (the shell takes these, then calls `mark_unreachable`).
  for (const AgentId& id : silent) {
    if (marking_unreachable_.insert(id).second) silent_agents_.push_back(id);
  }
  // Framework failover timeouts.
  std::vector<FrameworkId> expired;
  for (auto& [id, framework] : frameworks_) {
    if (!framework.connected && framework.unregistered_time &&
        now - *framework.unregistered_time >= from_seconds(framework.info.failover_timeout)) {
      expired.push_back(id);
    }
  }
  for (const FrameworkId& id : expired) remove_framework(frameworks_.at(id), now);
  // Offer timeout.
  if (options_.offer_timeout) {
    std::vector<OfferId> stale;
    for (const auto& [id, offer] : offers_) {
      if (now - offer.created >= *options_.offer_timeout) stale.push_back(id);
    }
    for (const OfferId& id : stale) rescind_offer(id, true);
  }
  allocate(now);
}

// ---------------------------------------------------------------------------------------------
// Read access

Resources MasterCore::used_resources(const AgentId& agent_id) const {
  Resources used;
  auto agent = agents_.find(agent_id);
  if (agent == agents_.end()) return used;
  for (const auto& [framework_id, task_id] : agent->second.tasks) {
    auto framework = frameworks_.find(framework_id);
    if (framework == frameworks_.end()) continue;
    auto task = framework->second.tasks.find(task_id);
    if (task != framework->second.tasks.end() && !task->second.resources_released) used += task->second.info.resources;
  }
  return used.unallocated();
}

Resources MasterCore::offered_resources(const AgentId& agent_id) const {
  Resources offered;
  auto agent = agents_.find(agent_id);
  if (agent == agents_.end()) return offered;
  for (const OfferId& id : agent->second.offers) offered += offers_.at(id).resources;
  return offered.unallocated();
}

Resources MasterCore::framework_used(const FrameworkId& framework_id) const {
  Resources used;
  auto framework = frameworks_.find(framework_id);
  if (framework == frameworks_.end()) return used;
  for (const auto& [id, task] : framework->second.tasks) {
    if (!task.resources_released) used += task.info.resources;
  }
  return used;
}

Resources MasterCore::framework_offered(const FrameworkId& framework_id) const {
  Resources offered;
  auto framework = frameworks_.find(framework_id);
  if (framework == frameworks_.end()) return offered;
  for (const OfferId& id : framework->second.offers) offered += offers_.at(id).resources;
  return offered;
}

}  // namespace dcos::master
