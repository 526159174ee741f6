// `POST /api/v1/executor`: the Mesos v1 executor API on the agent (reference/mesos-api.md §2).
// Status codes follow Mesos's `Http::executor`: 405, 400 (no Content-Type, bad body, failed
// validation, unknown framework or executor), 415, 503 while recovering, 406 for a SUBSCRIBE
// that cannot take JSON, 403 for other calls before SUBSCRIBE; 200 + event stream for
// SUBSCRIBE, 202 for the rest.
#include <boost/algorithm/string.hpp>
#include <fmt/format.h>

#include "dcos/agent/agent.hpp"
#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/http/content_negotiation.hpp"
#include "dcos/http/recordio.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::agent {

namespace beast_http = http::beast_http;
using http::Status;
using v1::TaskState;

namespace {

http::Response text(const http::Request& request, Status status, std::string message) {
  return http::make_response(request, status, std::move(message));
}

// Mesos's `executor::validation::call` for an UPDATE's status; empty when valid.
std::string status_problem(const v1::TaskStatus& status, const FrameworkId& framework, const ExecutorId& executor) {
  if (!status.uuid) return "Expecting 'uuid' to be present";
  if (!is_valid_uuid_bytes(*status.uuid)) return "Invalid UUID in 'uuid'";
  if (status.source != "SOURCE_EXECUTOR") {
    return fmt::format("Received Call from executor {} of framework {} with invalid source, expecting 'SOURCE_EXECUTOR'",
                       executor, framework);
  }
  if (status.state == TaskState::staging) {
    return fmt::format("Received TASK_STAGING from executor {} of framework {} which is not allowed", executor, framework);
  }
  if (status.executor_id && *status.executor_id != executor) {
    return fmt::format("ExecutorID in Call: {} does not match ExecutorID in TaskStatus: {}", executor, *status.executor_id);
  }
  return {};
}

}  // namespace

http::Reply Agent::executor_api(const http::Request& request) {
  if (auto refused = http::check_v1_call(request)) return std::move(*refused);
  auto body = v1::parse_json_body(request.body());
  if (!body) return text(request, Status::bad_request, "Failed to parse body into Call: " + body.error().message);

  std::string type;
  FrameworkId framework_id;
  ExecutorId executor_id;
  std::optional<v1::TaskStatus> status;
  nlohmann::json subscribe, message;
  try {
    if (!body->is_object()) throw v1::DecodeError("Expecting a JSON object");
    v1::Fields call(*body, "");
    type = call.required("type", call.string("type"));
    framework_id = FrameworkId(call.required("framework_id", call.id("framework_id")));
    executor_id = ExecutorId(call.required("executor_id", call.id("executor_id")));
    call.done();
    if (type == "SUBSCRIBE") {
      auto fields = call.object("subscribe");
      if (!fields) throw v1::DecodeError("Expecting 'subscribe' to be present");
      subscribe = fields->json();
    } else if (type == "UPDATE") {
      auto fields = call.object("update");
      if (!fields) throw v1::DecodeError("Expecting 'update' to be present");
      auto status_fields = fields->object("status");
      if (!status_fields) throw v1::DecodeError("Missing required fields: update.status");
      status = v1::decode_task_status(*status_fields);
      if (auto problem = status_problem(*status, framework_id, executor_id); !problem.empty()) throw v1::DecodeError(problem);
    } else if (type == "MESSAGE") {
      auto fields = call.object("message");
      if (!fields) throw v1::DecodeError("Expecting 'message' to be present");
      auto data = fields->required("data", fields->string("data"));
      fields->done();
      if (!base64_decode(data)) throw v1::DecodeError("Failed to parse field 'message.data': not base64");
      message = fields->json();
    } else if (type != "HEARTBEAT") {
      throw v1::DecodeError(fmt::format("Unknown call type '{}'", type));
    }
  } catch (const v1::DecodeError& e) {
    return text(request, Status::bad_request, fmt::format("Failed to validate executor::Call: {}", e.what()));
  } catch (const nlohmann::json::exception& e) {
    return text(request, Status::bad_request, fmt::format("Failed to validate executor::Call: {}", e.what()));
  }

  if (recovering_) return text(request, Status::service_unavailable, "Agent has not finished recovery");
  if (type == "SUBSCRIBE" && !http::accepts_json(request)) {
    return text(request, Status::not_acceptable, "Expecting 'Accept' to allow application/json");
  }
  auto framework = frameworks_.find(framework_id);
  if (framework == frameworks_.end() || framework->second.removed) {
    return text(request, Status::bad_request, "Framework cannot be found");
  }
  ExecutorRun* run = find_run(framework_id, executor_id);
  if (!run || run->command_task) return text(request, Status::bad_request, "Executor cannot be found");
  const bool subscribed = run->state != RunState::launching && run->state != RunState::registering;
  if (type != "SUBSCRIBE" && !subscribed) return text(request, Status::forbidden, "Executor is not subscribed");

  if (type == "SUBSCRIBE") return subscribe_executor(request, *run, subscribe);
  if (type == "UPDATE") return executor_update(request, *run, *status);
  if (type == "MESSAGE") {
    if (registered_) {
      post({{"type", "EXECUTOR_MESSAGE"},
            {"agent_id", id_},
            {"executor_message", {{"framework_id", framework_id}, {"executor_id", executor_id}, {"data", message["data"]}}}});
    } else {
      log::get("agent")->warn("executor message dropped: not registered framework={} executor={}", framework_id, executor_id);
    }
  }
  return text(request, Status::accepted, "");
}

http::Reply Agent::subscribe_executor(const http::Request& request, ExecutorRun& run, const nlohmann::json& subscribe) {
  auto stream = std::make_shared<http::Stream>();
  http::Response response{Status::ok, request.version()};
  response.set(beast_http::field::content_type, "application/json");
  response.set(beast_http::field::cache_control, "no-cache");
  if (run.state == RunState::terminating || run.state == RunState::terminated) {
    // Mesos: an executor subscribing while it is being shut down is told to shut down.
    stream->send(http::recordio_encode(v1::dump({{"type", "SHUTDOWN"}})));
    stream->close();
    return http::Reply(std::move(response), stream);
  }
  if (run.stream && run.stream != stream) run.stream->close();  // A reconnect replaces the old stream.
  run.stream = stream;
  const std::string container_id = run.container_id;
  std::weak_ptr<http::Stream> weak = stream;
  stream->on_closed([this, container_id, weak, alive = alive_] {
    if (!*alive) return;
    auto it = runs_.find(container_id);
    if (it == runs_.end()) return;
    if (auto s = weak.lock(); s && it->second->stream == s) {
      it->second->stream.reset();
      log::get("agent")->info("executor disconnected framework={} executor={}", it->second->framework_id, it->second->id);
    }
  });
  const bool recovered = run.recovered;
  run.recovered = false;
  run.state = RunState::running;
  run.registration_timer.reset();
  log::get("agent")->info("executor subscribed framework={} executor={} container={}", run.framework_id, run.id,
                          run.container_id);

  const auto& framework = frameworks_.at(run.framework_id);
  send_event(run, {{"type", "SUBSCRIBED"},
                   {"subscribed",
                    {{"executor_info", run.info},
                     {"framework_info", v1::to_json(framework.info)},
                     {"agent_info", agent_info()},
                     {"container_id", {{"value", run.container_id}}}}}});

  // Updates the executor sent but never saw acknowledged: already recorded ones are ignored as
  // duplicates (the agent may have died between recording and ACKNOWLEDGED), each is acked.
  for (const auto& update : subscribe.value("unacknowledged_updates", nlohmann::json::array())) {
    try {
      v1::TaskStatus status = v1::decode_task_status(v1::Fields(update.at("status"), "status."));
      if (!status_problem(status, run.framework_id, run.id).empty()) continue;
      status.agent_id = id_;
      status.executor_id = run.id;
      const std::string uuid = *status.uuid;
      const TaskId task = status.task_id;
      if (!run.completed_tasks.contains(task)) record_update(&run, run.framework_id, std::move(status));
      send_event(run, {{"type", "ACKNOWLEDGED"}, {"acknowledged", {{"task_id", task}, {"uuid", base64_encode(uuid)}}}});
    } catch (const std::exception& e) {
      log::get("agent")->warn("ignored a malformed unacknowledged update executor={} error={}", run.id, e.what());
    }
  }
  std::set<TaskId> known_to_executor;
  for (const auto& task : subscribe.value("unacknowledged_tasks", nlohmann::json::array())) {
    if (task.is_object() && task.contains("task_id") && task["task_id"].is_object()) {
      known_to_executor.insert(TaskId(task["task_id"].value("value", "")));
    }
  }
  const bool partition_aware = framework.info.has_capability("PARTITION_AWARE");
  for (auto& [id, task] : run.tasks) {
    if (!task.launched || is_terminal(task.state)) continue;
    if (recovered && task.state == TaskState::staging && !known_to_executor.contains(id)) {
      // Launched while the agent went down, and the executor never got it (Mesos
      // `Slave::subscribe`).
      report(run, task, partition_aware ? TaskState::dropped : TaskState::lost, "Task launched during agent restart",
             "REASON_SLAVE_RESTARTED", "SOURCE_AGENT");
    } else if (task.kill_requested) {
      nlohmann::json kill = {{"task_id", id}};
      if (task.kill_grace) kill["kill_policy"] = {{"grace_period", {{"nanoseconds", task.kill_grace->count()}}}};
      send_event(run, {{"type", "KILL"}, {"kill", kill}});
    }
  }
  const std::vector<TaskId> queued = std::move(run.queued);
  run.queued.clear();
  for (const TaskId& id : queued) {
    auto it = run.tasks.find(id);
    if (it != run.tasks.end() && !is_terminal(it->second.state)) send_launch(run, it->second);
  }
  const auto groups = std::move(run.queued_groups);
  run.queued_groups.clear();
  for (const auto& group : groups) send_launch_group(run, group);
  arm_heartbeat(run);
  return http::Reply(std::move(response), stream);
}

http::Reply Agent::executor_update(const http::Request& request, ExecutorRun& run, const v1::TaskStatus& received) {
  v1::TaskStatus status = received;
  status.agent_id = id_;
  status.executor_id = run.id;
  const std::string uuid = *status.uuid;
  const TaskId task = status.task_id;
  if (!run.completed_tasks.contains(task)) record_update(&run, run.framework_id, std::move(status));
  // Recorded (and checkpointed) by now, or a duplicate of one that was: the executor may drop it.
  send_event(run, {{"type", "ACKNOWLEDGED"}, {"acknowledged", {{"task_id", task}, {"uuid", base64_encode(uuid)}}}});
  return text(request, Status::accepted, "");
}

}  // namespace dcos::agent
