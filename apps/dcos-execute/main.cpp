// dcos-execute: runs one command as a task on the cluster, prints its state changes, and exits
// with the task's exit code (like mesos-execute).
#include <csignal>
#include <iostream>
#include <regex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "common/app_flags.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/scheduler/scheduler.hpp"
#include "dcos/v1/task.hpp"

namespace {

// The task's exit code from the agent's message ("Command exited with status 3").
int exit_code(const nlohmann::json& status) {
  const std::string state = status.value("state", "");
  if (state == "TASK_FINISHED") return 0;
  std::smatch match;
  const std::string message = status.value("message", "");
  if (std::regex_search(message, match, std::regex("exited with status (\\d+)"))) return std::stoi(match[1]);
  if (std::regex_search(message, match, std::regex("signal (\\d+)"))) return 128 + std::stoi(match[1]);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dcos-execute: launch one task and wait for it", "dcos-execute"};
  dcos::apps::prepare(app);
  std::string master, command, resources = "cpus:0.1;mem:32", name = "dcos-execute", framework_name = "dcos-execute";
  std::string role = "*", logging_level = "WARN";
  app.add_option("--master", master, "The master as host:port")->required();
  app.add_option("--command", command, "Shell command to run")->required();
  app.add_option("--resources", resources, "Resources for the task")->capture_default_str();
  app.add_option("--name", name, "Task name and id prefix")->capture_default_str();
  app.add_option("--framework_name", framework_name)->capture_default_str();
  app.add_option("--role", role)->capture_default_str();
  app.add_option("--logging_level", logging_level, "INFO, WARNING, ERROR, DEBUG or TRACE (any case)")
      ->capture_default_str()
      ->check(dcos::apps::log_level_check);
  if (int code = dcos::apps::parse_flags(app, argc, argv); code >= 0) return code;
  dcos::apps::set_log_level(logging_level);

  auto endpoint = dcos::http::parse_endpoint(dcos::apps::resolve_value(master));
  if (!endpoint) {
    std::cerr << "dcos-execute: --master: " << endpoint.error().message << "\n";
    return 2;
  }
  auto wanted = dcos::parse_resources(resources);
  if (!wanted) {
    std::cerr << "dcos-execute: --resources: " << wanted.error().message << "\n";
    return 2;
  }

  std::signal(SIGPIPE, SIG_IGN);
  boost::asio::io_context io(1);
  dcos::SystemClock clock(io.get_executor());
  dcos::scheduler::SchedulerConfig config;
  config.master = *endpoint;
  config.framework.user = std::getenv("USER") ? std::getenv("USER") : "root";
  config.framework.name = framework_name;
  if (role != "*") config.framework.role = role;
  const std::string task_id = name + "-" + dcos::random_uuid_string().substr(0, 8);
  bool launched = false;
  int result = -1;
  std::shared_ptr<dcos::scheduler::Scheduler> scheduler;
  dcos::scheduler::Callbacks callbacks;
  callbacks.subscribed = [&](const nlohmann::json& subscribed) {
    std::cout << "Subscribed with ID " << subscribed["framework_id"]["value"].get<std::string>() << std::endl;
  };
  callbacks.event = [&](const nlohmann::json& event) {
    const std::string type = event.value("type", "");
    if (type == "OFFERS") {
      for (const auto& offer : event["offers"]["offers"]) {
        const std::string offer_id = offer["id"]["value"];
        auto offered = dcos::resources_from_json(offer["resources"]);
        if (!launched && offered && offered->unallocated().contains(*wanted)) {
          launched = true;
          auto operation = dcos::scheduler::Scheduler::launch_command(task_id, name, offer["agent_id"]["value"], command,
                                                                       dcos::to_json(*wanted));
          scheduler->accept({offer_id}, nlohmann::json::array({operation}));
          std::cout << "Submitted task '" << task_id << "' to agent '"
                    << offer["agent_id"]["value"].get<std::string>() << "'" << std::endl;
        } else {
          scheduler->decline({offer_id}, 60.0);
        }
      }
    } else if (type == "UPDATE") {
      const auto& status = event["update"]["status"];
      std::cout << "Received status update " << status.value("state", "") << " for task '"
                << status["task_id"]["value"].get<std::string>() << "'";
      if (status.contains("message")) std::cout << "\n  message: '" << status["message"].get<std::string>() << "'";
      std::cout << std::endl;
      scheduler->acknowledge(status);
      auto state = dcos::v1::parse_task_state(status.value("state", ""));
      if (state && dcos::v1::is_terminal(*state) && status["task_id"]["value"] == task_id) {
        result = exit_code(status);
        scheduler->teardown([&](auto) { io.stop(); });
      }
    } else if (type == "ERROR") {
      std::cerr << "dcos-execute: master refused the framework: " << event["error"].value("message", "") << std::endl;
      result = 1;
      io.stop();
    }
  };
  callbacks.disconnected = [&](const std::string& why) {
    if (result < 0) std::cerr << "dcos-execute: disconnected from master: " << why << std::endl;
  };
  scheduler = dcos::scheduler::Scheduler::create(io.get_executor(), clock, config, callbacks);
  scheduler->start();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  // First signal: kill the task through the master and wait for its terminal update; a second
  // signal, or no answer within 10 s (the master may be gone), exits at once.
  std::unique_ptr<dcos::Timer> give_up;
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int) {
    if (ec) return;
    if (!launched || result >= 0 || give_up) {
      io.stop();
      return;
    }
    scheduler->kill(task_id);
    give_up = clock.schedule(std::chrono::seconds(10), [&] {
      std::cerr << "dcos-execute: no answer to the kill; exiting" << std::endl;
      io.stop();
    });
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  io.run();
  return result < 0 ? 1 : result;
}
