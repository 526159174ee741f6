// dcos-slave: the agent daemon. Flags follow Mesos's names (reference/mesos-api.md §4.3).
#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "common/app_flags.hpp"
#include "dcos/agent/agent.hpp"
#include "dcos/common/duration.hpp"

int main(int argc, char** argv) {
  CLI::App app{"dcos-slave: runs tasks for frameworks on this machine", "dcos-slave"};
  dcos::apps::prepare(app);
  dcos::agent::AgentConfig config;
  std::string master, resources, backoff = "1secs", logging_level = "INFO";
  app.add_option("--master", master, "The master as host:port")->required();
  app.add_option("--ip", config.ip, "IP address to listen on")->capture_default_str();
  app.add_option("--port", config.port, "Port to listen on")->capture_default_str();
  app.add_option("--hostname", config.hostname, "Hostname advertised to the master (default: --ip)");
  app.add_option("--work_dir", config.work_dir, "Where sandboxes live")->capture_default_str();
  app.add_option("--resources", resources,
                 "e.g. 'cpus:4;mem:8192;disk:10240;ports:[31000-32000]' or a JSON array (default: detected)");
  app.add_option("--attributes", config.attributes, "e.g. 'rack:r1;zone:west'");
  app.add_option("--registration_backoff_factor", backoff, "Re-registration backoff base")->capture_default_str();
  app.add_option("--logging_level", logging_level, "trace, debug, info, warn, error")->capture_default_str();
  if (int code = dcos::apps::parse_flags(app, argc, argv); code >= 0) return code;

  dcos::apps::set_log_level(logging_level);
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "dcos-slave: %s\n", message.c_str());
    return 1;
  };
  auto endpoint = dcos::http::parse_endpoint(dcos::apps::resolve_value(master));
  if (!endpoint) return fail("--master: " + endpoint.error().message);
  config.master = *endpoint;
  auto parsed = dcos::parse_resources(dcos::apps::resolve_value(resources));
  if (!parsed) return fail("--resources: " + parsed.error().message);
  config.resources = *parsed;
  if (auto attributes = dcos::parse_attributes(config.attributes); !attributes) {
    return fail("--attributes: " + attributes.error().message);
  }
  auto factor = dcos::parse_duration(backoff);
  if (!factor) return fail("--registration_backoff_factor: " + factor.error().message);
  config.registration_backoff_factor = *factor;
  config.flags = dcos::apps::flag_values(app);

  std::signal(SIGPIPE, SIG_IGN);
  boost::asio::io_context io(1);
  dcos::SystemClock clock(io.get_executor());
  dcos::agent::Agent agent(io.get_executor(), clock, config);
  if (auto started = agent.start(); !started) return fail(started.error().message);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    agent.stop(true);
    io.stop();
  });
  io.run();
  return 0;
}
