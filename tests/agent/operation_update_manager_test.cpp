// The agent's reliable operation status updates, as a pure core: one update per operation,
// resent with doubling backoff until its uuid is acknowledged.
#include <catch2/catch.hpp>

#include "dcos/agent/operation_update_manager.hpp"
#include "dcos/common/uuid.hpp"

using namespace std::chrono_literals;
using dcos::FrameworkId;
using dcos::agent::OperationUpdate;
using dcos::agent::OperationUpdateManager;

namespace {

OperationUpdate update(const std::string& framework, const std::string& operation, const std::string& status_uuid) {
  return {FrameworkId(framework), operation,
          {{"operation_id", {{"value", "op"}}},
           {"state", "OPERATION_FINISHED"},
           {"uuid", {{"value", dcos::base64_encode(status_uuid)}}}}};
}

const dcos::TimePoint t0{std::chrono::seconds(1000)};

}  // namespace

TEST_CASE("OperationUpdateManager resends with doubling backoff until acknowledged", "[agent][operations][core]") {
  OperationUpdateManager manager;
  const std::string status_uuid = dcos::random_uuid_bytes();
  REQUIRE(manager.add(update("f", "u1", status_uuid), t0));
  CHECK_FALSE(manager.add(update("f", "u1", dcos::random_uuid_bytes()), t0));  // One update per operation.
  CHECK(manager.size() == 1);

  CHECK(manager.due(t0 + 9s).empty());
  CHECK(manager.due(t0 + 10s).size() == 1);       // First retry at 10 s,
  CHECK(manager.due(t0 + 29s).empty());
  CHECK(manager.due(t0 + 30s).size() == 1);       // then 20 s later,
  CHECK(manager.due(t0 + 69s).empty());
  CHECK(manager.due(t0 + 70s).size() == 1);       // then 40 s later.
  // Backoff 80 s, 160 s, 320 s, then capped at 10 minutes.
  dcos::TimePoint late = t0 + 10h;
  for (int i = 0; i < 4; ++i, late += 1h) CHECK(manager.due(late).size() == 1);
  late -= 1h;
  CHECK(manager.due(late + 10min - 1s).empty());
  CHECK(manager.due(late + 10min).size() == 1);

  // `all` (re-registration) resends everything and restarts the backoff.
  CHECK(manager.all(late).size() == 1);
  CHECK(manager.due(late + 10s).size() == 1);

  CHECK_FALSE(manager.acknowledge("u1", dcos::random_uuid_bytes()));  // Not its uuid.
  CHECK_FALSE(manager.acknowledge("u2", status_uuid));                // Not its operation.
  CHECK(manager.acknowledge("u1", status_uuid));
  CHECK(manager.size() == 0);
  CHECK_FALSE(manager.acknowledge("u1", status_uuid));  // Duplicate acknowledgement.
  CHECK(manager.due(late + 1h).empty());
}

TEST_CASE("OperationUpdateManager drops a removed framework's updates only", "[agent][operations][core]") {
  OperationUpdateManager manager;
  manager.add(update("f", "u1", dcos::random_uuid_bytes()), t0);
  manager.add(update("f", "u2", dcos::random_uuid_bytes()), t0);
  manager.add(update("g", "u3", dcos::random_uuid_bytes()), t0);
  auto removed = manager.remove_framework(FrameworkId("f"));
  std::sort(removed.begin(), removed.end());
  CHECK(removed == std::vector<std::string>{"u1", "u2"});
  CHECK(manager.size() == 1);
  REQUIRE(manager.find("u3") != nullptr);
  CHECK(manager.find("u3")->framework_id == FrameworkId("g"));
  CHECK(manager.find("u1") == nullptr);
}
