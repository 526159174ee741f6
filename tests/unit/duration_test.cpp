#include "dcos/common/duration.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

namespace {

using Catch::Matchers::Contains;
using namespace std::chrono_literals;

dcos::Duration D(const char* text) {
  auto parsed = dcos::parse_duration(text);
  INFO("parse_duration(\"" << text << "\")");
  REQUIRE(parsed);
  return *parsed;
}

}  // namespace

TEST_CASE("parse_duration reads Mesos duration flags", "[common][core]") {
  // Every unit, fractions included: 1.5mins is 90 s.
  CHECK(D("10secs") == 10s);
  CHECK(D("500ms") == 500ms);
  CHECK(D("2hrs") == 2h);
  CHECK(D("1.5mins") == 90s);
  CHECK(D("7ns") == 7ns);
  CHECK(D("250us") == 250us);
  CHECK(D("3days") == 72h);
  CHECK(D("1weeks") == 168h);
  CHECK(D("0secs") == 0ns);
  CHECK(D("0.5secs") == 500ms);
}

TEST_CASE("parse_duration rejects bad units and missing numbers", "[common][core]") {
  // An unknown unit lists the valid ones; a missing number says so; both quote the input.
  auto bad_unit = dcos::parse_duration("10parsecs");
  REQUIRE_FALSE(bad_unit);
  CHECK(bad_unit.error().code == dcos::Errc::invalid_argument);
  CHECK_THAT(bad_unit.error().message, Contains("'10parsecs'") && Contains("unit must be one of"));
  for (const char* text : {"10", "10s", "10 secs", "10SECS"}) {
    INFO(text);
    CHECK_FALSE(dcos::parse_duration(text));
  }
  for (const char* text : {"secs", "", "-5secs", ".secs", "1.2.3secs"}) {
    INFO(text);
    auto parsed = dcos::parse_duration(text);
    REQUIRE_FALSE(parsed);
    CHECK_THAT(parsed.error().message, Contains("expected a number first"));
  }
}

TEST_CASE("parse_duration rejects a duration too long for int64 nanoseconds", "[common][core]") {
  // "100000000weeks" (about 6e22 ns, beyond int64's 9.2e18) is an error, as in Mesos.

  // llround of an out-of-range value is unspecified (LLONG_MIN on x86).
  auto parsed = dcos::parse_duration("100000000weeks");
  if (parsed) UNSCOPED_INFO("parsed to " << parsed->count() << " ns");
  CHECK_FALSE(parsed);
}

TEST_CASE("parse_bytes rejects a size too large for uint64", "[common][core]") {
  // "100000000TB" (about 1.1e20 bytes, beyond uint64's 1.8e19) is an error, not a wrapped value.

  // llround overflows and the cast gives 2^63 on x86: the flag would silently mean 8 EiB.
  auto parsed = dcos::parse_bytes("100000000TB");
  if (parsed) UNSCOPED_INFO("parsed to " << *parsed << " bytes");
  CHECK_FALSE(parsed);
}

TEST_CASE("format_duration picks the largest exact unit", "[common][core]") {
  // 15 s is "15secs", 90 s stays "90secs" (not a whole number of minutes), 0 is "0ns".
  CHECK(dcos::format_duration(15s) == "15secs");
  CHECK(dcos::format_duration(500ms) == "500ms");
  CHECK(dcos::format_duration(90s) == "90secs");
  CHECK(dcos::format_duration(2min) == "2mins");
  CHECK(dcos::format_duration(2h) == "2hrs");
  CHECK(dcos::format_duration(48h) == "2days");
  CHECK(dcos::format_duration(336h) == "2weeks");
  CHECK(dcos::format_duration(1500us) == "1500us");
  CHECK(dcos::format_duration(1001ns) == "1001ns");
  CHECK(dcos::format_duration(0ns) == "0ns");
  for (const dcos::Duration d : {dcos::Duration(15s), dcos::Duration(500ms), dcos::Duration(90s),
                                 dcos::Duration(2h), dcos::Duration(1001ns), dcos::Duration(0ns)}) {
    INFO(d.count() << " ns");
    CHECK(D(dcos::format_duration(d).c_str()) == d);
  }
}

TEST_CASE("parse_bytes reads Mesos byte sizes in powers of 1024", "[common][core]") {
  // 512MB is 512 * 2^20; a bare number is bytes; 1.5KB is 1536.
  CHECK(dcos::parse_bytes("512MB") == 512ull * 1024 * 1024);
  CHECK(dcos::parse_bytes("1GB") == 1024ull * 1024 * 1024);
  CHECK(dcos::parse_bytes("2TB") == 2ull * 1024 * 1024 * 1024 * 1024);
  CHECK(dcos::parse_bytes("2KB") == 2048u);
  CHECK(dcos::parse_bytes("1.5KB") == 1536u);
  CHECK(dcos::parse_bytes("100B") == 100u);
  CHECK(dcos::parse_bytes("100") == 100u);
  auto bad = dcos::parse_bytes("5XB");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Contains("'5XB'") && Contains("B, KB, MB, GB or TB"));
  CHECK_FALSE(dcos::parse_bytes("MB"));
  CHECK_FALSE(dcos::parse_bytes("-1MB"));
  CHECK_FALSE(dcos::parse_bytes("5mb"));
}
