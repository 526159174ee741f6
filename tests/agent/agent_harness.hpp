#pragma once
// Helpers for agent tests: agents the test owns (so it can stop and restart them), custom
// executor tasks, a test client speaking the executor API, and raw HTTP to the agent.

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cluster/framework_harness.hpp"
#include "dcos/agent/agent.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/http/recordio.hpp"
#include "dcos/testing/cluster.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::testing {

inline std::string self_binary() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

// An ExecutorInfo running the scripted test executor (tests/executor/test_executor_test.cpp).
inline nlohmann::json test_executor_info(const std::string& executor_id,
                                         const std::map<std::string, std::string>& environment = {}) {
  nlohmann::json variables = nlohmann::json::array({{{"name", "DCOS_TEST_EXECUTOR"}, {"value", "1"}}});
  for (const auto& [name, value] : environment) variables.push_back({{"name", name}, {"value", value}});
  return {{"executor_id", {{"value", executor_id}}},
          {"name", "test executor " + executor_id},
          {"source", "tests"},
          {"command", {{"shell", false}, {"value", self_binary()}, {"arguments", {"dcos-test-executor"}},
                       {"environment", {{"variables", variables}}}}},
          {"resources", to_json(parse_resources("cpus:0.1;mem:32").value())}};
}

// An ExecutorInfo whose process never subscribes (the test may subscribe in its place).
inline nlohmann::json silent_executor_info(const std::string& executor_id) {
  return {{"executor_id", {{"value", executor_id}}},
          {"name", "silent executor"},
          {"command", {{"shell", true}, {"value", "exec sleep 600"}}}};
}

inline nlohmann::json executor_task(const std::string& task_id, const std::string& agent_id, const nlohmann::json& executor,
                                    const std::string& data = "run", const std::string& resources = "cpus:0.1;mem:16") {
  return {{"name", task_id},
          {"task_id", {{"value", task_id}}},
          {"agent_id", {{"value", agent_id}}},
          {"resources", to_json(parse_resources(resources).value())},
          {"executor", executor},
          {"data", base64_encode(data)}};
}

inline nlohmann::json command_task(const std::string& task_id, const std::string& agent_id, const std::string& command,
                                   const std::string& resources = "cpus:0.1;mem:16") {
  return {{"name", task_id},
          {"task_id", {{"value", task_id}}},
          {"agent_id", {{"value", agent_id}}},
          {"resources", to_json(parse_resources(resources).value())},
          {"command", {{"shell", true}, {"value", command}}}};
}

// Accepts the framework's first offer with these tasks; returns the offer's agent id.
inline std::string launch_tasks(TestFramework& framework, const std::function<nlohmann::json(const std::string& agent)>& tasks,
                                size_t offer_number = 1) {
  auto offers = framework.await("OFFERS", offer_number);
  REQUIRE(offers);
  const auto& offer = (*offers)["offers"]["offers"][0];
  const std::string agent = offer["agent_id"]["value"];
  framework.scheduler->accept({offer["id"]["value"]},
                              nlohmann::json::array({{{"type", "LAUNCH"}, {"launch", {{"task_infos", tasks(agent)}}}}}), 0.0);
  return agent;
}

inline agent::AgentConfig agent_config(Cluster& cluster, const std::string& work_dir, std::uint16_t port = 0) {
  agent::AgentConfig config;
  config.port = port;
  config.master = cluster.master_endpoint();
  config.work_dir = work_dir;
  config.resources = parse_resources("cpus:8;mem:4096;disk:1024;ports:[31000-31100]").value();
  config.boot_id = "boot-1";
  return config;
}

// One HTTP request to `endpoint`, run to completion on the cluster's io_context.
inline http::Response request(Cluster& cluster, const http::Endpoint& endpoint, http::Request request) {
  auto client = http::Client::create(cluster.io().get_executor(), endpoint);
  std::optional<Result<http::Response>> result;
  client->send(std::move(request), [&](auto r) { result = std::move(r); });
  REQUIRE(cluster.run_until([&] { return result.has_value(); }));
  REQUIRE(result->has_value());
  return **result;
}

inline http::Request executor_call(const http::Endpoint& agent, const nlohmann::json& call,
                                   const std::string& content_type = "application/json") {
  return http::make_post(agent, "/api/v1/executor", v1::dump(call), content_type);
}

inline nlohmann::json get_json(Cluster& cluster, const http::Endpoint& endpoint, const std::string& path) {
  http::Request get{http::beast_http::verb::get, path, 11};
  get.set(http::beast_http::field::host, endpoint.to_string());
  auto response = request(cluster, endpoint, get);
  INFO(response.body());
  REQUIRE(response.result_int() == 200);
  return nlohmann::json::parse(response.body());
}

// The test acting as an executor: a SUBSCRIBE stream and the events read from it.
struct ExecutorStream {
  Cluster& cluster;
  std::unique_ptr<http::StreamReader> reader;
  http::Response header;
  std::vector<nlohmann::json> events;
  bool ended = false;
  http::RecordIoDecoder decoder;

  ExecutorStream(Cluster& c, const http::Endpoint& agent, const nlohmann::json& subscribe_call,
                 std::optional<std::string> accept = std::nullopt)
      : cluster(c) {
    auto request = executor_call(agent, subscribe_call);
    if (accept) request.set(http::beast_http::field::accept, *accept);
    std::optional<Result<std::unique_ptr<http::StreamReader>>> opened;
    boost::asio::co_spawn(cluster.io(), [&, request]() -> boost::asio::awaitable<void> {
      opened = co_await http::StreamReader::open(cluster.io().get_executor(), agent, request);
    }, boost::asio::detached);
    REQUIRE(cluster.run_until([&] { return opened.has_value(); }));
    REQUIRE(opened->has_value());
    reader = std::move(**opened);
    header = reader->header();
    if (header.result() == http::Status::ok) read_more();
  }
  ~ExecutorStream() {
    if (reader) reader->close();
    cluster.poll();
  }
  void read_more() {
    boost::asio::co_spawn(cluster.io(), [this]() -> boost::asio::awaitable<void> {
      for (;;) {
        auto bytes = co_await reader->read();
        if (!bytes) {
          ended = true;
          co_return;
        }
        decoder.feed(*bytes);
        while (true) {
          auto record = decoder.next();
          if (!record || !*record) break;
          events.push_back(nlohmann::json::parse(**record));
        }
      }
    }, boost::asio::detached);
  }
  std::vector<nlohmann::json> of(const std::string& type) const {
    std::vector<nlohmann::json> out;
    for (const auto& e : events) {
      if (e.value("type", "") == type) out.push_back(e);
    }
    return out;
  }
  std::optional<nlohmann::json> await(const std::string& type, size_t n = 1) {
    if (!cluster.run_until([&] { return of(type).size() >= n; })) return std::nullopt;
    return of(type)[n - 1];
  }
};

inline nlohmann::json subscribe_call(const std::string& framework, const std::string& executor,
                                     nlohmann::json subscribe = nlohmann::json::object()) {
  return {{"type", "SUBSCRIBE"},
          {"framework_id", {{"value", framework}}},
          {"executor_id", {{"value", executor}}},
          {"subscribe", std::move(subscribe)}};
}

inline nlohmann::json update_call(const std::string& framework, const std::string& executor, const std::string& task,
                                  const std::string& state, const std::string& uuid_bytes,
                                  const std::string& source = "SOURCE_EXECUTOR") {
  return {{"type", "UPDATE"},
          {"framework_id", {{"value", framework}}},
          {"executor_id", {{"value", executor}}},
          {"update", {{"status", {{"task_id", {{"value", task}}},
                                  {"state", state},
                                  {"source", source},
                                  {"uuid", base64_encode(uuid_bytes)}}}}}};
}

// Per-task state sequences the framework saw, with repeated deliveries of one update (same
// uuid: the at-least-once retries) counted once.
inline std::map<std::string, std::vector<std::string>> distinct_states(const TestFramework& framework) {
  std::map<std::string, std::vector<std::string>> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& e : framework.of("UPDATE")) {
    const auto& status = e["update"]["status"];
    const std::string task = status["task_id"]["value"];
    const std::string uuid = status.value("uuid", "");
    if (!uuid.empty() && !seen.insert({task, uuid}).second) continue;
    out[task].push_back(status["state"]);
  }
  return out;
}

inline nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, false);
}

}  // namespace dcos::testing
