// `/files/*` (reference/mesos-api.md §3.2): browsing, paging and downloading sandbox files, and
// every way out of a sandbox refused.
#include "dcos/agent/files.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "agent/agent_harness.hpp"

using namespace dcos::testing;
namespace fs = std::filesystem;

TEST_CASE("sandbox paths resolve inside their sandbox only", "[agent][shell]") {
  const std::string dir = make_temp_dir();
  fs::create_directories(dir + "/box/sub");
  fs::create_directories(dir + "/outside");
  std::ofstream(dir + "/box/sub/file") << "x";
  std::ofstream(dir + "/outside/secret") << "s";
  fs::create_symlink(dir + "/outside", dir + "/box/escape");
  fs::create_symlink("sub/file", dir + "/box/inner");
  const std::map<std::string, std::string> attached = {{"/virtual/box", dir + "/box"}};

  auto ok = dcos::agent::resolve_sandbox_path(attached, "/virtual/box/sub/file");
  REQUIRE(ok);
  CHECK(ok->real == fs::canonical(dir + "/box/sub/file").string());
  CHECK(dcos::agent::resolve_sandbox_path(attached, "/virtual/box/inner"));       // A symlink that stays.
  CHECK(dcos::agent::resolve_sandbox_path(attached, "/virtual/box/sub/../sub/file"));
  auto escape = dcos::agent::resolve_sandbox_path(attached, "/virtual/box/escape/secret");
  REQUIRE_FALSE(escape);
  CHECK(escape.error().code == dcos::make_error_code(dcos::Errc::permission_denied));
  auto dotdot = dcos::agent::resolve_sandbox_path(attached, "/virtual/box/../../etc/passwd");
  REQUIRE_FALSE(dotdot);
  CHECK(dotdot.error().code == dcos::make_error_code(dcos::Errc::not_found));
  CHECK_FALSE(dcos::agent::resolve_sandbox_path(attached, "/etc/passwd"));
  CHECK_FALSE(dcos::agent::resolve_sandbox_path(attached, "/virtual/boxer"));  // Not a path prefix.
  CHECK_FALSE(dcos::agent::resolve_sandbox_path(attached, "/virtual/box/missing"));
  CHECK(dcos::agent::mode_string(040755) == "drwxr-xr-x");
  CHECK(dcos::agent::mode_string(0100640) == "-rw-r-----");
  fs::remove_all(dir);
}

TEST_CASE("/files/browse, read and download serve a task's sandbox", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  launch_tasks(framework, [](const std::string& a) {
    return nlohmann::json::array({command_task("t1", a, "printf 0123456789; ln -s /etc escape; exec sleep 600")});
  });
  REQUIRE(framework.await_state("t1", "TASK_RUNNING"));
  const std::string fid = framework.scheduler->framework_id()->value();
  const std::string sandbox = *cluster.agent(0).sandbox(dcos::FrameworkId(fid), dcos::ExecutorId("t1"));
  REQUIRE(cluster.run_until([&] { return fs::exists(sandbox + "/escape") && fs::file_size(sandbox + "/stdout") == 10; }));
  const dcos::http::Endpoint agent{"127.0.0.1", cluster.agent(0).port()};
  const std::string root = fmt::format("/frameworks/{}/executors/t1/runs/latest", fid);
  auto get = [&](const std::string& target) {
    dcos::http::Request request{dcos::http::beast_http::verb::get, target, 11};
    return dcos::testing::request(cluster, agent, request);
  };

  auto listing = get_json(cluster, agent, "/files/browse?path=" + root);
  std::set<std::string> names;
  for (const auto& entry : listing) {
    names.insert(entry["path"]);
    CHECK(entry.contains("mode"));
    CHECK(entry.contains("mtime"));
  }
  CHECK(names.contains(root + "/stdout"));
  CHECK(names.contains(root + "/stderr"));
  // The real host path is attached as well.
  CHECK(get_json(cluster, agent, "/files/browse?path=" + sandbox).size() == listing.size());

  auto page = get_json(cluster, agent, "/files/read?path=" + root + "/stdout&offset=2&length=3");
  CHECK(page["data"] == "234");
  CHECK(page["offset"] == 2);
  auto end = get_json(cluster, agent, "/files/read?path=" + root + "/stdout&offset=-1");
  CHECK(end["data"] == "");
  CHECK(end["offset"] == 10);
  CHECK(get_json(cluster, agent, "/files/read?path=" + root + "/stdout&offset=20")["data"] == "");
  auto download = get("/files/download?path=" + root + "/stdout");
  CHECK(download.result_int() == 200);
  CHECK(download.body() == "0123456789");
  CHECK_THAT(std::string(download[dcos::http::beast_http::field::content_disposition]), Catch::Contains("stdout"));

  // Refusals.
  CHECK(get("/files/read?path=" + root + "/stdout&offset=x").result_int() == 400);
  CHECK(get("/files/read?path=" + root + "/stdout&offset=-2").result_int() == 400);
  CHECK(get("/files/read?path=" + root).result_int() == 400);  // A directory.
  CHECK(get("/files/read").result_int() == 400);
  CHECK(get("/files/browse?path=/frameworks/nope").result_int() == 404);
  CHECK(get("/files/read?path=" + root + "/../../../../../../../etc/passwd&offset=0").result_int() == 404);
  CHECK(get("/files/read?path=/etc/passwd&offset=0").result_int() == 404);
  CHECK(get("/files/read?path=" + root + "/escape/passwd&offset=0").result_int() == 403);
  CHECK(get("/files/download?path=" + root + "/escape/passwd").result_int() == 403);
  CHECK(get("/files/browse?path=" + root + "/escape").result_int() == 403);
  CHECK(get("/files/read?path=" + root + "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd&offset=0").result_int() == 404);
  CHECK(get_json(cluster, agent, "/files/debug").contains(root));
}
