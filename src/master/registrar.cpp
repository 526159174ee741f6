#include "dcos/master/registrar.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "dcos/common/log.hpp"

namespace dcos::master {

namespace asio = boost::asio;

Registrar::Registrar(asio::any_io_executor executor, Clock& clock, std::shared_ptr<state::Storage> storage,
                     RegistrarOptions options)
    : executor_(std::move(executor)),
      clock_(clock),
      storage_(std::move(storage)),
      state_(*storage_),
      options_(std::move(options)),
      log_(log::get("registrar")) {}

Registrar::~Registrar() { *alive_ = false; }

const Registry& Registrar::registry() const {
  DCOS_ASSERT(variable_.has_value());
  return variable_->get();
}

template <typename T>
void Registrar::run_bounded(asio::awaitable<T> op, Duration timeout, std::string what, std::function<void(T)> done) {
  // Whichever comes first, the operation or its deadline, settles it; the loser is ignored. A
  // storage operation that outlives its deadline still runs to its end (storages cannot cancel),
  // but by then the registrar has failed and uses the storage no more.
  auto settled = std::make_shared<bool>(false);
  timeout_ = clock_.schedule(timeout, [this, settled, done, timeout, what] {
    if (*settled) return;
    *settled = true;
    done(fail(Errc::timed_out, fmt::format("{} timed out after {}ms", what,
                                           std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count())));
  });
  auto finish = [this, settled, done, alive = alive_](T result) {
    if (!*alive || *settled) return;
    *settled = true;
    timeout_.reset();
    done(std::move(result));
  };
  // `op` runs on `storage_` (and `state_`, which holds only a reference to it): the frame keeps
  // the storage alive until `op` ends, even if the registrar is destroyed before.
  asio::co_spawn(
      executor_,
      [op = std::move(op), finish, what, storage = storage_]() mutable -> asio::awaitable<void> {
        T result = fail(Errc::io_error, what + " failed");
        try {
          result = co_await std::move(op);
        } catch (const std::exception& e) {
          result = fail(Errc::io_error, fmt::format("{} failed: {}", what, e.what()));
        }
        finish(std::move(result));
      },
      asio::detached);
}

void Registrar::recover(nlohmann::json master_info, RecoverCallback done) {
  DCOS_ASSERT(!recovering_ && !recovered_);
  recovering_ = true;
  log_->info("recovering registry name={}", options_.name);
  const auto started = std::chrono::steady_clock::now();
  run_bounded<Fetched>(state_.fetch(options_.name), options_.fetch_timeout, "registry fetch",
                       [this, started, master_info = std::move(master_info), done = std::move(done)](Fetched variable) mutable {
                         stats_.last_fetch = std::chrono::steady_clock::now() - started;
                         fetched(std::move(master_info), std::move(variable), std::move(done));
                       });
}

void Registrar::fetched(nlohmann::json master_info, Fetched variable, RecoverCallback done) {
  if (!variable) {
    done(tl::unexpected(variable.error()));
    return fail_registrar(variable.error());
  }
  const bool bootstrap = variable->get() == Registry{};
  Registry registry = variable->get();
  registry.master_info = std::move(master_info);
  const auto started = std::chrono::steady_clock::now();
  run_bounded<Stored>(state_.store(variable->mutate(std::move(registry))), options_.store_timeout, "registry store",
                      [this, started, bootstrap, done = std::move(done)](Stored stored) {
                        stats_.last_store = std::chrono::steady_clock::now() - started;
                        if (stored && !*stored) {
                          stored = fail(Errc::conflict, "registry changed while recovering: another master is writing it");
                        }
                        if (!stored) {
                          done(tl::unexpected(stored.error()));
                          return fail_registrar(stored.error());
                        }
                        variable_ = std::move(**stored);
                        ++stats_.stores;
                        recovering_ = false;
                        recovered_ = true;
                        const Registry& r = variable_->get();
                        log_->info("registry recovered{} agents={} unreachable={} gone={}", bootstrap ? " (new)" : "",
                                   r.agents.size(), r.unreachable.size(), r.gone.size());
                        done(r);
                        if (!queue_.empty()) schedule_update();
                      });
}

void Registrar::apply(RegistryOperation operation, ApplyCallback done) {
  if (failure_) {
    asio::post(executor_, [done = std::move(done), error = *failure_] { done(tl::unexpected(error)); });
    return;
  }
  queue_.push_back({std::move(operation), std::move(done)});
  if (recovered_) schedule_update();
}

void Registrar::schedule_update() {
  if (updating_) return;
  updating_ = true;
  // One turn of the executor later, so that operations queued in the same turn share a store.
  asio::post(executor_, [this, alive = alive_] {
    if (*alive) update();
  });
}

void Registrar::update() {
  if (failure_ || queue_.empty()) {
    updating_ = false;
    return;
  }
  std::vector<Pending> batch(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  Registry next = variable_->get();
  std::vector<Result<bool>> results;
  results.reserve(batch.size());
  bool changed = false;
  for (const Pending& pending : batch) {
    results.push_back(master::apply(next, pending.operation));
    if (results.back() && *results.back()) changed = true;
    if (!results.back()) log_->warn("registry operation refused {}: {}", describe(pending.operation), results.back().error().message);
  }
  if (!changed) return stored(std::move(batch), std::move(results), std::optional(*variable_));
  const auto started = std::chrono::steady_clock::now();
  run_bounded<Stored>(state_.store(variable_->mutate(std::move(next))), options_.store_timeout, "registry store",
                      [this, started, batch = std::move(batch), results = std::move(results)](Stored variable) mutable {
                        stats_.last_store = std::chrono::steady_clock::now() - started;
                        if (variable && *variable) {
                          ++stats_.stores;
                          stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, batch.size());
                        }
                        stored(std::move(batch), std::move(results), std::move(variable));
                      });
}

void Registrar::stored(std::vector<Pending> batch, std::vector<Result<bool>> results, Stored variable) {
  if (variable && !*variable) {
    variable = fail(Errc::conflict, "registry changed since it was fetched: another master is writing it");
  }
  if (!variable) {
    // The batch's fate is unknown (a timed-out store may still land): fail it with the rest.
    queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
    return fail_registrar(variable.error());
  }
  variable_ = std::move(**variable);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (results[i]) ++stats_.operations;
    batch[i].done(std::move(results[i]));
  }
  updating_ = false;
  if (!queue_.empty()) schedule_update();
}

void Registrar::fail_registrar(Error error) {
  if (failure_) return;
  log_->critical("registrar failed: {}", error.message);
  failure_ = error;
  updating_ = false;
  timeout_.reset();
  auto queued = std::exchange(queue_, {});
  for (Pending& pending : queued) pending.done(tl::unexpected(error));
  if (on_failure_) on_failure_(error);
}

}  // namespace dcos::master
