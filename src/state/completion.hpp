#pragma once
// Bridges from threads we do not own (a LevelDB worker, the ZooKeeper client's completion
// thread) back to the awaiting coroutine's executor: the coroutine suspends, someone calls the
// `Completion` once from any thread, and the coroutine resumes on its own executor, never on
// the calling thread. The pending operation counts as work, so `io_context::run()` does not
// return while it is outstanding.

#include <atomic>
#include <functional>
#include <memory>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dcos/common/result.hpp"

namespace dcos::state::detail {

// Delivers the outcome of a pending operation. Copyable; call it exactly once.
template <typename R>
using Completion = std::function<void(R)>;

template <typename Handler, typename Executor>
struct PendingCompletion {
  PendingCompletion(Handler handler, Executor executor)
      : handler(std::move(handler)), executor(std::move(executor)) {}
  Handler handler;
  Executor executor;  // The awaiting coroutine's, tracking outstanding work.
  std::atomic<bool> done = false;
};

// Suspends until the `Completion<R>` handed to `start` is called, and returns its value.
// `start` runs at once, on the awaiting coroutine's thread; it may call the completion itself.
template <typename R, typename Start>
boost::asio::awaitable<R> await_completion(Start start) {
  namespace asio = boost::asio;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [](auto handler, Start start) {
        auto executor = asio::prefer(asio::get_associated_executor(handler),
                                     asio::execution::outstanding_work.tracked);
        using Pending = PendingCompletion<decltype(handler), decltype(executor)>;
        auto pending = std::make_shared<Pending>(std::move(handler), std::move(executor));
        start(Completion<R>([pending](R result) {
          DCOS_ASSERT(!pending->done.exchange(true));
          // The tracked executor and the handler move into the posted operation, which runs and
          // is destroyed on the awaiting executor. Nothing of them stays with this thread: copies
          // of the completion may live on here (in a callback queue freed later), and a tracked
          // executor released here after the io_context is gone would count work in freed
          // memory (or stop another io_context allocated in its place).
          auto work = std::move(pending->executor);
          auto executor = asio::prefer(work, asio::execution::outstanding_work.untracked);
          asio::post(executor, [work = std::move(work), handler = std::move(pending->handler),
                                result = std::move(result)]() mutable { std::move(handler)(std::move(result)); });
        }));
      },
      asio::use_awaitable, std::move(start));
}

}  // namespace dcos::state::detail
