#include "dcos/agent/gc.hpp"

#include <algorithm>

namespace dcos::agent {

void GarbageCollector::schedule(const std::string& path, TimePoint now, Duration delay) {
  paths_[path] = Entry{now, now + delay};
}

void GarbageCollector::unschedule(const std::string& path) { paths_.erase(path); }

std::vector<std::string> GarbageCollector::due(TimePoint now) {
  std::vector<std::pair<TimePoint, std::string>> out;
  for (const auto& [path, entry] : paths_) {
    if (entry.remove_at <= now) out.emplace_back(entry.remove_at, path);
  }
  std::sort(out.begin(), out.end());
  std::vector<std::string> paths;
  for (auto& [when, path] : out) {
    paths_.erase(path);
    paths.push_back(std::move(path));
  }
  return paths;
}

std::vector<std::string> GarbageCollector::prune(double usage, double headroom, Duration gc_delay, TimePoint now) {
  const double factor = std::max(0.0, 1.0 - headroom - usage);
  const auto age_max = std::chrono::duration_cast<Duration>(gc_delay * factor);
  std::vector<std::pair<TimePoint, std::string>> out;
  for (const auto& [path, entry] : paths_) {
    if (now - entry.scheduled_at >= age_max) out.emplace_back(entry.scheduled_at, path);
  }
  std::sort(out.begin(), out.end());
  std::vector<std::string> paths;
  for (auto& [when, path] : out) {
    paths_.erase(path);
    paths.push_back(std::move(path));
  }
  return paths;
}

}  // namespace dcos::agent
