#include "dcos/replicated_log/write_queue.hpp"

namespace dcos::replicated_log {

WriteQueue::WriteQueue(const ActionReader& durable) : durable_(durable) {}

WriteQueue::Pushed WriteQueue::push(const Ready& ready) {
  Pushed pushed;
  if (!ready.persist_empty()) {
    pushed.sequence = next_sequence_++;
    pushed.batch = WriteBatch::from(ready);
    Pending pending{pushed.sequence, {}};
    if (ready.truncate_before) {
      // The replica never reads below its `begin`; dropping these keeps the overlay small.
      overlay_.erase(overlay_.begin(), overlay_.lower_bound(*ready.truncate_before));
    }
    for (const Action& action : ready.actions) {
      overlay_[action.position] = {pushed.sequence, action};
      pending.positions.push_back(action.position);
    }
    batches_.push_back(std::move(pending));
  }
  if (ready.messages.empty()) return pushed;
  if (batches_.empty()) {
    pushed.send = ready.messages;
  } else {
    held_.push_back(Held{next_sequence_ - 1, ready.messages});
  }
  return pushed;
}

std::vector<Envelope> WriteQueue::durable(std::uint64_t sequence) {
  DCOS_ASSERT(sequence < next_sequence_);
  durable_sequence_ = std::max(durable_sequence_, sequence);
  while (!batches_.empty() && batches_.front().sequence <= durable_sequence_) {
    for (Position position : batches_.front().positions) {
      auto it = overlay_.find(position);
      // A newer pending batch may have replaced the record; it stays until that one is durable.
      if (it != overlay_.end() && it->second.first <= durable_sequence_) overlay_.erase(it);
    }
    batches_.pop_front();
  }
  std::vector<Envelope> send;
  while (!held_.empty() && held_.front().after <= durable_sequence_) {
    for (Envelope& envelope : held_.front().messages) send.push_back(std::move(envelope));
    held_.pop_front();
  }
  return send;
}

Result<std::optional<Action>> WriteQueue::read(Position position) const {
  if (auto it = overlay_.find(position); it != overlay_.end()) return std::optional<Action>{it->second.second};
  return durable_.read(position);
}

}  // namespace dcos::replicated_log
