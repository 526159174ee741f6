// dcos-local: a whole cluster in one process (one master, N agents), for trying dcos out and
// for local development. Tasks are real processes under --work_dir.
#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "common/app_flags.hpp"
#include "dcos/testing/cluster.hpp"

int main(int argc, char** argv) {
  CLI::App app{"dcos-local: a master and N agents in one process", "dcos-local"};
  dcos::apps::prepare(app);
  int agents = 2;
  std::uint16_t port = 5050;
  std::string work_dir = "/tmp/dcos-local", resources = "cpus:2;mem:2048;disk:4096;ports:[31000-32000]";
  std::string logging_level = "INFO";
  app.add_option("--agents", agents, "Number of agents")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--port", port, "Master port")->capture_default_str();
  app.add_option("--work_dir", work_dir, "Where sandboxes live")->capture_default_str();
  app.add_option("--resources", resources, "Resources of each agent")->capture_default_str();
  app.add_option("--logging_level", logging_level, "INFO, WARNING, ERROR, DEBUG or TRACE (any case)")
      ->capture_default_str()
      ->check(dcos::apps::log_level_check);
  if (int code = dcos::apps::parse_flags(app, argc, argv); code >= 0) return code;
  dcos::apps::set_log_level(logging_level);
  if (auto parsed = dcos::parse_resources(resources); !parsed) {
    std::fprintf(stderr, "dcos-local: --resources: %s\n", parsed.error().message.c_str());
    return 1;
  }

  std::signal(SIGPIPE, SIG_IGN);
  boost::asio::io_context io(1);
  dcos::testing::ClusterOptions options;
  options.agents = agents;
  options.agent_resources = resources;
  options.manual_clock = false;
  options.work_dir = work_dir;
  options.master_port = port;
  dcos::testing::Cluster cluster(io, options);
  if (!cluster.start()) {
    std::fprintf(stderr, "dcos-local: the cluster did not start (is port %u free?)\n", port);
    return 1;
  }
  std::printf("dcos-local: master at 127.0.0.1:%u with %d agents; work_dir %s\n", cluster.master().port(), agents,
              work_dir.c_str());
  std::printf("dcos-local: try  build/apps/dcos-execute --master=127.0.0.1:%u --command='echo hello'\n",
              cluster.master().port());
  std::fflush(stdout);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  bool stop = false;
  signals.async_wait([&](boost::system::error_code, int) { stop = true; });
  cluster.run_until([&] { return stop; }, std::chrono::hours(24 * 365));
  return 0;
}
