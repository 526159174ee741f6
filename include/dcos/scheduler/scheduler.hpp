#pragma once
// A C++ client for the v1 scheduler API: subscribes, hands every event to a callback, sends
// calls with the framework id and `Mesos-Stream-Id` filled in, and re-subscribes with
// exponential backoff (keeping its framework id) when the connection drops.
//
// Threading: create, call and destroy on the executor's thread; callbacks run there too.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "dcos/common/clock.hpp"
#include "dcos/common/ids.hpp"
#include "dcos/http/client.hpp"
#include "dcos/v1/framework_info.hpp"

namespace dcos::scheduler {

struct SchedulerConfig {
  http::Endpoint master;
  v1::FrameworkInfo framework;
  Duration backoff_initial = std::chrono::milliseconds(250);
  Duration backoff_max = std::chrono::seconds(15);
  bool reconnect = true;  // Re-subscribe after the stream ends (not after a refusal).
};

struct Callbacks {
  std::function<void(const nlohmann::json& subscribed)> subscribed;  // The SUBSCRIBED event body.
  std::function<void(const nlohmann::json& event)> event;            // Every event, SUBSCRIBED included.
  std::function<void(const std::string& why)> disconnected;          // The stream ended or failed.
};

class Scheduler : public std::enable_shared_from_this<Scheduler> {
 public:
  using Done = std::function<void(Result<http::Response>)>;

  static std::shared_ptr<Scheduler> create(boost::asio::any_io_executor executor, Clock& clock, SchedulerConfig config,
                                           Callbacks callbacks);
  ~Scheduler();

  void start();
  // Closes the stream and stops reconnecting; the framework stays registered (failover).
  void stop();

  // Sends `call` (its `framework_id` is set for you). `done` gets the HTTP response.
  void send(nlohmann::json call, Done done = {});
  void accept(const std::vector<std::string>& offer_ids, nlohmann::json operations, std::optional<double> refuse_seconds = {},
              Done done = {});
  void decline(const std::vector<std::string>& offer_ids, std::optional<double> refuse_seconds = {}, Done done = {});
  // Acknowledges an update's status if it carries a uuid (master-generated ones do not).
  void acknowledge(const nlohmann::json& status, Done done = {});
  // Acknowledges an UPDATE_OPERATION_STATUS event's status if it carries a uuid (reconciliation
  // answers and the master's own drops do not).
  void acknowledge_operation_status(const nlohmann::json& status, Done done = {});
  // `operations`: [{operation_id, agent_id?}]; empty asks for every operation the master knows.
  void reconcile_operations(nlohmann::json operations = nlohmann::json::array(), Done done = {});
  void kill(const std::string& task_id, const std::optional<std::string>& agent_id = {}, Done done = {});
  void reconcile(nlohmann::json tasks = nlohmann::json::array(), Done done = {});
  void revive(Done done = {});
  void suppress(Done done = {});
  void teardown(Done done = {});

  const std::optional<FrameworkId>& framework_id() const { return framework_id_; }
  bool subscribed() const { return !stream_id_.empty(); }

  // A LAUNCH operation for one command task on an offer's agent.
  static nlohmann::json launch_command(const std::string& task_id, const std::string& name, const std::string& agent_id,
                                       const std::string& command, const nlohmann::json& resources);

 private:
  Scheduler(boost::asio::any_io_executor executor, Clock& clock, SchedulerConfig config, Callbacks callbacks);
  void subscribe();
  void on_stream_end(const std::string& why, bool retry);
  // Re-arms the missed-heartbeat watchdog: five intervals without any event and the stream is
  // presumed dead (a silently dropped connection), closed and re-subscribed.
  void arm_watchdog();

  boost::asio::any_io_executor executor_;
  Clock& clock_;
  SchedulerConfig config_;
  Callbacks callbacks_;
  std::shared_ptr<http::Client> client_;
  std::optional<FrameworkId> framework_id_;
  std::string stream_id_;
  Duration backoff_;
  bool stopped_ = false;
  std::unique_ptr<Timer> retry_timer_;
  std::unique_ptr<Timer> watchdog_;
  Duration heartbeat_interval_ = std::chrono::seconds(15);
  std::shared_ptr<std::function<void()>> close_stream_;
};

}  // namespace dcos::scheduler
