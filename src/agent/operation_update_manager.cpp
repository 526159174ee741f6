#include "dcos/agent/operation_update_manager.hpp"

#include <algorithm>

#include "dcos/common/uuid.hpp"

namespace dcos::agent {

bool OperationUpdateManager::add(OperationUpdate update, TimePoint now) {
  const std::string uuid = update.operation_uuid;
  return pending_.try_emplace(uuid, Pending{std::move(update), now + retry_initial, retry_initial}).second;
}

const OperationUpdate* OperationUpdateManager::find(const std::string& operation_uuid) const {
  auto it = pending_.find(operation_uuid);
  return it == pending_.end() ? nullptr : &it->second.update;
}

bool OperationUpdateManager::acknowledge(const std::string& operation_uuid, const std::string& status_uuid) {
  auto it = pending_.find(operation_uuid);
  if (it == pending_.end()) return false;
  const nlohmann::json& uuid = it->second.update.status.value("uuid", nlohmann::json::object());
  if (base64_decode(uuid.value("value", "")) != status_uuid) return false;
  pending_.erase(it);
  return true;
}

std::vector<OperationUpdate> OperationUpdateManager::due(TimePoint now) {
  std::vector<OperationUpdate> out;
  for (auto& [uuid, pending] : pending_) {
    if (now < pending.next_retry) continue;
    pending.backoff = std::min(pending.backoff * 2, retry_max);
    pending.next_retry = now + pending.backoff;
    out.push_back(pending.update);
  }
  return out;
}

std::vector<OperationUpdate> OperationUpdateManager::all(TimePoint now) {
  std::vector<OperationUpdate> out;
  for (auto& [uuid, pending] : pending_) {
    pending.backoff = retry_initial;
    pending.next_retry = now + retry_initial;
    out.push_back(pending.update);
  }
  return out;
}

std::vector<std::string> OperationUpdateManager::remove_framework(const FrameworkId& framework) {
  std::vector<std::string> removed;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.update.framework_id == framework) {
      removed.push_back(it->first);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  return removed;
}

}  // namespace dcos::agent
