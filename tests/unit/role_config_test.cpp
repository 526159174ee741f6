// Weights and quota as the operator sends them: decoding, validation and the v1 JSON shapes.
#include "dcos/master/role_config.hpp"

#include <catch2/catch.hpp>

using dcos::master::decode_quota_configs;
using dcos::master::decode_weight_infos;
using dcos::master::RoleConfig;
using nlohmann::json;

TEST_CASE("Weight infos decode by role, numbers given as strings too", "[roles][unit]") {
  auto weights = decode_weight_infos(json::parse(R"([{"role":"eng","weight":2.5},{"role":"eng/web","weight":"0.5"}])"));
  REQUIRE(weights);
  CHECK(*weights == std::map<std::string, double>{{"eng", 2.5}, {"eng/web", 0.5}});
}

TEST_CASE("Bad weight infos are refused with the reason", "[roles][unit]") {
  auto refused = [](const char* text) {
    auto result = decode_weight_infos(json::parse(text));
    REQUIRE_FALSE(result);
    return result.error().message;
  };
  CHECK_THAT(refused(R"([{"role":"eng","weight":-1}])"), Catch::Contains("must be positive"));
  CHECK_THAT(refused(R"([{"role":"eng","weight":0}])"), Catch::Contains("must be positive"));
  CHECK_THAT(refused(R"([{"role":"a//b","weight":1}])"), Catch::Contains("empty path segment"));
  CHECK_THAT(refused(R"([{"role":"*","weight":2}])"), Catch::Contains("'*'"));
  CHECK_THAT(refused(R"([{"role":"eng","weight":1},{"role":"eng","weight":2}])"), Catch::Contains("more than once"));
  CHECK_THAT(refused(R"([{"weight":2}])"), Catch::Contains("Missing required fields: weight_infos.role"));
  CHECK_THAT(refused(R"({"role":"eng"})"), Catch::Contains("must be an array"));
}

TEST_CASE("Quota configs decode guarantees and limits as v1 scalar maps", "[roles][unit]") {
  auto configs = decode_quota_configs(json::parse(
      R"([{"role":"dev","guarantees":{"cpus":{"value":1}},"limits":{"cpus":{"value":2},"mem":{"value":"512"}}},
          {"role":"ops"}])"));
  REQUIRE(configs);
  REQUIRE(configs->size() == 2);
  CHECK((*configs)[0].first == "dev");
  CHECK((*configs)[0].second.guarantees == dcos::ResourceQuantities{{"cpus", 1}});
  CHECK((*configs)[0].second.limits == dcos::ResourceQuantities{{"cpus", 2}, {"mem", 512}});
  CHECK((*configs)[1].second.empty());  // Removes ops's quota.
}

TEST_CASE("Bad quota configs are refused with the reason", "[roles][unit]") {
  auto refused = [](const char* text) {
    auto result = decode_quota_configs(json::parse(text));
    REQUIRE_FALSE(result);
    return result.error().message;
  };
  CHECK_THAT(refused(R"([{"role":"dev","guarantees":{"cpus":{"value":2}},"limits":{"cpus":{"value":1}}}])"),
             Catch::Contains("above its limit"));
  CHECK_THAT(refused(R"([{"role":"dev/web","limits":{"cpus":{"value":1}}}])"), Catch::Contains("top-level"));
  CHECK_THAT(refused(R"([{"role":"dev","limits":{"cpus":{"value":-1}}}])"), Catch::Contains("non-negative"));
  CHECK_THAT(refused(R"([{"role":"dev","limits":{"cpus":1}}])"), Catch::Contains("'value'"));
  CHECK_THAT(refused(R"([{"role":" dev"}])"), Catch::Contains("whitespace"));
  CHECK_THAT(refused(R"([{"role":"*","limits":{"cpus":{"value":1}}}])"), Catch::Contains("'*'"));
  CHECK_THAT(refused(R"([{"role":"dev"},{"role":"dev"}])"), Catch::Contains("more than once"));
}

TEST_CASE("QuotaStatus lists configs and the deprecated guarantee-only infos", "[roles][unit]") {
  std::map<std::string, dcos::Quota> quotas{{"dev", {{{"cpus", 1}}, {{"cpus", 2}}}}};
  const json status = dcos::master::quota_status_json(quotas);
  CHECK(status["configs"] ==
        json::parse(R"([{"role":"dev","guarantees":{"cpus":{"value":1.0}},"limits":{"cpus":{"value":2.0}}}])"));
  CHECK(status["infos"] ==
        json::parse(R"([{"role":"dev","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":1.0}}]}])"));
  CHECK(dcos::master::quota_status_json({}) == json::object());  // Empty lists are omitted.
}

TEST_CASE("A role config survives its JSON form, for the registry", "[roles][unit]") {
  RoleConfig config;
  config.weights = {{"eng", 2}, {"ops", 0.5}};
  config.quotas = {{"dev", {{{"cpus", 1}}, {{"cpus", 2}, {"mem", 1024}}}}};
  auto back = dcos::master::role_config_from_json(dcos::master::to_json(config));
  REQUIRE(back);
  CHECK(*back == config);
  CHECK_FALSE(dcos::master::role_config_from_json(json::parse(R"({"weight_infos":[{"role":"x","weight":-2}]})")));
}
