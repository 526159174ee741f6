#pragma once
// Sandbox garbage collection as a pure core (Mesos `GarbageCollector`, reference/mesos-api.md
// §8.7). A completed run's directories are scheduled when the run ends and removed `gc_delay`
// later, or sooner when the disk fills: at disk usage `u`, anything scheduled at least
// `gc_delay * max(0, 1 - gc_disk_headroom - u)` ago goes (Mesos `Slave::_checkDiskUsage`).

#include <map>
#include <string>
#include <vector>

#include "dcos/common/clock.hpp"

namespace dcos::agent {

class GarbageCollector {
 public:
  // Schedules `path` for removal `delay` after `now`; rescheduling moves it.
  void schedule(const std::string& path, TimePoint now, Duration delay);
  // Forgets `path` (it is in use again).
  void unschedule(const std::string& path);
  // Paths whose removal time has come, oldest first; they are forgotten.
  std::vector<std::string> due(TimePoint now);
  // Paths to remove early at disk usage `usage` (0..1); they are forgotten.
  std::vector<std::string> prune(double usage, double headroom, Duration gc_delay, TimePoint now);
  size_t size() const { return paths_.size(); }
  bool scheduled(const std::string& path) const { return paths_.contains(path); }

 private:
  struct Entry {
    TimePoint scheduled_at;
    TimePoint remove_at;
  };
  std::map<std::string, Entry> paths_;
};

}  // namespace dcos::agent
