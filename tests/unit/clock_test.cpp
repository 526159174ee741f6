#include "dcos/common/clock.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace {

using namespace std::chrono_literals;
using dcos::ManualClock;
using dcos::TimePoint;

}  // namespace

TEST_CASE("ManualClock starts where told and moves only on advance", "[common][core]") {
  // now() is the start time until advance(); advance(by) moves it by exactly `by`.
  const TimePoint start(std::chrono::seconds(1000));
  ManualClock clock(start);
  CHECK(clock.now() == start);
  CHECK(clock.now() == start);
  clock.advance(1500ms);
  CHECK(clock.now() == start + 1500ms);
  CHECK(ManualClock().now() == TimePoint(std::chrono::seconds(1'700'000'000)));
}

TEST_CASE("ManualClock fires timers in deadline order with now() at each deadline", "[common][core]") {
  // Timers at 30, 10 and 20 ms; advancing 25 ms runs 10 then 20, each seeing its own deadline.
  ManualClock clock;
  const TimePoint start = clock.now();
  std::vector<std::pair<int, TimePoint>> fired;
  auto t30 = clock.schedule(30ms, [&] { fired.emplace_back(30, clock.now()); });
  auto t10 = clock.schedule(10ms, [&] { fired.emplace_back(10, clock.now()); });
  auto t20 = clock.schedule(20ms, [&] { fired.emplace_back(20, clock.now()); });
  CHECK(clock.pending() == 3);

  clock.advance(25ms);
  REQUIRE(fired.size() == 2);
  CHECK(fired[0] == std::make_pair(10, start + 10ms));
  CHECK(fired[1] == std::make_pair(20, start + 20ms));
  CHECK(clock.now() == start + 25ms);  // After the callbacks, time is the advance target.
  CHECK(clock.pending() == 1);

  clock.advance(5ms);  // Exactly at the deadline: due.
  REQUIRE(fired.size() == 3);
  CHECK(fired[2] == std::make_pair(30, start + 30ms));
  CHECK(clock.pending() == 0);
}

TEST_CASE("ManualClock fires equal deadlines in scheduling order", "[common][core]") {
  // Three timers for the same instant run first-scheduled first.
  ManualClock clock;
  std::vector<int> order;
  auto a = clock.schedule(1s, [&] { order.push_back(1); });
  auto b = clock.schedule(1s, [&] { order.push_back(2); });
  auto c = clock.schedule(1s, [&] { order.push_back(3); });
  clock.advance(1s);
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("Destroying a ManualClock timer cancels it", "[common][core]") {
  // The reset timer never runs; the kept one does; a timer runs at most once.
  ManualClock clock;
  int cancelled = 0, kept = 0;
  auto doomed = clock.schedule(1s, [&] { ++cancelled; });
  auto keeper = clock.schedule(1s, [&] { ++kept; });
  doomed.reset();
  CHECK(clock.pending() == 1);
  clock.advance(10s);
  CHECK(cancelled == 0);
  CHECK(kept == 1);
  clock.advance(10s);
  CHECK(kept == 1);
  keeper.reset();  // Destroying a timer that already fired is harmless.
  CHECK(clock.pending() == 0);
}

TEST_CASE("A timer scheduled by a callback fires in the same advance when due", "[common][core]") {
  // A 10 ms callback arms a 5 ms timer; advance(20 ms) runs both (now() 10, 15 ms), not a 25 ms one.
  ManualClock clock;
  const TimePoint start = clock.now();
  std::unique_ptr<dcos::Timer> chained, late;
  std::vector<TimePoint> fired;
  auto first = clock.schedule(10ms, [&] {
    fired.push_back(clock.now());
    chained = clock.schedule(5ms, [&] {
      fired.push_back(clock.now());
      late = clock.schedule(10ms, [&] { fired.push_back(clock.now()); });  // Due at 25 ms.
    });
  });
  clock.advance(20ms);
  REQUIRE(fired.size() == 2);
  CHECK(fired[0] == start + 10ms);
  CHECK(fired[1] == start + 15ms);
  CHECK(clock.pending() == 1);
  clock.advance(5ms);
  REQUIRE(fired.size() == 3);
  CHECK(fired[2] == start + 25ms);
}

TEST_CASE("ManualClock treats a negative delay as zero", "[common][core]") {
  // A timer scheduled in the past is due now and fires on advance(0), not before.
  ManualClock clock;
  bool ran = false;
  auto timer = clock.schedule(-5s, [&] { ran = true; });
  CHECK_FALSE(ran);
  clock.advance(0s);
  CHECK(ran);
}

TEST_CASE("A timer may outlive its ManualClock", "[common][core]") {
  // Destroying the timer after the clock is gone neither crashes nor touches freed memory.
  std::unique_ptr<dcos::Timer> timer;
  {
    ManualClock clock;
    timer = clock.schedule(1s, [] {});
  }
  timer.reset();
  SUCCEED();
}

TEST_CASE("Seconds conversions match Mesos's double timestamps", "[common][core]") {
  // to_seconds / from_seconds / to_epoch_seconds convert both ways without surprise.
  CHECK(dcos::to_seconds(1500ms) == 1.5);
  CHECK(dcos::from_seconds(2.25) == 2250ms);
  CHECK(dcos::to_epoch_seconds(TimePoint(std::chrono::milliseconds(1'700'000'000'500))) == 1700000000.5);
}
