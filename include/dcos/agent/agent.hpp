#pragma once
// The agent (slave): registers with a master, runs command tasks as real processes in
// per-task sandboxes under `work_dir`, kills them on request, and reports every state change
// reliably (retried until acknowledged). Lives on one single-threaded executor.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "dcos/agent/process.hpp"
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

  // Serves HTTP and starts registering with the master. Returns the bound port.
  Result<std::uint16_t> start();
  // Stops serving and talking to the master. With `kill_tasks`, kills every task it runs.
  void stop(bool kill_tasks = true);

  std::uint16_t port() const { return server_ ? server_->port() : 0; }
  bool registered() const { return registered_; }
  const AgentId& id() const { return id_; }
  size_t running_tasks() const;
  const AgentConfig& config() const { return config_; }

 private:
  struct TaskRun {
    FrameworkId framework_id;
    v1::TaskInfo info;
    v1::TaskState state = v1::TaskState::staging;
    std::string sandbox;
    pid_t pid = 0;
    std::unique_ptr<ProcessWatcher> watcher;
    bool kill_requested = false;
    std::unique_ptr<Timer> escalation;  // SIGKILL after the grace period.
  };

  void connect();
  void on_event(const nlohmann::json& event);
  void on_registered(const nlohmann::json& registered);
  void on_disconnected();
  void run_task(const nlohmann::json& run);
  void kill_task(const FrameworkId& framework, const TaskId& task, std::optional<Duration> grace);
  void shutdown_framework(const FrameworkId& framework);
  void on_exit(const FrameworkId& framework, const TaskId& task, int wait_status);
  // Records a new state for the task and queues its reliable update.
  void update(TaskRun& run, v1::TaskState state, std::optional<std::string> message,
              std::optional<std::string> reason, std::string source = "SOURCE_EXECUTOR");
  void forward(const StatusUpdate& update);
  void post(nlohmann::json call);
  void on_retry_tick();
  void forget_if_done(const FrameworkId& framework, const TaskId& task);
  nlohmann::json registration() const;
  http::Reply state_endpoint(const http::Request& request) const;

  boost::asio::any_io_executor executor_;
  Clock& clock_;
  AgentConfig config_;
  Resources resources_;
  TimePoint start_time_;
  std::unique_ptr<http::Server> server_;
  std::shared_ptr<http::Client> master_client_;
  AgentId id_;
  bool registered_ = false;
  bool stopped_ = false;
  int reconnect_attempts_ = 0;
  std::map<std::pair<FrameworkId, TaskId>, TaskRun> tasks_;
  std::map<FrameworkId, v1::FrameworkInfo> frameworks_;
  StatusUpdateManager updates_;
  std::unique_ptr<Timer> retry_timer_;
  std::unique_ptr<Timer> reconnect_timer_;
  std::shared_ptr<std::function<void()>> close_stream_;  // Closes the current event stream.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace dcos::agent
