#pragma once
// The master: serves the v1 scheduler API, the agents' link and the read endpoints over HTTP,
// and carries out what `MasterCore` decides. Lives on one single-threaded executor.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "dcos/common/clock.hpp"
#include "dcos/common/result.hpp"
#include "dcos/http/server.hpp"
#include "dcos/master/master_core.hpp"

namespace dcos::master {

struct MasterConfig {
  std::string ip = "127.0.0.1";
  std::uint16_t port = 5050;  // 0 picks a free port.
  std::string hostname;       // Defaults to `ip`.
  std::string work_dir;
  std::string cluster;
  Duration allocation_interval = std::chrono::seconds(1);
  MasterOptions options;
  http::ServerLimits limits;
  // Every flag as given, for `/flags` (name -> value text).
  std::map<std::string, std::string> flags;
};

class Master {
 public:
  // `clock` must outlive the master.
  Master(boost::asio::any_io_executor executor, Clock& clock, MasterConfig config);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Binds the HTTP port and starts the timers. Returns the bound port.
  Result<std::uint16_t> start();
  void stop();

  std::uint16_t port() const { return server_ ? server_->port() : 0; }
  const MasterCore& core() const { return core_; }
  const std::string& id() const { return core_.id(); }
  const MasterConfig& config() const { return config_; }

 private:
  http::Reply scheduler_api(const http::Request& request);
  http::Reply agent_api(const http::Request& request);
  http::Reply state_endpoint(const http::Request& request) const;
  http::Reply frameworks_endpoint(const http::Request& request) const;
  http::Reply slaves_endpoint(const http::Request& request) const;
  http::Reply tasks_endpoint(const http::Request& request) const;
  http::Reply metrics_endpoint(const http::Request& request) const;
  http::Reply flags_endpoint(const http::Request& request) const;
  http::Reply version_endpoint(const http::Request& request) const;
  http::Reply operator_api(const http::Request& request);

  nlohmann::json state_json() const;
  nlohmann::json framework_json(const Framework& framework) const;
  nlohmann::json agent_json(const Agent& agent) const;
  nlohmann::json metrics_json() const;

  // Carries out the core's effects in order, then schedules an allocation if anything changed.
  void deliver();
  void schedule_allocation();
  void on_tick();

  boost::asio::any_io_executor executor_;
  Clock& clock_;
  MasterConfig config_;
  MasterCore core_;
  TimePoint start_time_;
  std::unique_ptr<http::Server> server_;
  std::map<std::string, std::shared_ptr<http::Stream>> framework_streams_;  // By framework id.
  std::map<std::string, std::shared_ptr<http::Stream>> agent_streams_;      // By agent id.
  std::map<std::string, std::shared_ptr<http::Stream>> pending_streams_;    // By stream token.
  std::unique_ptr<Timer> tick_timer_;
  bool allocation_scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace dcos::master
