// dcos-slave: the agent daemon. Flags follow Mesos's names (reference/mesos-api.md §4.3).
//
// Signals: SIGTERM and SIGINT stop the agent for a restart: executors and tasks of checkpointing
// frameworks keep running and the next agent on this --work_dir recovers them; everything else
// is killed. SIGUSR1 stops the agent and kills everything (Mesos's "shut down the agent").
// Started with DCOS_DEFAULT_EXECUTOR=1 it is the default executor of task groups instead.
#include <algorithm>
#include <cctype>
#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/app_flags.hpp"
#include "dcos/agent/agent.hpp"
#include "dcos/common/duration.hpp"
#include "dcos/executor/default_executor.hpp"

int main(int argc, char** argv) {
  // The agent starts this binary as its default executor (task groups).
  if (std::getenv("DCOS_DEFAULT_EXECUTOR") != nullptr) return dcos::executor::run_default_executor();
  CLI::App app{"dcos-slave: runs tasks for frameworks on this machine", "dcos-slave"};
  dcos::apps::prepare(app);
  dcos::agent::AgentConfig config;
  std::string master, resources, backoff = "1secs", logging_level = "INFO";
  std::string registration_timeout = "1mins", reregistration_timeout = "2secs", shutdown_grace = "5secs";
  std::string recovery_timeout = "15mins", gc_delay = "1weeks", disk_watch_interval = "1mins", environment;
  std::string strict = "true", http_command_executor = "false";
  app.add_option("--master", master, "The master as host:port")->required();
  app.add_option("--ip", config.ip, "IP address to listen on")->capture_default_str();
  app.add_option("--port", config.port, "Port to listen on")->capture_default_str();
  app.add_option("--hostname", config.hostname, "Hostname advertised to the master (default: --ip)");
  app.add_option("--work_dir", config.work_dir, "Where sandboxes and checkpoints (meta/) live")->capture_default_str();
  app.add_option("--resources", resources,
                 "e.g. 'cpus:4;mem:8192;disk:10240;ports:[31000-32000]' or a JSON array (default: detected)");
  app.add_option("--attributes", config.attributes, "e.g. 'rack:r1;zone:west'");
  app.add_option("--registration_backoff_factor", backoff, "Re-registration backoff base")->capture_default_str();
  app.add_option("--executor_registration_timeout", registration_timeout,
                 "An executor that does not subscribe within this is killed, its tasks TASK_FAILED")
      ->capture_default_str();
  app.add_option("--executor_reregistration_timeout", reregistration_timeout,
                 "After a restart, how long recovered executors have to re-subscribe (at most 15secs)")
      ->capture_default_str();
  app.add_option("--executor_shutdown_grace_period", shutdown_grace,
                 "Between SHUTDOWN to an executor and killing it (ExecutorInfo may override)")
      ->capture_default_str();
  app.add_option("--executor_environment_variables", environment,
                 "JSON object of variables executors get (default: the agent's environment)");
  app.add_option("--http_command_executor", http_command_executor, "Advertised to executors as MESOS_HTTP_COMMAND_EXECUTOR")
      ->capture_default_str();
  app.add_option("--recover", config.recover, "'reconnect' to recover checkpointed executors, 'cleanup' to kill them")
      ->capture_default_str()
      ->check(CLI::IsMember({"reconnect", "cleanup"}));
  app.add_option("--recovery_timeout", recovery_timeout, "How long executors wait for a restarted agent")
      ->capture_default_str();
  app.add_option("--strict", strict, "Whether a corrupt checkpoint stops the agent (else it is skipped)")
      ->capture_default_str();
  app.add_option("--gc_delay", gc_delay, "How long completed sandboxes are kept")->capture_default_str();
  app.add_option("--gc_disk_headroom", config.gc_disk_headroom, "Disk fraction kept free by collecting sandboxes earlier")
      ->capture_default_str();
  app.add_option("--disk_watch_interval", disk_watch_interval, "How often disk usage and GC are checked")
      ->capture_default_str();
  app.add_option("--max_completed_executors_per_framework", config.max_completed_executors_per_framework)
      ->capture_default_str();
  app.add_option("--logging_level", logging_level, "INFO, WARNING, ERROR, DEBUG or TRACE (any case)")
      ->capture_default_str()
      ->check(dcos::apps::log_level_check);
  if (int code = dcos::apps::parse_flags(app, argc, argv); code >= 0) return code;

  dcos::apps::set_log_level(logging_level);
  // A daemon's log must survive a crash: write through at info and above.
  spdlog::flush_on(spdlog::level::info);
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
  struct DurationFlag {
    const char* name;
    const std::string& text;
    dcos::Duration& out;
  };
  for (const DurationFlag& flag : {DurationFlag{"--registration_backoff_factor", backoff, config.registration_backoff_factor},
                                   DurationFlag{"--executor_registration_timeout", registration_timeout, config.executor_registration_timeout},
                                   DurationFlag{"--executor_reregistration_timeout", reregistration_timeout, config.executor_reregistration_timeout},
                                   DurationFlag{"--executor_shutdown_grace_period", shutdown_grace, config.executor_shutdown_grace_period},
                                   DurationFlag{"--recovery_timeout", recovery_timeout, config.recovery_timeout},
                                   DurationFlag{"--gc_delay", gc_delay, config.gc_delay},
                                   DurationFlag{"--disk_watch_interval", disk_watch_interval, config.disk_watch_interval}}) {
    auto value = dcos::parse_duration(flag.text);
    if (!value) return fail(std::string(flag.name) + ": " + value.error().message);
    flag.out = *value;
  }
  if (config.executor_reregistration_timeout > std::chrono::seconds(15)) {
    return fail("--executor_reregistration_timeout: must be at most 15secs");
  }
  if (config.gc_disk_headroom < 0 || config.gc_disk_headroom > 1) return fail("--gc_disk_headroom: must be in [0, 1]");
  auto boolean = [](const std::string& text) -> std::optional<bool> {
    if (text == "true" || text == "1") return true;
    if (text == "false" || text == "0") return false;
    return std::nullopt;
  };
  auto strict_value = boolean(strict);
  if (!strict_value) return fail("--strict: expecting true or false");
  config.strict = *strict_value;
  auto http_value = boolean(http_command_executor);
  if (!http_value) return fail("--http_command_executor: expecting true or false");
  config.http_command_executor = *http_value;
  if (!environment.empty()) {
    auto json = nlohmann::json::parse(dcos::apps::resolve_value(environment), nullptr, false);
    if (!json.is_object()) return fail("--executor_environment_variables: expecting a JSON object of strings");
    std::map<std::string, std::string> variables;
    for (const auto& [name, value] : json.items()) {
      if (!value.is_string()) return fail("--executor_environment_variables: '" + name + "' is not a string");
      variables[name] = value.get<std::string>();
    }
    config.executor_environment_variables = std::move(variables);
  }
  config.flags = dcos::apps::flag_values(app);

  std::signal(SIGPIPE, SIG_IGN);
  boost::asio::io_context io(1);
  dcos::SystemClock clock(io.get_executor());
  dcos::agent::Agent agent(io.get_executor(), clock, config);
  if (auto started = agent.start(); !started) return fail(started.error().message);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGUSR1);
  signals.async_wait([&](boost::system::error_code, int signal) {
    if (signal == SIGUSR1) agent.stop(true);
    else agent.stop_keeping_checkpointed();
    io.stop();
  });
  io.run();
  return 0;
}
