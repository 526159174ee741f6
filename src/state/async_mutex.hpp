#pragma once
// A mutex for coroutines: `co_await mutex.lock()` suspends (never blocks a thread) until the
// mutex is free, and the returned guard unlocks it. Waiters get it in FIFO order, each resumed
// on its own executor. Thread-safe.

#include <deque>
#include <mutex>

#include <boost/asio/awaitable.hpp>

#include "completion.hpp"

namespace dcos::state::detail {

class AsyncMutex {
 public:
  class Guard {
   public:
    Guard(Guard&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
    Guard& operator=(Guard&&) = delete;
    ~Guard() {
      if (mutex_ != nullptr) mutex_->unlock();
    }

   private:
    friend class AsyncMutex;
    explicit Guard(AsyncMutex* mutex) : mutex_(mutex) {}
    AsyncMutex* mutex_;
  };

  boost::asio::awaitable<Guard> lock() {
    {
      std::lock_guard lock(mutex_);
      if (!locked_) {  // Uncontended: no trip through the executor.
        locked_ = true;
        co_return Guard(this);
      }
    }
    co_await await_completion<bool>([this](Completion<bool> done) {
      std::unique_lock lock(mutex_);
      if (!locked_) {
        locked_ = true;
        lock.unlock();
        done(true);
      } else {
        waiters_.push_back(std::move(done));
      }
    });
    co_return Guard(this);
  }

 private:
  void unlock() {
    std::unique_lock lock(mutex_);
    if (waiters_.empty()) {
      locked_ = false;
      return;
    }
    Completion<bool> next = std::move(waiters_.front());  // Hands the mutex over, still locked.
    waiters_.pop_front();
    lock.unlock();
    next(true);
  }

  std::mutex mutex_;
  bool locked_ = false;
  std::deque<Completion<bool>> waiters_;
};

}  // namespace dcos::state::detail
