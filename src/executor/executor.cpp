#include "dcos/executor/executor.hpp"

#include <cstdlib>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <fmt/format.h>

#include "dcos/common/duration.hpp"
#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/http/recordio.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::executor {

namespace asio = boost::asio;

Result<ExecutorConfig> ExecutorConfig::from_environment() {
  auto get = [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    if (!value) return std::nullopt;
    return std::string(value);
  };
  ExecutorConfig config;
  auto endpoint = get("MESOS_AGENT_ENDPOINT");
  auto framework = get("MESOS_FRAMEWORK_ID");
  auto executor = get("MESOS_EXECUTOR_ID");
  if (!endpoint || !framework || !executor) {
    return fail(Errc::invalid_argument,
                "Expecting MESOS_AGENT_ENDPOINT, MESOS_FRAMEWORK_ID and MESOS_EXECUTOR_ID in the environment");
  }
  auto agent = http::parse_endpoint(*endpoint);
  if (!agent) return fail(Errc::invalid_argument, "MESOS_AGENT_ENDPOINT: " + agent.error().message);
  config.agent = *agent;
  config.framework_id = FrameworkId(*framework);
  config.executor_id = ExecutorId(*executor);
  config.directory = get("MESOS_DIRECTORY").value_or(get("MESOS_SANDBOX").value_or("."));
  config.checkpoint = get("MESOS_CHECKPOINT").value_or("0") == "1";
  auto duration = [&](const char* name, Duration& out) -> Result<void> {
    if (auto text = get(name)) {
      auto parsed = parse_duration(*text);
      if (!parsed) return fail(Errc::invalid_argument, fmt::format("{}: {}", name, parsed.error().message));
      out = *parsed;
    }
    return {};
  };
  for (auto [name, field] : {std::pair<const char*, Duration*>{"MESOS_RECOVERY_TIMEOUT", &config.recovery_timeout},
                             {"MESOS_SUBSCRIPTION_BACKOFF_MAX", &config.subscription_backoff_max},
                             {"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", &config.shutdown_grace_period}}) {
    if (auto ok = duration(name, *field); !ok) return tl::unexpected(ok.error());
  }
  return config;
}

nlohmann::json ExecutorCore::base(const char* type) const {
  return {{"type", type}, {"framework_id", framework_}, {"executor_id", executor_}};
}

nlohmann::json ExecutorCore::subscribe_call() const {
  nlohmann::json subscribe = nlohmann::json::object();
  nlohmann::json tasks = nlohmann::json::array(), updates = nlohmann::json::array();
  for (const auto& [id, task] : tasks_) tasks.push_back(task);
  for (const auto& [uuid, update] : updates_) updates.push_back(update);
  if (!tasks.empty()) subscribe["unacknowledged_tasks"] = tasks;
  if (!updates.empty()) subscribe["unacknowledged_updates"] = updates;
  nlohmann::json call = base("SUBSCRIBE");
  call["subscribe"] = subscribe;
  return call;
}

void ExecutorCore::on_launch(const nlohmann::json& task) {
  if (!task.is_object() || !task.contains("task_id")) return;
  tasks_[TaskId(task["task_id"].value("value", ""))] = task;
}

nlohmann::json ExecutorCore::update_call(v1::TaskStatus status, double now) {
  if (!status.uuid) status.uuid = random_uuid_bytes();
  status.source = "SOURCE_EXECUTOR";
  status.executor_id = executor_;
  if (!status.timestamp) status.timestamp = now;
  nlohmann::json update = {{"status", v1::to_json(status)}};
  updates_.emplace_back(*status.uuid, update);
  nlohmann::json call = base("UPDATE");
  call["update"] = std::move(update);
  return call;
}

void ExecutorCore::on_acknowledged(const TaskId& task, const std::string& uuid) {
  std::erase_if(updates_, [&](const auto& entry) { return entry.first == uuid; });
  tasks_.erase(task);
}

nlohmann::json ExecutorCore::message_call(const std::string& data) const {
  nlohmann::json call = base("MESSAGE");
  call["message"] = {{"data", base64_encode(data)}};
  return call;
}

nlohmann::json ExecutorCore::heartbeat_call() const { return base("HEARTBEAT"); }

std::shared_ptr<Executor> Executor::create(asio::any_io_executor executor, Clock& clock, ExecutorConfig config,
                                           Callbacks callbacks) {
  return std::shared_ptr<Executor>(new Executor(std::move(executor), clock, std::move(config), std::move(callbacks)));
}

Executor::Executor(asio::any_io_executor executor, Clock& clock, ExecutorConfig config, Callbacks callbacks)
    : executor_(std::move(executor)),
      clock_(clock),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      core_(config_.framework_id, config_.executor_id),
      backoff_(config_.subscription_backoff_initial) {
  client_ = http::Client::create(executor_, config_.agent);
}

Executor::~Executor() { stop(); }

void Executor::start() { subscribe(); }

void Executor::stop() {
  stopped_ = true;
  subscribed_ = false;
  retry_timer_.reset();
  if (close_stream_) (*close_stream_)();
  if (client_) client_->close();
}

void Executor::subscribe() {
  if (stopped_) return;
  auto request = http::make_post(config_.agent, "/api/v1/executor", v1::dump(core_.subscribe_call()));
  request.set(http::beast_http::field::accept, "application/json");
  auto closed = std::make_shared<bool>(false);
  auto reader_slot = std::make_shared<http::StreamReader*>(nullptr);
  close_stream_ = std::make_shared<std::function<void()>>([closed, reader_slot] {
    *closed = true;
    if (*reader_slot) (*reader_slot)->close();
  });
  std::weak_ptr<Executor> weak = weak_from_this();
  asio::co_spawn(executor_, [weak, closed, reader_slot, request = std::move(request), executor = executor_,
                             agent = config_.agent]() mutable -> asio::awaitable<void> {
    auto opened = co_await http::StreamReader::open(executor, agent, std::move(request), std::chrono::seconds(5));
    auto self = weak.lock();
    if (!self || *closed) co_return;
    if (!opened) co_return self->on_stream_end(opened.error().message, true);
    std::unique_ptr<http::StreamReader> reader = std::move(*opened);
    const auto& header = reader->header();
    if (header.result() != http::Status::ok) {
      // 503: the agent is still recovering; anything else will not get better by retrying.
      co_return self->on_stream_end(fmt::format("subscription refused: HTTP {}: {}", header.result_int(), header.body()),
                                    header.result() == http::Status::service_unavailable);
    }
    *reader_slot = reader.get();
    self.reset();
    http::RecordIoDecoder decoder;
    std::string why = "stream ended";
    for (;;) {
      auto bytes = co_await reader->read();
      if (*closed) co_return;
      if (!bytes) break;
      decoder.feed(*bytes);
      bool broken = false;
      for (;;) {
        auto record = decoder.next();
        if (!record) {
          why = record.error().message;
          broken = true;
          break;
        }
        if (!*record) break;
        auto event = v1::parse_json_body(**record);
        auto me = weak.lock();
        if (!me || *closed) co_return;
        if (event) me->on_event(*event);
        if (*closed) co_return;
      }
      if (broken) break;
    }
    *reader_slot = nullptr;
    if (auto me = weak.lock(); me && !*closed) me->on_stream_end(why, true);
  }, asio::detached);
}

void Executor::on_event(const nlohmann::json& event) {
  const std::string type = event.value("type", "");
  if (callbacks_.event) callbacks_.event(event);
  try {
    if (type == "SUBSCRIBED") {
      subscribed_ = true;
      disconnected_since_.reset();
      backoff_ = config_.subscription_backoff_initial;
      if (callbacks_.subscribed) callbacks_.subscribed(event.at("subscribed"));
    } else if (type == "LAUNCH") {
      const auto& task = event.at("launch").at("task");
      core_.on_launch(task);
      if (callbacks_.launch) callbacks_.launch(task);
    } else if (type == "LAUNCH_GROUP") {
      const auto& group = event.at("launch_group").at("task_group");
      for (const auto& task : group.value("tasks", nlohmann::json::array())) core_.on_launch(task);
      if (callbacks_.launch_group) callbacks_.launch_group(group);
    } else if (type == "KILL") {
      const auto& kill = event.at("kill");
      const TaskId task(kill.at("task_id").at("value").get<std::string>());
      if (callbacks_.kill) callbacks_.kill(task, kill.value("kill_policy", nlohmann::json()));
    } else if (type == "ACKNOWLEDGED") {
      const auto& ack = event.at("acknowledged");
      const TaskId task(ack.at("task_id").at("value").get<std::string>());
      auto uuid = base64_decode(ack.at("uuid").get<std::string>());
      if (!uuid) return;
      core_.on_acknowledged(task, *uuid);
      if (callbacks_.acknowledged) callbacks_.acknowledged(task, *uuid);
    } else if (type == "MESSAGE") {
      auto data = base64_decode(event.at("message").value("data", ""));
      if (callbacks_.message) callbacks_.message(data.value_or(""));
    } else if (type == "SHUTDOWN") {
      if (callbacks_.shutdown) callbacks_.shutdown();
    } else if (type == "ERROR") {
      if (callbacks_.error) callbacks_.error(event.at("error").value("message", ""));
    }
  } catch (const nlohmann::json::exception& e) {
    log::get("executor")->error("malformed event type={} error={}", type, e.what());
  }
}

void Executor::on_stream_end(const std::string& why, bool retry) {
  const bool was_subscribed = subscribed_;
  subscribed_ = false;
  if (stopped_) return;
  if (was_subscribed) log::get("executor")->info("disconnected from agent reason={}", why);
  if (callbacks_.disconnected) callbacks_.disconnected(why);
  const TimePoint now = clock_.now();
  if (!disconnected_since_) disconnected_since_ = now;
  // Only a checkpointing executor is recovered by a restarted agent; waiting is pointless else.
  std::string give_up;
  if (!retry) give_up = why;
  else if (!config_.checkpoint && was_subscribed) give_up = "disconnected from the agent (framework does not checkpoint)";
  else if (now - *disconnected_since_ >= config_.recovery_timeout) give_up = "agent did not come back within the recovery timeout";
  if (!give_up.empty()) {
    stopped_ = true;
    if (callbacks_.failed) callbacks_.failed(give_up);
    return;
  }
  retry_timer_ = clock_.schedule(backoff_, [this] { subscribe(); });
  backoff_ = std::min(backoff_ * 2, config_.subscription_backoff_max);
}

void Executor::send(const nlohmann::json& call, Done done) {
  auto request = http::make_post(config_.agent, "/api/v1/executor", v1::dump(call));
  client_->send(std::move(request), [done = std::move(done)](Result<http::Response> response) {
    if (done) done(std::move(response));
  });
}

std::string Executor::update(v1::TaskStatus status, Done done) {
  nlohmann::json call = core_.update_call(std::move(status), to_epoch_seconds(clock_.now()));
  const std::string uuid = *base64_decode(call["update"]["status"]["uuid"].get<std::string>());
  // Unsubscribed: it waits in the core and goes with the next SUBSCRIBE.
  if (subscribed_) {
    send(call, std::move(done));
  } else if (done) {
    done(fail(Errc::unavailable, "not subscribed: the update is sent when the executor re-subscribes"));
  }
  return uuid;
}

void Executor::message(const std::string& data, Done done) {
  if (!subscribed_) {
    if (done) done(fail(Errc::unavailable, "not subscribed"));
    return;
  }
  send(core_.message_call(data), std::move(done));
}

}  // namespace dcos::executor
