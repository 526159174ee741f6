// dcos-master: the master daemon. Flags follow Mesos's names (reference/mesos-api.md §4.2).
#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "common/app_flags.hpp"
#include "dcos/common/duration.hpp"
#include "dcos/master/master.hpp"
#include "dcos/replicated_log/ensemble.hpp"

int main(int argc, char** argv) {
  CLI::App app{"dcos-master: pools agents' resources and offers them to frameworks", "dcos-master"};
  dcos::apps::prepare(app);
  dcos::master::MasterConfig config;
  std::string agent_ping_timeout = "15secs", allocation_interval = "1secs", offer_timeout, logging_level = "INFO";
  std::string zk, registry_fetch_timeout = "1mins", registry_store_timeout = "20secs", agent_reregister_timeout = "10mins",
              registry_gc_interval = "15mins", registry_max_agent_age = "2weeks";
  std::string log_replicas;
  bool root_submissions = true;
  app.add_option("--ip", config.ip, "IP address to listen on")->capture_default_str();
  app.add_option("--port", config.port, "Port to listen on")->capture_default_str();
  app.add_option("--hostname", config.hostname, "Hostname advertised to frameworks and agents (default: --ip)");
  app.add_option("--work_dir", config.work_dir, "Where the master keeps its durable state");
  app.add_option("--cluster", config.cluster, "Human-readable cluster name shown in /master/state");
  app.add_option("--agent_ping_timeout", agent_ping_timeout, "Time to wait for an agent's pong")->capture_default_str();
  app.add_option("--max_agent_ping_timeouts", config.options.max_agent_ping_timeouts,
                 "Missed pongs before an agent is marked unreachable")->capture_default_str();
  app.add_option("--allocation_interval", allocation_interval, "Time between periodic allocation cycles")->capture_default_str();
  app.add_option("--offer_timeout", offer_timeout, "Rescind offers unused for this long (default: never)");
  app.add_option("--max_completed_frameworks", config.options.max_completed_frameworks)->capture_default_str();
  app.add_option("--max_completed_tasks_per_framework", config.options.max_completed_tasks_per_framework)->capture_default_str();
  app.add_option("--root_submissions", root_submissions, "Allow frameworks to run tasks as root")->capture_default_str();
  app.add_option("--registry", config.registry,
                 "Where the registry lives: replicated_log (at <work_dir>/replicated_log) or in_memory")
      ->check(CLI::IsMember({"in_memory", "replicated_log"}))->capture_default_str();
  app.add_option("--quorum", config.quorum,
                 "Replicas of the registry's log that must hold each write: a majority of --log_replicas")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--log_replicas", log_replicas,
                 "Every replica of the registry's log as host:port,... (this master's --ip:--log_port included; the "
                 "same list on every master). Default: this master's replica alone");
  app.add_option("--log_port", config.log_port, "Port this master's log replica listens on (with --log_replicas)");
  app.add_option("--registry_fetch_timeout", registry_fetch_timeout,
                 "Time to wait for the registry to be fetched at recovery before the master aborts")->capture_default_str();
  app.add_option("--registry_store_timeout", registry_store_timeout,
                 "Time to wait for a registry store before the master aborts")->capture_default_str();
  app.add_option("--agent_reregister_timeout", agent_reregister_timeout,
                 "After a failover, agents not re-registered by then are marked unreachable")->capture_default_str();
  app.add_option("--registry_gc_interval", registry_gc_interval, "How often unreachable and gone agents are pruned")
      ->capture_default_str();
  app.add_option("--registry_max_agent_age", registry_max_agent_age,
                 "Unreachable and gone agents marked longer ago are pruned from the registry")->capture_default_str();
  app.add_option("--registry_max_agent_count", config.options.registry_max_agent_count,
                 "At most this many unreachable (and gone) agents are kept in the registry")->capture_default_str();
  app.add_option("--zk", zk, "ZooKeeper URL for leader election (not supported yet)");
  app.add_option("--logging_level", logging_level, "INFO, WARNING, ERROR, DEBUG or TRACE (any case)")
      ->capture_default_str()
      ->check(dcos::apps::log_level_check);
  if (int code = dcos::apps::parse_flags(app, argc, argv); code >= 0) return code;

  dcos::apps::set_log_level(logging_level);
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "dcos-master: %s\n", message.c_str());
    return 1;
  };
  if (!zk.empty()) return fail("--zk is not supported yet");
  auto ping = dcos::parse_duration(agent_ping_timeout);
  if (!ping) return fail("--agent_ping_timeout: " + ping.error().message);
  config.options.agent_ping_timeout = *ping;
  auto interval = dcos::parse_duration(allocation_interval);
  if (!interval) return fail("--allocation_interval: " + interval.error().message);
  config.allocation_interval = *interval;
  if (!offer_timeout.empty()) {
    auto timeout = dcos::parse_duration(offer_timeout);
    if (!timeout) return fail("--offer_timeout: " + timeout.error().message);
    config.options.offer_timeout = *timeout;
  }
  auto fetch_timeout = dcos::parse_duration(registry_fetch_timeout);
  if (!fetch_timeout) return fail("--registry_fetch_timeout: " + fetch_timeout.error().message);
  config.registry_fetch_timeout = *fetch_timeout;
  auto store_timeout = dcos::parse_duration(registry_store_timeout);
  if (!store_timeout) return fail("--registry_store_timeout: " + store_timeout.error().message);
  config.registry_store_timeout = *store_timeout;
  auto reregister_timeout = dcos::parse_duration(agent_reregister_timeout);
  if (!reregister_timeout) return fail("--agent_reregister_timeout: " + reregister_timeout.error().message);
  config.options.agent_reregister_timeout = *reregister_timeout;
  auto gc_interval = dcos::parse_duration(registry_gc_interval);
  if (!gc_interval) return fail("--registry_gc_interval: " + gc_interval.error().message);
  config.options.registry_gc_interval = *gc_interval;
  auto max_age = dcos::parse_duration(registry_max_agent_age);
  if (!max_age) return fail("--registry_max_agent_age: " + max_age.error().message);
  config.options.registry_max_agent_age = *max_age;
  if (config.registry == "replicated_log" && config.work_dir.empty()) {
    return fail("--work_dir is required with --registry=replicated_log (or use --registry=in_memory)");
  }
  config.log_replicas = dcos::replicated_log::split_replica_list(dcos::apps::resolve_value(log_replicas));
  config.options.root_submissions = root_submissions;
  config.flags = dcos::apps::flag_values(app);

  boost::asio::io_context io(1);
  dcos::SystemClock clock(io.get_executor());
  int exit_code = 0;
  // The registrar failed: another master may own the registry now. Exit, as Mesos aborts.
  config.on_fatal = [&](const dcos::Error&) {
    exit_code = 1;
    io.stop();
  };
  dcos::master::Master master(io.get_executor(), clock, config);
  if (auto started = master.start(); !started) return fail(started.error().message);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    master.stop();
    io.stop();
  });
  std::signal(SIGPIPE, SIG_IGN);
  io.run();
  return exit_code;
}
