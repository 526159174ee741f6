// A scriptable custom executor for the agent tests, built into `dcos_tests` itself: the agent
// starts this binary with DCOS_TEST_EXECUTOR=1 (see `tests/agent/agent_harness.hpp`), and the
// hook below runs the executor instead of the test runner, before `main`. The tests then need
// no other binary. What each task does is its `data`:
//
//   "finish"      TASK_RUNNING, then TASK_FINISHED
//   "fail"        TASK_RUNNING, then TASK_FAILED
//   "run" (else)  TASK_RUNNING, until killed
//   "crash"       the executor exits at once, with status 3
//   "message"     TASK_RUNNING, and a framework message "hello from <task id>"
//
// KILL ends a task TASK_KILLED; MESSAGE is answered with "echo:<data>"; SHUTDOWN kills every
// task and exits once the agent has acknowledged those updates. With
// DCOS_TEST_EXECUTOR_IGNORE_SHUTDOWN=1 it ignores SHUTDOWN. On start it writes its environment
// to `env.json` in its sandbox.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "dcos/common/uuid.hpp"
#include "dcos/executor/default_executor.hpp"
#include "dcos/executor/executor.hpp"
#include "dcos/v1/json_fields.hpp"

extern char** environ;

namespace {

int run_test_executor() {
  auto config = dcos::executor::ExecutorConfig::from_environment();
  if (!config) {
    std::fprintf(stderr, "test executor: %s\n", config.error().message.c_str());
    return 2;
  }
  {
    nlohmann::json env = nlohmann::json::object();
    for (char** e = environ; e && *e; ++e) {
      std::string entry(*e);
      const auto eq = entry.find('=');
      if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    std::ofstream(config->directory + "/env.json") << env.dump();
  }
  boost::asio::io_context io(1);
  dcos::SystemClock clock(io.get_executor());
  const bool ignore_shutdown = std::getenv("DCOS_TEST_EXECUTOR_IGNORE_SHUTDOWN") != nullptr;
  std::shared_ptr<dcos::executor::Executor> executor;
  std::set<std::string> running;
  bool shutting_down = false;
  int exit_code = 0;
  auto status = [](const std::string& task, dcos::v1::TaskState state) {
    dcos::v1::TaskStatus s;
    s.task_id = dcos::TaskId(task);
    s.state = state;
    return s;
  };
  auto maybe_exit = [&] {
    if (shutting_down && executor->core().unacknowledged_updates() == 0) io.stop();
  };
  dcos::executor::Callbacks callbacks;
  callbacks.launch = [&](const nlohmann::json& task) {
    const std::string id = task["task_id"]["value"];
    const std::string data = dcos::base64_decode(task.value("data", "")).value_or("");
    if (data == "crash") std::_Exit(3);
    executor->update(status(id, dcos::v1::TaskState::running));
    if (data == "finish") {
      executor->update(status(id, dcos::v1::TaskState::finished));
    } else if (data == "fail") {
      executor->update(status(id, dcos::v1::TaskState::failed));
    } else {
      running.insert(id);
      if (data == "message") executor->message("hello from " + id);
    }
  };
  callbacks.kill = [&](const dcos::TaskId& task, const nlohmann::json&) {
    if (running.erase(task.value())) executor->update(status(task.value(), dcos::v1::TaskState::killed));
  };
  callbacks.message = [&](const std::string& data) { executor->message("echo:" + data); };
  callbacks.acknowledged = [&](const dcos::TaskId&, const std::string&) { maybe_exit(); };
  callbacks.shutdown = [&] {
    if (ignore_shutdown) return;
    shutting_down = true;
    for (const auto& id : running) executor->update(status(id, dcos::v1::TaskState::killed));
    running.clear();
    maybe_exit();
  };
  callbacks.failed = [&](const std::string& why) {
    std::fprintf(stderr, "test executor: giving up: %s\n", why.c_str());
    exit_code = 1;
    io.stop();
  };
  executor = dcos::executor::Executor::create(io.get_executor(), clock, *config, callbacks);
  executor->start();
  io.run();
  executor->stop();
  return exit_code;
}

// Runs before `main` in a process the agent started as a test executor, or as its default
// executor (the agent's default: its own binary, here `dcos_tests`).
[[maybe_unused]] const bool test_executor_hook = [] {
  if (std::getenv("DCOS_TEST_EXECUTOR") != nullptr) std::_Exit(run_test_executor());
  if (std::getenv("DCOS_DEFAULT_EXECUTOR") != nullptr) std::_Exit(dcos::executor::run_default_executor());
  return false;
}();

}  // namespace
