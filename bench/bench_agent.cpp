// bench_agent: how fast one agent starts tasks and recovers them. One JSON object per line on
// stdout, units in the keys (the components log to stderr, WARN by default). Exits by itself in
// about 30 s with the defaults.
//
// Setup for every point: a `dcos::testing::Cluster` with no agents of its own (system clock,
// one master) and one `dcos::agent::Agent` the bench owns, on one io_context on this thread, with
// one framework driven through `dcos::scheduler::Scheduler` (every update acknowledged). Real
// processes, real HTTP on loopback; sandboxes on tmpfs unless --work_dir_parent says otherwise.
// Every task is `sleep 1000` (cpus 0.01, mem 4), so what is measured is the start, not the work.
//
//   1. {"bench":"launch_latency","kind":"command"|"executor",...}: --samples tasks one at a
//      time. Each is timed from the scheduler's ACCEPT (one LAUNCH of one task) to the arrival of
//      its TASK_RUNNING at the scheduler: master, agent, process start and the update's way back.
//      Then it is killed, and the next starts once TASK_KILLED is in, so every sample meets an
//      idle agent. "command": the agent's command-task fast path. "executor": a custom executor
//      per task, which is this very binary started with DCOS_BENCH_EXECUTOR=1 (see
//      `run_bench_executor`): it subscribes, answers LAUNCH with TASK_RUNNING, KILL with
//      TASK_KILLED, and exits once that is acknowledged.
//   2. {"bench":"launch_rate","kind":...}: one ACCEPT with --batch tasks; `tasks_per_s` is the
//      batch over the time from that ACCEPT to the last TASK_RUNNING.
//   3. {"bench":"recovery",...}: a checkpointing framework runs --recover_tasks tasks; the agent
//      is stopped with its tasks left running (as a SIGKILLed daemon leaves them) and a new agent
//      starts on the same work_dir and port. `recover_ms` is `Agent::start()` (reading the
//      checkpoints, adopting every live process); `reregistered_ms` runs until the master has it
//      back, with every task running and no update pending. The framework must see no update
//      during the restart (`updates_during_restart`).
//
// Limits: each running command task is up to two processes (a checkpointed one runs under a
// shell wrapper) and one pidfd; the bench raises its soft RLIMIT_NOFILE and RLIMIT_NPROC to the
// hard limits and reports both, and refuses to run when they cannot hold --recover_tasks.
//
// Run (from the repository root):
//   cmake --build build --target bench_agent -j2 && ./build/bench/bench_agent
//   ./build/bench/bench_agent --samples 500 --batch 500 --recover_tasks 1000
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "dcos/agent/agent.hpp"
#include "dcos/common/clock.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/executor/executor.hpp"
#include "dcos/resources/resources.hpp"
#include "dcos/scheduler/scheduler.hpp"
#include "dcos/testing/cluster.hpp"
#include "dcos/v1/task.hpp"

namespace {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

struct Flags {
  std::string work_dir_parent = "/dev/shm";
  int samples = 200;
  int batch = 200;
  int recover_tasks = 500;
  double timeout_seconds = 120;  // Per wait; a safety net, not a pacing device.
  bool skip_latency = false;
  bool skip_rate = false;
  bool skip_recovery = false;
};

void print(const nlohmann::ordered_json& line) { std::cout << line.dump() << std::endl; }

double ms_between(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

double rounded(double value, int digits = 2) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

// Nearest-rank percentile of `sorted` (ascending, non-empty).
double percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// ---------------------------------------------------------------------------------------------
// The custom executor: this binary again, started by the agent.

int run_bench_executor() {
  auto config = dcos::executor::ExecutorConfig::from_environment();
  if (!config) {
    std::cerr << "bench executor: " << config.error().message << "\n";
    return 2;
  }
  asio::io_context io(1);
  dcos::SystemClock clock(io.get_executor());
  std::shared_ptr<dcos::executor::Executor> executor;
  bool done = false;
  auto send = [&](const dcos::TaskId& task, dcos::v1::TaskState state) {
    dcos::v1::TaskStatus status;
    status.task_id = task;
    status.state = state;
    executor->update(std::move(status));
  };
  dcos::executor::Callbacks callbacks;
  callbacks.launch = [&](const nlohmann::json& task) {
    send(dcos::TaskId(task["task_id"]["value"].get<std::string>()), dcos::v1::TaskState::running);
  };
  callbacks.kill = [&](const dcos::TaskId& task, const nlohmann::json&) {
    done = true;
    send(task, dcos::v1::TaskState::killed);
  };
  callbacks.acknowledged = [&](const dcos::TaskId&, const std::string&) {
    if (done && executor->core().unacknowledged_updates() == 0) io.stop();
  };
  callbacks.shutdown = [&] { io.stop(); };
  callbacks.failed = [&](const std::string&) { io.stop(); };
  executor = dcos::executor::Executor::create(io.get_executor(), clock, *config, callbacks);
  executor->start();
  io.run();
  executor->stop();
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Limits

struct Limits {
  rlim_t nofile = 0;
  rlim_t nproc = 0;
};

// Raises the soft limits to the hard ones; returns what is in force afterwards.
Limits raise_limits() {
  Limits out;
  for (int resource : {RLIMIT_NOFILE, RLIMIT_NPROC}) {
    rlimit limit{};
    if (::getrlimit(resource, &limit) != 0) continue;
    if (limit.rlim_cur < limit.rlim_max) {
      limit.rlim_cur = limit.rlim_max;
      ::setrlimit(resource, &limit);
      ::getrlimit(resource, &limit);
    }
    (resource == RLIMIT_NOFILE ? out.nofile : out.nproc) = limit.rlim_cur;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One master, one agent the bench owns, one framework.

class Bench {
 public:
  Bench(const Flags& flags, bool checkpoint) : flags_(flags) {
    std::error_code ec;
    const std::string& parent = flags.work_dir_parent;
    if (!parent.empty() && std::filesystem::is_directory(parent, ec) && ::access(parent.c_str(), W_OK) == 0) {
      std::string pattern = parent + "/bench_agent-XXXXXX";
      if (::mkdtemp(pattern.data()) != nullptr) work_dir_ = pattern;
    }
    dcos::testing::ClusterOptions options;
    options.agents = 0;
    options.manual_clock = false;
    options.work_dir = work_dir_;
    cluster_ = std::make_unique<dcos::testing::Cluster>(io_, options);
    agent_config_.port = 0;
    agent_config_.work_dir = cluster_->work_dir() + "/agent";
    agent_config_.resources = dcos::parse_resources("cpus:64;mem:65536;disk:65536;ports:[31000-32000]").value();
    // The bench's executors answer at once; a slow machine must not fail their registration.
    agent_config_.executor_registration_timeout = std::chrono::minutes(5);
    framework_.user = "bench";
    framework_.name = "bench_agent";
    framework_.checkpoint = checkpoint;
    framework_.failover_timeout = 3600;
  }
  ~Bench() {
    if (scheduler_) scheduler_->stop();
    scheduler_.reset();
    agent_.reset();  // Kills whatever still runs.
    cluster_.reset();
    std::error_code ec;
    if (!work_dir_.empty()) std::filesystem::remove_all(work_dir_, ec);
  }

  bool start() {
    if (!cluster_->start(std::chrono::seconds(30))) return fail("the master did not start");
    agent_config_.master = cluster_->master_endpoint();
    if (!start_agent()) return false;
    dcos::scheduler::Callbacks callbacks;
    callbacks.event = [this](const nlohmann::json& event) { on_event(event); };
    dcos::scheduler::SchedulerConfig config;
    config.master = cluster_->master_endpoint();
    config.framework = framework_;
    scheduler_ = dcos::scheduler::Scheduler::create(io_.get_executor(), cluster_->clock(), config, callbacks);
    scheduler_->start();
    return true;
  }

  // A new agent on the agent work_dir (and, after the first, the same port).
  bool start_agent() {
    agent_ = std::make_unique<dcos::agent::Agent>(io_.get_executor(), cluster_->clock(), agent_config_);
    auto port = agent_->start();
    if (!port) return fail("the agent did not start: " + port.error().message);
    agent_config_.port = *port;
    return wait([&] { return agent_->registered(); }, "the agent did not register");
  }

  // Gone with its tasks left running, as a SIGKILLed daemon leaves them.
  void crash_agent() {
    agent_->stop(false);
    agent_.reset();
    cluster_->poll();
  }

  // Accepts the next offer with `tasks` new tasks (ids t0, t1, ... in launch order); returns the
  // time of the ACCEPT, or nullopt when no offer came.
  std::optional<SteadyClock::time_point> launch(int tasks, bool custom_executor) {
    if (!wait([&] { return !offers_.empty(); }, "no offer came")) return std::nullopt;
    const nlohmann::json offer = offers_.front();
    offers_.erase(offers_.begin());
    const std::string agent_id = offer["agent_id"]["value"];
    nlohmann::json infos = nlohmann::json::array();
    for (int i = 0; i < tasks; ++i) infos.push_back(task_info(fmt::format("t{}", next_task_++), agent_id, custom_executor));
    const auto accepted = SteadyClock::now();
    scheduler_->accept({offer["id"]["value"]},
                       nlohmann::json::array({{{"type", "LAUNCH"}, {"launch", {{"task_infos", std::move(infos)}}}}}), 0.0);
    return accepted;
  }

  bool wait(const std::function<bool()>& condition, const std::string& what) {
    const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(flags_.timeout_seconds * 1000));
    if (cluster_->run_until([&] { return !failure_.empty() || condition(); }, timeout) && failure_.empty()) return true;
    return fail(failure_.empty() ? what : failure_);
  }
  bool fail(const std::string& why) {
    std::cerr << "bench_agent: " << why << "\n";
    return false;
  }

  std::string last_task() const { return fmt::format("t{}", next_task_ - 1); }
  std::optional<SteadyClock::time_point> running_at(const std::string& task) const {
    auto it = running_.find(task);
    return it == running_.end() ? std::nullopt : std::optional(it->second);
  }
  bool ended(const std::string& task) const { return ended_.contains(task); }
  size_t running_count() const { return running_.size() - ended_.size(); }
  size_t updates_seen() const { return updates_; }
  dcos::scheduler::Scheduler& scheduler() { return *scheduler_; }
  dcos::agent::Agent& agent() { return *agent_; }
  dcos::testing::Cluster& cluster() { return *cluster_; }

 private:
  nlohmann::json task_info(const std::string& id, const std::string& agent_id, bool custom_executor) const {
    const nlohmann::json resources = dcos::to_json(dcos::parse_resources("cpus:0.01;mem:4").value());
    nlohmann::json info = {{"name", id}, {"task_id", {{"value", id}}}, {"agent_id", {{"value", agent_id}}},
                           {"resources", resources}};
    if (!custom_executor) {
      info["command"] = {{"shell", true}, {"value", "exec sleep 1000"}};
      return info;
    }
    static const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    info["executor"] = {{"executor_id", {{"value", "e-" + id}}},
                        {"name", "bench executor"},
                        {"command", {{"shell", false}, {"value", self}, {"arguments", {"bench-executor"}},
                                     {"environment", {{"variables", {{{"name", "DCOS_BENCH_EXECUTOR"}, {"value", "1"}}}}}}}},
                        {"resources", resources}};
    return info;
  }

  void on_event(const nlohmann::json& event) {
    const std::string type = event.value("type", "");
    if (type == "OFFERS") {
      for (const auto& offer : event["offers"]["offers"]) offers_.push_back(offer);
    } else if (type == "RESCIND") {
      const auto rescinded = event["rescind"]["offer_id"]["value"];
      std::erase_if(offers_, [&](const nlohmann::json& o) { return o["id"]["value"] == rescinded; });
    } else if (type == "UPDATE") {
      const auto& status = event["update"]["status"];
      scheduler_->acknowledge(status);
      ++updates_;
      const std::string task = status["task_id"]["value"];
      const std::string state = status.value("state", "");
      if (state == "TASK_RUNNING") {
        running_.try_emplace(task, SteadyClock::now());
      } else if (auto parsed = dcos::v1::parse_task_state(state); parsed && dcos::v1::is_terminal(*parsed)) {
        ended_.insert(task);
        if (state != "TASK_KILLED" && failure_.empty()) failure_ = "task ended unexpectedly: " + status.dump();
      }
    }
  }

  const Flags& flags_;
  asio::io_context io_{1};
  std::string work_dir_;  // Ours under --work_dir_parent; empty: the cluster picks one.
  std::unique_ptr<dcos::testing::Cluster> cluster_;
  dcos::agent::AgentConfig agent_config_;
  std::unique_ptr<dcos::agent::Agent> agent_;
  dcos::v1::FrameworkInfo framework_;
  std::shared_ptr<dcos::scheduler::Scheduler> scheduler_;
  std::vector<nlohmann::json> offers_;
  int next_task_ = 0;
  std::map<std::string, SteadyClock::time_point> running_;  // First TASK_RUNNING of each task.
  std::set<std::string> ended_;
  size_t updates_ = 0;
  std::string failure_;
};

std::string kind_name(bool custom_executor) { return custom_executor ? "executor" : "command"; }

// 1. LAUNCH -> TASK_RUNNING, one task at a time on an idle agent.
bool bench_latency(const Flags& flags, bool custom_executor) {
  Bench bench(flags, /*checkpoint=*/false);
  if (!bench.start()) return false;
  std::vector<double> samples;
  for (int i = 0; i < flags.samples; ++i) {
    auto accepted = bench.launch(1, custom_executor);
    if (!accepted) return false;
    const std::string task = bench.last_task();
    if (!bench.wait([&] { return bench.running_at(task).has_value(); }, task + " never ran")) return false;
    samples.push_back(ms_between(*accepted, *bench.running_at(task)));
    bench.scheduler().kill(task);
    // The next sample starts on an idle agent: the task is gone and, for a custom executor, so
    // is its process.
    if (!bench.wait([&] { return bench.ended(task) && bench.agent().executor_count() == 0; }, task + " was not killed")) {
      return false;
    }
  }
  std::sort(samples.begin(), samples.end());
  double sum = 0;
  for (double s : samples) sum += s;
  print({{"bench", "launch_latency"},
         {"kind", kind_name(custom_executor)},
         {"samples", samples.size()},
         {"p50_ms", rounded(percentile(samples, 50))},
         {"p99_ms", rounded(percentile(samples, 99))},
         {"min_ms", rounded(samples.front())},
         {"max_ms", rounded(samples.back())},
         {"mean_ms", rounded(sum / static_cast<double>(samples.size()))}});
  return true;
}

// 2. One ACCEPT of a batch; the rate at which the agent gets them all running.
bool bench_rate(const Flags& flags, bool custom_executor) {
  Bench bench(flags, /*checkpoint=*/false);
  if (!bench.start()) return false;
  auto accepted = bench.launch(flags.batch, custom_executor);
  if (!accepted) return false;
  const size_t wanted = static_cast<size_t>(flags.batch);
  if (!bench.wait([&] { return bench.running_count() >= wanted; }, "the batch did not all run")) return false;
  SteadyClock::time_point first = SteadyClock::time_point::max(), last = SteadyClock::time_point::min();
  for (int i = 0; i < flags.batch; ++i) {
    const auto at = *bench.running_at(fmt::format("t{}", i));
    first = std::min(first, at);
    last = std::max(last, at);
  }
  const double seconds = ms_between(*accepted, last) / 1000;
  print({{"bench", "launch_rate"},
         {"kind", kind_name(custom_executor)},
         {"tasks", flags.batch},
         {"tasks_per_s", rounded(flags.batch / seconds, 1)},
         {"all_running_ms", rounded(seconds * 1000, 1)},
         {"first_running_ms", rounded(ms_between(*accepted, first), 1)}});
  return true;
}

// 3. Stop an agent with --recover_tasks checkpointed tasks running; time the new agent's
// recovery.
bool bench_recovery(const Flags& flags) {
  Bench bench(flags, /*checkpoint=*/true);
  if (!bench.start()) return false;
  const size_t wanted = static_cast<size_t>(flags.recover_tasks);
  auto accepted = bench.launch(flags.recover_tasks, /*custom_executor=*/false);
  if (!accepted) return false;
  if (!bench.wait([&] { return bench.running_count() >= wanted && bench.agent().pending_updates() == 0; },
                  "the tasks did not all run")) {
    return false;
  }
  const double launch_ms = ms_between(*accepted, SteadyClock::now());
  const size_t updates_before = bench.updates_seen();
  bench.crash_agent();

  const auto restarted = SteadyClock::now();
  if (!bench.start_agent()) return false;  // `start()` recovers, then registration is awaited.
  const auto registered = SteadyClock::now();
  if (!bench.wait([&] { return bench.agent().running_tasks() == wanted && bench.agent().pending_updates() == 0; },
                  "the tasks were not all recovered")) {
    return false;
  }
  const auto recovered = SteadyClock::now();
  print({{"bench", "recovery"},
         {"tasks", flags.recover_tasks},
         {"tasks_recovered", bench.agent().running_tasks()},
         {"reregistered_ms", rounded(ms_between(restarted, registered), 1)},
         {"all_recovered_ms", rounded(ms_between(restarted, recovered), 1)},
         {"updates_during_restart", bench.updates_seen() - updates_before},
         {"launch_all_running_ms", rounded(launch_ms, 1)}});
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // The agent starts this binary as the custom executor of the "executor" points.
  if (std::getenv("DCOS_BENCH_EXECUTOR") != nullptr) return run_bench_executor();

  Flags flags;
  CLI::App app{"bench_agent: task start latency and rate, and recovery time, of one agent"};
  app.add_option("--work_dir_parent", flags.work_dir_parent, "Where sandboxes go (tmpfs by default)");
  app.add_option("--samples", flags.samples, "Tasks per latency point");
  app.add_option("--batch", flags.batch, "Tasks in the one ACCEPT of a rate point");
  app.add_option("--recover_tasks", flags.recover_tasks, "Running tasks during the agent restart");
  app.add_option("--timeout_seconds", flags.timeout_seconds, "Give up on any one wait after this");
  app.add_flag("--skip_latency", flags.skip_latency);
  app.add_flag("--skip_rate", flags.skip_rate);
  app.add_flag("--skip_recovery", flags.skip_recovery);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  const Limits limits = raise_limits();
  // Two processes and a pidfd per checkpointed task, plus the bench's own sockets and files.
  const rlim_t needed = 2 * static_cast<rlim_t>(std::max({flags.recover_tasks, flags.batch})) + 256;
  print({{"bench", "limits"}, {"nofile", limits.nofile}, {"nproc", limits.nproc}, {"needed", needed}});
  if (limits.nofile < needed || limits.nproc < needed) {
    std::cerr << "bench_agent: the process limits cannot hold the tasks; lower --recover_tasks or --batch\n";
    return 1;
  }

  bool ok = true;
  if (!flags.skip_latency) ok = bench_latency(flags, false) && bench_latency(flags, true) && ok;
  if (!flags.skip_rate) ok = bench_rate(flags, false) && bench_rate(flags, true) && ok;
  if (!flags.skip_recovery) ok = bench_recovery(flags) && ok;
  return ok ? 0 : 1;
}
