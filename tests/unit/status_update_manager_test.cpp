#include "dcos/agent/status_update_manager.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

// Scenarios from Mesos's src/tests/task_status_update_manager_tests.cpp, on the pure core.

namespace {

using namespace std::chrono_literals;
using dcos::FrameworkId;
using dcos::TaskId;
using dcos::TimePoint;
using dcos::agent::StatusUpdate;
using dcos::agent::StatusUpdateManager;
using dcos::v1::TaskState;

const FrameworkId fw("fw-1");
const FrameworkId other_fw("fw-2");
const TaskId task("t-1");
const TimePoint t0(std::chrono::seconds(1'700'000'000));

StatusUpdate update(const FrameworkId& framework, const TaskId& task_id, TaskState state, std::string uuid) {
  StatusUpdate u;
  u.framework_id = framework;
  u.status.task_id = task_id;
  u.status.state = state;
  u.status.uuid = std::move(uuid);
  return u;
}

StatusUpdate update(TaskState state, std::string uuid) { return update(fw, task, state, std::move(uuid)); }

// The uuids of a batch of updates, to compare in one CHECK.
std::vector<std::string> uuids(const std::vector<StatusUpdate>& updates) {
  std::vector<std::string> out;
  for (const auto& u : updates) out.push_back(u.status.uuid.value_or("<none>"));
  return out;
}

}  // namespace

TEST_CASE("Only the head of a stream is in flight", "[agent][core]") {
  // add() hands back the first update only; later ones wait behind it.
  StatusUpdateManager manager;
  auto first = manager.add(update(TaskState::starting, "u1"), t0);
  REQUIRE(first);
  CHECK(first->status.uuid == "u1");
  CHECK(first->framework_id == fw);
  CHECK_FALSE(manager.add(update(TaskState::running, "u2"), t0));
  CHECK_FALSE(manager.add(update(TaskState::finished, "u3"), t0));
  CHECK(manager.pending() == 3);
  CHECK_FALSE(manager.drained(fw, task));
  // A second task has its own stream, so its first update goes at once.
  CHECK(manager.add(update(fw, TaskId("t-2"), TaskState::running, "v1"), t0));
  CHECK(manager.pending() == 4);
}

TEST_CASE("Acknowledging the head sends the next update", "[agent][core]") {
  // Each ack of the head returns the next queued update, until the stream is empty.
  StatusUpdateManager manager;
  manager.add(update(TaskState::starting, "u1"), t0);
  manager.add(update(TaskState::running, "u2"), t0);
  bool acknowledged = false;
  auto next = manager.acknowledge(fw, task, "u1", t0 + 1s, &acknowledged);
  CHECK(acknowledged);
  REQUIRE(next);
  CHECK(next->status.uuid == "u2");
  CHECK(next->status.state == TaskState::running);
  CHECK_FALSE(manager.acknowledge(fw, task, "u2", t0 + 2s, &acknowledged));
  CHECK(acknowledged);
  CHECK(manager.drained(fw, task));
  CHECK(manager.pending() == 0);
}

TEST_CASE("A duplicate acknowledgement is ignored", "[agent][core]") {
  // IgnoreDuplicateStatusUpdateAck: acking u1 twice changes nothing the second time.
  StatusUpdateManager manager;
  manager.add(update(TaskState::running, "u1"), t0);
  manager.add(update(TaskState::finished, "u2"), t0);
  bool acknowledged = false;
  manager.acknowledge(fw, task, "u1", t0, &acknowledged);
  REQUIRE(acknowledged);
  acknowledged = true;
  CHECK_FALSE(manager.acknowledge(fw, task, "u1", t0, &acknowledged));
  CHECK_FALSE(acknowledged);
  CHECK(manager.pending() == 1);
  CHECK(uuids(manager.heads(t0)) == std::vector<std::string>{"u2"});
}

TEST_CASE("An unexpected acknowledgement is ignored", "[agent][core]") {
  // IgnoreUnexpectedStatusUpdateAck: acks of a non-head uuid or unknown task leave the head in flight.
  StatusUpdateManager manager;
  manager.add(update(TaskState::running, "u1"), t0);
  manager.add(update(TaskState::finished, "u2"), t0);
  bool acknowledged = true;
  CHECK_FALSE(manager.acknowledge(fw, task, "u2", t0, &acknowledged));
  CHECK_FALSE(acknowledged);
  acknowledged = true;
  CHECK_FALSE(manager.acknowledge(fw, task, "bogus", t0, &acknowledged));
  CHECK_FALSE(acknowledged);
  acknowledged = true;
  CHECK_FALSE(manager.acknowledge(fw, TaskId("nope"), "u1", t0, &acknowledged));
  CHECK_FALSE(acknowledged);
  acknowledged = true;
  CHECK_FALSE(manager.acknowledge(other_fw, task, "u1", t0, &acknowledged));
  CHECK_FALSE(acknowledged);
  CHECK(manager.pending() == 2);
  CHECK(uuids(manager.heads(t0)) == std::vector<std::string>{"u1"});
  CHECK_FALSE(manager.acknowledge(fw, task, "u2", t0));  // The out-parameter is optional.
}

TEST_CASE("A duplicate update (same uuid) is not queued twice", "[agent][core]") {
  // The executor resending u1 neither queues it again nor sends it again.
  StatusUpdateManager manager;
  CHECK(manager.add(update(TaskState::running, "u1"), t0));
  CHECK_FALSE(manager.add(update(TaskState::running, "u1"), t0));
  CHECK(manager.pending() == 1);
}

TEST_CASE("The head is retried after 10 s, then with doubling backoff capped at 10 min", "[agent][core]") {
  // RetryStatusUpdate: due at +10 s; then gaps of 20, 40, 80, 160, 320 s, then 600 s forever.
  StatusUpdateManager manager;
  manager.add(update(TaskState::running, "u1"), t0);
  CHECK(manager.due(t0).empty());
  CHECK(manager.due(t0 + 10s - 1ns).empty());

  TimePoint at = t0 + 10s;
  const std::vector<std::chrono::seconds> gaps = {20s, 40s, 80s, 160s, 320s, 600s, 600s, 600s};
  CHECK(uuids(manager.due(at)) == std::vector<std::string>{"u1"});
  for (const auto gap : gaps) {
    INFO("previous retry at +" << std::chrono::duration_cast<std::chrono::seconds>(at - t0).count()
                               << " s, expecting the next " << gap.count() << " s later");
    CHECK(manager.due(at + gap - 1ns).empty());
    at += gap;
    CHECK(uuids(manager.due(at)) == std::vector<std::string>{"u1"});
  }
  // A due() call past the deadline schedules from the call, not from the missed deadline.
  CHECK(uuids(manager.due(at + 1h)) == std::vector<std::string>{"u1"});
  CHECK(manager.due(at + 1h + 600s - 1ns).empty());
  CHECK(uuids(manager.due(at + 1h + 600s)) == std::vector<std::string>{"u1"});
}

TEST_CASE("An acknowledged head's successor starts a fresh 10 s backoff", "[agent][core]") {
  // After several retries of u1, u2 goes out on ack and is next due 10 s after the ack.
  StatusUpdateManager manager;
  manager.add(update(TaskState::running, "u1"), t0);
  manager.add(update(TaskState::finished, "u2"), t0);
  REQUIRE(manager.due(t0 + 10s).size() == 1);  // Next retry +30 s.
  REQUIRE(manager.due(t0 + 30s).size() == 1);  // Next retry +70 s.
  const TimePoint ack_time = t0 + 35s;
  REQUIRE(manager.acknowledge(fw, task, "u1", ack_time));
  CHECK(manager.due(ack_time + 10s - 1ns).empty());
  CHECK(uuids(manager.due(ack_time + 10s)) == std::vector<std::string>{"u2"});
}

TEST_CASE("Acknowledging a terminal update drains the stream", "[agent][core]") {
  // RUNNING then FINISHED: acking both leaves nothing pending, nothing due, no latest state.
  StatusUpdateManager manager;
  manager.add(update(TaskState::running, "u1"), t0);
  manager.add(update(TaskState::finished, "u2"), t0);
  auto next = manager.acknowledge(fw, task, "u1", t0);
  REQUIRE(next);
  CHECK(next->status.state == TaskState::finished);
  bool acknowledged = false;
  CHECK_FALSE(manager.acknowledge(fw, task, "u2", t0, &acknowledged));
  CHECK(acknowledged);
  CHECK(manager.drained(fw, task));
  CHECK(manager.pending() == 0);
  CHECK_FALSE(manager.latest_state(fw, task));
  CHECK(manager.due(t0 + 24h).empty());
  CHECK(manager.heads(t0).empty());
}

TEST_CASE("A duplicate terminal update after its acknowledgement is ignored", "[agent][core]") {
  // DuplicateTerminalUpdateAfterAck: a resent FINISHED after its ack is neither queued nor sent.

  // reference/mesos-api.md 8.2: "after a terminal update is acked, the stream is closed and later
  // duplicates ignored".
  StatusUpdateManager manager;
  manager.add(update(TaskState::finished, "u1"), t0);
  REQUIRE_FALSE(manager.acknowledge(fw, task, "u1", t0));
  REQUIRE(manager.drained(fw, task));
  CHECK_FALSE(manager.add(update(TaskState::finished, "u1"), t0 + 1s));
  CHECK(manager.pending() == 0);
  CHECK(manager.drained(fw, task));
}

TEST_CASE("latest_state reports the newest queued state", "[agent][core]") {
  // LatestTaskState: with RUNNING in flight and FINISHED queued, the latest state is FINISHED.
  StatusUpdateManager manager;
  CHECK_FALSE(manager.latest_state(fw, task));
  manager.add(update(TaskState::running, "u1"), t0);
  CHECK(manager.latest_state(fw, task) == TaskState::running);
  manager.add(update(TaskState::finished, "u2"), t0);
  CHECK(manager.latest_state(fw, task) == TaskState::finished);
  CHECK(uuids(manager.heads(t0)) == std::vector<std::string>{"u1"});  // Still RUNNING in flight.
}

TEST_CASE("remove_framework drops only that framework's streams", "[agent][core]") {
  // Two frameworks with pending updates; removing fw-1 leaves fw-2's stream retrying alone.
  StatusUpdateManager manager;
  manager.add(update(fw, task, TaskState::running, "a1"), t0);
  manager.add(update(fw, TaskId("t-2"), TaskState::running, "a2"), t0);
  manager.add(update(other_fw, task, TaskState::running, "b1"), t0);
  manager.remove_framework(fw);
  CHECK(manager.drained(fw, task));
  CHECK(manager.drained(fw, TaskId("t-2")));
  CHECK_FALSE(manager.drained(other_fw, task));
  CHECK(manager.pending() == 1);
  CHECK(uuids(manager.due(t0 + 10s)) == std::vector<std::string>{"b1"});
  bool acknowledged = true;
  CHECK_FALSE(manager.acknowledge(fw, task, "a1", t0, &acknowledged));
  CHECK_FALSE(acknowledged);
}

TEST_CASE("heads() returns every head and resets its backoff", "[agent][core]") {
  // After retries pushed u1's backoff to 20 s, heads() at +15 s makes it due again at +25 s.
  StatusUpdateManager manager;
  manager.add(update(fw, task, TaskState::running, "u1"), t0);
  manager.add(update(fw, task, TaskState::finished, "u2"), t0);
  manager.add(update(other_fw, TaskId("t-9"), TaskState::starting, "v1"), t0);
  REQUIRE(manager.due(t0 + 10s).size() == 2);  // Both heads; next retries at +30 s.

  const auto heads = manager.heads(t0 + 15s);
  CHECK(heads.size() == 2);
  std::vector<std::string> head_uuids = uuids(heads);
  std::sort(head_uuids.begin(), head_uuids.end());
  CHECK(head_uuids == std::vector<std::string>{"u1", "v1"});

  CHECK(manager.due(t0 + 25s - 1ns).empty());
  CHECK(manager.due(t0 + 25s).size() == 2);
  CHECK(manager.due(t0 + 45s - 1ns).empty());  // Doubling resumes from 10 s: next gap 20 s.
  CHECK(manager.due(t0 + 45s).size() == 2);
}
