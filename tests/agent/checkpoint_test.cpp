// The checkpoint format and helpers: the update log's torn-write rule, exit statuses, atomic
// replacement; and the status update manager's memory of uuids that recovery relies on.
#include "dcos/agent/checkpoint.hpp"

#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include "dcos/agent/status_update_manager.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/testing/cluster.hpp"

using namespace dcos::agent;
namespace fs = std::filesystem;

namespace {

dcos::v1::TaskStatus status(const std::string& task, dcos::v1::TaskState state, std::string uuid = dcos::random_uuid_bytes()) {
  dcos::v1::TaskStatus s;
  s.task_id = dcos::TaskId(task);
  s.state = state;
  s.uuid = std::move(uuid);
  s.source = "SOURCE_EXECUTOR";
  return s;
}

}  // namespace

TEST_CASE("the update log replays updates and acks in order", "[agent][core]") {
  const auto running = status("t1", dcos::v1::TaskState::running);
  const std::string log = encode_update_record(running) + "\n" + encode_ack_record(*running.uuid) + "\n";
  auto records = parse_update_log(log);
  REQUIRE(records);
  REQUIRE(records->size() == 2);
  CHECK((*records)[0].type == UpdateRecord::Type::update);
  CHECK((*records)[0].status->uuid == running.uuid);
  CHECK((*records)[0].status->state == dcos::v1::TaskState::running);
  CHECK((*records)[1].type == UpdateRecord::Type::ack);
  CHECK((*records)[1].uuid == *running.uuid);
}

TEST_CASE("a torn last record is dropped, a corrupt one in the middle is an error", "[agent][core]") {
  const std::string good = encode_update_record(status("t1", dcos::v1::TaskState::running));
  const std::string torn = good + "\n" + good.substr(0, good.size() / 2);
  auto records = parse_update_log(torn);
  REQUIRE(records);
  CHECK(records->size() == 1);
  auto corrupt = parse_update_log(good + "\n{garbage\n" + good + "\n");
  REQUIRE_FALSE(corrupt);
  CHECK(corrupt.error().code == dcos::make_error_code(dcos::Errc::corruption));
}

TEST_CASE("the command wrapper's exit record turns back into a wait status", "[agent][core]") {
  auto exited = parse_exit_status("exit 7\n");
  REQUIRE(exited);
  CHECK(WIFEXITED(*exited));
  CHECK(WEXITSTATUS(*exited) == 7);
  auto signalled = parse_exit_status("signal 9");
  REQUIRE(signalled);
  CHECK(WIFSIGNALED(*signalled));
  CHECK(WTERMSIG(*signalled) == 9);
  CHECK_FALSE(parse_exit_status("exit 300"));
  CHECK_FALSE(parse_exit_status("signal 0"));
  CHECK_FALSE(parse_exit_status("bored"));
}

TEST_CASE("checkpoint paths follow the reference layout", "[agent][core]") {
  const Layout layout{"/w"};
  const dcos::AgentId a("A");
  const dcos::FrameworkId f("F");
  const dcos::ExecutorId e("E");
  CHECK(layout.latest_agent() == "/w/meta/slaves/latest");
  CHECK(layout.framework_info(a, f) == "/w/meta/slaves/A/frameworks/F/framework.info");
  CHECK(layout.executor_info(a, f, e) == "/w/meta/slaves/A/frameworks/F/executors/E/executor.info");
  CHECK(layout.task_meta(a, f, e, "C", dcos::TaskId("T")) == "/w/meta/slaves/A/frameworks/F/executors/E/runs/C/tasks/T");
  CHECK(layout.sandbox(a, f, e, "C") == "/w/slaves/A/frameworks/F/executors/E/runs/C");
}

TEST_CASE("checkpointed dynamic reservations apply to the declared resources, or fail when they do not fit",
          "[agent][core][reservations]") {
  const dcos::Resources declared = dcos::parse_resources("cpus:2;mem:1024;cpus(eng):1").value();
  auto dynamic = [](const std::string& text, const std::string& role) {
    const dcos::Resources plain = dcos::parse_resources(text).value();
    dcos::Resources out;
    for (const dcos::Resource& r : plain) out += r.pushed({true, role, "ops", {}});
    return out;
  };
  const dcos::Resources checkpointed = dynamic("cpus:1;mem:256", "r") + dynamic("cpus(eng):1", "eng/web");
  auto total = apply_checkpointed_resources(declared, checkpointed);
  REQUIRE(total);
  CHECK(*total == dcos::parse_resources("cpus:1;mem:768").value() + checkpointed);
  CHECK(apply_checkpointed_resources(declared, {}).value() == declared);
  // More than declared: the agent's resources changed under its reservations.
  auto too_much = apply_checkpointed_resources(declared, dynamic("cpus:3", "r"));
  REQUIRE_FALSE(too_much);
  CHECK_THAT(too_much.error().message, Catch::Contains("do not fit"));
  CHECK_FALSE(apply_checkpointed_resources(declared, dcos::parse_resources("cpus(eng):1").value()));  // Not dynamic.
  CHECK(Layout{"/w"}.resources_info() == "/w/meta/resources/resources.info");
}

TEST_CASE("write_atomically replaces a file whole and leaves no temporary behind", "[agent][shell]") {
  const std::string dir = dcos::testing::make_temp_dir();
  const std::string path = dir + "/deep/er/file.info";
  REQUIRE(write_atomically(path, "one"));
  REQUIRE(write_atomically(path, "two"));
  CHECK(read_file(path).value() == "two");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir + "/deep/er")) ++entries;
  CHECK(entries == 1);
  REQUIRE(append_record(dir + "/log", "a"));
  REQUIRE(append_record(dir + "/log", "b"));
  CHECK(read_file(dir + "/log").value() == "a\nb\n");
  CHECK(read_file(dir + "/missing").error().code == dcos::make_error_code(dcos::Errc::not_found));
  fs::remove_all(dir);
}

TEST_CASE("recovering an empty work_dir finds no agent", "[agent][shell]") {
  const std::string dir = dcos::testing::make_temp_dir();
  auto state = recover_checkpoint(Layout{dir}, true);
  REQUIRE(state);
  CHECK_FALSE(*state);
  fs::remove_all(dir);
}

TEST_CASE("a stream ignores an update it acknowledged long ago (recovery's re-sent updates)", "[agent][core]") {
  StatusUpdateManager manager;
  const dcos::FrameworkId f("f");
  const dcos::TimePoint now{};
  const auto running = status("t1", dcos::v1::TaskState::running);
  REQUIRE(manager.add({f, running}, now));
  CHECK_FALSE(manager.accepts({f, running}));
  manager.acknowledge(f, dcos::TaskId("t1"), *running.uuid, now);
  CHECK(manager.drained(f, dcos::TaskId("t1")));
  // The executor re-sends it after the agent restarted: old news.
  CHECK_FALSE(manager.accepts({f, running}));
  CHECK_FALSE(manager.add({f, running}, now));
  CHECK(manager.pending() == 0);
  // A dropped stream forgets its uuids.
  manager.remove_stream(f, dcos::TaskId("t1"));
  CHECK(manager.accepts({f, running}));
}
