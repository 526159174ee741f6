#include "dcos/scheduler/scheduler.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/http/recordio.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::scheduler {

namespace asio = boost::asio;

std::shared_ptr<Scheduler> Scheduler::create(asio::any_io_executor executor, Clock& clock, SchedulerConfig config,
                                             Callbacks callbacks) {
  return std::shared_ptr<Scheduler>(new Scheduler(std::move(executor), clock, std::move(config), std::move(callbacks)));
}

Scheduler::Scheduler(asio::any_io_executor executor, Clock& clock, SchedulerConfig config, Callbacks callbacks)
    : executor_(std::move(executor)),
      clock_(clock),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      backoff_(config_.backoff_initial) {
  client_ = http::Client::create(executor_, config_.master);
  framework_id_ = config_.framework.id;
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() { subscribe(); }

void Scheduler::stop() {
  stopped_ = true;
  retry_timer_.reset();
  watchdog_.reset();
  if (close_stream_) (*close_stream_)();
  stream_id_.clear();
}

void Scheduler::subscribe() {
  if (stopped_) return;
  v1::FrameworkInfo info = config_.framework;
  info.id = framework_id_;
  nlohmann::json call = {{"type", "SUBSCRIBE"}, {"subscribe", {{"framework_info", v1::to_json(info)}}}};
  if (framework_id_) call["framework_id"] = *framework_id_;
  auto request = http::make_post(config_.master, "/api/v1/scheduler", v1::dump(call));
  auto closed = std::make_shared<bool>(false);
  auto reader_slot = std::make_shared<http::StreamReader*>(nullptr);
  close_stream_ = std::make_shared<std::function<void()>>([closed, reader_slot] {
    *closed = true;
    if (*reader_slot) (*reader_slot)->close();
  });
  std::weak_ptr<Scheduler> weak = weak_from_this();
  asio::co_spawn(executor_, [weak, closed, reader_slot, request = std::move(request), executor = executor_,
                             master = config_.master]() mutable -> asio::awaitable<void> {
    auto opened = co_await http::StreamReader::open(executor, master, std::move(request));
    auto self = weak.lock();
    if (!self || *closed) co_return;
    if (!opened) co_return self->on_stream_end(opened.error().message, true);
    std::unique_ptr<http::StreamReader> reader = std::move(*opened);
    const auto& header = reader->header();
    if (header.result() == http::Status::temporary_redirect || header.result() == http::Status::service_unavailable) {
      co_return self->on_stream_end(fmt::format("HTTP {}", header.result_int()), true);
    }
    if (header.result() != http::Status::ok) {
      co_return self->on_stream_end(fmt::format("subscription refused: HTTP {}: {}", header.result_int(), header.body()), false);
    }
    self->stream_id_ = std::string(header["Mesos-Stream-Id"]);
    *reader_slot = reader.get();
    self->arm_watchdog();
    self.reset();
    http::RecordIoDecoder decoder;
    std::string why = "stream ended";
    bool retry = true;
    for (;;) {
      auto bytes = co_await reader->read();
      if (*closed) co_return;
      if (!bytes) break;
      decoder.feed(*bytes);
      for (;;) {
        auto record = decoder.next();
        if (!record) {
          why = record.error().message;
          break;
        }
        if (!*record) break;
        auto event = v1::parse_json_body(**record);
        auto me = weak.lock();
        if (!me || *closed) co_return;
        if (!event) continue;
        me->arm_watchdog();
        const std::string type = event->value("type", "");
        if (type == "SUBSCRIBED") {
          me->framework_id_ = FrameworkId((*event)["subscribed"]["framework_id"]["value"].get<std::string>());
          me->heartbeat_interval_ = from_seconds((*event)["subscribed"].value("heartbeat_interval_seconds", 15.0));
          me->backoff_ = me->config_.backoff_initial;
          if (me->callbacks_.subscribed) me->callbacks_.subscribed((*event)["subscribed"]);
        } else if (type == "ERROR") {
          why = (*event)["error"].value("message", "error");
          retry = false;
        }
        if (me->callbacks_.event) me->callbacks_.event(*event);
        if (*closed) co_return;
      }
      if (!retry) break;
    }
    *reader_slot = nullptr;
    if (auto me = weak.lock(); me && !*closed) me->on_stream_end(why, retry);
  }, asio::detached);
}

void Scheduler::arm_watchdog() {
  watchdog_ = clock_.schedule(heartbeat_interval_ * 5, [this] {
    if (!close_stream_) return;
    log::get("scheduler")->warn("no event for {} heartbeat intervals: reconnecting", 5);
    (*close_stream_)();
    on_stream_end("missed heartbeats", true);
  });
}

void Scheduler::on_stream_end(const std::string& why, bool retry) {
  watchdog_.reset();
  stream_id_.clear();
  log::get("scheduler")->info("disconnected from master reason={}", why);
  if (callbacks_.disconnected) callbacks_.disconnected(why);
  if (stopped_ || !retry || !config_.reconnect) return;
  retry_timer_ = clock_.schedule(backoff_, [this] { subscribe(); });
  backoff_ = std::min(backoff_ * 2, config_.backoff_max);
}

void Scheduler::send(nlohmann::json call, Done done) {
  if (framework_id_) call["framework_id"] = *framework_id_;
  auto request = http::make_post(config_.master, "/api/v1/scheduler", v1::dump(call));
  request.set("Mesos-Stream-Id", stream_id_);
  client_->send(std::move(request), [done = std::move(done)](Result<http::Response> response) {
    if (done) done(std::move(response));
  });
}

void Scheduler::accept(const std::vector<std::string>& offer_ids, nlohmann::json operations,
                       std::optional<double> refuse_seconds, Done done) {
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& id : offer_ids) ids.push_back({{"value", id}});
  nlohmann::json accept = {{"offer_ids", ids}, {"operations", std::move(operations)}};
  if (refuse_seconds) accept["filters"] = {{"refuse_seconds", *refuse_seconds}};
  send({{"type", "ACCEPT"}, {"accept", accept}}, std::move(done));
}

void Scheduler::decline(const std::vector<std::string>& offer_ids, std::optional<double> refuse_seconds, Done done) {
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& id : offer_ids) ids.push_back({{"value", id}});
  nlohmann::json decline = {{"offer_ids", ids}};
  if (refuse_seconds) decline["filters"] = {{"refuse_seconds", *refuse_seconds}};
  send({{"type", "DECLINE"}, {"decline", decline}}, std::move(done));
}

void Scheduler::acknowledge(const nlohmann::json& status, Done done) {
  if (!status.contains("uuid") || !status.contains("agent_id")) return;
  send({{"type", "ACKNOWLEDGE"},
        {"acknowledge", {{"agent_id", status["agent_id"]}, {"task_id", status["task_id"]}, {"uuid", status["uuid"]}}}},
       std::move(done));
}

void Scheduler::acknowledge_operation_status(const nlohmann::json& status, Done done) {
  if (!status.contains("uuid") || !status.contains("agent_id")) return;
  // The status carries its uuid as a `UUID` message; the call takes the bytes (base64) alone.
  send({{"type", "ACKNOWLEDGE_OPERATION_STATUS"},
        {"acknowledge_operation_status",
         {{"agent_id", status["agent_id"]}, {"operation_id", status["operation_id"]}, {"uuid", status["uuid"]["value"]}}}},
       std::move(done));
}

void Scheduler::reconcile_operations(nlohmann::json operations, Done done) {
  send({{"type", "RECONCILE_OPERATIONS"}, {"reconcile_operations", {{"operations", std::move(operations)}}}},
       std::move(done));
}

void Scheduler::kill(const std::string& task_id, const std::optional<std::string>& agent_id, Done done) {
  nlohmann::json kill = {{"task_id", {{"value", task_id}}}};
  if (agent_id) kill["agent_id"] = {{"value", *agent_id}};
  send({{"type", "KILL"}, {"kill", kill}}, std::move(done));
}

void Scheduler::reconcile(nlohmann::json tasks, Done done) {
  send({{"type", "RECONCILE"}, {"reconcile", {{"tasks", std::move(tasks)}}}}, std::move(done));
}

void Scheduler::revive(Done done) { send({{"type", "REVIVE"}}, std::move(done)); }
void Scheduler::suppress(Done done) { send({{"type", "SUPPRESS"}}, std::move(done)); }
void Scheduler::teardown(Done done) { send({{"type", "TEARDOWN"}}, std::move(done)); }

nlohmann::json Scheduler::launch_command(const std::string& task_id, const std::string& name,
                                         const std::string& agent_id, const std::string& command,
                                         const nlohmann::json& resources) {
  return {{"type", "LAUNCH"},
          {"launch",
           {{"task_infos",
             {{{"name", name},
               {"task_id", {{"value", task_id}}},
               {"agent_id", {{"value", agent_id}}},
               {"resources", resources},
               {"command", {{"shell", true}, {"value", command}}}}}}}}};
}

}  // namespace dcos::scheduler
