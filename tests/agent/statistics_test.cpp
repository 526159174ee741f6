// `/monitor/statistics` (reference/mesos-api.md §8.6): /proc parsing and per-executor usage.
#include "dcos/agent/statistics.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "agent/agent_harness.hpp"

using namespace dcos::testing;

TEST_CASE("/proc/<pid>/stat parses even with spaces and parentheses in the command name", "[agent][core]") {
  const std::string line =
      "4242 (my (odd) task) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 123456 1000000 77 18446744073709551615";
  auto stat = dcos::agent::parse_proc_stat(line);
  REQUIRE(stat);
  CHECK(stat->pid == 4242);
  CHECK(stat->state == 'S');
  CHECK(stat->ppid == 1);
  CHECK(stat->session == 4242);
  CHECK(stat->utime_ticks == 250);
  CHECK(stat->stime_ticks == 50);
  CHECK(stat->threads == 3);
  CHECK(stat->start_time_ticks == 123456);
  CHECK(stat->rss_pages == 77);
  CHECK_FALSE(dcos::agent::parse_proc_stat("4242 (truncated) S 1 2"));
  CHECK_FALSE(dcos::agent::parse_proc_stat("garbage"));
}

TEST_CASE("usage sums a session's live processes into ResourceStatistics", "[agent][core]") {
  std::vector<dcos::agent::ProcStat> processes(4);
  processes[0] = {.pid = 10, .state = 'S', .session = 10, .utime_ticks = 100, .stime_ticks = 10, .threads = 2, .rss_pages = 5};
  processes[1] = {.pid = 11, .state = 'R', .session = 10, .utime_ticks = 50, .stime_ticks = 0, .threads = 1, .rss_pages = 3};
  processes[2] = {.pid = 12, .state = 'Z', .session = 10, .utime_ticks = 999, .threads = 1};
  processes[3] = {.pid = 20, .state = 'S', .session = 20, .utime_ticks = 7, .threads = 1};
  const auto usage = dcos::agent::sum_session(processes, 10);
  CHECK(usage.processes == 2);
  CHECK(usage.threads == 3);
  const auto s = dcos::agent::resource_statistics(usage, 1700000000.0, 0.5, 64 << 20, 100, 4096);
  CHECK(s["timestamp"] == 1700000000.0);
  CHECK(s["processes"] == 2);
  CHECK(s["threads"] == 3);
  CHECK(s["cpus_user_time_secs"] == 1.5);
  CHECK(s["cpus_system_time_secs"] == 0.1);
  CHECK(s["mem_rss_bytes"] == 8 * 4096);
  CHECK(s["cpus_limit"] == 0.5);
  CHECK(s["mem_limit_bytes"] == 64 << 20);
}

TEST_CASE("/monitor/statistics reports a running task's processes, memory and limits", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  launch_tasks(framework, [](const std::string& a) {
    // Two processes in the task's session.
    return nlohmann::json::array({command_task("t1", a, "sleep 600 & exec sleep 600", "cpus:0.25;mem:48")});
  });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  const dcos::http::Endpoint agent{"127.0.0.1", cluster.agent(0).port()};
  nlohmann::json statistics;
  REQUIRE(cluster.run_until([&] {
    auto all = get_json(cluster, agent, "/monitor/statistics");
    if (all.size() != 1) return false;
    statistics = all[0];
    return statistics["statistics"]["processes"] == 2;
  }));
  CHECK(statistics["framework_id"] == framework.scheduler->framework_id()->value());
  CHECK(statistics["executor_id"] == "t1");
  CHECK(statistics["source"] == "t1");
  const auto& s = statistics["statistics"];
  CHECK(s["threads"].get<int>() >= 2);
  CHECK(s["mem_rss_bytes"].get<std::uint64_t>() > 0);
  CHECK(s["cpus_limit"] == 0.25);
  CHECK(s["mem_limit_bytes"] == 48ull << 20);
  CHECK(s.contains("cpus_user_time_secs"));
  CHECK(s["timestamp"].get<double>() > 0);
}
