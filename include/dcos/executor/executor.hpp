#pragma once
// A C++ library for custom executors, over the v1 executor HTTP API (reference/mesos-api.md §2).
//
//   auto config = dcos::executor::ExecutorConfig::from_environment();  // MESOS_* (§2.1)
//   auto executor = dcos::executor::Executor::create(io.get_executor(), clock, *config, {
//       .launch = [&](const nlohmann::json& task) { ...; executor->update(running(task)); },
//       .shutdown = [&] { ... },
//   });
//   executor->start();
//
// `Executor` subscribes to the agent, hands every event to a callback and sends updates
// reliably: each keeps a uuid and stays unacknowledged until the agent's ACKNOWLEDGED, and every
// unacknowledged update and task goes back in the SUBSCRIBE after a reconnect, so an agent
// restart loses nothing. When the connection breaks, a checkpointing executor re-subscribes with
// backoff (capped at MESOS_SUBSCRIPTION_BACKOFF_MAX) for up to MESOS_RECOVERY_TIMEOUT; any other
// gives up at once (the agent will not recover it). Either way `failed` is called when it stops
// trying; executors usually exit then.
//
// Threading: create, call and destroy on the executor's thread; callbacks run there too.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "dcos/common/clock.hpp"
#include "dcos/common/ids.hpp"
#include "dcos/common/result.hpp"
#include "dcos/http/client.hpp"
#include "dcos/v1/task.hpp"

namespace dcos::executor {

struct ExecutorConfig {
  http::Endpoint agent;
  FrameworkId framework_id;
  ExecutorId executor_id;
  std::string directory;  // The sandbox.
  bool checkpoint = false;
  Duration recovery_timeout = std::chrono::minutes(15);
  Duration subscription_backoff_max = std::chrono::seconds(2);
  Duration subscription_backoff_initial = std::chrono::milliseconds(50);
  Duration shutdown_grace_period = std::chrono::seconds(5);

  // From the environment the agent gives an executor: MESOS_AGENT_ENDPOINT, MESOS_FRAMEWORK_ID,
  // MESOS_EXECUTOR_ID, MESOS_DIRECTORY, MESOS_CHECKPOINT, MESOS_RECOVERY_TIMEOUT,
  // MESOS_SUBSCRIPTION_BACKOFF_MAX, MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD.
  static Result<ExecutorConfig> from_environment();
};

// The executor's side of the protocol as a pure state machine: what is unacknowledged, and the
// calls that carry it.
class ExecutorCore {
 public:
  ExecutorCore(FrameworkId framework, ExecutorId executor)
      : framework_(std::move(framework)), executor_(std::move(executor)) {}

  nlohmann::json subscribe_call() const;
  // A task from LAUNCH (or LAUNCH_GROUP): unacknowledged until an update for it is acknowledged.
  void on_launch(const nlohmann::json& task);
  // Completes `status` (uuid, source, executor id, timestamp `now`) into an UPDATE call and keeps
  // it until acknowledged.
  nlohmann::json update_call(v1::TaskStatus status, double now);
  void on_acknowledged(const TaskId& task, const std::string& uuid);
  nlohmann::json message_call(const std::string& data) const;
  nlohmann::json heartbeat_call() const;
  size_t unacknowledged_updates() const { return updates_.size(); }
  size_t unacknowledged_tasks() const { return tasks_.size(); }

 private:
  nlohmann::json base(const char* type) const;
  FrameworkId framework_;
  ExecutorId executor_;
  std::map<TaskId, nlohmann::json> tasks_;
  std::vector<std::pair<std::string, nlohmann::json>> updates_;  // (uuid, Update), in sending order.
};

struct Callbacks {
  std::function<void(const nlohmann::json& subscribed)> subscribed;  // The SUBSCRIBED body.
  std::function<void(const nlohmann::json& task)> launch;            // A TaskInfo.
  std::function<void(const nlohmann::json& task_group)> launch_group;
  std::function<void(const TaskId& task, const nlohmann::json& kill_policy)> kill;
  std::function<void(const TaskId& task, const std::string& uuid)> acknowledged;
  std::function<void(const std::string& data)> message;  // Raw bytes.
  std::function<void()> shutdown;
  std::function<void(const std::string& message)> error;
  std::function<void(const nlohmann::json& event)> event;   // Every event, before the above.
  std::function<void(const std::string& why)> disconnected; // Each time the stream ends.
  std::function<void(const std::string& why)> failed;       // It stopped trying to reach the agent.
};

class Executor : public std::enable_shared_from_this<Executor> {
 public:
  using Done = std::function<void(Result<http::Response>)>;

  static std::shared_ptr<Executor> create(boost::asio::any_io_executor executor, Clock& clock, ExecutorConfig config,
                                          Callbacks callbacks);
  ~Executor();

  void start();
  void stop();
  // Sends a status update (see `ExecutorCore::update_call`); kept and re-sent until the agent
  // acknowledges it. Returns the uuid it was given.
  std::string update(v1::TaskStatus status, Done done = {});
  void message(const std::string& data, Done done = {});
  bool subscribed() const { return subscribed_; }
  const ExecutorCore& core() const { return core_; }
  const ExecutorConfig& config() const { return config_; }

 private:
  Executor(boost::asio::any_io_executor executor, Clock& clock, ExecutorConfig config, Callbacks callbacks);
  void subscribe();
  void on_event(const nlohmann::json& event);
  void on_stream_end(const std::string& why, bool retry);
  void send(const nlohmann::json& call, Done done);

  boost::asio::any_io_executor executor_;
  Clock& clock_;
  ExecutorConfig config_;
  Callbacks callbacks_;
  ExecutorCore core_;
  std::shared_ptr<http::Client> client_;
  bool subscribed_ = false;
  bool stopped_ = false;
  Duration backoff_;
  std::optional<TimePoint> disconnected_since_;
  std::unique_ptr<Timer> retry_timer_;
  std::shared_ptr<std::function<void()>> close_stream_;
};

}  // namespace dcos::executor
