// The v1 scheduler API end to end on the in-process cluster: real HTTP, real task processes,
// a manual clock for every timeout.
#include "dcos/testing/cluster.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "cluster/framework_harness.hpp"
#include "cluster/master_client.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/v1/json_fields.hpp"

using namespace std::chrono_literals;
using dcos::testing::Cluster;
using dcos::testing::TestFramework;
using dcos::testing::get_json;

namespace {

dcos::http::Response call(Cluster& cluster, dcos::http::Request request) {
  return dcos::testing::send_to_master(cluster, std::move(request));
}

dcos::http::Request post(Cluster& cluster, const std::string& body, const std::string& stream_id = {},
                         const std::string& content_type = "application/json") {
  auto request = dcos::http::make_post(cluster.master_endpoint(), "/api/v1/scheduler", body, content_type);
  if (!stream_id.empty()) request.set("Mesos-Stream-Id", stream_id);
  return request;
}

}  // namespace

TEST_CASE("a framework subscribes, launches a command task and sees it finish", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();

  auto subscribed = framework.await("SUBSCRIBED");
  REQUIRE(subscribed);
  CHECK((*subscribed)["subscribed"]["heartbeat_interval_seconds"] == 15.0);
  CHECK((*subscribed)["subscribed"]["master_info"]["id"] == cluster.master().id());
  REQUIRE(framework.await("HEARTBEAT"));

  auto offers = framework.await("OFFERS");
  REQUIRE(offers);
  const auto& offer = (*offers)["offers"]["offers"][0];
  CHECK(offer["resources"].size() == 4);  // cpus, mem, disk, ports.

  framework.launch("t1", "echo hello-from-task");
  REQUIRE(framework.await_state("t1", "TASK_FINISHED"));
  CHECK(framework.states("t1") == std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"});

  // Acknowledged terminal tasks move to completed_tasks.
  REQUIRE(cluster.run_until([&] {
    auto state = get_json(cluster, "/master/state");
    return state["frameworks"][0]["completed_tasks"].size() == 1;
  }));
}

TEST_CASE("a failing command reports TASK_FAILED with its exit status", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  framework.launch("t1", "exit 3");
  REQUIRE(framework.await_state("t1", "TASK_FAILED"));
  const auto update = framework.of("UPDATE").back()["update"]["status"];
  CHECK(update["message"] == "Command exited with status 3");
  CHECK(update["source"] == "SOURCE_EXECUTOR");
  // A reliable update carries a 16-byte version-4 uuid.
  CHECK(dcos::is_valid_uuid_bytes(dcos::base64_decode(update["uuid"].get<std::string>()).value()));
}

TEST_CASE("KILL sends SIGTERM and the task ends TASK_KILLED", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  const std::string agent = framework.launch("sleeper", "sleep 60");
  REQUIRE(framework.await_state("sleeper", "TASK_RUNNING"));
  framework.scheduler->kill("sleeper", agent);
  REQUIRE(framework.await_state("sleeper", "TASK_KILLED"));
}

TEST_CASE("KILL of an unknown task answers like reconciliation", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  REQUIRE(framework.await("SUBSCRIBED"));
  framework.scheduler->kill("nope");
  REQUIRE(framework.await_state("nope", "TASK_LOST"));
  CHECK(framework.of("UPDATE").back()["update"]["status"]["reason"] == "REASON_RECONCILIATION");
}

TEST_CASE("explicit and implicit reconciliation report the latest state without a uuid", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info("reconcile", 0, {"PARTITION_AWARE"}));
  framework.scheduler->start();
  const std::string agent = framework.launch("r1", "sleep 60");
  REQUIRE(framework.await_state("r1", "TASK_RUNNING"));
  const size_t before = framework.of("UPDATE").size();
  framework.scheduler->reconcile(nlohmann::json::array({{{"task_id", {{"value", "r1"}}}, {"agent_id", {{"value", agent}}}},
                                                        {{"task_id", {{"value", "ghost"}}}, {"agent_id", {{"value", agent}}}}}));
  REQUIRE(cluster.run_until([&] { return framework.of("UPDATE").size() >= before + 2; }));
  auto updates = framework.of("UPDATE");
  CHECK(updates[before]["update"]["status"]["state"] == "TASK_RUNNING");
  CHECK_FALSE(updates[before]["update"]["status"].contains("uuid"));
  CHECK(updates[before + 1]["update"]["status"]["state"] == "TASK_GONE");  // Known agent, unknown task.
  framework.scheduler->reconcile();
  REQUIRE(cluster.run_until([&] { return framework.of("UPDATE").size() >= before + 3; }));
  CHECK(framework.of("UPDATE")[before + 2]["update"]["status"]["reason"] == "REASON_RECONCILIATION");
}

TEST_CASE("declined offers are not re-offered while the filter lasts, REVIVE clears it", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  auto offers = framework.await("OFFERS");
  REQUIRE(offers);
  REQUIRE(framework.decline((*offers)["offers"]["offers"][0]["id"]["value"], 30.0));
  cluster.advance(10s, 10);  // Allocation cycles run; the filter holds.
  cluster.run_until([] { return false; }, 100ms);
  CHECK(framework.of("OFFERS").size() == 1);
  cluster.advance(21s, 21);  // Past refuse_seconds: offered again.
  REQUIRE(framework.await("OFFERS", 2));
  REQUIRE(framework.decline(framework.of("OFFERS")[1]["offers"]["offers"][0]["id"]["value"], 3600.0));
  framework.scheduler->revive();
  REQUIRE(framework.await("OFFERS", 3));
}

TEST_CASE("an agent silent for 75 s is unreachable: TASK_LOST or TASK_UNREACHABLE", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 2});
  REQUIRE(cluster.start());
  TestFramework plain(cluster, TestFramework::info("plain"));
  TestFramework aware(cluster, TestFramework::info("aware", 0, {"PARTITION_AWARE"}));
  plain.scheduler->start();
  REQUIRE(plain.await("SUBSCRIBED"));
  const std::string agent = plain.launch("p1", "sleep 60", "cpus:0.1;mem:32");
  REQUIRE(plain.await_state("p1", "TASK_RUNNING"));
  plain.auto_decline = true;  // Leave the agent's other resources to `aware`.
  for (const auto& e : plain.of("OFFERS")) {
    for (const auto& o : e["offers"]["offers"]) plain.scheduler->decline({o["id"]["value"]}, 3600.0);
  }
  aware.scheduler->start();
  // The aware framework takes the offer for the same agent as `plain`'s task.
  REQUIRE(cluster.run_until([&] {
    for (const auto& e : aware.of("OFFERS")) {
      for (const auto& o : e["offers"]["offers"]) {
        if (o["agent_id"]["value"] == agent) return true;
      }
    }
    return false;
  }));
  for (const auto& e : aware.of("OFFERS")) {
    for (const auto& o : e["offers"]["offers"]) {
      if (o["agent_id"]["value"] != agent) continue;
      aware.scheduler->accept({o["id"]["value"]}, nlohmann::json::array({dcos::scheduler::Scheduler::launch_command(
                                                     "a1", "a1", agent, "sleep 60",
                                                     dcos::to_json(dcos::parse_resources("cpus:0.1;mem:32").value()))}));
    }
  }
  REQUIRE(aware.await_state("a1", "TASK_RUNNING"));

  size_t index = cluster.agent(0).id().value() == agent ? 0 : 1;
  cluster.stop_agent(index);
  cluster.advance(60s, 60);
  CHECK_FALSE(plain.saw_state("p1", "TASK_LOST"));  // Not yet: 5 pings of 15 s.
  cluster.advance(16s, 16);
  REQUIRE(plain.await_state("p1", "TASK_LOST"));
  REQUIRE(aware.await_state("a1", "TASK_UNREACHABLE"));
  CHECK(!plain.of("FAILURE").empty());
  auto metrics = get_json(cluster, "/metrics/snapshot");
  CHECK(metrics["master/slaves_unreachable"] == 1);
}

TEST_CASE("a scheduler that fails over within failover_timeout keeps its tasks", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  auto first = std::make_unique<TestFramework>(cluster, TestFramework::info("failover", 60));
  first->scheduler->start();
  first->launch("keep", "sleep 60");
  REQUIRE(first->await_state("keep", "TASK_RUNNING"));
  const auto framework_id = *first->scheduler->framework_id();
  first->scheduler->stop();
  first.reset();
  cluster.advance(30s, 30);

  auto info = TestFramework::info("failover", 60);
  info.id = framework_id;
  TestFramework second(cluster, info);
  second.scheduler->start();
  auto subscribed = second.await("SUBSCRIBED");
  REQUIRE(subscribed);
  CHECK((*subscribed)["subscribed"]["framework_id"]["value"] == framework_id.value());
  second.scheduler->reconcile();
  REQUIRE(second.await_state("keep", "TASK_RUNNING"));
  cluster.advance(40s, 40);  // The old timeout would have passed by now.
  auto state = get_json(cluster, "/master/state");
  CHECK(state["frameworks"].size() == 1);
  CHECK(state["frameworks"][0]["tasks"].size() == 1);
}

TEST_CASE("a scheduler gone past failover_timeout is removed and its tasks killed", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  auto first = std::make_unique<TestFramework>(cluster, TestFramework::info("gone", 10));
  first->scheduler->start();
  first->launch("doomed", "sleep 60");
  REQUIRE(first->await_state("doomed", "TASK_RUNNING"));
  const auto framework_id = *first->scheduler->framework_id();
  first->scheduler->stop();
  first.reset();
  cluster.advance(11s, 11);
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).running_tasks() == 0; }));
  auto state = get_json(cluster, "/master/state");
  CHECK(state["frameworks"].empty());
  REQUIRE(state["completed_frameworks"].size() == 1);
  CHECK(state["completed_frameworks"][0]["id"] == framework_id.value());

  // Re-subscribing with the removed id is refused with an ERROR event.
  auto info = TestFramework::info("gone", 10);
  info.id = framework_id;
  TestFramework again(cluster, info);
  again.scheduler->start();
  auto error = again.await("ERROR");
  REQUIRE(error);
  CHECK((*error)["error"]["message"] == "Framework has been removed");
}

TEST_CASE("the scheduler endpoint answers malformed calls with Mesos's status codes", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  REQUIRE(framework.await("SUBSCRIBED"));
  const std::string id = framework.scheduler->framework_id()->value();
  // The stream id is only known to the library; read it from /master/state is not possible, so
  // open a second subscription by hand where needed.
  const std::string fid = R"({"value":")" + id + R"("})";

  dcos::http::Request get{boost::beast::http::verb::get, "/api/v1/scheduler", 11};
  auto r = call(cluster, get);
  CHECK(r.result_int() == 405);
  CHECK(r[boost::beast::http::field::allow] == "POST");

  auto no_type = post(cluster, "{}");
  no_type.erase(boost::beast::http::field::content_type);
  CHECK(call(cluster, no_type).result_int() == 400);
  CHECK(call(cluster, post(cluster, R"({"type":"TEARDOWN"})", {}, "application/json; charset=utf-8")).result_int() == 415);
  CHECK(call(cluster, post(cluster, "{not json")).result_int() == 400);
  CHECK(call(cluster, post(cluster, R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}})",
                           "some-stream")).result_int() == 400);
  CHECK(call(cluster, post(cluster, R"({"type":"TEARDOWN","framework_id":)" + fid + "}")).result_int() == 400);
  CHECK(call(cluster, post(cluster, R"({"type":"TEARDOWN","framework_id":)" + fid + "}", "wrong")).result_int() == 400);
  CHECK(call(cluster, post(cluster, R"({"type":"TEARDOWN","framework_id":{"value":"unknown"}})", "x")).result_int() == 400);
  CHECK(call(cluster, post(cluster, R"({"type":"SUBSCRIBE"})")).result_int() == 400);
  CHECK(call(cluster, post(cluster, R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"n"}}})")).result_int() == 400);
  auto protobuf_only = post(cluster, R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}})");
  protobuf_only.set(boost::beast::http::field::accept, "application/x-protobuf");
  CHECK(call(cluster, protobuf_only).result_int() == 406);
  std::string deep(100, '[');
  CHECK(call(cluster, post(cluster, deep + std::string(100, ']'))).result_int() == 400);
}

TEST_CASE("a task inherits no descriptors from the agent beyond stdin, stdout and stderr", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  // `ls` itself holds one descriptor open on the directory it lists.
  framework.launch("fds", "ls /proc/self/fd");
  REQUIRE(framework.await_state("fds", "TASK_FINISHED"));
  std::string listing;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(cluster.work_dir())) {
    if (entry.path().filename() == "stdout" && entry.path().string().find("/executors/fds/") != std::string::npos) {
      std::ifstream in(entry.path());
      listing.assign(std::istreambuf_iterator<char>(in), {});
    }
  }
  CHECK(listing == "0\n1\n2\n3\n");
}

TEST_CASE("after a master failover agents re-register their tasks and the scheduler re-subscribes",
          "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info("survivor", 600));
  framework.scheduler->start();
  framework.launch("long", "sleep 60");
  REQUIRE(framework.await_state("long", "TASK_RUNNING"));
  const std::string agent_id = cluster.agent(0).id().value();
  const std::string framework_id = framework.scheduler->framework_id()->value();

  REQUIRE(cluster.restart_master());
  // Reconnection backoffs run on the manual clock: at most 1 s (agent) and 250 ms (scheduler)
  // for the first retry, doubling; 10 s covers several.
  cluster.advance(10s, 40);
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).registered() && framework.scheduler->subscribed(); }));
  CHECK(cluster.agent(0).id().value() == agent_id);  // Same agent id across the failover.
  REQUIRE(framework.await("SUBSCRIBED", 2));
  CHECK(framework.of("SUBSCRIBED")[1]["subscribed"]["framework_id"]["value"] == framework_id);

  const size_t before = framework.of("UPDATE").size();
  framework.scheduler->reconcile();
  REQUIRE(cluster.run_until([&] { return framework.of("UPDATE").size() > before; }));
  CHECK(framework.of("UPDATE").back()["update"]["status"]["state"] == "TASK_RUNNING");
}

TEST_CASE("ACCEPT of a used offer drops its tasks; invalid tasks get TASK_ERROR", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info("invalid", 0, {"PARTITION_AWARE"}));
  framework.scheduler->start();
  auto offers = framework.await("OFFERS");
  REQUIRE(offers);
  const auto& offer = (*offers)["offers"]["offers"][0];
  const std::string offer_id = offer["id"]["value"];
  const std::string agent = offer["agent_id"]["value"];
  auto launch = [&](const std::string& task, const std::string& resources) {
    return dcos::scheduler::Scheduler::launch_command(task, task, agent, "true",
                                                      dcos::to_json(dcos::parse_resources(resources).value()));
  };
  // One ACCEPT: a task asking for more than offered, a good one, and a duplicate of the good one.
  framework.scheduler->accept({offer_id},
                              nlohmann::json::array({launch("too-big", "cpus:100;mem:32"), launch("ok", "cpus:0.1;mem:32"),
                                                     launch("ok", "cpus:0.1;mem:32")}));
  REQUIRE(framework.await_state("too-big", "TASK_ERROR"));
  REQUIRE(framework.await_state("ok", "TASK_FINISHED"));
  CHECK(framework.states("ok").front() == "TASK_ERROR");  // The duplicate id, refused at once.

  // The offer was consumed: using it again drops the task (partition-aware: TASK_DROPPED).
  framework.scheduler->accept({offer_id}, nlohmann::json::array({launch("late", "cpus:0.1;mem:32")}));
  REQUIRE(framework.await_state("late", "TASK_DROPPED"));
  CHECK(framework.of("UPDATE").back()["update"]["status"]["reason"] == "REASON_INVALID_OFFERS");
}

TEST_CASE("SUPPRESS stops offers until REVIVE", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  auto offers = framework.await("OFFERS");
  REQUIRE(offers);
  bool suppressed = false;
  framework.scheduler->suppress([&](auto) { suppressed = true; });
  REQUIRE(cluster.run_until([&] { return suppressed; }));
  REQUIRE(framework.decline((*offers)["offers"]["offers"][0]["id"]["value"], 0.0));
  cluster.advance(5s, 5);
  CHECK(framework.of("OFFERS").size() == 1);
  framework.scheduler->revive();
  REQUIRE(framework.await("OFFERS", 2));
}

TEST_CASE("UPDATE_FRAMEWORK changes the name with 200 and refuses a new user with 400", "[cluster][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 0});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info("before"));
  framework.scheduler->start();
  REQUIRE(framework.await("SUBSCRIBED"));
  auto info = TestFramework::info("after");
  info.id = framework.scheduler->framework_id();
  std::optional<int> status;
  auto update = [&](const dcos::v1::FrameworkInfo& i) {
    status.reset();
    framework.scheduler->send({{"type", "UPDATE_FRAMEWORK"}, {"update_framework", {{"framework_info", dcos::v1::to_json(i)}}}},
                              [&](auto response) { status = response ? response->result_int() : -1; });
    cluster.run_until([&] { return status.has_value(); });
    return status.value_or(-1);
  };
  CHECK(update(info) == 200);
  CHECK(get_json(cluster, "/master/state")["frameworks"][0]["name"] == "after");
  info.user = "someone-else";
  CHECK(update(info) == 400);
}
