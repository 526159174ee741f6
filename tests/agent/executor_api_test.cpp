// The v1 executor API on the agent (reference/mesos-api.md §2; Mesos executor_http_api_tests):
// status codes, the event stream, reliable updates with ACKNOWLEDGED, messages both ways,
// registration timeout, kill and shutdown. Real processes on an in-process cluster with a
// manual clock; the test either runs the scripted test executor or acts as the executor itself.
#include "dcos/agent/agent.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

#include "agent/agent_harness.hpp"

using namespace std::chrono_literals;
using namespace dcos::testing;
namespace http = dcos::http;

namespace {

http::Endpoint agent_endpoint(Cluster& cluster, size_t i = 0) { return {"127.0.0.1", cluster.agent(i).port()}; }

std::string framework_id(TestFramework& framework) { return framework.scheduler->framework_id()->value(); }

// A framework with one silent executor (it never subscribes) holding task "t1".
struct SilentExecutorFixture {
  boost::asio::io_context io;
  Cluster cluster{io, {.agents = 1}};
  std::unique_ptr<TestFramework> framework;
  std::string agent;

  SilentExecutorFixture() {
    REQUIRE(cluster.start());
    framework = std::make_unique<TestFramework>(cluster, TestFramework::info());
    framework->scheduler->start();
    agent = launch_tasks(*framework, [](const std::string& a) {
      return nlohmann::json::array({executor_task("t1", a, silent_executor_info("e1"))});
    });
    REQUIRE(cluster.run_until([&] { return cluster.agent(0).executor_count() == 1; }));
  }
  std::string fid() { return framework_id(*framework); }
};

}  // namespace

TEST_CASE("executor API refuses bad requests with Mesos's status codes", "[agent][shell]") {
  SilentExecutorFixture f;
  Cluster& cluster = f.cluster;
  const auto endpoint = agent_endpoint(cluster);
  const std::string fid = f.fid();

  http::Request get{http::beast_http::verb::get, "/api/v1/executor", 11};
  auto response = request(cluster, endpoint, get);
  CHECK(response.result_int() == 405);
  CHECK(response[http::beast_http::field::allow] == "POST");

  auto no_type = executor_call(endpoint, subscribe_call(fid, "e1"));
  no_type.erase(http::beast_http::field::content_type);
  CHECK(request(cluster, endpoint, no_type).result_int() == 400);
  CHECK(request(cluster, endpoint, executor_call(endpoint, subscribe_call(fid, "e1"), "text/plain")).result_int() == 415);
  CHECK(request(cluster, endpoint, executor_call(endpoint, subscribe_call(fid, "e1"), "application/json; charset=utf-8"))
            .result_int() == 415);
  auto malformed = http::make_post(endpoint, "/api/v1/executor", "{not json");
  CHECK(request(cluster, endpoint, malformed).result_int() == 400);
  response = request(cluster, endpoint, executor_call(endpoint, {{"type", "SUBSCRIBE"}, {"subscribe", nlohmann::json::object()}}));
  CHECK(response.result_int() == 400);
  CHECK_THAT(response.body(), Catch::Contains("Missing required fields"));

  response = request(cluster, endpoint, executor_call(endpoint, subscribe_call("no-such-framework", "e1")));
  CHECK(response.result_int() == 400);
  CHECK(response.body() == "Framework cannot be found");
  response = request(cluster, endpoint, executor_call(endpoint, subscribe_call(fid, "no-such-executor")));
  CHECK(response.result_int() == 400);
  CHECK(response.body() == "Executor cannot be found");

  // Anything but SUBSCRIBE before subscribing.
  response = request(cluster, endpoint, executor_call(endpoint, update_call(fid, "e1", "t1", "TASK_RUNNING", dcos::random_uuid_bytes())));
  CHECK(response.result_int() == 403);
  CHECK(response.body() == "Executor is not subscribed");
  response = request(cluster, endpoint,
                     executor_call(endpoint, {{"type", "HEARTBEAT"}, {"framework_id", {{"value", fid}}}, {"executor_id", {{"value", "e1"}}}}));
  CHECK(response.result_int() == 403);

  // A SUBSCRIBE that cannot take JSON.
  ExecutorStream refused(cluster, endpoint, subscribe_call(fid, "e1"), "application/x-protobuf");
  CHECK(refused.header.result_int() == 406);
}

TEST_CASE("executor SUBSCRIBE opens a stream that starts with SUBSCRIBED and the queued LAUNCH", "[agent][shell]") {
  SilentExecutorFixture f;
  Cluster& cluster = f.cluster;
  const auto endpoint = agent_endpoint(cluster);
  const std::string fid = f.fid();

  ExecutorStream stream(cluster, endpoint, subscribe_call(fid, "e1"));
  REQUIRE(stream.header.result_int() == 200);
  CHECK(stream.header[http::beast_http::field::content_type] == "application/json");
  CHECK(stream.header.find("Mesos-Stream-Id") == stream.header.end());  // None in this API.
  auto subscribed = stream.await("SUBSCRIBED");
  REQUIRE(subscribed);
  const auto& body = (*subscribed)["subscribed"];
  CHECK(body["executor_info"]["executor_id"]["value"] == "e1");
  CHECK(body["executor_info"]["framework_id"]["value"] == fid);
  CHECK(body["framework_info"]["id"]["value"] == fid);
  CHECK(body["agent_info"]["id"]["value"] == cluster.agent(0).id().value());
  CHECK(body["agent_info"]["hostname"] == "127.0.0.1");
  CHECK(body["agent_info"]["port"] == cluster.agent(0).port());
  CHECK(body["container_id"]["value"].get<std::string>().size() == 36);
  auto launch = stream.await("LAUNCH");
  REQUIRE(launch);
  CHECK((*launch)["launch"]["task"]["task_id"]["value"] == "t1");
  CHECK(stream.events.front()["type"] == "SUBSCRIBED");
  CHECK(cluster.agent(0).executor_subscribed(dcos::FrameworkId(fid), dcos::ExecutorId("e1")));

  // The agent sends HEARTBEAT every 30 minutes; an executor's HEARTBEAT call is accepted.
  cluster.advance(30min);
  REQUIRE(stream.await("HEARTBEAT"));
  auto heartbeat = request(cluster, endpoint,
                           executor_call(endpoint, {{"type", "HEARTBEAT"}, {"framework_id", {{"value", fid}}}, {"executor_id", {{"value", "e1"}}}}));
  CHECK(heartbeat.result_int() == 202);
}

TEST_CASE("executor UPDATE is validated, recorded, acknowledged and forwarded once", "[agent][shell]") {
  SilentExecutorFixture f;
  Cluster& cluster = f.cluster;
  const auto endpoint = agent_endpoint(cluster);
  const std::string fid = f.fid();
  ExecutorStream stream(cluster, endpoint, subscribe_call(fid, "e1"));
  REQUIRE(stream.await("LAUNCH"));

  auto post = [&](const nlohmann::json& call) { return request(cluster, endpoint, executor_call(endpoint, call)); };
  // Validation (Mesos StatusUpdateCallFailedValidation): uuid present and valid, source executor,
  // not TASK_STAGING, matching executor id.
  auto no_uuid = update_call(fid, "e1", "t1", "TASK_RUNNING", "x");
  no_uuid["update"]["status"].erase("uuid");
  auto response = post(no_uuid);
  CHECK(response.result_int() == 400);
  CHECK_THAT(response.body(), Catch::Contains("Expecting 'uuid' to be present"));
  CHECK(post(update_call(fid, "e1", "t1", "TASK_RUNNING", "jhadf73jhakdlfha723adf")).result_int() == 400);
  CHECK(post(update_call(fid, "e1", "t1", "TASK_RUNNING", dcos::random_uuid_bytes(), "SOURCE_AGENT")).result_int() == 400);
  CHECK(post(update_call(fid, "e1", "t1", "TASK_STAGING", dcos::random_uuid_bytes())).result_int() == 400);
  auto wrong_executor = update_call(fid, "e1", "t1", "TASK_RUNNING", dcos::random_uuid_bytes());
  wrong_executor["update"]["status"]["executor_id"] = {{"value", "other"}};
  CHECK(post(wrong_executor).result_int() == 400);
  CHECK(f.framework->of("UPDATE").empty());

  f.framework->auto_acknowledge = false;
  const std::string uuid = dcos::random_uuid_bytes();
  CHECK(post(update_call(fid, "e1", "t1", "TASK_RUNNING", uuid)).result_int() == 202);
  auto ack = stream.await("ACKNOWLEDGED");
  REQUIRE(ack);
  CHECK((*ack)["acknowledged"]["task_id"]["value"] == "t1");
  CHECK((*ack)["acknowledged"]["uuid"] == dcos::base64_encode(uuid));
  REQUIRE(f.framework->await_state("t1", "TASK_RUNNING"));
  const auto status = f.framework->of("UPDATE").back()["update"]["status"];
  CHECK(status["source"] == "SOURCE_EXECUTOR");
  CHECK(status["executor_id"]["value"] == "e1");
  CHECK(status["agent_id"]["value"] == cluster.agent(0).id().value());
  CHECK(status["uuid"] == dcos::base64_encode(uuid));

  // The executor retries (it missed the ACKNOWLEDGED): acknowledged again, not forwarded again.
  CHECK(post(update_call(fid, "e1", "t1", "TASK_RUNNING", uuid)).result_int() == 202);
  REQUIRE(stream.await("ACKNOWLEDGED", 2));
  cluster.run_until([] { return false; }, 50ms);
  CHECK(f.framework->of("UPDATE").size() == 1);
  CHECK(cluster.agent(0).pending_updates() == 1);  // Not yet acknowledged by the framework.
  f.framework->scheduler->acknowledge(status);
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).pending_updates() == 0; }));
}

TEST_CASE("a custom executor runs tasks and its updates reach the framework", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  const auto executor = test_executor_info("e1");
  launch_tasks(framework, [&](const std::string& agent) {
    return nlohmann::json::array({executor_task("done", agent, executor, "finish"), executor_task("runs", agent, executor, "run")});
  });
  REQUIRE(framework.await_state("done", "TASK_FINISHED"));
  REQUIRE(framework.await_state("runs", "TASK_RUNNING"));
  CHECK(framework.states("done") == std::vector<std::string>{"TASK_RUNNING", "TASK_FINISHED"});
  // Both tasks went to one executor process.
  CHECK(cluster.agent(0).executor_count() == 1);
  for (const auto& e : framework.of("UPDATE")) CHECK(e["update"]["status"]["source"] == "SOURCE_EXECUTOR");
  // Everything the executor sent was acknowledged by the framework through the agent.
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).pending_updates() == 0; }));
}

TEST_CASE("an executor gets the environment of reference §2.1", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  const bool checkpoint = GENERATE(false, true);
  auto info = TestFramework::info("env");
  info.checkpoint = checkpoint;
  TestFramework framework(cluster, info);
  framework.scheduler->start();
  launch_tasks(framework, [&](const std::string& agent) {
    return nlohmann::json::array({executor_task("t1", agent, test_executor_info("e1", {{"FROM_COMMAND", "yes"}}))});
  });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  const dcos::FrameworkId fid = *framework.scheduler->framework_id();
  const auto sandbox = cluster.agent(0).sandbox(fid, dcos::ExecutorId("e1"));
  REQUIRE(sandbox);
  const auto env = read_json_file(*sandbox + "/env.json");
  REQUIRE(env.is_object());
  const auto& agent = cluster.agent(0);
  CHECK(env["MESOS_FRAMEWORK_ID"] == fid.value());
  CHECK(env["MESOS_EXECUTOR_ID"] == "e1");
  CHECK(env["MESOS_SLAVE_ID"] == agent.id().value());
  CHECK_FALSE(env.contains("MESOS_AGENT_ID"));
  CHECK(env["MESOS_AGENT_ENDPOINT"] == fmt::format("127.0.0.1:{}", agent.port()));
  CHECK(env["MESOS_SLAVE_PID"] == fmt::format("slave(1)@127.0.0.1:{}", agent.port()));
  CHECK(env["MESOS_DIRECTORY"] == *sandbox);
  CHECK(env["MESOS_SANDBOX"] == *sandbox);
  CHECK(env["MESOS_CHECKPOINT"] == (checkpoint ? "1" : "0"));
  CHECK(env["MESOS_HTTP_COMMAND_EXECUTOR"] == "0");
  CHECK(env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] == "5secs");
  CHECK(env["LIBPROCESS_PORT"] == "0");
  CHECK(env["FROM_COMMAND"] == "yes");
  CHECK(env.contains("PATH"));  // No --executor_environment_variables: the agent's environment.
  if (checkpoint) {
    CHECK(env["MESOS_RECOVERY_TIMEOUT"] == "15mins");
    CHECK(env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] == "2secs");
  } else {
    CHECK_FALSE(env.contains("MESOS_RECOVERY_TIMEOUT"));
    CHECK_FALSE(env.contains("MESOS_SUBSCRIPTION_BACKOFF_MAX"));
  }
}

TEST_CASE("framework messages travel scheduler -> executor -> scheduler", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  const std::string agent = launch_tasks(framework, [&](const std::string& a) {
    return nlohmann::json::array({executor_task("t1", a, test_executor_info("e1"), "message")});
  });
  // The executor speaks first, then answers ours.
  auto hello = framework.await("MESSAGE");
  REQUIRE(hello);
  CHECK(dcos::base64_decode((*hello)["message"]["data"].get<std::string>()) == "hello from t1");
  CHECK((*hello)["message"]["executor_id"]["value"] == "e1");
  CHECK((*hello)["message"]["agent_id"]["value"] == agent);
  framework.scheduler->send({{"type", "MESSAGE"},
                             {"message", {{"agent_id", {{"value", agent}}}, {"executor_id", {{"value", "e1"}}},
                                          {"data", dcos::base64_encode("ping")}}}});
  auto echo = framework.await("MESSAGE", 2);
  REQUIRE(echo);
  CHECK(dcos::base64_decode((*echo)["message"]["data"].get<std::string>()) == "echo:ping");
}

TEST_CASE("an executor that never subscribes is killed after --executor_registration_timeout", "[agent][shell]") {
  SilentExecutorFixture f;
  Cluster& cluster = f.cluster;
  cluster.advance(59s);
  cluster.run_until([] { return false; }, 50ms);
  CHECK(f.framework->states("t1").empty());
  cluster.advance(1s);
  REQUIRE(f.framework->await_state("t1", "TASK_FAILED"));
  const auto status = f.framework->of("UPDATE").back()["update"]["status"];
  CHECK(status["reason"] == "REASON_EXECUTOR_REGISTRATION_TIMEOUT");
  CHECK(status["source"] == "SOURCE_AGENT");
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).executor_count() == 0; }));
}

TEST_CASE("KILL of a custom executor's task reaches the executor; a queued task is killed by the agent", "[agent][shell]") {
  SECTION("launched: the executor reports TASK_KILLED") {
    boost::asio::io_context io;
    Cluster cluster(io, {.agents = 1});
    REQUIRE(cluster.start());
    TestFramework framework(cluster, TestFramework::info());
    framework.scheduler->start();
    const std::string agent = launch_tasks(framework, [&](const std::string& a) {
      return nlohmann::json::array({executor_task("t1", a, test_executor_info("e1"), "run")});
    });
    REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
    framework.scheduler->kill("t1", agent);
    REQUIRE(framework.await_state("t1", "TASK_KILLED"));
    CHECK(framework.of("UPDATE").back()["update"]["status"]["source"] == "SOURCE_EXECUTOR");
  }
  SECTION("queued: the agent reports TASK_KILLED and shuts the idle executor down") {
    SilentExecutorFixture f;
    f.framework->scheduler->kill("t1", f.agent);
    REQUIRE(f.framework->await_state("t1", "TASK_KILLED"));
    const auto status = f.framework->of("UPDATE").back()["update"]["status"];
    CHECK(status["reason"] == "REASON_TASK_KILLED_DURING_LAUNCH");
    CHECK(status["source"] == "SOURCE_AGENT");
    REQUIRE(f.cluster.run_until([&] { return f.cluster.agent(0).executor_count() == 0; }));
  }
}

TEST_CASE("SHUTDOWN ends an executor; one that ignores it is killed after the grace period", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  const bool ignores = GENERATE(false, true);
  std::map<std::string, std::string> env;
  if (ignores) env["DCOS_TEST_EXECUTOR_IGNORE_SHUTDOWN"] = "1";
  const std::string agent = launch_tasks(framework, [&](const std::string& a) {
    return nlohmann::json::array({executor_task("t1", a, test_executor_info("e1", env), "run")});
  });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  framework.scheduler->send({{"type", "SHUTDOWN"},
                             {"shutdown", {{"executor_id", {{"value", "e1"}}}, {"agent_id", {{"value", agent}}}}}});
  if (!ignores) {
    REQUIRE(framework.await_state("t1", "TASK_KILLED"));
    CHECK(framework.of("UPDATE").back()["update"]["status"]["source"] == "SOURCE_EXECUTOR");
  } else {
    cluster.run_until([] { return false; }, 100ms);
    CHECK_FALSE(framework.saw_state("t1", "TASK_KILLED"));
    cluster.advance(5s);  // --executor_shutdown_grace_period
    REQUIRE(framework.await_state("t1", "TASK_FAILED"));
    CHECK(framework.of("UPDATE").back()["update"]["status"]["reason"] == "REASON_EXECUTOR_TERMINATED");
  }
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).executor_count() == 0; }));
}

TEST_CASE("an executor that dies fails its tasks with REASON_EXECUTOR_TERMINATED", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  const auto executor = test_executor_info("e1");
  const std::string agent = launch_tasks(framework, [&](const std::string& a) {
    return nlohmann::json::array({executor_task("t1", a, executor, "run")});
  });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  // A second task makes it exit with status 3.
  auto offers = framework.await("OFFERS", 2);
  REQUIRE(offers);
  framework.scheduler->accept({(*offers)["offers"]["offers"][0]["id"]["value"]},
                              nlohmann::json::array({{{"type", "LAUNCH"},
                                                      {"launch", {{"task_infos", {executor_task("t2", agent, executor, "crash")}}}}}}));
  REQUIRE(framework.await_state("t1", "TASK_FAILED"));
  REQUIRE(framework.await_state("t2", "TASK_FAILED"));
  const auto status = framework.of("UPDATE").back()["update"]["status"];
  CHECK(status["reason"] == "REASON_EXECUTOR_TERMINATED");
  CHECK_THAT(status["message"].get<std::string>(), Catch::Contains("exited with status 3"));
}
