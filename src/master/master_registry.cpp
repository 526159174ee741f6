// The master shell's side of the registry: opening its storage (`--registry`), recovering it
// before serving, and writing agent admissions and removals through the `Registrar` before the
// core acts on them (docs/design/state.md, "The master's registry").
#include <filesystem>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/http/server.hpp"
#include "dcos/master/master.hpp"
#include "dcos/master/registrar.hpp"
#include "dcos/replicated_log/ensemble.hpp"
#include "dcos/replicated_log/log.hpp"
#include "dcos/state/in_memory_storage.hpp"
#include "dcos/state/log_storage.hpp"
#include "dcos/state/replicated_log_adapter.hpp"

namespace dcos::master {

// The replicated log under the registry, with the adapter and storage over it; destroyed in
// reverse: storage, adapter, log.
struct Master::RegistryLog {
  explicit RegistryLog(std::unique_ptr<replicated_log::Log> opened)
      : log(std::move(opened)), adapter(*log), storage(adapter, adapter) {}
  std::unique_ptr<replicated_log::Log> log;
  state::ReplicatedLogAdapter adapter;
  state::LogStorage storage;
};

Result<void> Master::open_registry() {
  if (config_.registry_storage) {
    registry_storage_ = config_.registry_storage;
  } else if (config_.registry == "in_memory") {
    registry_storage_ = std::make_shared<state::InMemoryStorage>();
  } else if (config_.registry == "replicated_log") {
    if (config_.work_dir.empty()) return fail(Errc::invalid_argument, "--work_dir is required for --registry=replicated_log");
    auto ensemble = registry_ensemble();
    if (!ensemble) return tl::unexpected(ensemble.error());
    replicated_log::LogOptions options;
    options.self = ensemble->self;
    options.replicas = ensemble->replicas;
    options.path = config_.work_dir + "/replicated_log";
    options.quorum = config_.quorum;
    std::error_code ec;
    std::filesystem::create_directories(config_.work_dir, ec);
    if (ec) return fail(ec, "create --work_dir " + config_.work_dir);
    auto log = replicated_log::Log::open(options);
    if (!log) return fail(log.error().code, "open registry log " + options.path + ": " + log.error().message);
    auto chain = std::make_shared<RegistryLog>(std::move(*log));
    registry_log_ = chain->log.get();
    registry_replicas_ = options.replicas.size();
    // The storage's owners (this master, and the registrar's store in flight) own the chain.
    registry_storage_ = std::shared_ptr<state::Storage>(chain, &chain->storage);
  } else {
    return fail(Errc::invalid_argument, "--registry must be replicated_log or in_memory, not " + config_.registry);
  }
  registrar_ = std::make_unique<Registrar>(
      executor_, clock_, registry_storage_,
      RegistrarOptions{.fetch_timeout = config_.registry_fetch_timeout, .store_timeout = config_.registry_store_timeout});
  registrar_->on_failure([this, alive = alive_](const Error& error) {
    if (*alive) registrar_failed(error);
  });
  return {};
}

Result<replicated_log::Ensemble> Master::registry_ensemble() const {
  if (config_.log_replicas.empty()) {
    if (config_.quorum != 1) {
      return fail(Errc::invalid_argument,
                  fmt::format("--quorum={} needs the other replicas of the registry's log: list every one, this "
                              "master's too, in --log_replicas",
                              config_.quorum));
    }
    // Alone, the replica is never dialled: it listens on loopback only.
    const replicated_log::NodeId self{0};
    return replicated_log::Ensemble{{{self, {boost::asio::ip::make_address("127.0.0.1"), config_.log_port}}}, self};
  }
  if (config_.log_port == 0) return fail(Errc::invalid_argument, "--log_port is required with --log_replicas");
  auto self = replicated_log::resolve_replica_address(fmt::format("{}:{}", config_.ip, config_.log_port));
  if (!self) return fail(Errc::invalid_argument, "--ip/--log_port: " + self.error().message);
  if (self->address().is_unspecified()) {
    return fail(Errc::invalid_argument,
                "--ip " + config_.ip + " is not an address other replicas can reach; with --log_replicas set --ip "
                "to this master's address as listed there");
  }
  auto ensemble = replicated_log::make_ensemble(config_.log_replicas, *self);
  if (!ensemble) return fail(Errc::invalid_argument, "--log_replicas: " + ensemble.error().message);
  if (auto checked = replicated_log::check_quorum(config_.quorum, ensemble->replicas.size()); !checked) {
    return fail(Errc::invalid_argument, "--quorum: " + checked.error().message);
  }
  return ensemble;
}

void Master::add_registrar_metrics(nlohmann::json& metrics) const {
  // Mesos's registrar gauges and timers (the last fetch and store, in milliseconds).
  const RegistrarStats& stats = registrar_->stats();
  auto ms = [](Duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  metrics["registrar/queued_operations"] = registrar_->queued();
  if (stats.last_fetch) metrics["registrar/state_fetch_ms"] = ms(*stats.last_fetch);
  if (stats.last_store) metrics["registrar/state_store_ms"] = ms(*stats.last_store);
  metrics["registrar/state_store_ms/count"] = stats.stores;  // As Mesos's timers count samples.
  if (registry_log_) {
    // Not `Log::status()`, which would block this thread on the log's: a registry read back from
    // the log means its replica recovered (it may have a little earlier).
    metrics["registrar/log/recovered"] = registrar_->recovered() ? 1 : 0;
    metrics["registrar/log/ensemble_size"] = registry_replicas_;
  }
}

void Master::close_registry() {
  registrar_.reset();
  // A store still in flight holds the storage, and so the log: closing the log fails it now,
  // on this executor, instead of letting the log's threads answer after the master is gone.
  if (registry_log_) registry_log_->close();
  registry_log_ = nullptr;
  registry_storage_.reset();
}

void Master::recover_registry() {
  registrar_->recover(core_.master_info(), [this, alive = alive_](Result<Registry> registry) {
    if (!*alive || !registry) return;  // A failure is `registrar_failed`'s.
    core_.recover(*registry, clock_.now());
    core_.restore_role_config(RoleConfig{registry->weights, registry->quota});
    recovered_ = true;
    schedule_registry_gc();
    deliver();
  });
}

namespace {
void log_failed_store(Result<bool> stored) {
  if (!stored) log::get("master")->error("registry update failed: {}", stored.error().message);
}
}  // namespace

void Master::record_weights(const std::map<std::string, double>& weights) {
  if (registrar_) registrar_->apply(UpdateWeights{weights}, log_failed_store);
}

void Master::record_quota(const std::map<std::string, Quota>& quotas) {
  if (registrar_) registrar_->apply(UpdateQuota{quotas}, log_failed_store);
}

void Master::schedule_registry_gc() {
  registry_gc_timer_ = clock_.schedule(config_.options.registry_gc_interval, [this] { collect_registry_garbage(); });
}

void Master::collect_registry_garbage() {
  const MasterOptions& options = config_.options;
  Prune plan = prune_plan(registrar_->registry(), clock_.now(), options.registry_max_agent_age,
                          options.registry_max_agent_count);
  if (plan.unreachable.empty() && plan.gone.empty()) return schedule_registry_gc();
  registrar_->apply(plan, [this, plan, alive = alive_](Result<bool> pruned) {
    if (!*alive || registrar_->failure()) return;
    if (pruned) {
      log::get("master")->info("registry pruned unreachable={} gone={}", plan.unreachable.size(), plan.gone.size());
      core_.prune(plan);
    }
    schedule_registry_gc();
  });
}

void Master::registrar_failed(const Error& error) {
  // Another master may own the registry now: acting on a stale one would undo its decisions.
  log::get("master")->critical("registrar failed, the master steps down: {}", error.message);
  registry_gc_timer_.reset();
  stop();
  if (config_.on_fatal) config_.on_fatal(error);
}

void Master::mark_silent_agents_unreachable() {
  for (const AgentId& id : core_.take_silent_agents()) {
    const TimePoint now = clock_.now();
    registrar_->apply(MarkUnreachable{id, now}, [this, id, alive = alive_](Result<bool> marked) {
      if (!*alive || registrar_->failure()) return;
      if (!marked) {
        // Marked gone meanwhile: that removal stands.
        log::get("master")->warn("mark unreachable refused agent={}: {}", id, marked.error().message);
        return;
      }
      core_.mark_unreachable(id, clock_.now());
      deliver();
    });
  }
}

std::optional<http::Reply> Master::registry_call(const http::Request& request, const std::string& type,
                                                 const nlohmann::json& body) {
  if (type != "MARK_AGENT_GONE") return std::nullopt;
  using http::Status;
  const nlohmann::json* call = body.contains("mark_agent_gone") ? &body["mark_agent_gone"] : nullptr;
  const nlohmann::json* id = call && call->is_object() && call->contains("agent_id") ? &(*call)["agent_id"] : nullptr;
  const nlohmann::json* value = id && id->is_object() && id->contains("value") ? &(*id)["value"] : nullptr;
  if (!value || !value->is_string() || value->get<std::string>().empty()) {
    return http::make_response(request, Status::bad_request,
                               "Failed to validate master::Call: Expecting 'mark_agent_gone.agent_id.value'");
  }
  const AgentId agent(value->get<std::string>());
  // Answered once the registry holds the mark (or refused it): a 200 means the agent is gone for
  // good, whatever happens to this master next.
  auto deferred = std::make_shared<http::Deferred>();
  mark_agent_gone(agent, [request_head = http::Request(request.method(), request.target(), request.version()),
                          keep_alive = request.keep_alive(), deferred, agent](Result<bool> marked) mutable {
    request_head.keep_alive(keep_alive);
    if (marked) return deferred->resolve(http::make_response(request_head, Status::ok));  // Also when already gone.
    if (marked.error().code == make_error_code(Errc::not_found)) {
      return deferred->resolve(
          http::make_response(request_head, Status::not_found, fmt::format("Agent '{}' not found", agent)));
    }
    deferred->resolve(http::make_response(request_head, Status::service_unavailable,
                                          "Failed to mark agent gone: " + marked.error().message));
  });
  return http::Reply::later(std::move(deferred));
}

void Master::mark_agent_gone(const AgentId& id, std::function<void(Result<bool>)> done) {
  registrar_->apply(MarkGone{id, clock_.now()}, [this, id, done = std::move(done), alive = alive_](Result<bool> marked) {
    if (*alive && marked) {
      core_.mark_gone(id, clock_.now());
      deliver();
    }
    done(std::move(marked));
  });
}

}  // namespace dcos::master
