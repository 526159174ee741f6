#include "dcos/agent/status_update_manager.hpp"

#include <algorithm>

namespace dcos::agent {

std::optional<StatusUpdate> StatusUpdateManager::add(StatusUpdate update, TimePoint now) {
  if (!accepts(update)) return std::nullopt;
  auto& stream = streams_[{update.framework_id, update.status.task_id}];
  stream.received.insert(update.status.uuid.value_or(""));
  stream.updates.push_back(std::move(update));
  if (stream.updates.size() > 1) return std::nullopt;
  stream.backoff = retry_initial;
  stream.next_retry = now + stream.backoff;
  return stream.updates.front();
}

bool StatusUpdateManager::accepts(const StatusUpdate& update) const {
  auto it = streams_.find({update.framework_id, update.status.task_id});
  if (it == streams_.end()) return true;
  if (it->second.terminal_acknowledged) return false;  // The stream is closed.
  return !it->second.received.contains(update.status.uuid.value_or(""));
}

std::optional<StatusUpdate> StatusUpdateManager::acknowledge(const FrameworkId& framework, const TaskId& task,
                                                             const std::string& uuid, TimePoint now,
                                                             bool* acknowledged) {
  if (acknowledged) *acknowledged = false;
  auto it = streams_.find({framework, task});
  if (it == streams_.end() || it->second.updates.empty()) return std::nullopt;
  Stream& stream = it->second;
  if (stream.updates.front().status.uuid != uuid) return std::nullopt;  // Duplicate or unexpected.
  if (acknowledged) *acknowledged = true;
  if (is_terminal(stream.updates.front().status.state)) stream.terminal_acknowledged = true;
  stream.updates.pop_front();
  if (stream.terminal_acknowledged) {
    // Nothing follows a terminal update; the closed stream stays so late duplicates are ignored.
    stream.updates.clear();
    return std::nullopt;
  }
  if (stream.updates.empty()) return std::nullopt;
  stream.backoff = retry_initial;
  stream.next_retry = now + stream.backoff;
  return stream.updates.front();
}

std::vector<StatusUpdate> StatusUpdateManager::due(TimePoint now) {
  std::vector<StatusUpdate> out;
  for (auto& [key, stream] : streams_) {
    if (stream.updates.empty() || now < stream.next_retry) continue;
    stream.backoff = std::min(stream.backoff * 2, retry_max);
    stream.next_retry = now + stream.backoff;
    out.push_back(stream.updates.front());
  }
  return out;
}

std::vector<StatusUpdate> StatusUpdateManager::heads(TimePoint now) {
  std::vector<StatusUpdate> out;
  for (auto& [key, stream] : streams_) {
    if (stream.updates.empty()) continue;
    stream.backoff = retry_initial;
    stream.next_retry = now + stream.backoff;
    out.push_back(stream.updates.front());
  }
  return out;
}

void StatusUpdateManager::remove_framework(const FrameworkId& framework) {
  std::erase_if(streams_, [&](const auto& entry) { return entry.first.first == framework; });
}

void StatusUpdateManager::remove_stream(const FrameworkId& framework, const TaskId& task) {
  streams_.erase({framework, task});
}

bool StatusUpdateManager::drained(const FrameworkId& framework, const TaskId& task) const {
  auto it = streams_.find({framework, task});
  return it == streams_.end() || it->second.updates.empty();
}

std::optional<v1::TaskState> StatusUpdateManager::latest_state(const FrameworkId& framework, const TaskId& task) const {
  auto it = streams_.find({framework, task});
  if (it == streams_.end() || it->second.updates.empty()) return std::nullopt;
  return it->second.updates.back().status.state;
}

size_t StatusUpdateManager::pending() const {
  size_t n = 0;
  for (const auto& [key, stream] : streams_) n += stream.updates.size();
  return n;
}

}  // namespace dcos::agent
