#pragma once
// Resource usage of executors for `/monitor/statistics` (reference/mesos-api.md §8.6), as the
// posix isolator reports it: CPU times, RSS, processes and threads of the executor's session
// (everything it started, since each runs in its own session), plus limits from its allocated
// resources; memory and CPU throttling figures from cgroups v2 when the executor has a cgroup of
// its own.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcos/agent/process.hpp"

namespace dcos::agent {

struct SessionUsage {
  std::int64_t processes = 0;
  std::int64_t threads = 0;
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t rss_pages = 0;
};

// Sums the processes of `session` (zombies excluded). Pure.
SessionUsage sum_session(const std::vector<ProcStat>& processes, pid_t session);
// Every process in `/proc`.
std::vector<ProcStat> read_all_proc_stats();

// A `ResourceStatistics` object. `cpus_limit`/`mem_limit_bytes` are omitted when zero. Pure.
nlohmann::json resource_statistics(const SessionUsage& usage, double timestamp, double cpus_limit,
                                   std::uint64_t mem_limit_bytes, long ticks_per_second, long page_bytes);

// Adds cgroups v2 figures for `pid` to `statistics` when it lives in a cgroup v2 of its own
// (not the agent's): mem_total_bytes, mem_limit_bytes, mem_anon/file_bytes, cpus_nr_periods,
// cpus_nr_throttled, cpus_throttled_time_secs. Returns whether it did.
bool add_cgroup_v2_statistics(pid_t pid, nlohmann::json& statistics, const std::string& cgroup_root = "/sys/fs/cgroup");

}  // namespace dcos::agent
