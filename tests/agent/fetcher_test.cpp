// The fetcher (CommandInfo.uris): names, archives, and tasks that get their files before they
// start, or fail when a file cannot be had.
#include "dcos/agent/fetcher.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "agent/agent_harness.hpp"

using namespace dcos::testing;
namespace fs = std::filesystem;

TEST_CASE("fetched files are named after the URI or output_file, and stay in the sandbox", "[agent][core]") {
  using dcos::agent::FetchUri;
  CHECK(dcos::agent::fetched_name(FetchUri{.value = "file:///opt/tools/run.sh"}).value() == "run.sh");
  CHECK(dcos::agent::fetched_name(FetchUri{.value = "http://host:80/pkg/app.tar.gz?version=2"}).value() == "app.tar.gz");
  CHECK(dcos::agent::fetched_name(FetchUri{.value = "/abs/path/data.bin"}).value() == "data.bin");
  CHECK(dcos::agent::fetched_name(FetchUri{.value = "http://host/x", .output_file = "bin/tool"}).value() == "bin/tool");
  CHECK_FALSE(dcos::agent::fetched_name(FetchUri{.value = "http://host/x", .output_file = "../escape"}));
  CHECK_FALSE(dcos::agent::fetched_name(FetchUri{.value = "http://host/x", .output_file = "/etc/passwd"}));
  CHECK_FALSE(dcos::agent::fetched_name(FetchUri{.value = "http://host/"}));
  CHECK(dcos::agent::extract_command("/s/a.tgz", "/s").value() == std::vector<std::string>{"tar", "-C", "/s", "-xf", "/s/a.tgz"});
  CHECK(dcos::agent::extract_command("/s/a.zip", "/s").value()[0] == "unzip");
  CHECK_FALSE(dcos::agent::extract_command("/s/a.sh", "/s"));
  auto uris = dcos::agent::parse_uris({{{"value", "file:///x"}, {"executable", true}}, {{"value", "/y"}, {"extract", false}}});
  REQUIRE(uris);
  CHECK((*uris)[0].executable);
  CHECK((*uris)[0].extract);  // Defaults to true.
  CHECK_FALSE((*uris)[1].extract);
  CHECK_FALSE(dcos::agent::parse_uris({{{"executable", true}}}));
}

namespace {

nlohmann::json task_with_uris(const std::string& id, const std::string& agent, const std::string& command, nlohmann::json uris) {
  auto task = command_task(id, agent, command);
  task["command"]["uris"] = std::move(uris);
  return task;
}

}  // namespace

TEST_CASE("a task starts with its file://, archive and http:// URIs in the sandbox", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  const std::string source = cluster.work_dir() + "/source";
  fs::create_directories(source + "/tree");
  std::ofstream(source + "/tool.sh") << "#!/bin/sh\necho tool-ran\n";
  std::ofstream(source + "/tree/inside.txt") << "from-archive";
  REQUIRE(std::system(fmt::format("tar -C '{}' -czf '{}/pkg.tar.gz' tree", source, source).c_str()) == 0);
  // An HTTP source on the cluster's io_context.
  auto router = std::make_shared<dcos::http::Router>();
  router->add("/files/data.txt", [](const dcos::http::Request& request) {
    return dcos::http::make_response(request, dcos::http::Status::ok, "over-http");
  });
  dcos::http::Server server(io.get_executor(), router);
  const auto port = server.listen("127.0.0.1", 0).value();

  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  launch_tasks(framework, [&](const std::string& agent) {
    return nlohmann::json::array({task_with_uris(
        "t1", agent, "./tool.sh && cat tree/inside.txt && echo && cat data.txt",
        {{{"value", "file://" + source + "/tool.sh"}, {"executable", true}},
         {{"value", source + "/pkg.tar.gz"}},
         {{"value", fmt::format("http://127.0.0.1:{}/files/data.txt", port)}}})});
  });
  REQUIRE(framework.await_state("t1", "TASK_FINISHED"));
  const std::string sandbox = *cluster.agent(0).sandbox(*framework.scheduler->framework_id(), dcos::ExecutorId("t1"));
  std::ifstream out(sandbox + "/stdout");
  std::string text((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  CHECK(text == "tool-ran\nfrom-archive\nover-http");
  CHECK((fs::status(sandbox + "/tool.sh").permissions() & fs::perms::owner_exec) != fs::perms::none);
  server.stop();
}

TEST_CASE("a URI that cannot be fetched fails the task before it starts", "[agent][shell]") {
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1});
  REQUIRE(cluster.start());
  TestFramework framework(cluster, TestFramework::info());
  framework.scheduler->start();
  launch_tasks(framework, [&](const std::string& agent) {
    return nlohmann::json::array({task_with_uris("t1", agent, "echo never", {{{"value", "file:///no/such/file"}}}),
                                  task_with_uris("t2", agent, "echo never", {{{"value", "ftp://host/file"}}})});
  });
  REQUIRE(framework.await_state("t1", "TASK_FAILED"));
  REQUIRE(framework.await_state("t2", "TASK_FAILED"));
  CHECK(framework.states("t1") == std::vector<std::string>{"TASK_STARTING", "TASK_FAILED"});
  for (const auto& e : framework.of("UPDATE")) {
    const auto& status = e["update"]["status"];
    if (status["state"] != "TASK_FAILED") continue;
    CHECK(status["reason"] == "REASON_CONTAINER_LAUNCH_FAILED");
    CHECK_THAT(status["message"].get<std::string>(), Catch::StartsWith("Failed to fetch URIs"));
  }
}
