// `POST /api/v1/agent`: the agents' link to the master (docs/design/agent-protocol.md). An agent
// REGISTERs and keeps the response open as its event stream; its other calls (UPDATE, PONG,
// EXECUTOR_MESSAGE) are separate POSTs answered 202.
#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/http/recordio.hpp"
#include "dcos/master/master.hpp"
#include "dcos/master/registrar.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::master {

namespace beast_http = http::beast_http;
using http::Status;

http::Reply Master::agent_api(const http::Request& request) {
  if (request.method() != beast_http::verb::post) {
    auto response = http::make_response(request, Status::method_not_allowed, "Expecting 'POST'");
    response.set(beast_http::field::allow, "POST");
    return response;
  }
  auto body = v1::parse_json_body(request.body());
  if (!body) return http::make_response(request, Status::bad_request, body.error().message);
  const TimePoint now = clock_.now();
  try {
    v1::Fields call(*body, "");
    const std::string type = call.required("type", call.string("type"));
    call.done();
    if (type == "REGISTER") {
      auto fields = call.object("register");
      if (!fields) throw v1::DecodeError("Expecting 'register' to be present");
      MasterCore::AgentRegistration registration;
      if (auto id = fields->id("agent_id")) registration.id = AgentId(*id);
      registration.hostname = fields->required("hostname", fields->string("hostname"));
      registration.port = static_cast<std::uint16_t>(fields->integer("port").value_or(5051));
      registration.version = fields->string("version").value_or("");
      if (const auto* resources = fields->get("resources")) {
        auto decoded = resources_from_json(*resources);
        if (!decoded) throw v1::DecodeError(decoded.error().message);
        registration.resources = std::move(*decoded);
      }
      if (auto attributes = fields->string("attributes")) {
        auto decoded = parse_attributes(*attributes);
        if (!decoded) throw v1::DecodeError(decoded.error().message);
        registration.attributes = std::move(*decoded);
      }
      for (const auto& f : fields->array("frameworks")) {
        v1::FrameworkInfo info = v1::decode_framework_info(v1::Fields(f, "register.frameworks."));
        if (info.id) registration.frameworks.emplace(*info.id, std::move(info));
      }
      for (const auto& t : fields->array("tasks")) {
        v1::Fields task_fields(t, "register.tasks.");
        Task task;
        task.framework_id = FrameworkId(task_fields.required("framework_id", task_fields.id("framework_id")));
        auto info = task_fields.object("task");
        if (!info) throw v1::DecodeError("Missing required fields: register.tasks.task");
        task.info = v1::decode_task_info(*info);
        task.executor_id = ExecutorId(task_fields.id("executor_id").value_or(task.info.task_id.value()));
        auto state = v1::parse_task_state(task_fields.string("state").value_or("TASK_STAGING"));
        task.state = state.value_or(v1::TaskState::staging);
        task_fields.done();
        registration.tasks.push_back(std::move(task));
      }
      fields->done();
      if (!recovered_) return http::make_response(request, Status::service_unavailable, "Master has not finished recovery");
      // The registry admits the agent (or marks it reachable again) before the core registers it
      // and REGISTERED goes out on the stream (docs/design/state.md, "The master's registry").
      auto admission = core_.admission(registration);
      if (!admission) return http::make_response(request, Status::forbidden, admission.error().message);
      const AgentId id = *registration.id;
      const std::string token = random_uuid_string();
      auto stream = std::make_shared<http::Stream>();
      pending_streams_[token] = stream;
      stream->on_closed([this, id, token, stream, alive = alive_] {
        if (!*alive) return;
        pending_streams_.erase(token);
        auto it = agent_streams_.find(id.value());
        if (it == agent_streams_.end() || it->second != stream) return;  // Replaced or already removed.
        agent_streams_.erase(it);
        core_.agent_disconnected(id, clock_.now());
        deliver();
      });
      auto admit = [this, token, stream, alive = alive_](MasterCore::AgentRegistration registration) {
        if (!*alive || stream->closed()) return;  // The agent gave up meanwhile; it will retry.
        core_.register_agent(std::move(registration), token, clock_.now());
        deliver();
      };
      if (!*admission) {
        admit(std::move(registration));
      } else {
        registrar_->apply(std::move(**admission), [this, registration = std::move(registration), admit, token, stream,
                                                   alive = alive_](Result<bool> admitted) mutable {
          if (!*alive) return;
          if (!admitted) {
            // Refused (say, marked gone meanwhile) or the registrar failed: the agent is told
            // nothing but a closed stream, and retries.
            log::get("master")->warn("agent admission failed agent={}: {}", *registration.id, admitted.error().message);
            pending_streams_.erase(token);
            stream->close();
            return;
          }
          admit(std::move(registration));
        });
      }
      http::Response response{Status::ok, request.version()};
      response.set(beast_http::field::content_type, "application/json");
      return http::Reply(std::move(response), stream);
    }

    const AgentId agent(call.required("agent_id", call.id("agent_id")));
    call.done();
    CallOutcome outcome = CallOutcome::ok();
    if (type == "PONG") {
      core_.agent_pong(agent, now);
    } else if (type == "UPDATE") {
      auto update = call.object("update");
      if (!update) throw v1::DecodeError("Expecting 'update' to be present");
      const FrameworkId framework(update->required("framework_id", update->id("framework_id")));
      auto status_fields = update->object("status");
      if (!status_fields) throw v1::DecodeError("Missing required fields: update.status");
      v1::TaskStatus status = v1::decode_task_status(*status_fields);
      std::optional<v1::TaskState> latest;
      if (auto latest_name = update->string("latest_state")) latest = v1::parse_task_state(*latest_name);
      update->done();
      outcome = core_.status_update(agent, framework, std::move(status), latest, now);
    } else if (type == "UPDATE_OPERATION_STATUS") {
      auto update = call.object("update_operation_status");
      if (!update) throw v1::DecodeError("Expecting 'update_operation_status' to be present");
      const FrameworkId framework(update->required("framework_id", update->id("framework_id")));
      const std::string operation_uuid = update->required("operation_uuid", update->string("operation_uuid"));
      auto status = update->object("status");
      if (!status) throw v1::DecodeError("Missing required fields: update_operation_status.status");
      status->required("operation_id", status->id("operation_id"));
      status->required("state", status->string("state"));
      status->done();
      update->done();
      outcome = core_.operation_status_update(agent, framework, operation_uuid, status->json());
    } else if (type == "EXECUTOR_MESSAGE") {
      auto message = call.object("executor_message");
      if (!message) throw v1::DecodeError("Expecting 'executor_message' to be present");
      const FrameworkId framework(message->required("framework_id", message->id("framework_id")));
      const ExecutorId executor(message->required("executor_id", message->id("executor_id")));
      auto data = base64_decode(message->string("data").value_or(""));
      message->done();
      outcome = core_.executor_message(agent, framework, executor, data.value_or(""));
    } else {
      return http::make_response(request, Status::bad_request, fmt::format("Unknown agent call type '{}'", type));
    }
    deliver();
    schedule_allocation();
    switch (outcome.code) {
      case CallOutcome::Code::accepted: return http::make_response(request, Status::accepted);
      case CallOutcome::Code::forbidden: return http::make_response(request, Status::forbidden, outcome.message);
      default: return http::make_response(request, Status::bad_request, outcome.message);
    }
  } catch (const v1::DecodeError& e) {
    return http::make_response(request, Status::bad_request, e.what());
  }
}

}  // namespace dcos::master
