// Sandbox garbage collection: the pure schedule, and a completed sandbox removed by the agent.
#include "dcos/agent/gc.hpp"

#include <sys/statvfs.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include "agent/agent_harness.hpp"

using namespace std::chrono_literals;
using dcos::agent::GarbageCollector;

TEST_CASE("gc removes a path gc_delay after it was scheduled", "[agent][core]") {
  GarbageCollector gc;
  const dcos::TimePoint t0{std::chrono::hours(1000)};
  gc.schedule("/a", t0, 1h);
  gc.schedule("/b", t0 + 10min, 1h);
  CHECK(gc.due(t0 + 59min).empty());
  CHECK(gc.due(t0 + 60min) == std::vector<std::string>{"/a"});
  CHECK(gc.size() == 1);
  gc.unschedule("/b");
  CHECK(gc.due(t0 + 10h).empty());
}

TEST_CASE("gc under disk pressure removes paths older than gc_delay * (1 - headroom - usage)", "[agent][core]") {
  GarbageCollector gc;
  const dcos::TimePoint t0{std::chrono::hours(1000)};
  gc.schedule("/old", t0, 100h);
  gc.schedule("/new", t0 + 50h, 100h);
  // At 60 % usage with 10 % headroom, anything older than 30 h goes.
  const auto pruned = gc.prune(0.6, 0.1, 100h, t0 + 60h);
  CHECK(pruned == std::vector<std::string>{"/old"});
  // A full disk: everything goes.
  CHECK(gc.prune(0.95, 0.1, 100h, t0 + 60h) == std::vector<std::string>{"/new"});
  CHECK(gc.size() == 0);
}

TEST_CASE("a completed task's sandbox is garbage-collected after --gc_delay", "[agent][shell]") {
  using namespace dcos::testing;
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  auto config = agent_config(cluster, cluster.work_dir() + "/agent");
  config.gc_delay = 2h;
  config.disk_watch_interval = 1min;
  config.gc_disk_headroom = 0;
  dcos::agent::Agent agent(io.get_executor(), cluster.clock(), config);
  REQUIRE(agent.start());
  REQUIRE(cluster.run_until([&] { return agent.registered(); }));
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  launch_tasks(framework, [](const std::string& a) { return nlohmann::json::array({command_task("t1", a, "echo done")}); });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  const auto sandbox = agent.sandbox(*framework.scheduler->framework_id(), dcos::ExecutorId("t1"));
  REQUIRE(sandbox);
  REQUIRE(framework.await_state("t1", "TASK_FINISHED"));
  REQUIRE(cluster.run_until([&] { return agent.executor_count() == 0; }));
  CHECK(std::filesystem::exists(*sandbox + "/stdout"));
  // It goes at gc_delay, or earlier as this machine's disk is fuller: at usage u, after
  // gc_delay * (1 - u).
  struct statvfs disk {};
  REQUIRE(::statvfs(config.work_dir.c_str(), &disk) == 0);
  const double usage = 1.0 - static_cast<double>(disk.f_bavail) / static_cast<double>(disk.f_blocks);
  const auto minutes = static_cast<int>(120 * std::max(0.0, 1.0 - usage));
  if (minutes > 2) {
    cluster.advance(std::chrono::minutes(minutes - 2), minutes - 2);
    CHECK(std::filesystem::exists(*sandbox));
  }
  cluster.advance(125min, 125);
  CHECK_FALSE(std::filesystem::exists(*sandbox));
  agent.stop();
}
