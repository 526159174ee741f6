#include "dcos/agent/statistics.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "dcos/agent/agent.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::agent {

namespace fs = std::filesystem;

SessionUsage sum_session(const std::vector<ProcStat>& processes, pid_t session) {
  SessionUsage usage;
  for (const ProcStat& p : processes) {
    if (p.session != session || p.state == 'Z' || p.state == 'X') continue;
    ++usage.processes;
    usage.threads += p.threads;
    usage.utime_ticks += p.utime_ticks;
    usage.stime_ticks += p.stime_ticks;
    usage.rss_pages += p.rss_pages;
  }
  return usage;
}

std::vector<ProcStat> read_all_proc_stats() {
  std::vector<ProcStat> out;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (auto stat = read_proc_stat(static_cast<pid_t>(std::stol(name)))) out.push_back(*stat);
  }
  return out;
}

nlohmann::json resource_statistics(const SessionUsage& usage, double timestamp, double cpus_limit,
                                   std::uint64_t mem_limit_bytes, long ticks_per_second, long page_bytes) {
  nlohmann::json s = {{"timestamp", timestamp},
                      {"processes", usage.processes},
                      {"threads", usage.threads},
                      {"cpus_user_time_secs", static_cast<double>(usage.utime_ticks) / static_cast<double>(ticks_per_second)},
                      {"cpus_system_time_secs", static_cast<double>(usage.stime_ticks) / static_cast<double>(ticks_per_second)},
                      {"mem_rss_bytes", usage.rss_pages * static_cast<std::uint64_t>(page_bytes)}};
  if (cpus_limit > 0) s["cpus_limit"] = cpus_limit;
  if (mem_limit_bytes > 0) s["mem_limit_bytes"] = mem_limit_bytes;
  return s;
}

namespace {

std::optional<std::string> cgroup_v2_path(pid_t pid) {
  std::ifstream in(pid > 0 ? fmt::format("/proc/{}/cgroup", pid) : std::string("/proc/self/cgroup"));
  std::string line, path;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    if (line.starts_with("0::")) path = line.substr(3);
  }
  // Pure v2 only: on a hybrid hierarchy the v1 controllers hold the figures.
  if (lines != 1 || path.empty()) return std::nullopt;
  return path;
}

std::optional<std::string> first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

}  // namespace

bool add_cgroup_v2_statistics(pid_t pid, nlohmann::json& statistics, const std::string& cgroup_root) {
  auto path = cgroup_v2_path(pid);
  auto own = cgroup_v2_path(0);
  if (!path || (own && *own == *path)) return false;
  const std::string dir = cgroup_root + *path;
  auto current = first_line(dir + "/memory.current");
  if (!current) return false;
  statistics["mem_total_bytes"] = std::stoull(*current);
  if (auto max = first_line(dir + "/memory.max"); max && *max != "max") statistics["mem_limit_bytes"] = std::stoull(*max);
  std::ifstream memory_stat(dir + "/memory.stat");
  std::string key;
  std::uint64_t value = 0;
  while (memory_stat >> key >> value) {
    if (key == "anon") statistics["mem_anon_bytes"] = value;
    else if (key == "file") statistics["mem_file_bytes"] = value;
    else if (key == "file_mapped") statistics["mem_mapped_file_bytes"] = value;
    else if (key == "unevictable") statistics["mem_unevictable_bytes"] = value;
  }
  std::ifstream cpu_stat(dir + "/cpu.stat");
  while (cpu_stat >> key >> value) {
    if (key == "nr_periods") statistics["cpus_nr_periods"] = value;
    else if (key == "nr_throttled") statistics["cpus_nr_throttled"] = value;
    else if (key == "throttled_usec") statistics["cpus_throttled_time_secs"] = static_cast<double>(value) / 1e6;
  }
  return true;
}

http::Reply Agent::statistics_endpoint(const http::Request& request) const {
  const std::vector<ProcStat> processes = read_all_proc_stats();
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [cid, run] : runs_) {
    if (run->pid <= 0 || run->exited) continue;
    Resources allocated;
    for (const auto& [id, task] : run->tasks) {
      if (!is_terminal(task.state)) allocated += task.info.resources;
    }
    if (!run->command_task && run->info.contains("resources")) {
      if (auto executor = resources_from_json(run->info["resources"])) allocated += *executor;
    }
    const std::uint64_t mem_limit = static_cast<std::uint64_t>(allocated.scalar("mem") * 1024 * 1024);
    nlohmann::json statistics = resource_statistics(sum_session(processes, run->pid), to_epoch_seconds(clock_.now()),
                                                    allocated.scalar("cpus"), mem_limit, ticks, page);
    add_cgroup_v2_statistics(run->pid, statistics);
    out.push_back({{"framework_id", run->framework_id.value()},
                   {"executor_id", run->id.value()},
                   {"executor_name", run->info.value("name", "")},
                   {"source", run->info.value("source", "")},
                   {"statistics", statistics}});
  }
  return http::make_json_response(request, http::Status::ok, v1::dump(out));
}

}  // namespace dcos::agent
