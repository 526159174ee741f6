#pragma once
// Reliable operation status updates (operation feedback, docs/design/agent-protocol.md), as a
// pure core. An operation on the agent's default resources is applied at once, so it has one
// update: OPERATION_FINISHED or OPERATION_FAILED. That update is resent with exponential backoff
// (10 s doubling to 10 min) until the framework's acknowledgement of its uuid arrives. No clock
// reads: time is passed in.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcos/common/clock.hpp"
#include "dcos/common/ids.hpp"

namespace dcos::agent {

struct OperationUpdate {
  FrameworkId framework_id;
  std::string operation_uuid;  // The master's name for the operation (36-character text).
  nlohmann::json status;       // v1 `OperationStatus`; `uuid.value` (base64) names this update.
};

class OperationUpdateManager {
 public:
  static constexpr Duration retry_initial = std::chrono::seconds(10);
  static constexpr Duration retry_max = std::chrono::minutes(10);

  // Queues the update of a new operation; false (nothing queued) when the operation has one.
  bool add(OperationUpdate update, TimePoint now);
  // The update pending for the operation, if any.
  const OperationUpdate* find(const std::string& operation_uuid) const;
  // The framework acknowledged `status_uuid` (raw bytes) of the operation: its update is retired.
  // False for an unknown operation or a uuid that is not its update's.
  bool acknowledge(const std::string& operation_uuid, const std::string& status_uuid);
  // Updates whose retry time has come; their next retry is pushed back (doubling).
  std::vector<OperationUpdate> due(TimePoint now);
  // Every pending update, e.g. to resend after (re-)registering; resets their backoff.
  std::vector<OperationUpdate> all(TimePoint now);
  // Drops a removed framework's updates; returns the uuids of the operations dropped.
  std::vector<std::string> remove_framework(const FrameworkId& framework);
  std::size_t size() const { return pending_.size(); }

 private:
  struct Pending {
    OperationUpdate update;
    TimePoint next_retry{};
    Duration backoff = retry_initial;
  };
  std::map<std::string, Pending> pending_;  // By operation uuid.
};

}  // namespace dcos::agent
