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
  total_ = resources_;
  boot_id_ = config_.boot_id.empty() ? current_boot_id() : config_.boot_id;
  if (config_.default_executor.empty()) {
    std::error_code ec;
    config_.default_executor = {fs::read_symlink("/proc/self/exe", ec).string()};
  }
}

Agent::~Agent() {
  stop(true);
  *alive_ = false;
  // Watchers, timers and health checkers hold callbacks into `this`: end them first.
  runs_.clear();
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
    size_t registering = 0, running = 0, terminating = 0;
    for (const auto& [cid, run] : runs_) {
      if (run->state == RunState::registering || run->state == RunState::launching) ++registering;
      else if (run->state == RunState::running) ++running;
      else if (run->state == RunState::terminating) ++terminating;
    }
    nlohmann::json m = {{"slave/registered", registered_ ? 1 : 0},
                        {"slave/uptime_secs", to_seconds(clock_.now() - start_time_)},
                        {"slave/tasks_running", running_tasks()},
                        {"slave/executors_registering", registering},
                        {"slave/executors_running", running},
                        {"slave/executors_terminating", terminating},
                        {"slave/frameworks_active", frameworks_.size()},
                        {"slave/cpus_total", resources_.scalar("cpus")},
                        {"slave/mem_total", resources_.scalar("mem")},
                        {"slave/disk_total", resources_.scalar("disk")},
                        // Not a Mesos metric: updates sent but not yet acknowledged (checkpointed
                        // ones survive a restart and are sent again).
                        {"slave/status_updates_pending", pending_updates()},
                        {"gc/path_removals_pending", gc_.size()}};
    return http::make_json_response(request, http::Status::ok, v1::dump(m));
  });
  auto executor_api = [this](const http::Request& request) { return this->executor_api(request); };
  router->add("/api/v1/executor", executor_api);
  router->add("/slave(1)/api/v1/executor", executor_api);
  auto statistics = [this](const http::Request& request) { return statistics_endpoint(request); };
  router->add("/monitor/statistics", statistics);
  router->add("/monitor/statistics.json", statistics);
  add_file_routes(*router);

  if (auto reserved = recover_checkpointed_resources(); !reserved) {
    log::get("agent")->error("recovery failed work_dir={} error={}", config_.work_dir, reserved.error().message);
    return tl::unexpected(reserved.error());
  }
  if (auto recovered = recover(); !recovered) {
    log::get("agent")->error("recovery failed work_dir={} error={}", config_.work_dir, recovered.error().message);
    return tl::unexpected(recovered.error());
  }
  server_ = std::make_unique<http::Server>(executor_, router, config_.limits);
  auto port = server_->listen(config_.ip, config_.port);
  if (!port) return port;
  config_.port = *port;
  recovering_ = false;
  master_client_ = http::Client::create(executor_, config_.master);
  log::get("agent")->info("agent started address={}:{} master={} resources={}", config_.ip, *port,
                          config_.master.to_string(), resources_.to_string());
  connect();
  retry_timer_ = clock_.schedule(std::chrono::seconds(1), [this] { on_retry_tick(); });
  gc_timer_ = clock_.schedule(config_.disk_watch_interval, [this] { on_gc_tick(); });
  return port;
}

void Agent::stop(bool kill_tasks) { stop_with(kill_tasks ? StopPolicy::kill_all : StopPolicy::keep_all); }

void Agent::stop_keeping_checkpointed() { stop_with(StopPolicy::keep_checkpointed); }

void Agent::stop_with(StopPolicy policy) {
  if (stopped_) return;
  stopped_ = true;
  retry_timer_.reset();
  reconnect_timer_.reset();
  reregistration_timer_.reset();
  gc_timer_.reset();
  if (close_stream_) (*close_stream_)();
  if (master_client_) master_client_->close();
  if (server_) server_->stop();
  for (auto& [cid, run] : runs_) {
    run->registration_timer.reset();
    run->kill_timer.reset();
    run->heartbeat_timer.reset();
    run->health.reset();
    run->fetcher.reset();
    const bool kill = policy == StopPolicy::kill_all || (policy == StopPolicy::keep_checkpointed && !run->checkpoint);
    if (kill) {
      if (run->pid > 0 && !run->exited) signal_run(*run, SIGKILL);
      remove_runtime_record(*run);
    } else {
      // Leave the process for a restarted agent: stop watching it without reaping it.
      run->watcher.reset();
    }
  }
}

size_t Agent::running_tasks() const {
  size_t n = 0;
  for (const auto& [cid, run] : runs_) {
    for (const auto& [id, task] : run->tasks) n += is_terminal(task.state) ? 0 : 1;
  }
  return n;
}

bool Agent::executor_subscribed(const FrameworkId& framework, const ExecutorId& executor) const {
  const ExecutorRun* run = find_run(framework, executor);
  return run && run->stream && !run->stream->closed();
}

std::optional<std::string> Agent::sandbox(const FrameworkId& framework, const ExecutorId& executor) const {
  const ExecutorRun* run = find_run(framework, executor);
  if (!run) return std::nullopt;
  return run->sandbox;
}

Agent::ExecutorRun* Agent::find_run(const FrameworkId& framework, const ExecutorId& executor) {
  auto it = active_runs_.find({framework, executor});
  if (it == active_runs_.end()) return nullptr;
  auto run = runs_.find(it->second);
  return run == runs_.end() ? nullptr : run->second.get();
}

const Agent::ExecutorRun* Agent::find_run(const FrameworkId& framework, const ExecutorId& executor) const {
  return const_cast<Agent*>(this)->find_run(framework, executor);
}

Agent::ExecutorRun* Agent::run_of_task(const FrameworkId& framework, const TaskId& task) {
  auto it = task_runs_.find({framework, task});
  if (it == task_runs_.end()) return nullptr;
  auto run = runs_.find(it->second);
  return run == runs_.end() ? nullptr : run->second.get();
}

nlohmann::json Agent::agent_info() const {
  nlohmann::json info = {{"hostname", config_.hostname}, {"port", config_.port}, {"resources", to_json(resources_)}};
  if (auto attributes = parse_attributes(config_.attributes); attributes && !attributes->empty()) {
    info["attributes"] = to_json(*attributes);
  }
  if (!id_.empty()) info["id"] = id_;
  return info;
}

nlohmann::json Agent::registration() const {
  nlohmann::json tasks = nlohmann::json::array();
  std::set<FrameworkId> frameworks;
  for (const auto& [cid, run] : runs_) {
    if (auto f = frameworks_.find(run->framework_id); f != frameworks_.end() && f->second.removed) continue;
    for (const auto& [id, task] : run->tasks) {
      // The newest state, even if its update is not yet acknowledged.
      tasks.push_back({{"framework_id", run->framework_id}, {"executor_id", run->id}, {"task", v1::to_json(task.info)},
                       {"state", v1::to_string(task.state)}});
      frameworks.insert(run->framework_id);
    }
  }
  nlohmann::json framework_infos = nlohmann::json::array();
  for (const auto& id : frameworks) {
    if (auto it = frameworks_.find(id); it != frameworks_.end()) framework_infos.push_back(v1::to_json(it->second.info));
  }
  nlohmann::json registration = {{"hostname", config_.hostname},
                                 {"port", config_.port},
                                 {"version", DCOS_VERSION},
                                 {"resources", to_json(total_)},
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
    } else if (type == "RUN_TASK_GROUP") {
      run_task_group(event.at("run_task_group"));
    } else if (type == "KILL_TASK") {
      const auto& kill = event.at("kill_task");
      std::optional<Duration> grace;
      if (kill.contains("grace_period_ns")) grace = Duration(kill["grace_period_ns"].get<std::int64_t>());
      kill_task(FrameworkId(kill.at("framework_id").at("value")), TaskId(kill.at("task_id").at("value")), grace);
    } else if (type == "ACKNOWLEDGE") {
      const auto& ack = event.at("acknowledge");
      auto uuid = base64_decode(ack.at("uuid").get<std::string>());
      if (!uuid) return;
      on_acknowledge(FrameworkId(ack.at("framework_id").at("value")), TaskId(ack.at("task_id").at("value")), *uuid);
    } else if (type == "SHUTDOWN_FRAMEWORK") {
      shutdown_framework(FrameworkId(event.at("shutdown_framework").at("framework_id").at("value")));
    } else if (type == "SHUTDOWN_EXECUTOR") {
      const auto& shutdown = event.at("shutdown_executor");
      const FrameworkId framework(shutdown.at("framework_id").at("value"));
      const ExecutorId executor(shutdown.at("executor_id").at("value"));
      if (ExecutorRun* run = find_run(framework, executor)) {
        if (run->command_task) {
          // The executor is the task.
          kill_task(framework, TaskId(executor.value()), std::nullopt);
        } else {
          shutdown_executor(*run);
        }
      }
    } else if (type == "FRAMEWORK_MESSAGE") {
      on_framework_message(event.at("framework_message"));
    } else if (type == "CHECKPOINT_RESOURCES") {
      on_checkpoint_resources(event.at("checkpoint_resources"));
    } else if (type == "APPLY_OPERATION") {
      on_apply_operation(event.at("apply_operation"));
    } else if (type == "ACKNOWLEDGE_OPERATION_STATUS") {
      on_acknowledge_operation_status(event.at("acknowledge_operation_status"));
    }
  } catch (const nlohmann::json::exception& e) {
    log::get("agent")->error("malformed event from master type={} error={}", type, e.what());
  }
}

void Agent::on_registered(const nlohmann::json& registered) {
  const AgentId id(registered.at("agent_id").at("value").get<std::string>());
  if (id != id_) {
    id_ = id;
    // The agent id names every checkpoint path: record it for a restarted agent.
    nlohmann::json info = agent_info();
    info["attributes_text"] = config_.attributes;
    if (auto written = write_atomically(layout().agent_info(id_), v1::dump(info)); !written) {
      log::get("agent")->error("checkpoint failed error={}", written.error().message);
    }
    if (auto written = write_atomically(layout().latest_agent(), id_.value()); !written) {
      log::get("agent")->error("checkpoint failed error={}", written.error().message);
    }
  }
  registered_ = true;
  reconnect_attempts_ = 0;
  log::get("agent")->info("registered with master agent={} master={}", id_, config_.master.to_string());
  // Whatever the old master (or the agent before a restart) never got acknowledged goes now.
  for (const StatusUpdate& update : updates_.heads(clock_.now())) forward(update);
  for (const OperationUpdate& update : operation_updates_.all(clock_.now())) send_operation_update(update);
}

bool Agent::record_update(ExecutorRun* run, const FrameworkId& framework, v1::TaskStatus status) {
  if (auto f = frameworks_.find(framework); f != frameworks_.end() && f->second.removed) return false;
  StatusUpdate update{framework, std::move(status)};
  if (!updates_.accepts(update)) return false;
  TaskRun* task = nullptr;
  if (run) {
    if (auto it = run->tasks.find(update.status.task_id); it != run->tasks.end()) task = &it->second;
  }
  if (run && run->checkpoint && task && (task->launched || run->command_task)) {
    // Durable before anyone hears of it: the executor's ACKNOWLEDGED and the forward both
    // follow this write (reference/mesos-api.md §8.2).
    const std::string path = fmt::format("{}/tasks/{}/{}", run->meta, update.status.task_id, task_updates_file);
    if (auto written = append_record(path, encode_update_record(update.status)); !written) {
      log::get("agent")->error("checkpoint failed task={} error={}", update.status.task_id, written.error().message);
    }
  }
  if (task) task->state = update.status.state;
  log::get("agent")->debug("status update framework={} task={} state={}", framework, update.status.task_id,
                           v1::to_string(update.status.state));
  if (auto head = updates_.add(std::move(update), clock_.now())) forward(*head);
  return true;
}

void Agent::report(ExecutorRun& run, TaskRun& task, TaskState state, std::optional<std::string> message,
                   std::optional<std::string> reason, std::string source, std::optional<bool> healthy) {
  v1::TaskStatus status;
  status.task_id = task.info.task_id;
  status.state = state;
  status.message = std::move(message);
  status.reason = std::move(reason);
  status.source = std::move(source);
  status.agent_id = id_;
  status.executor_id = run.id;
  status.timestamp = to_epoch_seconds(clock_.now());
  status.uuid = random_uuid_bytes();
  status.healthy = healthy;
  if (run.pid != 0) status.container_status = {{"container_id", {{"value", run.container_id}}}, {"executor_pid", run.pid}};
  record_update(&run, run.framework_id, std::move(status));
}

void Agent::forward(const StatusUpdate& update) {
  if (!registered_) return;  // Sent on re-registration.
  nlohmann::json body = {{"framework_id", update.framework_id}, {"status", v1::to_json(update.status)}};
  if (ExecutorRun* run = run_of_task(update.framework_id, update.status.task_id)) {
    if (auto task = run->tasks.find(update.status.task_id); task != run->tasks.end()) {
      body["latest_state"] = v1::to_string(task->second.state);
    }
  }
  post({{"type", "UPDATE"}, {"agent_id", id_}, {"update", std::move(body)}});
}

void Agent::on_acknowledge(const FrameworkId& framework, const TaskId& task, const std::string& uuid) {
  bool acknowledged = false;
  auto next = updates_.acknowledge(framework, task, uuid, clock_.now(), &acknowledged);
  ExecutorRun* run = run_of_task(framework, task);
  if (acknowledged && run && run->checkpoint && run->tasks.contains(task)) {
    const std::string path = fmt::format("{}/tasks/{}/{}", run->meta, task, task_updates_file);
    if (auto written = append_record(path, encode_ack_record(uuid)); !written) {
      log::get("agent")->error("checkpoint failed task={} error={}", task, written.error().message);
    }
  }
  if (next) forward(*next);
  if (run) forget_if_done(*run, task);
}

void Agent::forget_if_done(ExecutorRun& run, const TaskId& task_id) {
  auto it = run.tasks.find(task_id);
  if (it == run.tasks.end()) return;
  if (!is_terminal(it->second.state) || !updates_.drained(run.framework_id, task_id)) return;
  nlohmann::json task = {{"id", task_id.value()},
                         {"name", it->second.info.name},
                         {"framework_id", run.framework_id.value()},
                         {"executor_id", run.command_task ? "" : run.id.value()},
                         {"slave_id", id_.value()},
                         {"state", v1::to_string(it->second.state)},
                         {"resources", it->second.info.resources.summary()}};
  run.completed_task_json.push_back(std::move(task));
  run.completed_tasks.insert(task_id);
  run.tasks.erase(it);
  std::erase(run.queued, task_id);
  finish_run_if_done(run);
}

void Agent::finish_run_if_done(ExecutorRun& run) {
  if (run.state != RunState::terminated || !run.tasks.empty()) return;
  // Every task of an ended run is terminal and acknowledged: the run is history now.
  const std::string container_id = run.container_id;
  for (const TaskId& task : run.completed_tasks) {
    updates_.remove_stream(run.framework_id, task);
    task_runs_.erase({run.framework_id, task});
  }
  nlohmann::json executor = {{"id", run.id.value()},
                             {"name", run.info.value("name", "")},
                             {"source", run.info.value("source", "")},
                             {"container", run.container_id},
                             {"directory", run.sandbox},
                             {"framework_id", run.framework_id.value()},
                             {"type", run.command_task ? "COMMAND" : "CUSTOM"},
                             {"tasks", nlohmann::json::array()},
                             {"queued_tasks", nlohmann::json::array()},
                             {"completed_tasks", run.completed_task_json}};
  completed_executors_.push_back(std::move(executor));
  while (completed_executors_.size() > config_.max_completed_executors_per_framework) completed_executors_.pop_front();
  schedule_gc(run.sandbox, run.meta);
  if (auto active = active_runs_.find({run.framework_id, run.id}); active != active_runs_.end() && active->second == container_id) {
    active_runs_.erase(active);
  }
  const FrameworkId framework = run.framework_id;
  runs_.erase(container_id);  // `run` is gone from here on.
  // A removed framework with nothing left running is forgotten.
  auto record = frameworks_.find(framework);
  if (record != frameworks_.end() && record->second.removed &&
      std::none_of(runs_.begin(), runs_.end(), [&](const auto& entry) { return entry.second->framework_id == framework; })) {
    frameworks_.erase(record);
  }
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
    for (const OperationUpdate& update : operation_updates_.due(clock_.now())) send_operation_update(update);
  }
  retry_timer_ = clock_.schedule(std::chrono::seconds(1), [this] { on_retry_tick(); });
}

namespace {

Resources unreserved(const Resources& total) {
  Resources out;
  for (const Resource& r : total) {
    if (!r.reserved()) out += r;
  }
  return out;
}

// Mesos's `reserved_resources` of the agent's `/state`: a summary per reservation role.
nlohmann::json reserved_by_role(const Resources& total) {
  std::map<std::string, Resources> by_role;
  for (const Resource& r : total) {
    if (r.reserved()) by_role[r.role] += r;
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [role, resources] : by_role) out[role] = resources.summary();
  return out;
}

}  // namespace

http::Reply Agent::state_endpoint(const http::Request& request) const {
  std::map<FrameworkId, nlohmann::json> executors;
  for (const auto& [cid, run] : runs_) {
    nlohmann::json tasks = nlohmann::json::array(), queued = nlohmann::json::array(), completed = run->completed_task_json;
    Resources resources;
    for (const auto& [id, task] : run->tasks) {
      nlohmann::json t = {{"id", id.value()},
                          {"name", task.info.name},
                          {"framework_id", run->framework_id.value()},
                          {"executor_id", run->command_task ? "" : run->id.value()},
                          {"slave_id", id_.value()},
                          {"state", v1::to_string(task.state)},
                          {"resources", task.info.resources.summary()}};
      resources += task.info.resources;
      if (is_terminal(task.state)) completed.push_back(std::move(t));
      else if (!task.launched && !run->command_task) queued.push_back(std::move(t));
      else tasks.push_back(std::move(t));
    }
    nlohmann::json executor = {{"id", run->id.value()},
                               {"name", run->info.value("name", "")},
                               {"source", run->info.value("source", "")},
                               {"container", run->container_id},
                               {"directory", run->sandbox},
                               {"resources", resources.summary()},
                               {"type", run->command_task ? "COMMAND" : "CUSTOM"},
                               {"tasks", tasks},
                               {"queued_tasks", queued},
                               {"completed_tasks", completed}};
    executors[run->framework_id].push_back(std::move(executor));
  }
  std::map<FrameworkId, nlohmann::json> completed_by_framework;
  for (const auto& executor : completed_executors_) {
    completed_by_framework[FrameworkId(executor.value("framework_id", ""))].push_back(executor);
  }
  nlohmann::json frameworks = nlohmann::json::array();
  std::set<FrameworkId> ids;
  for (const auto& [id, list] : executors) ids.insert(id);
  for (const auto& [id, list] : completed_by_framework) ids.insert(id);
  for (const auto& id : ids) {
    nlohmann::json f = {{"id", id.value()},
                        {"executors", executors.contains(id) ? executors.at(id) : nlohmann::json::array()},
                        {"completed_executors",
                         completed_by_framework.contains(id) ? completed_by_framework.at(id) : nlohmann::json::array()}};
    if (auto info = frameworks_.find(id); info != frameworks_.end()) {
      f["name"] = info->second.info.name;
      f["user"] = info->second.info.user;
      f["failover_timeout"] = info->second.info.failover_timeout;
      f["checkpoint"] = info->second.info.checkpoint;
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
                          {"resources", total_.summary()},
                          {"reserved_resources", reserved_by_role(total_)},
                          {"unreserved_resources", unreserved(total_).summary()},
                          {"attributes", attributes ? attributes_summary(*attributes) : nlohmann::json::object()},
                          {"master_hostname", config_.master.host},
                          {"flags", flags},
                          {"frameworks", frameworks},
                          {"completed_frameworks", nlohmann::json::array()}};
  return http::make_json_response(request, http::Status::ok, v1::dump(state));
}

}  // namespace dcos::agent
