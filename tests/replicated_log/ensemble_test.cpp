// Replica lists as flags give them: split, resolved, numbered alike on every replica, checked.
#include <catch2/catch.hpp>

#include "dcos/replicated_log/ensemble.hpp"

namespace dcos::replicated_log {
namespace {

boost::asio::ip::tcp::endpoint at(const char* ip, std::uint16_t port) {
  return {boost::asio::ip::make_address(ip), port};
}

}  // namespace

TEST_CASE("a replica list splits at commas and white space", "[replicated_log][ensemble]") {
  CHECK(split_replica_list("a:1,b:2") == std::vector<std::string>{"a:1", "b:2"});
  CHECK(split_replica_list(" a:1 ,, b:2\nc:3\n") == std::vector<std::string>{"a:1", "b:2", "c:3"});
  CHECK(split_replica_list("").empty());
}

TEST_CASE("replica addresses resolve, and a bad one is named", "[replicated_log][ensemble]") {
  CHECK(resolve_replica_address("10.1.2.3:5050").value() == at("10.1.2.3", 5050));
  CHECK(resolve_replica_address("[::1]:7").value() == at("::1", 7));
  const auto named = resolve_replica_address("localhost:5050");
  REQUIRE(named);
  CHECK(named->address().is_loopback());
  for (const char* bad : {"10.1.2.3", "10.1.2.3:", "10.1.2.3:0", "10.1.2.3:70000", "10.1.2.3:5x", ":5050"}) {
    const auto resolved = resolve_replica_address(bad);
    REQUIRE_FALSE(resolved);
    CHECK(resolved.error().code == Errc::invalid_argument);
    CHECK_THAT(resolved.error().message, Catch::Contains(bad));
  }
  CHECK_THAT(resolve_replica_address("no-such-host.invalid:5050").error().message, Catch::Contains("cannot resolve"));
}

TEST_CASE("every replica numbers the ensemble alike, whatever order it was given",
          "[replicated_log][ensemble]") {
  const auto one = make_ensemble({"127.0.0.1:7003", "127.0.0.1:7001", "127.0.0.1:7002"}, at("127.0.0.1", 7001));
  const auto two = make_ensemble({"127.0.0.1:7002", "127.0.0.1:7003", "127.0.0.1:7001"}, at("127.0.0.1", 7003));
  REQUIRE(one);
  REQUIRE(two);
  CHECK(one->replicas == two->replicas);
  CHECK(one->self == NodeId{0});
  CHECK(two->self == NodeId{2});
  CHECK(one->replicas[1] == std::pair{NodeId{1}, at("127.0.0.1", 7002)});
}

TEST_CASE("an ensemble without this replica, or with one listed twice, is refused", "[replicated_log][ensemble]") {
  const auto missing = make_ensemble({"127.0.0.1:7001", "127.0.0.1:7002"}, at("127.0.0.1", 7003));
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("do not include this one (127.0.0.1:7003)"));
  const auto twice = make_ensemble({"127.0.0.1:7001", " 127.0.0.1:7001"}, at("127.0.0.1", 7001));
  REQUIRE_FALSE(twice);
  CHECK_THAT(twice.error().message, Catch::Contains("127.0.0.1:7001 is listed twice"));
}

TEST_CASE("a quorum must be a majority of the replicas and no more than all of them", "[replicated_log][ensemble]") {
  CHECK(check_quorum(1, 1));
  CHECK(check_quorum(2, 3));
  CHECK(check_quorum(3, 3));
  CHECK(check_quorum(3, 5));
  CHECK(check_quorum(2, 2));
  CHECK_THAT(check_quorum(1, 2).error().message, Catch::Contains("not a majority"));
  CHECK_THAT(check_quorum(2, 4).error().message, Catch::Contains("use at least 3"));
  CHECK_THAT(check_quorum(4, 3).error().message, Catch::Contains("more than the 3 replicas"));
}

}  // namespace dcos::replicated_log
