#pragma once
// Task health checks (reference/mesos-api.md §8.5, Mesos `docs/health-checks.md`): a pure core
// deciding what each check result means, and a thin shell running COMMAND, HTTP and TCP checks
// on a clock.
//
// The rules (Mesos `HealthChecker`): the first check runs `delay` after the task starts, each
// next one `interval` after the previous result; a check not done within `timeout` failed.
// Failures inside `grace_period` (from the start) are ignored until the first success. Every
// counted failure is reported (`healthy: false`) and counts towards `consecutive_failures`,
// after which the task is to be killed; a success is reported when it is the first or follows
// failures, and resets the count.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "dcos/common/clock.hpp"
#include "dcos/common/result.hpp"
#include "dcos/v1/task.hpp"

namespace dcos::agent {

struct HealthCheckSpec {
  enum class Type { command, http, tcp };
  Type type = Type::command;
  v1::CommandInfo command;      // For `command`.
  std::string scheme = "http";  // For `http`.
  std::uint16_t port = 0;       // For `http` and `tcp`.
  std::string path = "/";       // For `http`.
  Duration delay = std::chrono::seconds(15);
  Duration interval = std::chrono::seconds(10);
  Duration timeout = std::chrono::seconds(20);
  Duration grace_period = std::chrono::seconds(10);
  int consecutive_failures = 3;
};

// `TaskInfo.health_check` as sent. Pure.
Result<HealthCheckSpec> parse_health_check(const nlohmann::json& health_check);

struct HealthVerdict {
  bool report = false;  // Send a TASK_RUNNING update carrying `healthy`.
  bool healthy = false;
  bool kill = false;    // Failed `consecutive_failures` times in a row: kill the task.
  int consecutive_failures = 0;
};

class HealthCheckCore {
 public:
  HealthCheckCore(HealthCheckSpec spec, TimePoint started) : spec_(std::move(spec)), started_(started) {}
  const HealthCheckSpec& spec() const { return spec_; }
  TimePoint first_check() const { return started_ + spec_.delay; }
  HealthVerdict on_success(TimePoint now);
  HealthVerdict on_failure(TimePoint now);
  int consecutive_failures() const { return failures_; }

 private:
  HealthCheckSpec spec_;
  TimePoint started_;
  bool initializing_ = true;  // No success yet.
  int failures_ = 0;
};

// Runs the checks of one task. Destroying it stops them (a running check command is killed).
class HealthChecker {
 public:
  struct Context {
    std::string sandbox;                   // Working directory of COMMAND checks.
    std::vector<std::string> environment;  // Their environment ("NAME=value").
    std::string host = "127.0.0.1";        // Where HTTP and TCP checks connect.
  };
  using Callback = std::function<void(const HealthVerdict& verdict, const std::string& message)>;

  HealthChecker(boost::asio::any_io_executor executor, Clock& clock, HealthCheckSpec spec, Context context,
                Callback on_verdict);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace dcos::agent
