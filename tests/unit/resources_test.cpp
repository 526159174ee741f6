#include "dcos/resources/resources.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <string>
#include <variant>

namespace {

using Catch::Matchers::Contains;
using dcos::Range;
using dcos::Ranges;
using dcos::Resource;
using dcos::Resources;
using dcos::ValueType;

// Parses a resource string the test knows is valid.
Resources R(const std::string& text) {
  auto parsed = dcos::parse_resources(text);
  INFO("parse_resources(\"" << text << "\")");
  REQUIRE(parsed);
  return *parsed;
}

// The error message of a parse the test expects to fail.
std::string parse_error(const std::string& text) {
  auto parsed = dcos::parse_resources(text);
  INFO("parse_resources(\"" << text << "\")");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().code == dcos::Errc::invalid_argument);
  return parsed.error().message;
}

}  // namespace

// ---- Parsing the agent's --resources text ----

TEST_CASE("parse_resources reads scalars and port ranges", "[resources][core]") {
  // Parses the usual agent flag and reads every value back by name.
  const Resources r = R("cpus:4;mem:8192;disk:10240;ports:[31000-32000]");
  CHECK(r.items().size() == 4);
  CHECK(r.scalar("cpus") == 4.0);
  CHECK(r.scalar("mem") == 8192.0);
  CHECK(r.scalar("disk") == 10240.0);
  CHECK(r.scalar("gpus") == 0.0);
  REQUIRE(r.ranges("ports"));
  CHECK(*r.ranges("ports") == Ranges({{31000, 32000}}));
  CHECK(r.ranges("ports")->count() == 1001);
  CHECK_FALSE(r.ranges("nope"));
  for (const Resource& item : r) {
    CHECK(item.role == "*");
    CHECK_FALSE(item.reserved());
    CHECK_FALSE(item.allocation_role);
  }
}

TEST_CASE("parse_resources tolerates whitespace and empty entries", "[resources][core]") {
  // Spaces around names, values and separators, and stray ';', do not change the result.
  CHECK(R(" cpus : 4 ; ; mem:1024 ;") == R("cpus:4;mem:1024"));
  CHECK(R("").empty());
  CHECK(R("   ").empty());
}

TEST_CASE("parse_resources reads reservation roles in parentheses", "[resources][core]") {
  // "cpus(eng):2" is reserved for eng and stays apart from unreserved cpus, but sums with them.
  const Resources r = R("cpus(eng):2;cpus:1;mem(eng):512");
  REQUIRE(r.items().size() == 3);
  CHECK(r.items()[0].name == "cpus");
  CHECK(r.items()[0].role == "eng");
  CHECK(r.items()[0].reserved());
  CHECK(r.items()[1].role == "*");
  CHECK(r.scalar("cpus") == 3.0);
  CHECK(r.allocatable_to("eng") == r);
  CHECK(r.allocatable_to("dev") == R("cpus:1"));
}

TEST_CASE("parse_resources applies the default role to entries without one", "[resources][core]") {
  // The second argument is the role of entries that name none; an explicit role wins.
  auto parsed = dcos::parse_resources("cpus:1;mem(ops):64", "eng");
  REQUIRE(parsed);
  REQUIRE(parsed->items().size() == 2);
  CHECK(parsed->items()[0].role == "eng");
  CHECK(parsed->items()[1].role == "ops");
}

TEST_CASE("parse_resources reads sets", "[resources][core]") {
  // "{a,b}" is a SET; items are trimmed and empty items dropped.
  const Resources r = R("bugs:{a, b ,};cpus:1");
  REQUIRE(r.items().size() == 2);
  CHECK(r.items()[0].type == ValueType::set);
  CHECK(r.items()[0].set == std::set<std::string>{"a", "b"});
  CHECK(r.summary()["bugs"] == "{a, b}");
}

TEST_CASE("parse_resources reads multiple ranges and coalesces them", "[resources][core]") {
  // Overlapping and adjacent ranges merge into disjoint sorted ranges.
  const Resources r = R("ports:[33000-33001, 31000-31500, 31501-32000, 31200-31300]");
  REQUIRE(r.ranges("ports"));
  CHECK(r.ranges("ports")->items() == std::vector<Range>{{31000, 32000}, {33000, 33001}});
  CHECK(r.ranges("ports")->to_string() == "[31000-32000, 33000-33001]");
}

TEST_CASE("parse_resources accepts a JSON array of v1 Resource objects", "[resources][core]") {
  // Text starting with '[' is the v1 JSON form; it means the same as the flag form.
  const Resources r = R(R"([{"name":"cpus","type":"SCALAR","scalar":{"value":2}},
                           {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":5}]}},
                           {"name":"mem","type":"SCALAR","scalar":{"value":512},"role":"eng"}])");
  CHECK(r == R("cpus:2;ports:[1-5];mem(eng):512"));

  auto bad = dcos::parse_resources("[{\"name\":");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Contains("not valid JSON"));
}

TEST_CASE("parse_resources errors name the faulty entry", "[resources][core]") {
  // Each malformed entry is rejected with invalid_argument and a message quoting that entry.
  SECTION("missing ':'") {
    const auto message = parse_error("cpus:4;mem1024");
    CHECK_THAT(message, Contains("'mem1024'"));
    CHECK_THAT(message, Contains("':'"));
  }
  SECTION("bad number") {
    const auto message = parse_error("cpus:4;mem:lots");
    CHECK_THAT(message, Contains("mem:lots"));
    CHECK_THAT(message, Contains("not a number"));
  }
  SECTION("negative number") {
    const auto message = parse_error("cpus:-1;mem:64");
    CHECK_THAT(message, Contains("cpus:-1"));
    CHECK_THAT(message, Contains("negative"));
  }
  SECTION("range that ends before it begins") {
    const auto message = parse_error("cpus:1;ports:[5-1]");
    CHECK_THAT(message, Contains("ports:[5-1]"));
    CHECK_THAT(message, Contains("ends before it begins"));
  }
  SECTION("range without '-'") {
    CHECK_THAT(parse_error("ports:[5]"), Contains("'5' has no '-'"));
  }
  SECTION("range bound that is not a number") {
    CHECK_THAT(parse_error("ports:[a-9]"), Contains("not two unsigned integers"));
  }
  SECTION("unclosed role") {
    const auto message = parse_error("cpus(eng:2");
    CHECK_THAT(message, Contains("cpus(eng:2"));
    CHECK_THAT(message, Contains("unclosed role"));
  }
  SECTION("empty role") {
    CHECK_THAT(parse_error("cpus():2"), Contains("empty role"));
  }
  SECTION("missing name") {
    CHECK_THAT(parse_error(":2"), Contains("has no name"));
  }
  SECTION("unterminated set") {
    CHECK_THAT(parse_error("bugs:{a,b"), Contains("bugs:{a,b"));
  }
  SECTION("not finite") {
    CHECK_THAT(parse_error("cpus:inf"), Contains("not a number"));
  }
}

// ---- Arithmetic ----

TEST_CASE("Resources add, subtract and compare like Mesos", "[resources][core]") {
  // a - b + b == a; contains is one-way; subtracting everything leaves nothing.
  const Resources a = R("cpus:4;mem:1024;ports:[31000-32000]");
  const Resources b = R("cpus:1;mem:512;ports:[31000-31009]");
  CHECK(a.contains(b));
  CHECK_FALSE(b.contains(a));
  CHECK(a - b == R("cpus:3;mem:512;ports:[31010-32000]"));
  CHECK((a - b) + b == a);
  CHECK((a - a).empty());

  Resources c = a;
  c += R("cpus:0.5;disk:10");
  CHECK(c.scalar("cpus") == 4.5);
  CHECK(c.scalar("disk") == 10.0);
  c -= R("disk:10");
  CHECK(c.items().size() == 3);  // The emptied disk entry is gone, not kept at 0.
}

TEST_CASE("Resources of different roles do not cover each other", "[resources][core]") {
  // Reserved and unreserved, allocated and unallocated resources never combine.
  CHECK_FALSE(R("cpus(eng):4").contains(R("cpus:1")));
  CHECK_FALSE(R("cpus:4").contains(R("cpus(eng):1")));
  CHECK_FALSE(R("cpus:4").allocated_to("eng").contains(R("cpus:1")));
  CHECK(R("cpus:4").allocated_to("eng").unallocated() == R("cpus:4"));
  CHECK(R("cpus:4").allocated_to("eng").contains(R("cpus:1").allocated_to("eng")));
  CHECK(R("cpus:1") + R("cpus(eng):1") != R("cpus:2"));
}

TEST_CASE("Scalars are fixed point with three decimals", "[resources][core]") {
  // 0.1 + 0.2 is exactly 0.3 after rounding; anything below 0.0005 is nothing.
  Resources r{Resource{.name = "cpus", .scalar = 0.1}};
  r += Resource{.name = "cpus", .scalar = 0.2};
  CHECK(r.scalar("cpus") == 0.3);
  CHECK(r == R("cpus:0.3"));
  r -= R("cpus:0.1");
  r -= R("cpus:0.2");
  CHECK(r.empty());
  CHECK(R("cpus:0.0004").empty());
  CHECK(R("cpus:1.23456").scalar("cpus") == 1.235);
  CHECK(R("cpus:0.3").contains(R("cpus:0.1") + R("cpus:0.2")));
}

TEST_CASE("Subtracting from the middle of a range splits it", "[resources][core]") {
  // [31000-32000] minus port 31500 is [31000-31499, 31501-32000], 1000 ports.
  Resources r = R("ports:[31000-32000]");
  r -= R("ports:[31500-31500]");
  REQUIRE(r.ranges("ports"));
  CHECK(r.ranges("ports")->items() == std::vector<Range>{{31000, 31499}, {31501, 32000}});
  CHECK(r.ranges("ports")->count() == 1000);
  CHECK(r.to_string() == "ports:[31000-31499, 31501-32000]");
  CHECK_FALSE(r.contains(R("ports:[31499-31501]")));
  r += R("ports:[31500-31500]");
  CHECK(r == R("ports:[31000-32000]"));
  CHECK(r.ranges("ports")->items().size() == 1);  // Re-adding coalesces.
}

TEST_CASE("Ranges contains requires each range inside one range", "[resources][core]") {
  // A range straddling a gap is not contained even when its ends are.
  const Ranges have({{1, 5}, {7, 9}});
  CHECK(have.contains(Ranges({{2, 3}, {8, 9}})));
  CHECK_FALSE(have.contains(Ranges({{4, 8}})));
  CHECK_FALSE(have.contains(Ranges({{6, 6}})));
  CHECK(have.contains(Ranges{}));
  Ranges cut = have;
  cut -= Ranges({{0, 100}});
  CHECK(cut.empty());
}

TEST_CASE("Sets add and subtract by item", "[resources][core]") {
  // {a,b,c} minus {b} is {a,c}; it no longer contains b.
  Resources r = R("bugs:{a,b,c}");
  CHECK(r.contains(R("bugs:{a,c}")));
  r -= R("bugs:{b}");
  CHECK(r == R("bugs:{a,c}"));
  CHECK_FALSE(r.contains(R("bugs:{b}")));
  r += R("bugs:{d}");
  CHECK(r == R("bugs:{a,c,d}"));
}

TEST_CASE("scalars() totals each scalar across roles", "[resources][core]") {
  // cpus 1 (*) + 2 (eng) + 0.5 allocated = 3.5; ranges are not scalars.
  const Resources r = R("cpus:1;cpus(eng):2;mem:64;ports:[1-2]") + R("cpus:0.5").allocated_to("x");
  const auto totals = r.scalars();
  CHECK(totals == std::map<std::string, double>{{"cpus", 3.5}, {"mem", 64.0}});
}

// ---- JSON shapes ----

TEST_CASE("summary() has Mesos's classic shape", "[resources][core]") {
  // cpus, gpus, mem and disk are always present as doubles; ranges are strings.
  const nlohmann::json summary = R("cpus:4;mem:1024;ports:[31000-32000]").summary();
  CHECK(summary == nlohmann::json{{"cpus", 4.0}, {"gpus", 0.0}, {"mem", 1024.0}, {"disk", 0.0},
                                  {"ports", "[31000-32000]"}});
  CHECK(summary.dump() == R"({"cpus":4.0,"disk":0.0,"gpus":0.0,"mem":1024.0,"ports":"[31000-32000]"})");
  CHECK(Resources{}.summary() == nlohmann::json{{"cpus", 0.0}, {"gpus", 0.0}, {"mem", 0.0}, {"disk", 0.0}});
}

TEST_CASE("to_json writes the v1 Resource shape", "[resources][core]") {
  // name, type, the typed value and role "*" always; allocation_info only when allocated.
  const Resources r = R("cpus:4;ports:[31000-32000];bugs:{a,b}");
  const nlohmann::json j = dcos::to_json(r);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 3);
  CHECK(j[0] == nlohmann::json::parse(R"({"name":"cpus","type":"SCALAR","scalar":{"value":4.0},"role":"*"})"));
  CHECK(j[1] == nlohmann::json::parse(
                    R"({"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]},"role":"*"})"));
  CHECK(j[2] == nlohmann::json::parse(R"({"name":"bugs","type":"SET","set":{"item":["a","b"]},"role":"*"})"));
  CHECK(j[0].dump() == R"({"name":"cpus","role":"*","scalar":{"value":4.0},"type":"SCALAR"})");

  const nlohmann::json allocated = dcos::to_json(R("mem(eng):64").allocated_to("eng"));
  REQUIRE(allocated.size() == 1);
  CHECK(allocated[0]["role"] == "eng");
  CHECK(allocated[0]["allocation_info"] == nlohmann::json{{"role", "eng"}});
  CHECK_FALSE(j[0].contains("allocation_info"));
}

TEST_CASE("resources_from_json reads back what to_json wrote", "[resources][core]") {
  // Every type, a reservation and an allocation role survive the round trip.
  const Resources original =
      R("cpus(eng):2.5;mem:512;ports:[1-2, 4-5];bugs:{x,y}") + R("disk:100").allocated_to("eng");
  auto decoded = dcos::resources_from_json(dcos::to_json(original));
  REQUIRE(decoded);
  CHECK(*decoded == original);
  CHECK(decoded->items().size() == original.items().size());
  CHECK(dcos::to_json(*decoded) == dcos::to_json(original));
}

TEST_CASE("resource_from_json follows Mesos's JSON rules", "[resources][core]") {
  // Numeric strings are numbers, null is absent, and the last `reservations` entry is the role.
  auto scalar = dcos::resource_from_json(
      nlohmann::json::parse(R"({"name":"cpus","type":"SCALAR","scalar":{"value":"2.5"},"role":null})"));
  REQUIRE(scalar);
  CHECK(scalar->scalar == 2.5);
  CHECK(scalar->role == "*");

  auto ranges = dcos::resource_from_json(nlohmann::json::parse(
      R"({"name":"ports","type":"RANGES","ranges":{"range":[{"begin":"10","end":20}]}})"));
  REQUIRE(ranges);
  CHECK(ranges->ranges == Ranges({{10, 20}}));

  auto refined = dcos::resource_from_json(nlohmann::json::parse(
      R"({"name":"mem","type":"SCALAR","scalar":{"value":1},
          "reservations":[{"type":"STATIC","role":"eng"},{"type":"DYNAMIC","role":"eng/web"}]})"));
  REQUIRE(refined);
  CHECK(refined->role == "eng/web");
}

TEST_CASE("resources_from_json rejects malformed resources", "[resources][core]") {
  // Each error is invalid_argument and names the field or resource at fault.
  auto error_of = [](const char* text) {
    auto r = dcos::resources_from_json(nlohmann::json::parse(text));
    INFO(text);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == dcos::Errc::invalid_argument);
    return r.error().message;
  };
  CHECK_THAT(error_of(R"({"name":"cpus"})"), Contains("expected an array"));
  CHECK(error_of(R"([{}])") == "Missing required fields: name, type");
  CHECK(error_of(R"([{"name":"cpus"}])") == "Missing required fields: type");
  CHECK(error_of(R"([{"type":"SCALAR"}])") == "Missing required fields: name");
  CHECK_THAT(error_of(R"([{"name":"cpus","type":"SCALAR"}])"), Contains("'cpus'") && Contains("scalar.value"));
  CHECK_THAT(error_of(R"([{"name":"cpus","type":"SCALAR","scalar":{"value":"x"}}])"), Contains("scalar.value"));
  CHECK_THAT(error_of(R"([{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}])"), Contains("negative"));
  CHECK_THAT(error_of(R"([{"name":"p","type":"RANGES","ranges":{"range":[{"begin":5,"end":1}]}}])"),
             Contains("begin <= end"));
  CHECK_THAT(error_of(R"([{"name":"p","type":"RANGES","ranges":{"range":[{"begin":-5,"end":1}]}}])"),
             Contains("begin <= end"));
  CHECK_THAT(error_of(R"([{"name":"p","type":"RANGES"}])"), Contains("needs 'ranges'"));
  CHECK_THAT(error_of(R"([{"name":"s","type":"SET","set":{"item":[1]}}])"), Contains("strings"));
  CHECK_THAT(error_of(R"([{"name":"t","type":"TEXT"}])"), Contains("unsupported type 'TEXT'"));
  CHECK_THAT(error_of(R"([{"name":7,"type":"SCALAR"}])"), Contains("'name' must be a string"));
  CHECK_THAT(error_of(R"([{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":5}])"),
             Contains("'role' must be a string"));
}

// ---- Attributes ----

TEST_CASE("parse_attributes reads text, scalar and range attributes", "[resources][core]") {
  // "rack:r1;level:9;keys:[1000-1500]" gives TEXT r1, SCALAR 9 and RANGES [1000-1500].
  auto parsed = dcos::parse_attributes("rack:r1;level:9;keys:[1000-1500]");
  REQUIRE(parsed);
  REQUIRE(parsed->size() == 3);
  CHECK((*parsed)[0].name == "rack");
  CHECK(std::get<std::string>((*parsed)[0].value) == "r1");
  CHECK(std::get<double>((*parsed)[1].value) == 9.0);
  CHECK(std::get<Ranges>((*parsed)[2].value) == Ranges({{1000, 1500}}));

  CHECK(dcos::attributes_summary(*parsed) ==
        nlohmann::json{{"rack", "r1"}, {"level", 9.0}, {"keys", "[1000-1500]"}});
  const nlohmann::json j = dcos::to_json(*parsed);
  CHECK(j[0] == nlohmann::json::parse(R"({"name":"rack","type":"TEXT","text":{"value":"r1"}})"));
  CHECK(j[1] == nlohmann::json::parse(R"({"name":"level","type":"SCALAR","scalar":{"value":9.0}})"));
  CHECK(j[2] == nlohmann::json::parse(
                    R"({"name":"keys","type":"RANGES","ranges":{"range":[{"begin":1000,"end":1500}]}})"));
}

TEST_CASE("parse_attributes rejects entries without a name or ':'", "[resources][core]") {
  // "rack" and ":x" are not name:value; a bad range is reported with its entry.
  auto empty = dcos::parse_attributes("");
  REQUIRE(empty);
  CHECK(empty->empty());
  auto no_colon = dcos::parse_attributes("rack:r1;zone");
  REQUIRE_FALSE(no_colon);
  CHECK_THAT(no_colon.error().message, Contains("'zone'"));
  CHECK_FALSE(dcos::parse_attributes(":x"));
  auto bad_range = dcos::parse_attributes("keys:[9-1]");
  REQUIRE_FALSE(bad_range);
  CHECK_THAT(bad_range.error().message, Contains("keys:[9-1]"));
}
