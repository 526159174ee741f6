#include "dcos/agent/agent.hpp"

#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/http/recordio.hpp"
#include "dcos/v1/json_fields.hpp"

extern char** environ;

namespace dcos::agent {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using v1::TaskState;

Resources detect_resources(const std::string& work_dir, const Resources& configured) {
  auto has = [&](const char* name) {
    return std::any_of(configured.begin(), configured.end(), [&](const Resource& r) { return r.name == name; });
  };
  Resources detected;
  auto scalar = [](const char* name, double value) {
    Resource r;
    r.name = name;
    r.scalar = value;
    return r;
  };
  if (!has("cpus")) detected += scalar("cpus", std::max(1u, std::thread::hardware_concurrency()));
  if (!has("mem")) {
    double total_mb = 1024;
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    double kb = 0;
    while (meminfo >> key >> kb) {
      if (key == "MemTotal:") {
        total_mb = kb / 1024;
        break;
      }
      meminfo.ignore(1024, '\n');
    }
    detected += scalar("mem", std::floor(total_mb >= 2048 ? total_mb - 1024 : total_mb / 2));
  }
  if (!has("disk")) {
    double disk_mb = 10240;
    struct statvfs fs_info {};
    std::error_code ec;
    fs::create_directories(work_dir, ec);
    if (::statvfs(work_dir.c_str(), &fs_info) == 0) {
      const double total = static_cast<double>(fs_info.f_blocks) * fs_info.f_frsize / (1024 * 1024);
      disk_mb = std::floor(total >= 10240 ? total - 5120 : total / 2);
    }
    detected += scalar("disk", disk_mb);
  }
  if (!has("ports")) {
    Resource ports;
    ports.name = "ports";
    ports.type = ValueType::ranges;
    ports.ranges = Ranges({{31000, 32000}});
    detected += ports;
  }
  return configured + detected;
}

Agent::Agent(asio::any_io_executor executor, Clock& clock, AgentConfig config)
    : executor_(std::move(executor)), clock_(clock), config_(std::move(config)), start_time_(clock.now()) {
  if (config_.hostname.empty()) config_.hostname = config_.ip;
  resources_ = detect_resources(config_.work_dir, config_.resources);
}

Agent::~Agent() {
  stop(true);
  *alive_ = false;
}

Result<std::uint16_t> Agent::start() {
  auto router = std::make_shared<http::Router>();
  auto state = [this](const http::Request& request) { return state_endpoint(request); };
  router->add("/state", state);
  router->add("/slave(1)/state", state);
  router->add("/state.json", state);
  router->add("/health", [](const http::Request& request) { return http::make_response(request, http::Status::ok); });
  router->add("/version", [](const http::Request& request) {
    return http::make_json_response(request, http::Status::ok, v1::dump({{"version", DCOS_VERSION}}));
  });
  router->add("/flags", [this](const http::Request& request) {
    nlohmann::json flags = nlohmann::json::object();
    for (const auto& [name, value] : config_.flags) flags[name] = value;
    return http::make_json_response(request, http::Status::ok, v1::dump({{"flags", flags}}));
  });
  router->add("/metrics/snapshot", [this](const http::Request& request) {
    nlohmann::json m = {{"slave/registered", registered_ ? 1 : 0},
                        {"slave/uptime_secs", to_seconds(clock_.now() - start_time_)},
                        {"slave/tasks_running", running_tasks()},
                        {"slave/cpus_total", resources_.scalar("cpus")},
                        {"slave/mem_total", resources_.scalar("mem")},
                        {"slave/disk_total", resources_.scalar("disk")}};
    return http::make_json_response(request, http::Status::ok, v1::dump(m));
  });
  server_ = std::make_unique<http::Server>(executor_, router, config_.limits);
  auto port = server_->listen(config_.ip, config_.port);
  if (!port) return port;
  config_.port = *port;
  master_client_ = http::Client::create(executor_, config_.master);
  log::get("agent")->info("agent started address={}:{} master={} resources={}", config_.ip, *port,
                          config_.master.to_string(), resources_.to_string());
  connect();
  retry_timer_ = clock_.schedule(std::chrono::seconds(1), [this] { on_retry_tick(); });
  return port;
}

void Agent::stop(bool kill_tasks) {
  if (stopped_) return;
  stopped_ = true;
  retry_timer_.reset();
  reconnect_timer_.reset();
  if (close_stream_) (*close_stream_)();
  if (master_client_) master_client_->close();
  if (server_) server_->stop();
  if (kill_tasks) {
    for (auto& [key, run] : tasks_) {
      if (run.pid > 0 && run.watcher) signal_group(run.pid, SIGKILL);
    }
  }
}

size_t Agent::running_tasks() const {
  return std::count_if(tasks_.begin(), tasks_.end(), [](const auto& entry) { return !is_terminal(entry.second.state); });
}

nlohmann::json Agent::registration() const {
  nlohmann::json tasks = nlohmann::json::array();
  std::set<FrameworkId> frameworks;
  for (const auto& [key, run] : tasks_) {
    // The newest state, even if its update is not yet acknowledged.
    tasks.push_back({{"framework_id", run.framework_id}, {"task", v1::to_json(run.info)},
                     {"state", v1::to_string(run.state)}});
    frameworks.insert(run.framework_id);
  }
  nlohmann::json framework_infos = nlohmann::json::array();
  for (const auto& id : frameworks) {
    if (auto it = frameworks_.find(id); it != frameworks_.end()) framework_infos.push_back(v1::to_json(it->second));
  }
  nlohmann::json registration = {{"hostname", config_.hostname},
                                 {"port", config_.port},
                                 {"version", DCOS_VERSION},
                                 {"resources", to_json(resources_)},
                                 {"attributes", config_.attributes},
                                 {"tasks", tasks},
                                 {"frameworks", framework_infos}};
  if (!id_.empty()) registration["agent_id"] = id_;
  return {{"type", "REGISTER"}, {"register", registration}};
}

void Agent::connect() {
  if (stopped_) return;
  auto request = http::make_post(config_.master, "/api/v1/agent", v1::dump(registration()));
  auto alive = alive_;
  auto closed = std::make_shared<bool>(false);
  auto reader_slot = std::make_shared<http::StreamReader*>(nullptr);
  close_stream_ = std::make_shared<std::function<void()>>([closed, reader_slot] {
    *closed = true;
    if (*reader_slot) (*reader_slot)->close();
  });
  asio::co_spawn(executor_, [this, alive, closed, reader_slot, request = std::move(request)]() mutable -> asio::awaitable<void> {
    auto opened = co_await http::StreamReader::open(executor_, config_.master, std::move(request));
    if (!*alive || *closed) co_return;
    if (!opened || (*opened)->header().result() != http::Status::ok) {
      log::get("agent")->warn("registration failed master={} error={}", config_.master.to_string(),
                              opened ? fmt::format("HTTP {}: {}", (*opened)->header().result_int(), (*opened)->header().body())
                                     : opened.error().message);
      on_disconnected();
      co_return;
    }
    std::unique_ptr<http::StreamReader> reader = std::move(*opened);
    *reader_slot = reader.get();
    http::RecordIoDecoder decoder;
    for (;;) {
      auto bytes = co_await reader->read();
      if (!*alive) co_return;
      if (!bytes || *closed) break;
      decoder.feed(*bytes);
      bool broken = false;
      for (;;) {
        auto record = decoder.next();
        if (!record) {
          broken = true;
          break;
        }
        if (!*record) break;
        auto event = v1::parse_json_body(**record);
        if (!event) continue;
        on_event(*event);
        if (!*alive || *closed) break;
      }
      if (broken || *closed) break;
    }
    *reader_slot = nullptr;
    if (*alive && !*closed) on_disconnected();
  }, asio::detached);
}

void Agent::on_disconnected() {
  if (stopped_) return;
  if (registered_) log::get("agent")->warn("lost the master master={}", config_.master.to_string());
  registered_ = false;
  // Retry after a random delay in [0, factor * 2^n], capped at one minute.
  static thread_local std::mt19937_64 random{std::random_device{}()};
  const double cap = std::min(60.0, to_seconds(config_.registration_backoff_factor) * std::pow(2.0, reconnect_attempts_++));
  const Duration delay = from_seconds(std::uniform_real_distribution<double>(0, std::max(cap, 0.001))(random));
  reconnect_timer_ = clock_.schedule(delay, [this] { connect(); });
}

void Agent::on_event(const nlohmann::json& event) {
  const std::string type = event.value("type", "");
  try {
    if (type == "REGISTERED") {
      on_registered(event.at("registered"));
    } else if (type == "PING") {
      post({{"type", "PONG"}, {"agent_id", id_}});
    } else if (type == "RUN_TASK") {
      run_task(event.at("run_task"));
    } else if (type == "KILL_TASK") {
      const auto& kill = event.at("kill_task");
      std::optional<Duration> grace;
      if (kill.contains("grace_period_ns")) grace = Duration(kill["grace_period_ns"].get<std::int64_t>());
      kill_task(FrameworkId(kill.at("framework_id").at("value")), TaskId(kill.at("task_id").at("value")), grace);
    } else if (type == "ACKNOWLEDGE") {
      const auto& ack = event.at("acknowledge");
      const FrameworkId framework(ack.at("framework_id").at("value"));
      const TaskId task(ack.at("task_id").at("value"));
      auto uuid = base64_decode(ack.at("uuid").get<std::string>());
      if (!uuid) return;
      if (auto next = updates_.acknowledge(framework, task, *uuid, clock_.now())) forward(*next);
      forget_if_done(framework, task);
    } else if (type == "SHUTDOWN_FRAMEWORK") {
      shutdown_framework(FrameworkId(event.at("shutdown_framework").at("framework_id").at("value")));
    } else if (type == "SHUTDOWN_EXECUTOR") {
      // Command tasks: the executor is the task.
      const auto& shutdown = event.at("shutdown_executor");
      kill_task(FrameworkId(shutdown.at("framework_id").at("value")), TaskId(shutdown.at("executor_id").at("value")),
                std::nullopt);
    } else if (type == "FRAMEWORK_MESSAGE") {
      log::get("agent")->debug("framework message dropped: command tasks take no messages");
    }
  } catch (const nlohmann::json::exception& e) {
    log::get("agent")->error("malformed event from master type={} error={}", type, e.what());
  }
}

void Agent::on_registered(const nlohmann::json& registered) {
  id_ = AgentId(registered.at("agent_id").at("value").get<std::string>());
  registered_ = true;
  reconnect_attempts_ = 0;
  log::get("agent")->info("registered with master agent={} master={}", id_, config_.master.to_string());
  // Whatever the old master never acknowledged goes to the new connection.
  for (const StatusUpdate& update : updates_.heads(clock_.now())) forward(update);
}

void Agent::run_task(const nlohmann::json& run_json) {
  const FrameworkId framework_id(run_json.at("framework_id").at("value").get<std::string>());
  v1::FrameworkInfo framework_info = v1::decode_framework_info(v1::Fields(run_json.at("framework_info"), "framework_info."));
  v1::TaskInfo info = v1::decode_task_info(v1::Fields(run_json.at("task"), "task."));
  frameworks_[framework_id] = framework_info;
  const auto key = std::make_pair(framework_id, info.task_id);
  if (tasks_.contains(key)) return;  // A duplicate launch.
  TaskRun& run = tasks_[key];
  run.framework_id = framework_id;
  run.info = std::move(info);
  const std::string container_id = random_uuid_string();
  run.sandbox = fmt::format("{}/slaves/{}/frameworks/{}/executors/{}/runs/{}", config_.work_dir, id_, framework_id,
                            run.info.task_id, container_id);
  if (!run.info.command) {
    update(run, TaskState::failed, "Custom executors are not supported by this agent yet", "REASON_EXECUTOR_TERMINATED",
           "SOURCE_AGENT");
    return;
  }
  std::error_code ec;
  fs::create_directories(run.sandbox, ec);
  if (ec) {
    update(run, TaskState::failed, fmt::format("Failed to create sandbox {}: {}", run.sandbox, ec.message()),
           "REASON_CONTAINER_LAUNCH_FAILED", "SOURCE_AGENT");
    return;
  }
  update(run, TaskState::starting, std::nullopt, std::nullopt);

  const v1::CommandInfo& command = *run.info.command;
  LaunchSpec spec;
  if (command.shell) {
    spec.argv = {"/bin/sh", "-c", command.value.value_or("")};
  } else {
    spec.argv = command.arguments.empty() ? std::vector<std::string>{command.value.value_or("")} : command.arguments;
    spec.argv[0] = command.value.value_or(spec.argv[0]);
  }
  const char* path = std::getenv("PATH");
  spec.environment = {
      fmt::format("PATH={}", path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
      "MESOS_SANDBOX=" + run.sandbox,
      "MESOS_DIRECTORY=" + run.sandbox,
      "MESOS_TASK_ID=" + run.info.task_id.value(),
      "MESOS_FRAMEWORK_ID=" + framework_id.value(),
      "MESOS_EXECUTOR_ID=" + run.info.task_id.value(),
      "MESOS_SLAVE_ID=" + id_.value(),
      "MESOS_AGENT_ENDPOINT=" + fmt::format("{}:{}", config_.ip, config_.port),
      "MESOS_CONTAINER_ID=" + container_id,
  };
  if (const char* home = std::getenv("HOME")) spec.environment.push_back(fmt::format("HOME={}", home));
  for (const auto& [name, value] : command.environment) spec.environment.push_back(name + "=" + value);
  spec.directory = run.sandbox;
  spec.stdout_path = run.sandbox + "/stdout";
  spec.stderr_path = run.sandbox + "/stderr";
  auto pid = spawn_process(spec);
  if (!pid) {
    update(run, TaskState::failed, pid.error().message, "REASON_CONTAINER_LAUNCH_FAILED");
    return;
  }
  run.pid = *pid;
  auto watcher = ProcessWatcher::watch(executor_, *pid, [this, key, alive = alive_](int status) {
    if (*alive) on_exit(key.first, key.second, status);
  });
  if (!watcher) {
    signal_group(*pid, SIGKILL);
    update(run, TaskState::failed, watcher.error().message, "REASON_CONTAINER_LAUNCH_FAILED");
    return;
  }
  run.watcher = std::move(*watcher);
  update(run, TaskState::running, std::nullopt, std::nullopt);
}

void Agent::kill_task(const FrameworkId& framework, const TaskId& task, std::optional<Duration> grace) {
  auto it = tasks_.find({framework, task});
  if (it == tasks_.end()) return;
  TaskRun& run = it->second;
  if (is_terminal(run.state)) return;
  run.kill_requested = true;
  if (run.pid <= 0) {
    update(run, TaskState::killed, "Killed before it started", "REASON_TASK_KILLED_DURING_LAUNCH");
    return;
  }
  // SIGTERM first; SIGKILL once the grace period passes (task kill policy, KILL override, 3 s).
  const Duration period = grace.value_or(run.info.kill_grace_period.value_or(config_.default_kill_grace_period));
  signal_group(run.pid, SIGTERM);
  const pid_t pid = run.pid;
  run.escalation = clock_.schedule(period, [pid] { signal_group(pid, SIGKILL); });
}

void Agent::shutdown_framework(const FrameworkId& framework) {
  for (auto& [key, run] : tasks_) {
    if (key.first == framework && run.pid > 0 && !is_terminal(run.state)) {
      run.kill_requested = true;
      signal_group(run.pid, SIGKILL);
    }
  }
  updates_.remove_framework(framework);
  std::erase_if(tasks_, [&](const auto& entry) { return entry.first.first == framework && is_terminal(entry.second.state); });
  frameworks_.erase(framework);
}

void Agent::on_exit(const FrameworkId& framework, const TaskId& task, int wait_status) {
  auto it = tasks_.find({framework, task});
  if (it == tasks_.end()) return;
  TaskRun& run = it->second;
  run.escalation.reset();
  run.pid = -run.pid;  // Keep the number for `/state`, mark it gone.
  const std::string how = describe_wait_status(wait_status);
  if (run.kill_requested) {
    update(run, TaskState::killed, "Command " + how, "REASON_TASK_KILLED");
  } else if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    update(run, TaskState::finished, "Command " + how, std::nullopt);
  } else {
    update(run, TaskState::failed, "Command " + how, "REASON_COMMAND_EXECUTOR_FAILED");
  }
  // A framework removed meanwhile wants no updates: drop the record now.
  if (!frameworks_.contains(framework)) tasks_.erase(it);
}

void Agent::update(TaskRun& run, TaskState state, std::optional<std::string> message, std::optional<std::string> reason,
                   std::string source) {
  run.state = state;
  v1::TaskStatus status;
  status.task_id = run.info.task_id;
  status.state = state;
  status.message = std::move(message);
  status.reason = std::move(reason);
  status.source = std::move(source);
  status.agent_id = id_;
  status.executor_id = ExecutorId(run.info.task_id.value());
  status.timestamp = to_epoch_seconds(clock_.now());
  status.uuid = random_uuid_bytes();
  if (run.pid != 0) status.container_status = {{"executor_pid", run.pid > 0 ? run.pid : -run.pid}};
  if (auto head = updates_.add({run.framework_id, std::move(status)}, clock_.now())) forward(*head);
}

void Agent::forward(const StatusUpdate& update) {
  if (!registered_) return;  // Sent on re-registration.
  auto it = tasks_.find({update.framework_id, update.status.task_id});
  nlohmann::json body = {{"framework_id", update.framework_id}, {"status", v1::to_json(update.status)}};
  if (it != tasks_.end()) body["latest_state"] = v1::to_string(it->second.state);
  post({{"type", "UPDATE"}, {"agent_id", id_}, {"update", std::move(body)}});
}

void Agent::post(nlohmann::json call) {
  if (!master_client_ || stopped_) return;
  master_client_->send(http::make_post(config_.master, "/api/v1/agent", v1::dump(call)),
                       [type = call.value("type", "")](Result<http::Response> response) {
                         // Lost calls are harmless: updates are retried, pings come again.
                         if (!response) {
                           log::get("agent")->debug("call to master failed type={} error={}", type, response.error().message);
                         } else if (response->result_int() >= 400) {
                           log::get("agent")->warn("master refused call type={} status={} body={}", type,
                                                   response->result_int(), response->body());
                         }
                       });
}

void Agent::on_retry_tick() {
  if (registered_) {
    for (const StatusUpdate& update : updates_.due(clock_.now())) forward(update);
  }
  retry_timer_ = clock_.schedule(std::chrono::seconds(1), [this] { on_retry_tick(); });
}

void Agent::forget_if_done(const FrameworkId& framework, const TaskId& task) {
  auto it = tasks_.find({framework, task});
  if (it != tasks_.end() && is_terminal(it->second.state) && updates_.drained(framework, task)) tasks_.erase(it);
}

http::Reply Agent::state_endpoint(const http::Request& request) const {
  std::map<FrameworkId, nlohmann::json> executors;
  for (const auto& [key, run] : tasks_) {
    nlohmann::json task = {{"id", run.info.task_id.value()},
                           {"name", run.info.name},
                           {"framework_id", run.framework_id.value()},
                           {"executor_id", ""},
                           {"slave_id", id_.value()},
                           {"state", v1::to_string(run.state)},
                           {"resources", run.info.resources.summary()}};
    nlohmann::json executor = {{"id", run.info.task_id.value()},
                               {"name", "Command Executor (Task: " + run.info.task_id.value() + ")"},
                               {"source", run.info.task_id.value()},
                               {"directory", run.sandbox},
                               {"resources", run.info.resources.summary()},
                               {"type", "COMMAND"},
                               {"tasks", is_terminal(run.state) ? nlohmann::json::array() : nlohmann::json::array({task})},
                               {"queued_tasks", nlohmann::json::array()},
                               {"completed_tasks", is_terminal(run.state) ? nlohmann::json::array({task}) : nlohmann::json::array()}};
    executors[key.first].push_back(std::move(executor));
  }
  nlohmann::json frameworks = nlohmann::json::array();
  for (const auto& [id, list] : executors) {
    nlohmann::json f = {{"id", id.value()}, {"executors", list}, {"completed_executors", nlohmann::json::array()}};
    if (auto info = frameworks_.find(id); info != frameworks_.end()) {
      f["name"] = info->second.name;
      f["user"] = info->second.user;
      f["failover_timeout"] = info->second.failover_timeout;
      f["checkpoint"] = info->second.checkpoint;
    }
    frameworks.push_back(std::move(f));
  }
  auto attributes = parse_attributes(config_.attributes);
  nlohmann::json flags = nlohmann::json::object();
  for (const auto& [name, value] : config_.flags) flags[name] = value;
  nlohmann::json state = {{"version", DCOS_VERSION},
                          {"start_time", to_epoch_seconds(start_time_)},
                          {"id", id_.value()},
                          {"pid", fmt::format("slave(1)@{}:{}", config_.ip, config_.port)},
                          {"hostname", config_.hostname},
                          {"resources", resources_.summary()},
                          {"attributes", attributes ? attributes_summary(*attributes) : nlohmann::json::object()},
                          {"master_hostname", config_.master.host},
                          {"flags", flags},
                          {"frameworks", frameworks},
                          {"completed_frameworks", nlohmann::json::array()}};
  return http::make_json_response(request, http::Status::ok, v1::dump(state));
}

}  // namespace dcos::agent
