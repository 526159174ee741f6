// bench_allocator: one allocation cycle of the hierarchical DRF allocator, in the shape of Mesos's
// `HierarchicalAllocator_BENCHMARK_Test.DeclineOffers` (src/tests/hierarchical_allocator_tests.cpp):
// every agent has "cpus:24;mem:4096;disk:4096;ports:[31000-32000]", of which
// "cpus:16;mem:2014;disk:1024" and 16 two-port ranges are used by framework (agent % frameworks);
// each cycle every framework declines everything it was offered with a filter of 365 days (the
// longest Mesos takes), then `allocate()` runs. Only `allocate()` is timed as `cycle_s`; the
// declines (`recover` calls, then dropping the declined grants) are timed apart as `decline_s`.
//
// Variants:
//   decline     all frameworks in role "*" (Mesos's DeclineOffers);
//   quota       frameworks spread over frameworks/10 roles, every role with a guarantee of its
//               used resources plus half its share of the free ones (cpus and mem), so each cycle
//               runs the quota stage, with headroom held back, and then the fair stage;
//   suppressed  as `decline`, but 90% of the frameworks have suppressed offers.
//
// Each point runs --runs times (default 3), each in a forked child, so `peak_rss_mb` (getrusage
// ru_maxrss) is that point's own; the run with the lowest `cycle_s` is printed.
// One JSON object per line: agents, frameworks, variant, cycle_s (wall time, median over the
// cycles after the first, which all follow a round of declines), cycle_cpu_s (the same in this
// thread's CPU time, which other processes on the machine inflate less), cycle_mean_s,
// cycle_max_s, first_cycle_s, decline_s (mean time of one round of declines), offers (per cycle,
// mean), faults (minor page faults during a cycle, mean: memory it had to map afresh), setup_s,
// peak_rss_mb, runs. Grants go into one vector kept across cycles, as the master keeps its own.
// About 45 s with the defaults on a 2-core machine.
//
// --doubling N measures what doubling agents and frameworks costs: 10000x1000 and 20000x2000
// (or the two --points) alternately N times per variant, one line per variant with both medians,
// `ratio` (of the medians), the quartiles of the N paired ratios, and `best_ratio` (of the fastest
// alternation of each size, the least disturbed by other processes).
//
// Run (from the repository root):
//   cmake --build build --target bench_allocator -j2 && ./build/bench/bench_allocator
//   ./build/bench/bench_allocator --cycles 10 --runs 5 --points 10000x1000,20000x2000 --variants decline
//   ./build/bench/bench_allocator --doubling 20 --cycles 10
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dcos/allocator/allocator.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Point {
  int agents;
  int frameworks;
};

struct Settings {
  // The diagonal (both doubled at each step) first, then the corners and edges of the grid.
  std::vector<Point> points = {{1000, 100},  {2500, 250},  {5000, 500},  {10000, 1000}, {20000, 2000},
                               {1000, 2000}, {20000, 100}, {10000, 100}, {20000, 1000}, {5000, 2000}};
  std::vector<Point> variant_points = {{1000, 100}, {5000, 500}, {10000, 1000}, {20000, 2000}};
  std::vector<std::string> variants = {"decline", "quota", "suppressed"};
  int cycles = 8;
  int runs = 3;
  int doubling = 0;  // Alternations of the doubling measurement; 0: the grid instead.
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double quantile_of(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5)];
}

// CPU time of this thread: what a cycle costs when other processes share the cores.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

dcos::Resources parse(const std::string& text) { return dcos::parse_resources(text).value(); }

// Mesos's `makePortRanges(31000-32000, 16)`: 16 ranges of two ports, evenly spaced.
dcos::Resources used_ports() {
  std::vector<dcos::Range> ranges;
  const unsigned step = (32000 - 31000) / 16;
  for (unsigned i = 0; i < 16; ++i) ranges.push_back({31000 + i * step, 31000 + i * step + 1});
  dcos::Resource ports;
  ports.name = "ports";
  ports.type = dcos::ValueType::ranges;
  ports.ranges = dcos::Ranges(ranges);
  return dcos::Resources{ports};
}

std::string role_of(const std::string& variant, int framework, int roles) {
  if (variant != "quota") return "*";
  return fmt::format("role-{:04}", framework % roles);
}

// Runs one point in this process and prints its JSON line.
void run_point(const std::string& variant, Point point, int cycles) {
  const auto setup_start = Clock::now();
  dcos::AllocatorOptions options;
  options.allocation_interval = std::chrono::seconds(1);
  auto allocator = dcos::make_drf_allocator(options);
  const int roles = std::max(1, point.frameworks / 10);

  std::vector<dcos::FrameworkId> frameworks;
  for (int i = 0; i < point.frameworks; ++i) {
    frameworks.emplace_back(fmt::format("framework-{:06}", i));
    allocator->add_framework(frameworks.back(), {role_of(variant, i, roles)}, true);
  }
  const dcos::Resources agent_total = parse("cpus:24;mem:4096;disk:4096;ports:[31000-32000]");
  const dcos::Resources used = parse("cpus:16;mem:2014;disk:1024") + used_ports();
  for (int i = 0; i < point.agents; ++i) {
    const int holder = i % point.frameworks;
    allocator->add_agent(dcos::AgentId(fmt::format("agent-{:06}", i)), agent_total,
                         {{frameworks[holder], used.allocated_to(role_of(variant, holder, roles))}});
  }
  if (variant == "quota") {
    // Per role: what its frameworks use, plus half of its share of the free resources.
    const double agents_per_role = static_cast<double>(point.agents) / roles;
    for (int r = 0; r < roles; ++r) {
      dcos::Quota quota;
      quota.guarantees = {{"cpus", agents_per_role * (16 + 4)}, {"mem", agents_per_role * (2014 + 1041)}};
      if (!allocator->update_quota(fmt::format("role-{:04}", r), quota)) std::abort();
    }
  }
  if (variant == "suppressed") {
    for (int i = 0; i < point.frameworks; ++i) {
      if (i % 10 != 0) allocator->suppress(frameworks[i], {});
    }
  }
  const double setup_s = seconds_since(setup_start);

  dcos::TimePoint now(std::chrono::seconds(1'700'000'000));
  std::vector<double> cycle_times, cycle_cpu;
  double decline_total = 0;
  std::size_t offers_total = 0;
  long faults_total = 0;
  std::vector<dcos::Grant> grants;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    const auto decline_start = Clock::now();
    // A declined offer is dropped once recovered, as the master's DECLINE does: the declined
    // offers are gone before the timed cycle, as in Mesos's benchmark.
    for (dcos::Grant& grant : grants) {
      const dcos::Grant declined = std::move(grant);
      allocator->recover(declined.framework, declined.agent, declined.resources, std::chrono::hours(24 * 365), now);
    }
    // Emptied, its storage kept for the next cycle's grants, as the master keeps it.
    grants.clear();
    if (cycle > 0) decline_total += seconds_since(decline_start);
    now += std::chrono::seconds(1);
    const auto start = Clock::now();
    const double cpu_start = thread_cpu_seconds();
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    allocator->allocate(now, grants);
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    if (cycle > 0) faults_total += after.ru_minflt - before.ru_minflt;
    cycle_cpu.push_back(thread_cpu_seconds() - cpu_start);
    cycle_times.push_back(seconds_since(start));
    if (cycle > 0) offers_total += grants.size();
  }

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const int steady = std::max(1, cycles - 1);
  // The median of the cycles after the first: one preemption by another process on this shared
  // machine moves a mean, not a median.
  const std::vector<double> steady_wall(cycle_times.begin() + 1, cycle_times.end());
  const std::vector<double> steady_cpu(cycle_cpu.begin() + 1, cycle_cpu.end());
  double steady_total = 0;
  for (double t : steady_wall) steady_total += t;
  const double steady_max = *std::max_element(steady_wall.begin(), steady_wall.end());
  std::cout << fmt::format(
                   "{{\"agents\":{},\"frameworks\":{},\"variant\":\"{}\",\"cycle_s\":{:.6f},\"cycle_cpu_s\":{:.6f},"
                   "\"cycle_mean_s\":{:.6f},\"cycle_max_s\":{:.6f},\"first_cycle_s\":{:.6f},\"decline_s\":{:.6f},"
                   "\"offers\":{},\"faults\":{},\"cycles\":{},\"setup_s\":{:.3f},\"peak_rss_mb\":{:.1f}}}",
                   point.agents, point.frameworks, variant, median_of(steady_wall), median_of(steady_cpu),
                   steady_total / steady, steady_max, cycle_times.front(),
                   decline_total / steady, offers_total / static_cast<std::size_t>(steady), faults_total / steady, cycles, setup_s,
                   static_cast<double>(usage.ru_maxrss) / 1024.0)
            << std::endl;
}

std::vector<Point> parse_points(const std::string& text) {
  std::vector<Point> points;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    const auto x = item.find('x');
    const std::string agents = item.substr(0, x), frameworks = x == std::string::npos ? "" : item.substr(x + 1);
    auto positive = [](const std::string& digits) {
      return !digits.empty() && digits.size() <= 7 && digits.find_first_not_of("0123456789") == std::string::npos &&
             std::stoi(digits) > 0;
    };
    if (!positive(agents) || !positive(frameworks)) {
      throw std::invalid_argument("bad point '" + item + "': points look like 10000x1000,20000x2000");
    }
    points.push_back({std::stoi(agents), std::stoi(frameworks)});
  }
  return points;
}

std::vector<std::string> parse_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) items.push_back(item);
  return items;
}

// Runs one point in a forked child (so its peak RSS is its own) and returns its JSON line.
std::optional<std::string> run_child(const std::string& variant, Point point, int cycles) {
  int fds[2];
  if (pipe(fds) != 0) return std::nullopt;
  std::cout.flush();
  const pid_t child = fork();
  if (child < 0) return std::nullopt;
  if (child == 0) {
    close(fds[0]);
    dup2(fds[1], STDOUT_FILENO);
    run_point(variant, point, cycles);
    std::_Exit(0);
  }
  close(fds[1]);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out.empty()) return std::nullopt;
  return out;
}

// The doubling cost: `small` and `large` (twice the agents and frameworks) run alternately, each
// in its own child, so that a slow spell of this shared machine hits both alike. Prints one line:
// the median cycle of each, their ratio, and the spread of the ratios of each alternation.
bool measure_doubling(const std::string& variant, Point small, Point large, int cycles, int alternations) {
  std::vector<double> small_s, large_s, ratios;
  for (int i = 0; i < alternations; ++i) {
    const auto a = run_child(variant, small, cycles);
    const auto b = run_child(variant, large, cycles);
    if (!a || !b) {
      std::cerr << "bench_allocator: doubling run of " << variant << " failed" << std::endl;
      return false;
    }
    small_s.push_back(nlohmann::json::parse(*a)["cycle_s"].get<double>());
    large_s.push_back(nlohmann::json::parse(*b)["cycle_s"].get<double>());
    ratios.push_back(large_s.back() / small_s.back());
  }
  nlohmann::ordered_json line;
  line["variant"] = variant;
  line["agents"] = small.agents;
  line["frameworks"] = small.frameworks;
  line["doubled_agents"] = large.agents;
  line["doubled_frameworks"] = large.frameworks;
  line["alternations"] = alternations;
  line["cycle_s"] = median_of(small_s);
  line["doubled_cycle_s"] = median_of(large_s);
  auto rounded = [](double ratio) { return std::round(ratio * 1000) / 1000; };
  line["ratio"] = rounded(median_of(large_s) / median_of(small_s));
  line["paired_ratio_p25"] = rounded(quantile_of(ratios, 0.25));
  line["paired_ratio_p50"] = rounded(median_of(ratios));
  line["paired_ratio_p75"] = rounded(quantile_of(ratios, 0.75));
  // Interference from other processes only ever adds time: the fastest alternation of each size
  // is the closest to the allocator's own cost.
  const double best_small = *std::min_element(small_s.begin(), small_s.end());
  const double best_large = *std::min_element(large_s.begin(), large_s.end());
  line["best_cycle_s"] = best_small;
  line["doubled_best_cycle_s"] = best_large;
  line["best_ratio"] = rounded(best_large / best_small);
  std::cout << line.dump() << std::endl;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  std::string points, variants;
  CLI::App app{"bench_allocator: one allocation cycle of the DRF allocator on a grid of agents x frameworks"};
  app.add_option("--cycles", settings.cycles, "Allocation cycles per point (the first is not counted)")
      ->check(CLI::Range(2, 1000));
  app.add_option("--runs", settings.runs, "Runs per point; the best median is printed")->check(CLI::Range(1, 100));
  app.add_option("--points", points, "Comma-separated AGENTSxFRAMEWORKS, e.g. 10000x1000,20000x2000");
  app.add_option("--variants", variants, "Comma-separated variants: decline, quota, suppressed");
  app.add_option("--doubling", settings.doubling,
                 "Instead of the grid: run 10000x1000 and 20000x2000 (or the two --points) this many times, "
                 "alternating, and print the ratio of their cycle times per variant")
      ->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  const bool points_given = !points.empty();
  try {
    if (points_given) settings.points = parse_points(points);
    if (!variants.empty()) settings.variants = parse_list(variants);
    for (const std::string& variant : settings.variants) {
      if (variant != "decline" && variant != "quota" && variant != "suppressed") {
        throw std::invalid_argument("unknown variant " + variant + " (decline, quota, suppressed)");
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_allocator: " << e.what() << std::endl;
    return 2;
  }
  if (settings.doubling > 0) {
    const std::vector<Point> pair = points_given ? settings.points : std::vector<Point>{{10000, 1000}, {20000, 2000}};
    if (pair.size() != 2) {
      std::cerr << "bench_allocator: --doubling takes two --points (the size and its double)" << std::endl;
      return 2;
    }
    for (const std::string& variant : settings.variants) {
      if (!measure_doubling(variant, pair[0], pair[1], settings.cycles, settings.doubling)) return 1;
    }
    return 0;
  }
  for (const std::string& variant : settings.variants) {
    const auto& points = variant == "decline" || points_given ? settings.points : settings.variant_points;
    for (const Point& point : points) {
      // Best of --runs: the lowest median is the allocator's own cost, the others carry more
      // interference from other processes.
      std::optional<nlohmann::ordered_json> best;
      for (int run = 0; run < settings.runs; ++run) {
        auto line = run_child(variant, point, settings.cycles);
        if (!line) {
          std::cerr << "bench_allocator: point " << point.agents << "x" << point.frameworks << " (" << variant
                    << ") failed" << std::endl;
          return 1;
        }
        nlohmann::ordered_json result = nlohmann::ordered_json::parse(*line);
        if (!best || result["cycle_s"].get<double>() < (*best)["cycle_s"].get<double>()) best = std::move(result);
      }
      (*best)["runs"] = settings.runs;
      std::cout << best->dump() << std::endl;
    }
  }
  return 0;
}
