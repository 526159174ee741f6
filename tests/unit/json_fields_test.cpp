#include "dcos/v1/json_fields.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <limits>
#include <string>

namespace {

using Catch::Matchers::Contains;
using dcos::v1::DecodeError;
using dcos::v1::Fields;
using nlohmann::json;

}  // namespace

TEST_CASE("Fields treats null as absent", "[v1][core]") {
  // A null value reads as nullopt for every accessor, and required() reports it missing.
  const json j = json::parse(R"({"s":null,"n":null,"b":null,"o":null,"a":null})");
  Fields f(j, "");
  CHECK_FALSE(f.has("s"));
  CHECK_FALSE(f.string("s"));
  CHECK_FALSE(f.number("n"));
  CHECK_FALSE(f.integer("n"));
  CHECK_FALSE(f.unsigned_integer("n"));
  CHECK_FALSE(f.boolean("b"));
  CHECK_FALSE(f.object("o"));
  CHECK(f.array("a").empty());
  CHECK_FALSE(f.id("o"));
  f.required("s", f.string("s"));
  CHECK_THROWS_WITH(f.done(), "Missing required fields: s");
}

TEST_CASE("Fields accepts numeric strings for numbers and integers", "[v1][core]") {
  // "1.5", "42", "-7" and "Infinity" are read as numbers, as Mesos's converter does.
  const json j = json::parse(
      R"({"d":"1.5","i":"42","neg":"-7","u":"18446744073709551615","inf":"Infinity","ninf":"-Infinity",
          "whole":3.0,"plain":2.25,"int":9})");
  const Fields f(j, "");
  CHECK(f.number("d") == 1.5);
  CHECK(f.number("plain") == 2.25);
  CHECK(f.number("int") == 9.0);
  CHECK(f.integer("i") == 42);
  CHECK(f.integer("neg") == -7);
  CHECK(f.integer("whole") == 3);
  CHECK(f.integer("int") == 9);
  CHECK(f.unsigned_integer("u") == std::numeric_limits<std::uint64_t>::max());
  CHECK(f.unsigned_integer("i") == 42u);
  CHECK(f.number("inf") == std::numeric_limits<double>::infinity());
  CHECK(f.number("ninf") == -std::numeric_limits<double>::infinity());
}

TEST_CASE("Fields accepts \"true\" and \"false\" strings for booleans", "[v1][core]") {
  // JSON booleans and the two strings are accepted; anything else is a type error.
  const json j = json::parse(R"({"t":"true","f":"false","jt":true,"jf":false,"yes":"yes","one":1})");
  const Fields f(j, "");
  CHECK(f.boolean("t") == true);
  CHECK(f.boolean("f") == false);
  CHECK(f.boolean("jt") == true);
  CHECK(f.boolean("jf") == false);
  CHECK_THROWS_WITH(f.boolean("yes"), "Failed to parse field 'yes': expected a boolean");
  CHECK_THROWS_AS(f.boolean("one"), DecodeError);
}

TEST_CASE("Fields type errors name the field path", "[v1][core]") {
  // A wrong type inside a nested object reports "outer.inner" in the DecodeError.
  const json j = json::parse(
      R"({"framework_info":{"name":5,"user":"u","nested":{"n":"x"},"list":[1],"arr":{}},"top":[]})");
  const Fields root(j, "");
  auto info = root.object("framework_info");
  REQUIRE(info);
  CHECK(info->path() == "framework_info.");
  CHECK(info->string("user") == "u");
  CHECK_THROWS_WITH(info->string("name"), "Failed to parse field 'framework_info.name': expected a string");
  CHECK_THROWS_WITH(info->object("nested")->number("n"),
                    "Failed to parse field 'framework_info.nested.n': expected a number");
  CHECK_THROWS_WITH(info->integer("user"), Contains("framework_info.user") && Contains("an integer"));
  CHECK_THROWS_WITH(info->unsigned_integer("user"), Contains("an unsigned integer"));
  CHECK_THROWS_WITH(info->strings("list"), Contains("framework_info.list") && Contains("array of strings"));
  CHECK_THROWS_WITH(info->array("arr"), Contains("framework_info.arr") && Contains("an array"));
  CHECK_THROWS_WITH(root.object("top"), "Failed to parse field 'top': expected an object");
  CHECK_THROWS_WITH(Fields(json::array(), ""), "Expecting 'body' to be a JSON object");
  CHECK_THROWS_WITH(Fields(json(1), "call.subscribe."), "Expecting 'call.subscribe' to be a JSON object");
}

TEST_CASE("Fields rejects non-integral and negative numbers where integers are required", "[v1][core]") {
  // 3.5 is not an integer; -1 is not unsigned; "12abc" is not a numeric string.
  const json j = json::parse(R"({"frac":3.5,"neg":-1,"junk":"12abc","empty":""})");
  const Fields f(j, "");
  CHECK_THROWS_AS(f.integer("frac"), DecodeError);
  CHECK_THROWS_AS(f.unsigned_integer("neg"), DecodeError);
  CHECK_THROWS_AS(f.integer("junk"), DecodeError);
  CHECK_THROWS_AS(f.number("junk"), DecodeError);
  CHECK_THROWS_AS(f.number("empty"), DecodeError);
}

TEST_CASE("Fields reports all missing required fields together", "[v1][core]") {
  // a and b are absent, c present: done() throws once, naming a and b in order, with the path.
  const json j = json::parse(R"({"c":"here","task":{}})");
  Fields f(j, "");
  CHECK(f.required("a", f.string("a")).empty());
  CHECK(f.required("b", f.integer("b")) == 0);
  CHECK(f.required("c", f.string("c")) == "here");
  CHECK_THROWS_WITH(f.done(), "Missing required fields: a, b");

  Fields task = *f.object("task");
  task.required("name", task.string("name"));
  CHECK_THROWS_WITH(task.done(), "Missing required fields: task.name");

  Fields complete(j, "");
  complete.required("c", complete.string("c"));
  CHECK_NOTHROW(complete.done());
}

TEST_CASE("Fields reads id messages and string arrays", "[v1][core]") {
  // {"value":"x"} ids; an id object without value is a missing required field.
  const json j = json::parse(R"({"id":{"value":"fw-1"},"bad":{},"roles":["a","b"],"ignored":1})");
  const Fields f(j, "");
  CHECK(f.id("id") == "fw-1");
  CHECK_FALSE(f.id("absent"));
  CHECK_THROWS_WITH(f.id("bad"), "Missing required fields: bad.value");
  CHECK(f.strings("roles") == std::vector<std::string>{"a", "b"});
  CHECK(f.strings("absent").empty());
}

TEST_CASE("parse_json_body rejects nesting deeper than the limit", "[v1][core]") {
  // depth_max levels of arrays/objects parse; one more is refused with a clear text.
  CHECK(dcos::v1::parse_json_body("[[[]]]", 3));
  CHECK(dcos::v1::parse_json_body(R"({"a":{"b":[1]}})", 3));
  auto deep = dcos::v1::parse_json_body("[[[[]]]]", 3);
  REQUIRE_FALSE(deep);
  CHECK(deep.error().code == dcos::Errc::invalid_argument);
  CHECK(deep.error().message == "JSON nested deeper than 3 levels");

  const std::string at_limit = std::string(64, '[') + std::string(64, ']');
  CHECK(dcos::v1::parse_json_body(at_limit));
  const std::string over_limit = std::string(65, '[') + std::string(65, ']');
  CHECK_FALSE(dcos::v1::parse_json_body(over_limit));

  // A hostile body a million levels deep is refused without exhausting the stack.
  const std::string hostile = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  auto refused = dcos::v1::parse_json_body(hostile);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Contains("nested deeper than 64"));
}

TEST_CASE("parse_json_body reports malformed JSON as an error value", "[v1][core]") {
  // Truncated, trailing-garbage and empty bodies come back as invalid_argument, not exceptions.
  for (const char* body : {R"({"a":)", R"({"a":1} x)", "", "{'a':1}", "[1,]"}) {
    INFO("body: " << body);
    auto parsed = dcos::v1::parse_json_body(body);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == dcos::Errc::invalid_argument);
    CHECK_THAT(parsed.error().message, Contains("Failed to parse JSON"));
  }
  auto ok = dcos::v1::parse_json_body(R"({"type":"SUBSCRIBE","n":[1,2]})");
  REQUIRE(ok);
  CHECK((*ok)["type"] == "SUBSCRIBE");
}

TEST_CASE("parse_json_body reports a number too large for a double as an error value",
          "[v1][core]") {
  // A body with 1e400 comes back as an error value; no exception escapes.

  // nlohmann throws out_of_range.406 (not parse_error) for a number that overflows a double.
  dcos::Result<json> parsed = json();
  CHECK_NOTHROW(parsed = dcos::v1::parse_json_body(R"({"timestamp":1e400})"));
  CHECK_FALSE(parsed);
}

TEST_CASE("dump writes compact single-line ASCII", "[v1][core]") {
  // Non-ASCII is escaped as \uXXXX (surrogate pairs beyond the BMP), newlines as \n.
  const json j = {{"text", "caf\xC3\xA9\nsnow\xE2\x98\x83 \xF0\x9F\x98\x80"}, {"n", 1.0}, {"list", {1, 2}}};
  const std::string out = dcos::v1::dump(j);
  CHECK(out == R"({"list":[1,2],"n":1.0,"text":"caf\u00e9\nsnow\u2603 \ud83d\ude00"})");
  for (const char c : out) {
    CHECK(static_cast<unsigned char>(c) < 0x80);
    CHECK(c != '\n');
  }
  // Invalid UTF-8 does not throw; it is replaced with U+FFFD.
  CHECK(dcos::v1::dump(json("bad\xFF")) == R"("bad\ufffd")");
}
