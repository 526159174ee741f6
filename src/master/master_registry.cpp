// The master shell's side of the registry: opening its storage (`--registry`), recovering it
// before serving, and writing agent admissions and removals through the `Registrar` before the
// core acts on them (docs/design/state.md, "The master's registry").
#include <filesystem>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/master/master.hpp"
#include "dcos/master/registrar.hpp"
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
    if (config_.quorum != 1) {
      // Other masters' replicas would be needed; they are found through `--zk`, which this
      // master does not support yet.
      return fail(Errc::invalid_argument,
                  fmt::format("--quorum={} needs the other masters' log replicas, which is not supported yet; "
                              "use --quorum=1 for a single master",
                              config_.quorum));
    }
    replicated_log::LogOptions options;
    options.self = replicated_log::NodeId{0};
    // The replica's own port is never dialled with one replica; any free loopback port will do.
    options.replicas = {{options.self, {boost::asio::ip::make_address("127.0.0.1"), 0}}};
    options.path = config_.work_dir + "/replicated_log";
    options.quorum = config_.quorum;
    std::error_code ec;
    std::filesystem::create_directories(config_.work_dir, ec);
    if (ec) return fail(ec, "create --work_dir " + config_.work_dir);
    auto log = replicated_log::Log::open(options);
    if (!log) return fail(log.error().code, "open registry log " + options.path + ": " + log.error().message);
    auto chain = std::make_shared<RegistryLog>(std::move(*log));
    registry_log_ = chain->log.get();
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
