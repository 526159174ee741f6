// hello-executor: a custom executor on the dcos executor library. Each task's `data` says how
// many seconds it "works" (default 1); the executor reports TASK_RUNNING, then TASK_FINISHED
// when the time is up. It answers every framework message with "echo:<message>", ends tasks
// TASK_KILLED on KILL, and on SHUTDOWN kills what runs and exits once the agent has acknowledged
// those updates.
//
// Run by an agent (the MESOS_* environment tells it where the agent is); see
// examples/hello_framework/scheduler.cpp for a framework that launches it.
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "dcos/common/uuid.hpp"
#include "dcos/executor/executor.hpp"

int main() {
  auto config = dcos::executor::ExecutorConfig::from_environment();
  if (!config) {
    std::fprintf(stderr, "hello-executor: %s\n", config.error().message.c_str());
    return 2;
  }
  boost::asio::io_context io(1);
  dcos::SystemClock clock(io.get_executor());
  std::shared_ptr<dcos::executor::Executor> executor;
  std::map<std::string, std::unique_ptr<dcos::Timer>> working;  // Task id -> its end.
  bool shutting_down = false;
  int exit_code = 0;

  auto send = [&](const std::string& task, dcos::v1::TaskState state, std::string message = {}) {
    dcos::v1::TaskStatus status;
    status.task_id = dcos::TaskId(task);
    status.state = state;
    if (!message.empty()) status.message = std::move(message);
    executor->update(std::move(status));
  };
  auto exit_when_drained = [&] {
    if (shutting_down && executor->core().unacknowledged_updates() == 0) io.stop();
  };

  dcos::executor::Callbacks callbacks;
  callbacks.subscribed = [&](const nlohmann::json& subscribed) {
    std::printf("hello-executor: subscribed to agent %s\n",
                subscribed["agent_info"].value("hostname", "?").c_str());
    std::fflush(stdout);
  };
  callbacks.launch = [&](const nlohmann::json& task) {
    const std::string id = task["task_id"]["value"];
    double seconds = 1;
    if (auto data = dcos::base64_decode(task.value("data", "")); data && !data->empty()) {
      try {
        seconds = std::stod(*data);
      } catch (const std::exception&) {
        send(id, dcos::v1::TaskState::failed, "task data is not a number of seconds");
        return;
      }
    }
    send(id, dcos::v1::TaskState::running);
    working[id] = clock.schedule(dcos::from_seconds(seconds), [&, id] {
      working.erase(id);
      send(id, dcos::v1::TaskState::finished, "done");
    });
  };
  callbacks.kill = [&](const dcos::TaskId& task, const nlohmann::json&) {
    if (working.erase(task.value())) send(task.value(), dcos::v1::TaskState::killed);
  };
  callbacks.message = [&](const std::string& data) { executor->message("echo:" + data); };
  callbacks.acknowledged = [&](const dcos::TaskId&, const std::string&) { exit_when_drained(); };
  callbacks.shutdown = [&] {
    shutting_down = true;
    for (const auto& [id, timer] : working) send(id, dcos::v1::TaskState::killed, "executor shut down");
    working.clear();
    exit_when_drained();
  };
  callbacks.failed = [&](const std::string& why) {
    std::fprintf(stderr, "hello-executor: giving up: %s\n", why.c_str());
    exit_code = 1;
    io.stop();
  };
  executor = dcos::executor::Executor::create(io.get_executor(), clock, *config, callbacks);
  executor->start();
  io.run();
  working.clear();
  executor->stop();
  return exit_code;
}
