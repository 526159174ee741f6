#pragma once
// The master's logic as a deterministic state machine: frameworks, agents, offers and tasks.
// Inputs are method calls with the current time passed in; outputs are `Effects` (events to
// framework streams and agent streams, streams to close) that the shell delivers in order.
// No sockets, timers or clock reads here (docs/design/master.md).

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcos/allocator/allocator.hpp"
#include "dcos/common/clock.hpp"
#include "dcos/common/ids.hpp"
#include "dcos/common/result.hpp"
#include "dcos/master/registry.hpp"
#include "dcos/master/reservation_operations.hpp"
#include "dcos/master/role_config.hpp"
#include "dcos/resources/resources.hpp"
#include "dcos/v1/framework_info.hpp"
#include "dcos/v1/task.hpp"

namespace dcos::master {

struct MasterOptions {
  Duration agent_ping_timeout = std::chrono::seconds(15);
  int max_agent_ping_timeouts = 5;
  // After a failover, agents of the registry not back by then are marked unreachable.
  Duration agent_reregister_timeout = std::chrono::minutes(10);
  // Registry garbage collection: every `registry_gc_interval`, unreachable and gone marks older
  // than `registry_max_agent_age`, then the oldest beyond `registry_max_agent_count`, go.
  Duration registry_gc_interval = std::chrono::minutes(15);
  Duration registry_max_agent_age = std::chrono::hours(24 * 14);
  std::size_t registry_max_agent_count = 102400;
  Duration heartbeat_interval = std::chrono::seconds(15);
  std::optional<Duration> offer_timeout;
  int max_completed_frameworks = 50;
  int max_completed_tasks_per_framework = 1000;
  bool root_submissions = true;
};

struct Task {
  v1::TaskInfo info;
  FrameworkId framework_id;
  ExecutorId executor_id;  // For command tasks: the task id.
  v1::TaskState state = v1::TaskState::staging;                // Latest known state.
  std::optional<v1::TaskState> status_update_state;            // Latest state sent to the scheduler.
  std::optional<std::string> status_update_uuid;
  std::vector<v1::TaskStatus> statuses;
  bool resources_released = false;
  std::optional<double> unreachable_time;
};

struct Offer {
  OfferId id;
  FrameworkId framework_id;
  AgentId agent_id;
  std::string role;
  Resources resources;
  TimePoint created;
};

// An offer operation the framework gave an `id` to get feedback on (Mesos's operation feedback
// for agent default resources): RESERVE and UNRESERVE, applied by the master at once and
// confirmed by the agent once checkpointed (docs/design/agent-protocol.md, "Operation feedback").
struct Operation {
  FrameworkId framework_id;
  AgentId agent_id;
  std::string id;                        // The framework's operation id.
  std::string uuid;                      // The master's, in text form: names it to the agent.
  nlohmann::json info;                   // v1 `Offer.Operation` as accepted.
  nlohmann::json latest_status;          // v1 `OperationStatus`.
  std::vector<nlohmann::json> statuses;  // Every status the agent sent, oldest first.
};

// v1 `Operation`, as GET_OPERATIONS lists it.
nlohmann::json to_json(const Operation& operation);

struct Framework {
  FrameworkId id;
  v1::FrameworkInfo info;
  bool connected = false;
  bool active = false;
  std::string stream_id;  // The current subscription's `Mesos-Stream-Id`.
  TimePoint registered_time{};
  std::optional<TimePoint> reregistered_time;
  std::optional<TimePoint> unregistered_time;  // When its scheduler disconnected.
  std::map<TaskId, Task> tasks;                // Non-completed tasks.
  std::deque<Task> completed_tasks;
  std::set<OfferId> offers;
  std::map<std::string, std::string> operations;  // Operation id -> uuid, until acknowledged.
  TimePoint last_heartbeat{};

  bool partition_aware() const { return info.has_capability("PARTITION_AWARE"); }
};

struct Agent {
  AgentId id;
  std::string hostname;
  std::uint16_t port = 5051;
  Resources total;
  Attributes attributes;
  nlohmann::json attributes_json;  // v1 Attribute array.
  std::string version;
  bool connected = false;
  TimePoint registered_time{};
  std::optional<TimePoint> reregistered_time;
  TimePoint last_seen{};
  TimePoint last_ping{};
  std::set<OfferId> offers;
  std::set<std::pair<FrameworkId, TaskId>> tasks;

  std::string pid() const { return "slave(1)@" + hostname + ":" + std::to_string(port); }
};

// What the shell must carry out after an input, strictly in order.
struct Effect {
  enum class Kind {
    framework_event,  // Send `event` on the framework's current stream.
    agent_event,      // Send `event` on the agent's stream.
    open_framework,   // The stream opened with `stream` becomes the framework's current one.
    open_agent,       // Likewise for an agent.
    close_framework,  // Close the framework's current stream after what was queued on it.
    close_agent,
  };
  Kind kind;
  std::string target;  // Framework or agent id.
  nlohmann::json event;
  std::string stream;  // For open_*: the token the shell gave the new stream.
};
using Effects = std::vector<Effect>;

// The outcome of a scheduler call, mapped to HTTP by the shell.
struct CallOutcome {
  enum class Code { accepted, bad_request, forbidden, not_implemented };
  Code code = Code::accepted;
  std::string message;
  static CallOutcome ok() { return {}; }
  static CallOutcome bad(std::string m) { return {Code::bad_request, std::move(m)}; }
  static CallOutcome forbidden(std::string m) { return {Code::forbidden, std::move(m)}; }
};

struct SubscribeOutcome {
  std::optional<std::string> error;  // Refused: the stream carries one ERROR event and closes.
  FrameworkId framework_id;
  std::string stream_id;
};

class MasterCore {
 public:
  MasterCore(std::string master_id, nlohmann::json master_info, MasterOptions options,
             std::unique_ptr<Allocator> allocator);

  // ---- Scheduler API ----
  // Requires: `info` decoded; `framework_id` is the call's top-level id, if any.
  SubscribeOutcome subscribe(v1::FrameworkInfo info, std::optional<FrameworkId> framework_id,
                             std::vector<std::string> suppressed_roles, std::string stream_id, TimePoint now);
  // The scheduler's stream for `stream_id` closed (or the framework failed over to a new one).
  void scheduler_disconnected(const FrameworkId& id, const std::string& stream_id, TimePoint now);
  // Checks a non-SUBSCRIBE call's framework and stream id.
  CallOutcome check_caller(const std::optional<FrameworkId>& id, const std::string& stream_id) const;
  CallOutcome teardown(const FrameworkId& id, TimePoint now);
  CallOutcome accept(const FrameworkId& id, const v1::Fields& accept, TimePoint now);
  CallOutcome decline(const FrameworkId& id, const std::vector<OfferId>& offers, std::optional<double> refuse_seconds,
                      TimePoint now);
  // Changes a subscribed framework's info in place. `info.id` must be `id`; `user`,
  // `checkpoint` and `principal` may not change.
  CallOutcome update_framework(const FrameworkId& id, v1::FrameworkInfo info, std::vector<std::string> suppressed_roles);
  CallOutcome revive(const FrameworkId& id, const std::vector<std::string>& roles);
  CallOutcome suppress(const FrameworkId& id, const std::vector<std::string>& roles);
  // REQUEST: replaces the framework's outstanding requests (an empty list clears them).
  CallOutcome request(const FrameworkId& id, std::vector<ResourceRequest> requests);
  CallOutcome kill(const FrameworkId& id, const TaskId& task, const std::optional<AgentId>& agent,
                   std::optional<Duration> grace, TimePoint now);
  CallOutcome shutdown_executor(const FrameworkId& id, const ExecutorId& executor, const AgentId& agent);
  CallOutcome acknowledge(const FrameworkId& id, const AgentId& agent, const TaskId& task, const std::string& uuid);
  CallOutcome reconcile(const FrameworkId& id, const std::vector<std::pair<TaskId, std::optional<AgentId>>>& tasks,
                        TimePoint now);
  CallOutcome message(const FrameworkId& id, const AgentId& agent, const ExecutorId& executor, const std::string& data);

  // ---- Operation feedback (master_operations.cpp) ----
  // ACKNOWLEDGE_OPERATION_STATUS: `uuid` (raw bytes) of the operation's latest status; the ack
  // goes on to the agent, and a terminal operation is forgotten. Unknown ones are ignored.
  CallOutcome acknowledge_operation_status(const FrameworkId& id, const AgentId& agent, const std::string& operation_id,
                                           const std::string& uuid);
  // RECONCILE_OPERATIONS: an UPDATE_OPERATION_STATUS without uuid for each listed operation (all
  // the framework's known ones when the list is empty), as Mesos answers.
  CallOutcome reconcile_operations(const FrameworkId& id,
                                   const std::vector<std::pair<std::string, std::optional<AgentId>>>& operations);
  // UPDATE_OPERATION_STATUS from an agent: the operation's new status (v1 `OperationStatus`,
  // with the agent's uuid), forwarded to the framework, which acknowledges it.
  CallOutcome operation_status_update(const AgentId& agent, const FrameworkId& framework,
                                      const std::string& operation_uuid, nlohmann::json status);
  // By uuid; what GET_OPERATIONS lists.
  const std::map<std::string, Operation>& operations() const { return operations_; }

  // ---- Agents ----
  struct AgentRegistration {
    std::optional<AgentId> id;  // Set when re-registering.
    std::string hostname;
    std::uint16_t port = 5051;
    Resources resources;
    Attributes attributes;
    std::string version;
    std::vector<Task> tasks;  // What the agent still runs (re-registration).
    std::map<FrameworkId, v1::FrameworkInfo> frameworks;
    bool new_agent = false;   // Set by `admission` when it assigned `id`.
  };
  // Admits or re-admits an agent; returns its id. `stream` names the event stream the shell
  // opened for it; the effects attach it (`open_agent`) and send REGISTERED first.
  AgentId register_agent(AgentRegistration registration, std::string stream, TimePoint now);
  void agent_disconnected(const AgentId& id, TimePoint now);
  void agent_pong(const AgentId& id, TimePoint now);
  // A status update from an agent. `latest_state` is the task's newest state on the agent.
  CallOutcome status_update(const AgentId& agent, const FrameworkId& framework, v1::TaskStatus status,
                            std::optional<v1::TaskState> latest_state, TimePoint now);
  CallOutcome executor_message(const AgentId& agent, const FrameworkId& framework, const ExecutorId& executor,
                               const std::string& data);
  bool agent_connected(const AgentId& id) const;

  // ---- Registry (master_recovery.cpp; docs/design/state.md, "The master's registry") ----
  // Once, before any agent registers: what the recovered registry remembers. Its admitted
  // agents may re-register and keep their ids; its gone agents are refused; its unreachable
  // agents are marked reachable when they return.
  void recover(const Registry& registry, TimePoint now);
  // What admitting `registration` takes: an error when it is refused (the agent was marked
  // gone), else the registry operation to apply first, or none when the registry has the agent
  // admitted already. Gives a new agent its id (in `registration.id`).
  Result<std::optional<RegistryOperation>> admission(AgentRegistration& registration);
  // v1 `AgentInfo` of `registration`, as the registry keeps it. Requires `registration.id`.
  static nlohmann::json agent_info(const AgentRegistration& registration);
  // Agents `tick` found silent for too long, each handed out once: the shell marks them
  // unreachable in the registry, then calls `mark_unreachable`.
  std::vector<AgentId> take_silent_agents() { return std::exchange(silent_agents_, {}); }
  // After the registry write: the agent's tasks become TASK_UNREACHABLE (partition-aware
  // frameworks) or TASK_LOST, and the agent may come back later.
  void mark_unreachable(const AgentId& id, TimePoint now);
  // After the registry write: the agent is gone for good; its tasks become
  // TASK_GONE_BY_OPERATOR and it is refused from now on.
  void mark_gone(const AgentId& id, TimePoint now);
  bool agent_gone(const AgentId& id) const { return gone_.contains(id); }
  // After the registry pruned them: forgets those unreachable and gone marks (a pruned agent that
  // comes back is admitted like an unknown one, as in Mesos).
  void prune(const Prune& pruned);
  // Admitted agents (v1 `AgentInfo`) that have not re-registered since the failover.
  const std::map<AgentId, nlohmann::json>& recovered_agents() const { return recovered_agents_; }

  // ---- Operator: weights and quota ----
  // All or nothing: the first bad entry is refused (400) with why, changing nothing. Outstanding
  // offers are rescinded so the next cycle reallocates under the new weights or quota (weights:
  // only if a framework is subscribed to an updated role). Unless `force`, the guarantees of all
  // roles together must fit in the cluster's total (Mesos's capacity check).
  CallOutcome update_weights(const std::map<std::string, double>& weights);
  CallOutcome update_quota(const QuotaConfigs& configs, bool force);
  // What the registry persists; `restore_role_config` replays it on recovery, before any
  // framework subscribes (Requires: valid, e.g. from `role_config_from_json`).
  const RoleConfig& role_config() const { return role_config_; }
  void restore_role_config(const RoleConfig& config);
  std::vector<RoleInfo> roles() const { return allocator_->roles(); }

  // ---- Operator: dynamic reservations (master_reservations.cpp) ----
  // RESERVE_RESOURCES / UNRESERVE_RESOURCES (`type` "RESERVE" or "UNRESERVE"): turns
  // `conversion.from` into `conversion.to` (unallocated, from `operator_reserve_conversion` /
  // `operator_unreserve_conversion`) in a registered agent's total, in the allocator, and on the
  // agent, which is sent its dynamic reservations to checkpoint. When the agent's free resources
  // do not hold `from`, its outstanding offers that hold part of it are rescinded first, as
  // Mesos's `Master::Http::_operation` does. Errors: `Errc::not_found` for an unknown agent;
  // `Errc::unavailable` when `from` is still not free (tasks use it), which changes nothing but
  // the rescinded offers.
  Result<void> apply_operator_reservation(const AgentId& agent, const std::string& type, const Conversion& conversion);

  // ---- Time ----
  // Heartbeats, pings, timeouts; then an allocation cycle.
  void tick(TimePoint now);
  // One allocation cycle: new offers go out as OFFERS events.
  void allocate(TimePoint now);

  Effects take_effects() { return std::exchange(effects_, {}); }
  // True when something changed that a new allocation cycle could act on (resources freed,
  // frameworks or agents added, filters cleared) since the last `allocate`.
  bool allocation_pending() const { return allocation_pending_; }

  // ---- Read access for endpoints ----
  const std::map<FrameworkId, Framework>& frameworks() const { return frameworks_; }
  const std::deque<Framework>& completed_frameworks() const { return completed_frameworks_; }
  const std::map<AgentId, Agent>& agents() const { return agents_; }
  const std::map<AgentId, TimePoint>& unreachable_agents() const { return unreachable_; }
  const std::map<OfferId, Offer>& offers() const { return offers_; }
  const nlohmann::json& master_info() const { return master_info_; }
  // Set once the shell knows its bound address, before any input.
  void set_master_info(nlohmann::json info) { master_info_ = std::move(info); }
  const std::string& id() const { return master_id_; }
  const std::map<std::string, double>& counters() const { return counters_; }
  Resources used_resources(const AgentId& agent) const;
  Resources offered_resources(const AgentId& agent) const;
  Resources framework_used(const FrameworkId& framework) const;
  Resources framework_offered(const FrameworkId& framework) const;

 private:
  Framework* find_framework(const FrameworkId& id);
  // Every change to the allocator goes through here, so the shell knows to allocate.
  Allocator& allocator() {
    allocation_pending_ = true;
    return *allocator_;
  }
  void send(const FrameworkId& id, nlohmann::json event);
  void send_agent(const AgentId& id, nlohmann::json event);
  void send_update(Framework& framework, const v1::TaskStatus& status);
  void rescind_offer(const OfferId& id, bool recover);
  void remove_offer(const OfferId& id);
  void remove_framework(Framework& framework, TimePoint now);
  void mark_agent_unreachable(Agent& agent, TimePoint now);
  void release_task_resources(Task& task);
  void complete_task(Framework& framework, const TaskId& id);
  v1::TaskStatus master_status(const Task& task, v1::TaskState state, std::string reason, std::string message,
                               TimePoint now) const;
  void launch_failed(Framework& framework, const v1::TaskInfo& task, v1::TaskState state, const std::string& reason,
                     const std::string& message, TimePoint now);
  // RESERVE / UNRESERVE in ACCEPT (master_reservations.cpp): converts `remaining`, the agent's
  // total and the framework's allocation; an invalid operation is dropped with a warning.
  // With `operation_id`, the framework hears how it went: OPERATION_ERROR now when it is
  // invalid, else once the agent has checkpointed it (`start_operation`).
  void apply_reservation(Framework& framework, Agent& agent, const std::string& type, const Resources& resources,
                         const std::string& offer_role, Resources& remaining,
                         const std::optional<std::string>& operation_id = std::nullopt,
                         const nlohmann::json& operation_info = {});
  // Operation feedback (master_operations.cpp). An applied operation with an id is recorded
  // (OPERATION_PENDING) and sent to the agent as APPLY_OPERATION, which checkpoints the agent's
  // reservations as CHECKPOINT_RESOURCES does and then reports the operation's status.
  void start_operation(Framework& framework, const Agent& agent, const std::string& operation_id,
                       const nlohmann::json& info, const Resources& converted);
  // An operation with an id that goes no further: the framework gets `state` (OPERATION_ERROR,
  // OPERATION_UNSUPPORTED) with `message`, without uuid (nothing to acknowledge).
  void drop_operation(const Framework& framework, const std::string& operation_id,
                      const std::optional<AgentId>& agent, const std::string& state, const std::string& message);
  // The agents where `framework` has operations awaiting acknowledgement; forgets them.
  std::set<AgentId> forget_operations(Framework& framework);
  // Sends the agent all its dynamic reservations (CHECKPOINT_RESOURCES) to checkpoint, after each
  // change (docs/design/agent-protocol.md, "Dynamic reservations").
  void send_checkpointed_resources(const Agent& agent);
  // An agent the master knew all along re-registered with `agent.total` as it reported it: the
  // master's dynamic reservations (in `known_total`) win, as the agent may have missed a change
  // while disconnected, and are sent to it when they differ from what it reported.
  void keep_known_reservations(Agent& agent, const Resources& known_total);
  void count(const std::string& name, double by = 1) { counters_[name] += by; }

  std::string master_id_;
  nlohmann::json master_info_;
  MasterOptions options_;
  std::unique_ptr<Allocator> allocator_;
  RoleConfig role_config_;
  std::map<FrameworkId, Framework> frameworks_;
  std::deque<Framework> completed_frameworks_;
  std::map<AgentId, Agent> agents_;
  std::map<AgentId, TimePoint> unreachable_;  // Marked unreachable, may come back.
  std::set<AgentId> gone_;                     // Marked gone: refused for good.
  std::map<AgentId, nlohmann::json> recovered_agents_;  // From the registry, not back yet.
  std::vector<AgentId> silent_agents_;         // Found silent by `tick`, not yet handed out.
  std::set<AgentId> marking_unreachable_;      // Handed out, awaiting `mark_unreachable`.
  std::optional<TimePoint> recovered_time_;    // When `recover` ran.
  std::map<OfferId, Offer> offers_;
  std::map<std::string, Operation> operations_;  // By uuid.
  std::uint64_t next_framework_ = 0;
  std::uint64_t next_agent_ = 0;
  std::uint64_t next_offer_ = 0;
  std::map<std::string, double> counters_;
  Effects effects_;
  bool allocation_pending_ = true;
  std::vector<Grant> grants_;  // Of the last allocation cycle, emptied; kept for its storage.
};

}  // namespace dcos::master
