#pragma once
// The agent (slave): registers with a master, runs executors and tasks in sandboxes under
// `work_dir`, and reports every state change reliably (retried until acknowledged).
//
// - Command tasks take a fast path: the agent starts the command itself and reports for it as
//   Mesos's command executor would (TASK_STARTING, TASK_RUNNING, then the end).
// - Tasks with an `ExecutorInfo` go to a custom executor process, which subscribes to
//   `POST /api/v1/executor` (reference/mesos-api.md §2) and reports through the same
//   `StatusUpdateManager`; the agent ACKNOWLEDGEs each update once it is recorded.
// - For frameworks with `checkpoint`, everything is written under `work_dir/meta`
//   (`checkpoint.hpp`), and a restarted agent recovers it (docs/design/agent-recovery.md).
//
// Lives on one single-threaded executor; every method must be called from it.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "dcos/agent/checkpoint.hpp"
#include "dcos/agent/fetcher.hpp"
#include "dcos/agent/health_check.hpp"
#include "dcos/agent/gc.hpp"
#include "dcos/agent/process.hpp"
#include "dcos/agent/operation_update_manager.hpp"
#include "dcos/agent/status_update_manager.hpp"
#include "dcos/common/clock.hpp"
#include "dcos/common/result.hpp"
#include "dcos/http/client.hpp"
#include "dcos/http/server.hpp"
#include "dcos/resources/resources.hpp"
#include "dcos/v1/framework_info.hpp"
#include "dcos/v1/task.hpp"

namespace dcos::agent {

struct AgentConfig {
  std::string ip = "127.0.0.1";
  std::uint16_t port = 5051;  // 0 picks a free port.
  std::string hostname;       // Defaults to `ip`.
  http::Endpoint master;
  std::string work_dir = "/tmp/dcos";
  Resources resources;        // Empty: detected (see `detect_resources`).
  std::string attributes;     // "rack:r1;zone:a".
  Duration registration_backoff_factor = std::chrono::seconds(1);
  Duration default_kill_grace_period = std::chrono::seconds(3);
  // Executors (reference/mesos-api.md §4.3).
  Duration executor_registration_timeout = std::chrono::minutes(1);
  Duration executor_reregistration_timeout = std::chrono::seconds(2);
  Duration executor_shutdown_grace_period = std::chrono::seconds(5);
  Duration executor_heartbeat_interval = std::chrono::minutes(30);
  // Unset: executors inherit the agent's whole environment.
  std::optional<std::map<std::string, std::string>> executor_environment_variables;
  bool http_command_executor = false;  // Only advertised (MESOS_HTTP_COMMAND_EXECUTOR).
  // The default executor, which runs task groups (LAUNCH_GROUP): its argv. Empty: this very
  // binary, started with DCOS_DEFAULT_EXECUTOR=1, which must then call
  // `dcos::executor::run_default_executor()` (dcos-slave does).
  std::vector<std::string> default_executor;
  // Recovery.
  std::string recover = "reconnect";  // Or "cleanup": kill what the checkpoint names and start afresh.
  Duration recovery_timeout = std::chrono::minutes(15);
  bool strict = true;                 // A corrupt checkpoint stops the agent (else it is skipped).
  std::string boot_id;                // Empty: this machine's (tests set one to simulate a reboot).
  // Sandbox garbage collection.
  Duration gc_delay = std::chrono::hours(24 * 7);
  double gc_disk_headroom = 0.1;
  Duration disk_watch_interval = std::chrono::minutes(1);
  size_t max_completed_executors_per_framework = 150;
  http::ServerLimits limits;
  std::map<std::string, std::string> flags;  // For `/flags`.
};

// CPUs, memory (total less 1 GB, or half below 2 GB), disk of `work_dir` (less 5 GB, or half)
// and ports [31000-32000], overridden by whatever `configured` names.
Resources detect_resources(const std::string& work_dir, const Resources& configured);

class Agent {
 public:
  // `clock` must outlive the agent.
  Agent(boost::asio::any_io_executor executor, Clock& clock, AgentConfig config);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Recovers checkpointed state (unless `recover` is "cleanup"), serves HTTP and starts
  // registering with the master. Returns the bound port; fails on a corrupt checkpoint (with
  // `strict`) or one written with other resources.
  Result<std::uint16_t> start();
  // Stops serving and talking to the master. With `kill_tasks`, kills every executor and task;
  // without, leaves them running for a restarted agent to recover (as if the agent crashed).
  void stop(bool kill_tasks = true);
  // Stops for a restart (the daemon's SIGTERM): checkpointed executors and tasks keep running
  // for the next agent to recover; the rest, which nobody would recover, are killed.
  void stop_keeping_checkpointed();

  std::uint16_t port() const { return server_ ? server_->port() : 0; }
  bool registered() const { return registered_; }
  const AgentId& id() const { return id_; }
  size_t running_tasks() const;
  const AgentConfig& config() const { return config_; }
  // What it offers: its `--resources` with the dynamic reservations the master had it checkpoint.
  const Resources& total_resources() const { return total_; }
  // Introspection for tests and benchmarks.
  bool executor_subscribed(const FrameworkId& framework, const ExecutorId& executor) const;
  size_t executor_count() const { return runs_.size(); }
  size_t pending_updates() const { return updates_.pending(); }
  size_t pending_operation_updates() const { return operation_updates_.size(); }
  // The sandbox of an executor's current run (a command task's executor id is its task id).
  std::optional<std::string> sandbox(const FrameworkId& framework, const ExecutorId& executor) const;

 private:
  struct TaskRun {
    v1::TaskInfo info;
    v1::TaskState state = v1::TaskState::staging;  // The newest state recorded.
    bool launched = false;        // Handed to the executor (or, for a command task, started).
    bool kill_requested = false;
    std::optional<Duration> kill_grace;
  };
  enum class RunState { launching, registering, running, terminating, terminated };
  // One run (container) of an executor: a custom executor process, or a command task.
  struct ExecutorRun {
    FrameworkId framework_id;
    ExecutorId id;
    std::string container_id;
    nlohmann::json info;  // ExecutorInfo (generated for a command task).
    bool command_task = false;
    bool checkpoint = false;
    std::string sandbox;
    std::string meta;  // Its meta directory (checkpointing frameworks only).
    RunState state = RunState::launching;
    pid_t pid = 0;  // The executor, or the command task (its wrapper when checkpointed).
    std::optional<ProcessIdentity> identity;
    bool exited = false;
    std::unique_ptr<ProcessWatcher> watcher;
    std::shared_ptr<http::Stream> stream;  // The executor's events, while subscribed.
    bool recovered = false;                // Adopted from a checkpoint; awaits re-subscription.
    std::map<TaskId, TaskRun> tasks;       // Until each is terminal and acknowledged.
    std::vector<TaskId> queued;            // Not yet handed to the executor, in launch order.
    std::vector<std::vector<TaskId>> queued_groups;  // Task groups not yet handed over.
    std::set<TaskId> completed_tasks;      // Forgotten tasks: their late duplicates are ignored.
    std::vector<nlohmann::json> completed_task_json;  // For `/state`.
    std::unique_ptr<Timer> registration_timer;  // Registration or re-registration deadline.
    std::unique_ptr<Timer> kill_timer;          // SIGKILL after a grace period.
    std::unique_ptr<Timer> heartbeat_timer;
    std::optional<std::string> termination_reason;  // Why the agent ended it (REASON_*).
    std::string termination_message;
    std::unique_ptr<HealthChecker> health;  // A command task's health check.
    std::shared_ptr<Fetcher> fetcher;       // While fetching `CommandInfo.uris`.
    bool health_killed = false;
    TimePoint started{};
  };
  struct FrameworkRecord {
    v1::FrameworkInfo info;
    bool removed = false;  // SHUTDOWN_FRAMEWORK: no more updates for it.
  };

  enum class StopPolicy { kill_all, keep_checkpointed, keep_all };
  void stop_with(StopPolicy policy);

  // The master link (agent.cpp).
  void connect();
  void on_event(const nlohmann::json& event);
  void on_registered(const nlohmann::json& registered);
  void on_disconnected();
  void post(nlohmann::json call);
  nlohmann::json registration() const;
  void on_retry_tick();

  // Status updates (agent.cpp). Every update, the executor's or the agent's own, goes through
  // `record_update`: checkpointed (checkpointing frameworks), queued, forwarded when it heads
  // its stream. False when it was a duplicate (or its stream is closed).
  bool record_update(ExecutorRun* run, const FrameworkId& framework, v1::TaskStatus status);
  // An update the agent makes on a task's behalf.
  void report(ExecutorRun& run, TaskRun& task, v1::TaskState state, std::optional<std::string> message,
              std::optional<std::string> reason, std::string source, std::optional<bool> healthy = std::nullopt);
  void forward(const StatusUpdate& update);
  void on_acknowledge(const FrameworkId& framework, const TaskId& task, const std::string& uuid);
  void forget_if_done(ExecutorRun& run, const TaskId& task);
  void finish_run_if_done(ExecutorRun& run);

  // Executors and tasks (executors.cpp).
  void run_task(const nlohmann::json& run);
  void run_task_group(const nlohmann::json& run);
  FrameworkRecord& note_framework(const nlohmann::json& run);
  void send_launch_group(ExecutorRun& run, const std::vector<TaskId>& tasks);
  ExecutorRun& create_run(const FrameworkId& framework, const ExecutorId& executor, nlohmann::json info,
                          bool command_task, std::string container_id = {});
  void start_run(ExecutorRun& run);     // Fetches, then launches.
  void launch_process(ExecutorRun& run);
  void launch_command_task(ExecutorRun& run, TaskRun& task);
  void watch_process(ExecutorRun& run);
  std::vector<std::string> executor_environment(const ExecutorRun& run) const;
  void kill_task(const FrameworkId& framework, const TaskId& task, std::optional<Duration> grace);
  void shutdown_executor(ExecutorRun& run, std::optional<std::string> reason = std::nullopt,
                         std::string message = {});
  void destroy(ExecutorRun& run);       // SIGKILL to the whole process group.
  // `signal` to the run's process group, unless its pid has been reused by another process.
  void signal_run(const ExecutorRun& run, int signal) const;
  void shutdown_framework(const FrameworkId& framework);
  void on_process_exit(const std::string& container_id, std::optional<int> wait_status);
  void on_registration_timeout(const std::string& container_id);
  void send_event(ExecutorRun& run, const nlohmann::json& event);
  void send_launch(ExecutorRun& run, TaskRun& task);
  void on_framework_message(const nlohmann::json& message);
  void start_health_check(ExecutorRun& run, TaskRun& task);
  void on_health_verdict(const std::string& container_id, const HealthVerdict& verdict, const std::string& message);
  void arm_heartbeat(ExecutorRun& run);

  // The executor API (executor_api.cpp).
  http::Reply executor_api(const http::Request& request);
  http::Reply subscribe_executor(const http::Request& request, ExecutorRun& run, const nlohmann::json& subscribe);
  http::Reply executor_update(const http::Request& request, ExecutorRun& run, const v1::TaskStatus& status);

  // Dynamic reservations (checkpointed_resources.cpp): CHECKPOINT_RESOURCES from the master is
  // written to `Layout::resources_info` before `total_` changes; a restarted agent reads it back.
  void on_checkpoint_resources(const nlohmann::json& checkpoint);
  // All the agent's dynamic reservations (a v1 Resource array), checkpointed, then in `total_`.
  Result<void> checkpoint_resources(const nlohmann::json& reservations);
  Result<void> recover_checkpointed_resources();

  // Operation feedback (operations.cpp): APPLY_OPERATION checkpoints like CHECKPOINT_RESOURCES,
  // then the operation's status goes to the master reliably, checkpointed until acknowledged.
  void on_apply_operation(const nlohmann::json& apply);
  void on_acknowledge_operation_status(const nlohmann::json& ack);
  void send_operation_update(const OperationUpdate& update);
  void drop_operation_updates(const FrameworkId& framework);
  void recover_operation_updates();

  // Checkpointing and recovery (recovery.cpp).
  Layout layout() const { return Layout{config_.work_dir}; }
  void checkpoint_framework(const FrameworkId& framework);
  void checkpoint_run(ExecutorRun& run);
  void checkpoint_task(ExecutorRun& run, const TaskRun& task);
  void checkpoint_pid(ExecutorRun& run);
  void write_runtime_record(const ExecutorRun& run) const;
  void remove_runtime_record(const ExecutorRun& run) const;
  Result<void> recover();
  void adopt(const RecoveredFramework& framework, const RecoveredExecutor& executor, const RecoveredRun& run,
             bool rebooted);
  void kill_orphans();
  void on_reregistration_timeout();

  // Sandboxes, files and statistics (files.cpp, statistics.cpp).
  void add_file_routes(http::Router& router);
  http::Reply statistics_endpoint(const http::Request& request) const;
  void schedule_gc(const std::string& sandbox, const std::string& meta);
  void on_gc_tick();

  ExecutorRun* find_run(const FrameworkId& framework, const ExecutorId& executor);
  const ExecutorRun* find_run(const FrameworkId& framework, const ExecutorId& executor) const;
  ExecutorRun* run_of_task(const FrameworkId& framework, const TaskId& task);
  http::Reply state_endpoint(const http::Request& request) const;
  nlohmann::json agent_info() const;

  boost::asio::any_io_executor executor_;
  Clock& clock_;
  AgentConfig config_;
  Resources resources_;     // As configured or detected; what `slave.info` records.
  Resources checkpointed_;  // Dynamic reservations, as last checkpointed.
  Resources total_;         // `resources_` with `checkpointed_` applied; reported to the master.
  TimePoint start_time_;
  std::unique_ptr<http::Server> server_;
  std::shared_ptr<http::Client> master_client_;
  AgentId id_;
  bool registered_ = false;
  bool recovering_ = true;   // Until `recover()` is done: executors get 503.
  bool stopped_ = false;
  int reconnect_attempts_ = 0;
  std::string boot_id_;
  std::map<std::string, std::unique_ptr<ExecutorRun>> runs_;                 // By container id.
  std::map<std::pair<FrameworkId, ExecutorId>, std::string> active_runs_;    // Current run per executor.
  std::map<std::pair<FrameworkId, TaskId>, std::string> task_runs_;          // The run holding a task.
  std::map<FrameworkId, FrameworkRecord> frameworks_;
  std::deque<nlohmann::json> completed_executors_;  // For `/state`.
  StatusUpdateManager updates_;
  OperationUpdateManager operation_updates_;
  GarbageCollector gc_;
  std::map<std::string, std::string> attached_;  // `/files` virtual path -> real sandbox path.
  std::unique_ptr<Timer> retry_timer_;
  std::unique_ptr<Timer> reconnect_timer_;
  std::unique_ptr<Timer> reregistration_timer_;
  std::unique_ptr<Timer> gc_timer_;
  std::shared_ptr<std::function<void()>> close_stream_;  // Closes the current master stream.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace dcos::agent
