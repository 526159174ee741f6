#pragma once
// One HTTP request to the in-process cluster's master, run to completion on the cluster's
// io_context: the operator API and the read endpoints as a client sees them.

#include <optional>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "dcos/http/client.hpp"
#include "dcos/testing/cluster.hpp"

namespace dcos::testing {

inline http::Response send_to_master(Cluster& cluster, http::Request request) {
  auto client = http::Client::create(cluster.io().get_executor(), cluster.master_endpoint());
  std::optional<Result<http::Response>> result;
  client->send(std::move(request), [&](auto r) { result = std::move(r); });
  cluster.run_until([&] { return result.has_value(); });
  REQUIRE(result);
  REQUIRE(result->has_value());
  return **result;
}

// `POST /api/v1` with an operator call.
inline http::Response operator_call(Cluster& cluster, const nlohmann::json& call,
                                    const std::string& content_type = "application/json") {
  return send_to_master(cluster, http::make_post(cluster.master_endpoint(), "/api/v1", call.dump(), content_type));
}

// An operator call's status code and body, for comparing in one CHECK.
struct OperatorReply {
  int status = 0;
  std::string body;
};
inline OperatorReply operator_reply(Cluster& cluster, const nlohmann::json& call) {
  auto response = operator_call(cluster, call);
  return {static_cast<int>(response.result_int()), response.body()};
}

// `GET path`, which must answer 200 with JSON.
inline nlohmann::json get_json(Cluster& cluster, const std::string& path) {
  auto response = send_to_master(cluster, http::Request{boost::beast::http::verb::get, path, 11});
  REQUIRE(response.result_int() == 200);
  return nlohmann::json::parse(response.body());
}

}  // namespace dcos::testing
