#include "dcos/common/ids.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

TEST_CASE("id_problem accepts ordinary Mesos ids", "[common][core]") {
  // Typical generated and user ids, up to 255 characters, are valid.
  const std::vector<std::string> ids = {"fw-0001", "0f6c3e1a-7b9d-4a5c-9d2e-000000000001-S0", "task.1_a", "a", "...",
                                        std::string(255, 'x')};
  for (const std::string& id : ids) {
    INFO("id: " << id);
    CHECK(dcos::id_problem(id).empty());
  }
}

TEST_CASE("id_problem rejects what Mesos's validateID rejects", "[common][core]") {
  // Empty, over 255 chars, "." and "..", control characters, '/' and '\'.
  CHECK(dcos::id_problem("") == "ID must not be empty");
  CHECK(dcos::id_problem(std::string(256, 'x')) == "ID must not be longer than 255 characters");
  CHECK(dcos::id_problem(".") == "'.' is disallowed");
  CHECK(dcos::id_problem("..") == "'..' is disallowed");
  CHECK(dcos::id_problem("a\nb") == "ID must not contain control characters");
  CHECK(dcos::id_problem(std::string("a\0b", 3)) == "ID must not contain control characters");
  CHECK(dcos::id_problem("a\x7f") == "ID must not contain control characters");
  CHECK(dcos::id_problem("a/b") == "ID must not contain slash or backslash");
  CHECK(dcos::id_problem("a\\b") == "ID must not contain slash or backslash");
}

TEST_CASE("Ids are distinct types that compare, hash, format and encode by value", "[common][core]") {
  // A TaskId is not a FrameworkId; equal values compare equal, hash alike and write {"value":..}.
  static_assert(!std::is_convertible_v<dcos::TaskId, dcos::FrameworkId>);
  static_assert(!std::is_convertible_v<std::string, dcos::TaskId>);  // Construction is explicit.
  const dcos::TaskId a("t-1"), b("t-1"), c("t-2");
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a < c);
  CHECK(dcos::TaskId().empty());
  CHECK(std::hash<dcos::TaskId>{}(a) == std::hash<dcos::TaskId>{}(b));
  std::unordered_set<dcos::TaskId> set{a, b, c};
  CHECK(set.size() == 2);
  CHECK(fmt::format("task {}", a) == "task t-1");
  nlohmann::json j = dcos::AgentId("a-1");
  CHECK(j == nlohmann::json{{"value", "a-1"}});
}

TEST_CASE("A long id's copies share its value; short and long ids compare, hash and move alike", "[common][core]") {
  // Ids are copied into every offer, grant and update: a copy of a Mesos-style id (longer than a
  // string holds inline) refers to the same characters instead of allocating its own.
  const std::string uuid_id = "0f6c3e1a-7b9d-4a5c-9d2e-000000000001-0000";
  const dcos::FrameworkId long_id(uuid_id);
  const dcos::FrameworkId copy = long_id;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(&copy.value() == &long_id.value());
  CHECK(copy == long_id);
  CHECK(dcos::FrameworkId(uuid_id) == long_id);  // Made apart: equal by value.
  CHECK(std::hash<dcos::FrameworkId>{}(dcos::FrameworkId(uuid_id)) == std::hash<dcos::FrameworkId>{}(long_id));

  const dcos::FrameworkId short_id("fw-1");
  const dcos::FrameworkId short_copy = short_id;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(short_copy == short_id);
  CHECK(&short_copy.value() != &short_id.value());
  // Ordering is by value across both forms: "0f6c…" < "fw-1" < "fw-1-and-then-a-long-suffix".
  const dcos::FrameworkId longer("fw-1-and-then-a-long-suffix");
  CHECK(long_id < short_id);
  CHECK(short_id < longer);
  CHECK(short_id != longer);

  // A moved-from id is empty, whichever form it had.
  dcos::FrameworkId from_long = long_id, from_short = short_id;
  const dcos::FrameworkId taken_long = std::move(from_long), taken_short = std::move(from_short);
  CHECK(taken_long == long_id);
  CHECK(taken_short == short_id);
  CHECK(from_long.empty());   // NOLINT(bugprone-use-after-move)
  CHECK(from_short.empty());  // NOLINT(bugprone-use-after-move)
  from_long = taken_long;
  CHECK(from_long.value() == uuid_id);
}
