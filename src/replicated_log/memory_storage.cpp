#include "dcos/replicated_log/storage.hpp"

#include <algorithm>

namespace dcos::replicated_log {

void RecoveredBuilder::add(const Action& action) {
  end_ = std::max(end_, action.position);
  if (!action.learned) return;
  learned_.add(action.position);
  if (action.type == ActionType::truncate) begin_ = std::max(begin_, action.to);
  if (action.type == ActionType::nop && action.tombstone) begin_ = std::max(begin_, action.position + 1);
}

Recovered RecoveredBuilder::finish(const Metadata& metadata) && {
  Recovered recovered;
  recovered.metadata = metadata;
  recovered.begin = begin_;
  recovered.end = std::max(end_, begin_ > 0 ? begin_ - 1 : 0);
  learned_.remove_below(begin_);
  recovered.learned = std::move(learned_);
  return recovered;
}

Result<Recovered> MemoryLogStorage::recover() {
  RecoveredBuilder builder;
  for (const auto& [position, action] : actions_) builder.add(action);
  return std::move(builder).finish(metadata_);
}

std::size_t MemoryLogStorage::records(const WriteBatch& batch) {
  return batch.actions.size() + (batch.truncate_before ? 1 : 0) + (batch.metadata ? 1 : 0);
}

void MemoryLogStorage::write_prefix(const WriteBatch& batch, std::size_t records) {
  for (const Action& action : batch.actions) {
    if (records == 0) return;
    --records;
    actions_[action.position] = action;
  }
  if (batch.truncate_before) {
    if (records == 0) return;
    --records;
    actions_.erase(actions_.begin(), actions_.lower_bound(*batch.truncate_before));
  }
  if (batch.metadata) {
    if (records == 0) return;
    metadata_ = *batch.metadata;
  }
}

Result<void> MemoryLogStorage::write(const WriteBatch& batch) {
  write_prefix(batch, records(batch));
  return {};
}

Result<std::optional<Action>> MemoryLogStorage::read(Position position) const {
  auto it = actions_.find(position);
  if (it == actions_.end()) return std::optional<Action>{};
  return std::optional<Action>{it->second};
}

}  // namespace dcos::replicated_log
