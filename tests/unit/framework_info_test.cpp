#include "dcos/v1/framework_info.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <limits>
#include <string>

namespace {

using Catch::Matchers::Contains;
using dcos::v1::FrameworkInfo;
using nlohmann::json;

FrameworkInfo decode(const std::string& text) {
  const json j = json::parse(text);
  return dcos::v1::decode_framework_info(dcos::v1::Fields(j, ""));
}

FrameworkInfo valid_info() {
  FrameworkInfo info;
  info.user = "root";
  info.name = "marathon";
  return info;
}

}  // namespace

TEST_CASE("decode_framework_info fills in defaults and to_json writes them out", "[v1][core]") {
  // Only user and name given: failover_timeout 0.0 and checkpoint false appear in the output.
  const FrameworkInfo info = decode(R"({"user":"root","name":"hello"})");
  CHECK(info.user == "root");
  CHECK(info.name == "hello");
  CHECK_FALSE(info.id);
  CHECK(info.failover_timeout == 0.0);
  CHECK(info.checkpoint == false);
  CHECK_FALSE(info.role);
  CHECK(info.roles.empty());
  CHECK(info.capabilities.empty());
  CHECK(info.labels.is_null());
  CHECK(info.effective_roles() == std::vector<std::string>{"*"});

  const json out = dcos::v1::to_json(info);
  CHECK(out == json::parse(R"({"user":"root","name":"hello","failover_timeout":0.0,"checkpoint":false})"));
  CHECK(dcos::v1::dump(out) == R"({"checkpoint":false,"failover_timeout":0.0,"name":"hello","user":"root"})");
}

TEST_CASE("decode_framework_info reads every field with Mesos's lenient types", "[v1][core]") {
  // Numeric-string timeout, "true" checkpoint, id message, capabilities as [{"type":..}].
  const FrameworkInfo info = decode(R"({
      "user":"alice","name":"spark","id":{"value":"fw-1"},"failover_timeout":"3600",
      "checkpoint":"true","roles":["eng","ops"],"hostname":"h1","principal":"p","webui_url":"http://x",
      "capabilities":[{"type":"MULTI_ROLE"},{"type":"PARTITION_AWARE"},{"other":1},"junk"],
      "labels":{"labels":[{"key":"k","value":"v"}]},"offer_filters":{"eng":{}},"unknown_key":[1,2]})");
  REQUIRE(info.id);
  CHECK(info.id->value() == "fw-1");
  CHECK(info.failover_timeout == 3600.0);
  CHECK(info.checkpoint);
  CHECK(info.roles == std::vector<std::string>{"eng", "ops"});
  CHECK(info.hostname == "h1");
  CHECK(info.principal == "p");
  CHECK(info.webui_url == "http://x");
  CHECK(info.capabilities == std::vector<std::string>{"MULTI_ROLE", "PARTITION_AWARE"});
  CHECK(info.has_capability("MULTI_ROLE"));
  CHECK_FALSE(info.has_capability("GPU_RESOURCES"));
  CHECK(info.effective_roles() == std::vector<std::string>{"eng", "ops"});
  CHECK(info.labels == json::parse(R"({"labels":[{"key":"k","value":"v"}]})"));

  const json out = dcos::v1::to_json(info);
  CHECK(out["capabilities"] == json::parse(R"([{"type":"MULTI_ROLE"},{"type":"PARTITION_AWARE"}])"));
  CHECK(out["id"] == json{{"value", "fw-1"}});
  CHECK(out["failover_timeout"] == 3600.0);
  CHECK(out["checkpoint"] == true);
  CHECK_FALSE(out.contains("unknown_key"));
  CHECK_FALSE(out.contains("role"));
  // Decoding what we wrote gives the same JSON back.
  CHECK(dcos::v1::to_json(decode(out.dump())) == out);
}

TEST_CASE("decode_framework_info reports missing and mistyped fields", "[v1][core]") {
  // Missing user and name are reported together, with the object's path; wrong types name the field.
  CHECK_THROWS_WITH(decode("{}"), "Missing required fields: user, name");
  const json nested = json::parse(R"({"framework_info":{"name":"x"}})");
  const auto fields = dcos::v1::Fields(nested, "").object("framework_info");
  REQUIRE(fields);
  CHECK_THROWS_WITH(dcos::v1::decode_framework_info(*fields), "Missing required fields: framework_info.user");
  CHECK_THROWS_WITH(decode(R"({"user":"u","name":"n","failover_timeout":true})"),
                    "Failed to parse field 'failover_timeout': expected a number");
  CHECK_THROWS_WITH(decode(R"({"user":"u","name":"n","roles":"eng"})"), Contains("'roles'"));
  CHECK_THROWS_WITH(decode(R"({"user":"u","name":"n","checkpoint":"maybe"})"), Contains("'checkpoint'"));
  CHECK_THROWS_AS(decode(R"({"user":"u","name":"n","id":"fw-1"})"), dcos::v1::DecodeError);
}

TEST_CASE("framework_info_problem accepts a plain framework", "[v1][core]") {
  // Default role "*", a single role, and MULTI_ROLE with distinct roles are all fine.
  FrameworkInfo info = valid_info();
  CHECK(dcos::v1::framework_info_problem(info).empty());
  info.role = "eng/web";
  CHECK(dcos::v1::framework_info_problem(info).empty());
  CHECK(info.effective_roles() == std::vector<std::string>{"eng/web"});
  info.role.reset();
  info.capabilities = {"MULTI_ROLE"};
  info.roles = {"eng", "ops"};
  info.failover_timeout = 7 * 24 * 3600.0;
  info.id = dcos::FrameworkId("0f6c-0001");
  CHECK(dcos::v1::framework_info_problem(info).empty());
}

TEST_CASE("framework_info_problem enforces the MULTI_ROLE rules", "[v1][core]") {
  // roles need MULTI_ROLE, role is forbidden with it, and roles must be distinct.
  FrameworkInfo info = valid_info();
  info.roles = {"eng"};
  CHECK_THAT(dcos::v1::framework_info_problem(info), Contains("requires the MULTI_ROLE capability"));

  info.capabilities = {"MULTI_ROLE"};
  info.role = "eng";
  CHECK_THAT(dcos::v1::framework_info_problem(info), Contains("'FrameworkInfo.role' must not be set"));

  info.role.reset();
  info.roles = {"eng", "ops", "eng"};
  CHECK_THAT(dcos::v1::framework_info_problem(info), Contains("duplicate role 'eng'"));
}

TEST_CASE("framework_info_problem rejects invalid role names", "[v1][core]") {
  // Each bad name is rejected whether it comes as `role` or inside MULTI_ROLE `roles`.
  for (const std::string bad : {"", ".", "..", "-x", "a b", "a\tb", "/eng", "eng/", "eng//web", "eng/../x",
                                "eng/-x", "eng/*", "a\\b"}) {
    INFO("role: '" << bad << "'");
    FrameworkInfo single = valid_info();
    single.role = bad;
    CHECK_FALSE(dcos::v1::framework_info_problem(single).empty());
    FrameworkInfo multi = valid_info();
    multi.capabilities = {"MULTI_ROLE"};
    multi.roles = {"ok", bad};
    CHECK_FALSE(dcos::v1::framework_info_problem(multi).empty());
  }
}

TEST_CASE("framework_info_problem rejects a bad failover_timeout or id", "[v1][core]") {
  // Negative, infinite and NaN timeouts fail; so does an id with a slash.
  using limits = std::numeric_limits<double>;
  for (const double bad : {-1.0, -0.001, limits::infinity(), limits::quiet_NaN(), 1e300}) {
    INFO("failover_timeout: " << bad);
    FrameworkInfo info = valid_info();
    info.failover_timeout = bad;
    CHECK_THAT(dcos::v1::framework_info_problem(info), Contains("failover_timeout"));
  }
  FrameworkInfo info = valid_info();
  info.id = dcos::FrameworkId("a/b");
  CHECK_THAT(dcos::v1::framework_info_problem(info), Contains("Invalid 'FrameworkInfo.id'"));
}

TEST_CASE("role_problem follows Mesos's role name rules", "[v1][core]") {
  // Valid: "*", plain and nested names with dots and dashes inside; invalid: each rule in turn.
  for (const char* good : {"*", "eng", "eng/web", "a.b", "a-b", "x..y", "eng/web/v2", "_", "r1"}) {
    INFO("role: " << good);
    CHECK(dcos::v1::role_problem(good).empty());
  }
  CHECK(dcos::v1::role_problem("") == "Role name cannot be empty");
  CHECK_THAT(dcos::v1::role_problem("."), Contains("'.' or '..'"));
  CHECK_THAT(dcos::v1::role_problem(".."), Contains("'.' or '..'"));
  CHECK_THAT(dcos::v1::role_problem("-x"), Contains("cannot start with '-'"));
  CHECK_THAT(dcos::v1::role_problem("a b"), Contains("whitespace"));
  CHECK_THAT(dcos::v1::role_problem(std::string("a\x01") + "b"), Contains("control characters"));
  CHECK_THAT(dcos::v1::role_problem("a\\b"), Contains("backslashes"));
  CHECK_THAT(dcos::v1::role_problem("/eng"), Contains("start or end with '/'"));
  CHECK_THAT(dcos::v1::role_problem("eng/"), Contains("start or end with '/'"));
  CHECK_THAT(dcos::v1::role_problem("eng//web"), Contains("empty path segment"));
  CHECK_THAT(dcos::v1::role_problem("eng/.."), Contains("'.' or '..'"));
  CHECK_THAT(dcos::v1::role_problem("eng/*"), Contains("'*' as a segment"));
  CHECK_THAT(dcos::v1::role_problem("*/eng"), Contains("'*' as a segment"));
}
