#pragma once
// The registrar: keeps the master's `Registry` (registry.hpp) in one `State<Registry>` variable
// and changes it only through `RegistryOperation`s, as Mesos's `Registrar` does.
//
//   Registrar registrar(executor, clock, storage_ptr, {.fetch_timeout = 1min, .store_timeout = 20s});
//   registrar.recover(master_info, [](Result<Registry> registry) { ... });
//   registrar.apply(AdmitAgent{id, info}, [](Result<bool> admitted) { ... });
//
// Contract:
// - `recover` fetches the variable (an empty registry when it is absent: bootstrap) and stores
//   it straight back with the recovering master's info, so that a master that lost its place to
//   another finds out now, not at its first admission.
// - Operations are queued and applied in arrival order, in batches: everything queued while a
//   store is under way (or within one turn of the executor) goes into the next batch, applied
//   to a copy of the registry one by one, then written with one store. A batch in which no
//   operation changed anything is not stored. Each caller gets its own operation's result
//   (`apply` in registry.hpp) once the batch is durable, never before.
// - Every fetch and store is bounded by its timeout on the injected clock. A fetch or store that
//   fails, times out or conflicts (someone else stored the variable: another master is writing)
//   is fatal: the registrar fails every queued operation and every later one with that error and
//   calls `on_failure` once. The owner must stop acting as master (Mesos aborts the master).
//
// Threads: construct, call and destroy on `executor` (single-threaded); callbacks run there,
// never inside `apply` or `recover` themselves. `clock` must outlive the registrar. The
// registrar shares ownership of `storage` with its fetch or store in flight, so it may be
// destroyed at any time: it drops the callbacks of operations still queued, and a storage
// operation under way runs to its end (its result goes nowhere) on a storage that is still there.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "dcos/common/clock.hpp"
#include "dcos/common/result.hpp"
#include "dcos/master/registry.hpp"
#include "dcos/state/state.hpp"

namespace spdlog {
class logger;
}

namespace dcos::master {

struct RegistrarOptions {
  Duration fetch_timeout = std::chrono::minutes(1);   // `--registry_fetch_timeout`.
  Duration store_timeout = std::chrono::seconds(20);  // `--registry_store_timeout`.
  std::string name = "registry";                      // The variable's name in the storage.
};

// What the registrar has done, for `/metrics/snapshot` and benchmarks.
struct RegistrarStats {
  std::uint64_t stores = 0;          // Successful stores (recovery's included).
  std::uint64_t operations = 0;      // Operations completed successfully.
  std::uint64_t largest_batch = 0;   // Operations in the largest stored batch.
  std::optional<Duration> last_fetch;
  std::optional<Duration> last_store;
};

class Registrar {
 public:
  using RecoverCallback = std::function<void(Result<Registry>)>;
  using ApplyCallback = std::function<void(Result<bool>)>;

  Registrar(boost::asio::any_io_executor executor, Clock& clock, std::shared_ptr<state::Storage> storage,
            RegistrarOptions options = {});
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // Call once. `done` gets the recovered registry, or the error that failed the registrar.
  // Operations applied before recovery completes wait for it.
  void recover(nlohmann::json master_info, RecoverCallback done);

  // Queues `operation`. `done` gets true when it changed the registry (and that is stored),
  // false when it had nothing to change, the operation's own error when it was refused, or the
  // registrar's failure.
  void apply(RegistryOperation operation, ApplyCallback done);

  // Runs once, after the callbacks of the operations it failed, when the registrar fails.
  void on_failure(std::function<void(const Error&)> fn) { on_failure_ = std::move(fn); }

  bool recovered() const { return recovered_; }
  const std::optional<Error>& failure() const { return failure_; }
  // The registry as last stored. Requires `recovered()`.
  const Registry& registry() const;
  const RegistrarStats& stats() const { return stats_; }
  // Operations waiting for the next batch (`registrar/queued_operations`).
  std::size_t queued() const { return queue_.size(); }

 private:
  struct Pending {
    RegistryOperation operation;
    ApplyCallback done;
  };
  using Fetched = Result<state::Variable<Registry>>;
  using Stored = Result<std::optional<state::Variable<Registry>>>;

  // Runs `op` on the executor, bounded by `timeout`; `done` gets its result or `timed_out`.
  template <typename T>
  void run_bounded(boost::asio::awaitable<T> op, Duration timeout, std::string what, std::function<void(T)> done);
  void fetched(nlohmann::json master_info, Fetched variable, RecoverCallback done);
  void schedule_update();
  void update();
  void stored(std::vector<Pending> batch, std::vector<Result<bool>> results, Stored variable);
  void fail_registrar(Error error);

  boost::asio::any_io_executor executor_;
  Clock& clock_;
  std::shared_ptr<state::Storage> storage_;  // Also held by the operation in flight.
  state::State<Registry> state_;
  RegistrarOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::optional<state::Variable<Registry>> variable_;  // As last stored.
  std::deque<Pending> queue_;
  bool recovering_ = false;
  bool recovered_ = false;
  bool updating_ = false;  // A batch is being stored, or an update is posted.
  std::optional<Error> failure_;
  std::function<void(const Error&)> on_failure_;
  std::unique_ptr<Timer> timeout_;  // Of the one storage operation in flight.
  RegistrarStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace dcos::master
