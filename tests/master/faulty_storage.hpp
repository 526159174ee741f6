#pragma once
// A `Storage` wrapper that injects faults into the registrar's tests (the one place a fake
// storage is used): it can hang `get` or `set` (the operation waits until `release`, then goes
// on to `inner`; or fails once the wrapper is destroyed) or fail the next `set` with an I/O
// error. Everything else goes to `inner`.

#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dcos/state/storage.hpp"

namespace dcos::master::testing {

class FaultyStorage final : public state::Storage {
 public:
  explicit FaultyStorage(state::Storage& inner) : inner_(inner) {}
  // Hung operations resume (with an error nobody reads) once the wrapper is gone.
  ~FaultyStorage() override { wake(false); }

  // Hung operations go on as if they had never hung; new ones no longer hang.
  void release() {
    hang_get = hang_set = false;
    wake(true);
  }

  bool hang_get = false;
  bool hang_set = false;
  bool fail_next_set = false;
  int gets = 0;
  int sets = 0;

  boost::asio::awaitable<Result<std::optional<state::Entry>>> get(std::string name) override {
    ++gets;
    if (hang_get) {
      // Its own statement: g++ 12 miscompiles a co_await inside `&&`.
      const bool released = co_await hang();
      if (!released) co_return fail(Errc::cancelled, "hung get");
    }
    co_return co_await inner_.get(std::move(name));
  }
  boost::asio::awaitable<Result<bool>> set(state::Entry entry, std::string expected_uuid) override {
    ++sets;
    if (hang_set) {
      // Its own statement: g++ 12 miscompiles a co_await inside `&&`.
      const bool released = co_await hang();
      if (!released) co_return fail(Errc::cancelled, "hung set");
    }
    if (std::exchange(fail_next_set, false)) co_return fail(Errc::io_error, "injected set failure");
    co_return co_await inner_.set(std::move(entry), std::move(expected_uuid));
  }
  boost::asio::awaitable<Result<bool>> expunge(state::Entry entry) override {
    co_return co_await inner_.expunge(std::move(entry));
  }
  boost::asio::awaitable<Result<std::set<std::string>>> names() override { co_return co_await inner_.names(); }

 private:
  struct Hung {
    explicit Hung(const boost::asio::any_io_executor& executor)
        : timer(executor, boost::asio::steady_timer::time_point::max()) {}
    boost::asio::steady_timer timer;
    bool released = false;
  };

  // Suspends until `release` (true: the caller goes on, the wrapper is alive) or the wrapper's
  // destruction (false: the caller must touch nothing of `this`).
  boost::asio::awaitable<bool> hang() {
    auto hung = std::make_shared<Hung>(co_await boost::asio::this_coro::executor);
    hung_.push_back(hung);
    boost::system::error_code ec;
    co_await hung->timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    co_return hung->released;
  }
  void wake(bool released) {
    for (auto& weak : std::exchange(hung_, {})) {
      if (auto hung = weak.lock()) {
        hung->released = released;
        hung->timer.cancel();
      }
    }
  }

  state::Storage& inner_;
  std::vector<std::weak_ptr<Hung>> hung_;  // Owned by the hung frames.
};

}  // namespace dcos::master::testing
