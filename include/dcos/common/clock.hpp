#pragma once
// Time as an input. Components never read the system clock: they take a `Clock&`, so tests can
// use `ManualClock` and advance time instead of sleeping ("75 s without pongs" runs in
// microseconds and never flakes).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

namespace dcos {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Duration>;

// Seconds since the epoch as a double: Mesos's `timestamp` fields.
inline double to_epoch_seconds(TimePoint t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}
inline double to_seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
inline Duration from_seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

// A scheduled callback. Destroying it cancels the callback if it has not run yet.
class Timer {
 public:
  virtual ~Timer() = default;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Runs `fn` once, `after` from now, on the thread that drives the clock (the io_context's for
  // `SystemClock`, the caller of `advance` for `ManualClock`). Keep the returned timer alive
  // for as long as the callback may run.
  [[nodiscard]] virtual std::unique_ptr<Timer> schedule(Duration after, std::function<void()> fn) = 0;
};

// The real clock, backed by Asio timers on `executor`.
class SystemClock final : public Clock {
 public:
  explicit SystemClock(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}
  TimePoint now() const override;
  std::unique_ptr<Timer> schedule(Duration after, std::function<void()> fn) override;

 private:
  boost::asio::any_io_executor executor_;
};

// A clock that moves only when told to. Single-threaded: call everything from one thread.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::seconds(1'700'000'000)));
  ~ManualClock() override;
  TimePoint now() const override { return now_; }
  std::unique_ptr<Timer> schedule(Duration after, std::function<void()> fn) override;
  // Moves time forward by `by`, running every callback that falls due, in deadline order, with
  // `now()` equal to each callback's deadline while it runs (so periodic work re-arms properly).
  void advance(Duration by);
  size_t pending() const { return timers_.size(); }

 private:
  class ManualTimer;
  TimePoint now_;
  std::uint64_t next_sequence_ = 0;
  // Keyed by (deadline, sequence): equal deadlines fire in scheduling order.
  std::map<std::pair<TimePoint, std::uint64_t>, std::function<void()>> timers_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace dcos
