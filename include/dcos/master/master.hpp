#pragma once
// The master: serves the v1 scheduler API, the agents' link and the read endpoints over HTTP,
// and carries out what `MasterCore` decides. Lives on one single-threaded executor.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "dcos/common/clock.hpp"
#include "dcos/common/result.hpp"
#include "dcos/http/server.hpp"
#include "dcos/master/master_core.hpp"

namespace dcos::state {
class Storage;
}  // namespace dcos::state
namespace dcos::replicated_log {
class Log;
struct Ensemble;
}

namespace dcos::master {

class Registrar;

struct MasterConfig {
  std::string ip = "127.0.0.1";
  std::uint16_t port = 5050;  // 0 picks a free port.
  std::string hostname;       // Defaults to `ip`.
  std::string work_dir;
  std::string cluster;
  Duration allocation_interval = std::chrono::seconds(1);
  MasterOptions options;
  http::ServerLimits limits;
  // The registry (docs/design/state.md, "The master's registry"). `replicated_log` keeps it in
  // a replicated log whose replica here lives at `<work_dir>/replicated_log`.
  std::string registry = "replicated_log";  // Or "in_memory".
  // Every replica of the registry's log as "host:port", this master's (`ip`:`log_port`)
  // included; the same list on every master, in any order. The others are other masters' or
  // standalone ones (`dcos-log replica`). Empty: this master's replica alone.
  std::vector<std::string> log_replicas;
  std::uint16_t log_port = 0;  // Where this master's replica listens; 0 (alone only): any port.
  // Replicas that must hold a registry write: more than half of `log_replicas` (1 when alone).
  std::size_t quorum = 1;
  Duration registry_fetch_timeout = std::chrono::minutes(1);
  Duration registry_store_timeout = std::chrono::seconds(20);
  // When set, the registry lives here and `registry` is ignored: the masters of a test cluster
  // share one, so that it survives a master restart.
  std::shared_ptr<state::Storage> registry_storage;
  // Runs once if the registrar fails (a fetch or store failed, timed out, or another master
  // wrote the registry): the master has stopped serving and must not come back (dcos-master
  // exits, as Mesos's master aborts).
  std::function<void(const Error&)> on_fatal;
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
  // True once the registry is recovered; until then the scheduler and agent APIs answer 503.
  bool recovered() const { return recovered_; }
  const Registrar* registrar() const { return registrar_.get(); }
  // MARK_AGENT_GONE: writes the registry, then removes the agent and its tasks for good.
  // `done` gets the registry's answer (an error when the agent is unknown or the write failed).
  void mark_agent_gone(const AgentId& id, std::function<void(Result<bool>)> done);
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
  // Roles (role_endpoints.cpp): weights, quota and `/roles`.
  http::Reply weights_endpoint(const http::Request& request);
  http::Reply quota_endpoint(const http::Request& request) const;
  http::Reply roles_endpoint(const http::Request& request) const;
  // GET_WEIGHTS, UPDATE_WEIGHTS, GET_QUOTA, UPDATE_QUOTA, GET_ROLES; nullopt for other types.
  // MARK_AGENT_GONE: answered once the registry holds the mark (master_registry.cpp).
  std::optional<http::Reply> registry_call(const http::Request& request, const std::string& type,
                                           const nlohmann::json& body);
  std::optional<http::Reply> role_call(const http::Request& request, const std::string& type,
                                       const nlohmann::json& body);
  // RESERVE_RESOURCES, UNRESERVE_RESOURCES (operator_reservations.cpp); nullopt for other types.
  std::optional<http::Reply> reservation_call(const http::Request& request, const std::string& type,
                                              const nlohmann::json& body);
  nlohmann::json roles_json() const;     // Classic `/roles` entries.
  nlohmann::json roles_v1_json() const;  // v1 `Role` messages.
  std::map<std::string, ResourceQuantities> offered_by_role() const;

  nlohmann::json state_json() const;
  nlohmann::json framework_json(const Framework& framework) const;
  nlohmann::json agent_json(const Agent& agent) const;
  nlohmann::json metrics_json() const;

  // Carries out the core's effects in order, then schedules an allocation if anything changed.
  void deliver();
  void schedule_allocation();
  void on_tick();
  // Registry (master_registry.cpp).
  Result<void> open_registry();
  // The registry log's replicas from `log_replicas`, `ip`, `log_port` and `quorum`, checked.
  Result<replicated_log::Ensemble> registry_ensemble() const;
  void add_registrar_metrics(nlohmann::json& metrics) const;  // `registrar/*` of /metrics/snapshot.
  // Drops the registrar and closes the registry's log; operations in flight fail (destructor).
  void close_registry();
  void recover_registry();
  void mark_silent_agents_unreachable();
  void registrar_failed(const Error& error);
  // Stores the weights or quota an operator call just changed in the registry, so a restarted
  // or new leading master restores them. The call is answered without waiting for the store;
  // a failed store makes the registrar (and so this master) fail.
  void record_weights(const std::map<std::string, double>& weights);
  void record_quota(const std::map<std::string, Quota>& quotas);  // An empty quota: removed.
  void schedule_registry_gc();
  void collect_registry_garbage();

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
  struct RegistryLog;
  replicated_log::Log* registry_log_ = nullptr;  // `--registry=replicated_log`: in `registry_storage_`.
  std::size_t registry_replicas_ = 0;
  std::shared_ptr<state::Storage> registry_storage_;
  std::unique_ptr<Registrar> registrar_;
  bool recovered_ = false;
  std::unique_ptr<Timer> registry_gc_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace dcos::master
