#include "dcos/common/clock.hpp"

#include <boost/asio/system_timer.hpp>

namespace dcos {
namespace {

class AsioTimer final : public Timer {
 public:
  AsioTimer(boost::asio::any_io_executor executor, Duration after, std::function<void()> fn)
      : timer_(std::make_shared<boost::asio::system_timer>(executor)) {
    timer_->expires_after(std::chrono::duration_cast<boost::asio::system_timer::duration>(after));
    // The handler owns the timer object, so cancelling from the destructor is always safe.
    timer_->async_wait([t = timer_, fn = std::move(fn)](boost::system::error_code ec) {
      if (!ec) fn();
    });
  }
  ~AsioTimer() override { timer_->cancel(); }

 private:
  std::shared_ptr<boost::asio::system_timer> timer_;
};

}  // namespace

TimePoint SystemClock::now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

std::unique_ptr<Timer> SystemClock::schedule(Duration after, std::function<void()> fn) {
  return std::make_unique<AsioTimer>(executor_, after, std::move(fn));
}

class ManualClock::ManualTimer final : public Timer {
 public:
  ManualTimer(ManualClock* clock, std::pair<TimePoint, std::uint64_t> key)
      : clock_(clock), key_(key), alive_(clock->alive_) {}
  ~ManualTimer() override {
    if (*alive_) clock_->timers_.erase(key_);
  }

 private:
  ManualClock* clock_;
  std::pair<TimePoint, std::uint64_t> key_;
  std::shared_ptr<bool> alive_;
};

ManualClock::ManualClock(TimePoint start) : now_(start) {}

ManualClock::~ManualClock() { *alive_ = false; }

std::unique_ptr<Timer> ManualClock::schedule(Duration after, std::function<void()> fn) {
  const auto key = std::make_pair(now_ + std::max(after, Duration::zero()), next_sequence_++);
  timers_.emplace(key, std::move(fn));
  return std::make_unique<ManualTimer>(this, key);
}

void ManualClock::advance(Duration by) {
  const TimePoint target = now_ + by;
  while (!timers_.empty() && timers_.begin()->first.first <= target) {
    auto node = timers_.extract(timers_.begin());
    now_ = std::max(now_, node.key().first);
    node.mapped()();
  }
  now_ = target;
}

}  // namespace dcos
