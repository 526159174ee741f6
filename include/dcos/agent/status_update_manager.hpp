#pragma once
// Reliable, in-order status updates (reference/mesos-api.md §8.2), as a pure core. One stream
// per (framework, task): only its head is in flight; the head is resent with exponential
// backoff (10 s doubling to 10 min) until the framework acknowledges its uuid; then the next
// update goes. Duplicate updates (a uuid the stream has seen before, even one acknowledged
// long ago) and duplicate or unexpected acknowledgements are ignored. No clock reads: time is
// passed in.

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dcos/common/clock.hpp"
#include "dcos/common/ids.hpp"
#include "dcos/v1/task.hpp"

namespace dcos::agent {

struct StatusUpdate {
  FrameworkId framework_id;
  v1::TaskStatus status;  // Carries a 16-byte `uuid`.
};

class StatusUpdateManager {
 public:
  static constexpr Duration retry_initial = std::chrono::seconds(10);
  static constexpr Duration retry_max = std::chrono::minutes(10);

  // Queues an update; returns it if it became the head of its stream and should be sent now.
  std::optional<StatusUpdate> add(StatusUpdate update, TimePoint now);
  // True when `add(update)` would queue it: its stream is open and has never seen its uuid.
  // The agent records (checkpoints) exactly the updates this accepts.
  bool accepts(const StatusUpdate& update) const;
  // The framework acknowledged `uuid` for the task. Returns the next update to send, if any.
  // `acknowledged` is set when the ack matched the head (false for duplicates/unexpected).
  std::optional<StatusUpdate> acknowledge(const FrameworkId& framework, const TaskId& task, const std::string& uuid,
                                          TimePoint now, bool* acknowledged = nullptr);
  // Heads whose retry time has come; their next retry is pushed back (doubling).
  std::vector<StatusUpdate> due(TimePoint now);
  // Every head, e.g. to flush after re-registering with a master; resets their backoff.
  std::vector<StatusUpdate> heads(TimePoint now);
  // Drops every stream of a framework (it was removed).
  void remove_framework(const FrameworkId& framework);
  // Drops one task's stream (its executor is gone and the stream drained).
  void remove_stream(const FrameworkId& framework, const TaskId& task);
  // True when the stream has no pending updates (all acknowledged, or never had any).
  bool drained(const FrameworkId& framework, const TaskId& task) const;
  // The newest state queued for the task, if any.
  std::optional<v1::TaskState> latest_state(const FrameworkId& framework, const TaskId& task) const;
  size_t pending() const;

 private:
  struct Stream {
    std::deque<StatusUpdate> updates;
    TimePoint next_retry{};
    Duration backoff = retry_initial;
    bool terminal_acknowledged = false;
    std::set<std::string> received;  // Every uuid ever queued: retries are not news.
  };
  std::map<std::pair<FrameworkId, TaskId>, Stream> streams_;
};

}  // namespace dcos::agent
