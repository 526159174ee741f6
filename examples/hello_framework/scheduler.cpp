// hello-framework: launches --tasks tasks on hello-executor (one executor per agent, --executor
// is its path on the agents), says hello to each executor once its first task runs, and waits
// for every task to end. It prints a JSON summary on stdout: per task the states it saw (each
// update counted once, however often it was delivered), the executors' echoes, and how many
// update deliveries there were in all. Exit 0 when every task FINISHED.
//
//   hello-framework --master=127.0.0.1:5050 --executor=$PWD/build/examples/hello-executor
//       --tasks=10 --task_seconds=2 --checkpoint
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <CLI/CLI.hpp>

#include "dcos/common/uuid.hpp"
#include "dcos/resources/resources.hpp"
#include "dcos/scheduler/scheduler.hpp"

int main(int argc, char** argv) {
  CLI::App app{"hello-framework: runs tasks on hello-executor", "hello-framework"};
  std::string master, executor_path, resources = "cpus:0.1;mem:16", executor_resources = "cpus:0.1;mem:32";
  int tasks = 5;
  double task_seconds = 1, timeout_seconds = 120;
  bool checkpoint = false;
  app.add_option("--master", master, "The master as host:port")->required();
  app.add_option("--executor", executor_path, "Path of hello-executor on the agents")->required();
  app.add_option("--tasks", tasks, "How many tasks")->capture_default_str();
  app.add_option("--task_seconds", task_seconds, "How long each task works")->capture_default_str();
  app.add_option("--resources", resources, "Resources of each task")->capture_default_str();
  app.add_flag("--checkpoint", checkpoint, "Checkpoint, so tasks survive an agent restart");
  app.add_option("--timeout_seconds", timeout_seconds, "Give up after this long")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto endpoint = dcos::http::parse_endpoint(master);
  auto task_resources = dcos::parse_resources(resources);
  auto executor_res = dcos::parse_resources(executor_resources);
  if (!endpoint || !task_resources || !executor_res) {
    std::cerr << "hello-framework: bad --master or --resources\n";
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  boost::asio::io_context io(1);
  dcos::SystemClock clock(io.get_executor());
  dcos::scheduler::SchedulerConfig config;
  config.master = *endpoint;
  config.framework.user = "root";
  config.framework.name = "hello-framework";
  config.framework.checkpoint = checkpoint;
  config.framework.failover_timeout = 3600;

  std::shared_ptr<dcos::scheduler::Scheduler> scheduler;
  int launched = 0;
  std::map<std::string, std::vector<std::string>> states;  // Task -> distinct updates' states.
  std::set<std::string> seen_uuids, greeted, done;
  std::vector<std::string> echoes;
  int deliveries = 0;
  bool all_finished = false;

  dcos::scheduler::Callbacks callbacks;
  callbacks.event = [&](const nlohmann::json& event) {
    const std::string type = event.value("type", "");
    if (type == "OFFERS") {
      for (const auto& offer : event["offers"]["offers"]) {
        const std::string agent = offer["agent_id"]["value"];
        auto available = dcos::resources_from_json(offer["resources"]).value_or(dcos::Resources());
        const dcos::Resources per_task = *task_resources + *executor_res;
        nlohmann::json infos = nlohmann::json::array();
        while (launched < tasks && available.unallocated().contains(per_task)) {
          const std::string id = "hello-" + std::to_string(launched++);
          nlohmann::json executor = {
              {"executor_id", {{"value", "hello-executor-" + agent}}},
              {"name", "hello-executor"},
              {"command", {{"shell", false}, {"value", executor_path}, {"arguments", {"hello-executor"}}}},
              {"resources", dcos::to_json(*executor_res)}};
          infos.push_back({{"name", id},
                           {"task_id", {{"value", id}}},
                           {"agent_id", {{"value", agent}}},
                           {"resources", dcos::to_json(*task_resources)},
                           {"executor", executor},
                           {"data", dcos::base64_encode(std::to_string(task_seconds))}});
          available = available.unallocated() - *task_resources;
        }
        if (infos.empty()) {
          scheduler->decline({offer["id"]["value"]}, 5.0);
        } else {
          scheduler->accept({offer["id"]["value"]}, nlohmann::json::array({{{"type", "LAUNCH"}, {"launch", {{"task_infos", infos}}}}}));
        }
      }
    } else if (type == "UPDATE") {
      const auto& status = event["update"]["status"];
      ++deliveries;
      scheduler->acknowledge(status);
      const std::string task = status["task_id"]["value"];
      const std::string state = status["state"];
      if (seen_uuids.insert(task + "/" + status.value("uuid", "")).second) states[task].push_back(state);
      if (state == "TASK_RUNNING" && status.contains("executor_id") && status.contains("agent_id")) {
        const std::string executor = status["executor_id"]["value"];
        if (greeted.insert(executor).second) {
          scheduler->send({{"type", "MESSAGE"},
                           {"message", {{"agent_id", status["agent_id"]}, {"executor_id", status["executor_id"]},
                                        {"data", dcos::base64_encode("hello " + executor)}}}});
        }
      }
      if (state != "TASK_RUNNING" && state != "TASK_STARTING" && state != "TASK_STAGING") done.insert(task);
      if (static_cast<int>(done.size()) == tasks) {
        all_finished = std::all_of(states.begin(), states.end(), [](const auto& s) { return s.second.back() == "TASK_FINISHED"; });
        io.stop();
      }
    } else if (type == "MESSAGE") {
      echoes.push_back(dcos::base64_decode(event["message"]["data"].get<std::string>()).value_or(""));
      std::fprintf(stderr, "hello-framework: message from an executor: %s\n", echoes.back().c_str());
    } else if (type == "ERROR") {
      std::cerr << "hello-framework: " << event.dump() << "\n";
      io.stop();
    }
  };
  scheduler = dcos::scheduler::Scheduler::create(io.get_executor(), clock, config, callbacks);
  scheduler->start();
  auto deadline = clock.schedule(dcos::from_seconds(timeout_seconds), [&] {
    std::cerr << "hello-framework: timed out\n";
    io.stop();
  });
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) { io.stop(); });
  io.run();
  // Tear down so the executors are shut down (and acknowledge what is left first).
  bool torn_down = false;
  scheduler->teardown([&](auto) { torn_down = true; });
  io.restart();
  while (!torn_down && io.run_one_for(std::chrono::seconds(5)) > 0) {
  }
  nlohmann::json summary = {{"tasks", states}, {"echoes", echoes}, {"deliveries", deliveries}, {"all_finished", all_finished}};
  std::cout << summary.dump() << std::endl;
  return all_finished ? 0 : 1;
}
