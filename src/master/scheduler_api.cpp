// `POST /api/v1/scheduler`: the Mesos v1 scheduler API (reference/mesos-api.md §1). This file
// maps HTTP to `MasterCore` calls and outcomes to status codes; the decisions live in the core.
#include <boost/algorithm/string.hpp>
#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/http/content_negotiation.hpp"
#include "dcos/http/recordio.hpp"
#include "dcos/master/master.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::master {

namespace beast_http = http::beast_http;
using http::Status;

namespace {

http::Response text(const http::Request& request, Status status, std::string message) {
  return http::make_response(request, status, std::move(message));
}

http::Response outcome_response(const http::Request& request, const CallOutcome& outcome) {
  switch (outcome.code) {
    case CallOutcome::Code::accepted: return http::make_response(request, Status::accepted);
    case CallOutcome::Code::bad_request: return text(request, Status::bad_request, outcome.message);
    case CallOutcome::Code::forbidden: return text(request, Status::forbidden, outcome.message);
    case CallOutcome::Code::not_implemented: return text(request, Status::not_implemented, outcome.message);
  }
  return text(request, Status::internal_server_error, "unreachable");
}

std::vector<OfferId> offer_ids(const v1::Fields& fields) {
  std::vector<OfferId> ids;
  for (const auto& o : fields.array("offer_ids")) {
    v1::Fields f(o, fields.path() + "offer_ids.");
    ids.emplace_back(f.required("value", f.string("value")));
    f.done();
  }
  return ids;
}

}  // namespace

http::Reply Master::scheduler_api(const http::Request& request) {
  if (auto refused = http::check_v1_call(request)) return std::move(*refused);
  if (!recovered_) return text(request, Status::service_unavailable, "Master has not finished recovery");
  auto body = v1::parse_json_body(request.body());
  if (!body) return text(request, Status::bad_request, "Failed to parse body into Call: " + body.error().message);

  const TimePoint now = clock_.now();
  try {
    v1::Fields call(*body, "");
    std::optional<FrameworkId> framework_id;
    if (auto id = call.id("framework_id")) framework_id = FrameworkId(*id);
    const auto type_name = call.string("type");
    if (!type_name) return text(request, Status::bad_request, "Failed to validate scheduler::Call: Expecting 'type' to be present");
    const std::string& type = *type_name;
    const auto sub = [&](const char* key) -> std::optional<v1::Fields> { return call.object(key); };
    const auto require = [&](const char* key) -> v1::Fields {
      auto fields = call.object(key);
      if (!fields) throw v1::DecodeError(fmt::format("Expecting '{}' to be present", key));
      return *fields;
    };

    if (type == "SUBSCRIBE") {
      if (request.find("Mesos-Stream-Id") != request.end()) {
        return text(request, Status::bad_request, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
      }
      if (!http::accepts_json(request)) {
        return text(request, Status::not_acceptable, "Expecting 'Accept' to allow application/json");
      }
      v1::Fields subscribe = require("subscribe");
      auto framework_fields = subscribe.object("framework_info");
      if (!framework_fields) throw v1::DecodeError("Missing required fields: subscribe.framework_info");
      v1::FrameworkInfo info = v1::decode_framework_info(*framework_fields);
      if (framework_id.has_value() != info.id.has_value() || (framework_id && *framework_id != *info.id)) {
        if (framework_id || info.id) {
          return text(request, Status::bad_request,
                      "'framework_id' differs from 'subscribe.framework_info.id'");
        }
      }
      auto suppressed = subscribe.strings("suppressed_roles");
      const std::string stream_id = random_uuid_string();
      auto stream = std::make_shared<http::Stream>();
      http::Response response{Status::ok, request.version()};
      response.set(beast_http::field::content_type, "application/json");
      response.set("Mesos-Stream-Id", stream_id);
      response.set(beast_http::field::cache_control, "no-cache");
      SubscribeOutcome outcome = core_.subscribe(std::move(info), framework_id, std::move(suppressed), stream_id, now);
      if (outcome.error) {
        log::get("master")->warn("subscription refused error={}", *outcome.error);
        nlohmann::json error = {{"type", "ERROR"}, {"error", {{"message", *outcome.error}}}};
        stream->send(http::recordio_encode(v1::dump(error)));
        stream->close();
        deliver();
        return http::Reply(std::move(response), stream);
      }
      pending_streams_[stream_id] = stream;
      const FrameworkId id = outcome.framework_id;
      stream->on_closed([this, id, stream_id, alive = alive_] {
        if (!*alive) return;
        if (auto it = framework_streams_.find(id.value()); it != framework_streams_.end()) {
          if (!it->second->closed()) return;  // A newer subscription owns the framework.
          framework_streams_.erase(it);
        }
        core_.scheduler_disconnected(id, stream_id, clock_.now());
        deliver();
      });
      deliver();
      return http::Reply(std::move(response), stream);
    }

    if (type == "UNKNOWN") return text(request, Status::not_implemented, "Received an unexpected 'UNKNOWN' call");

    static const std::set<std::string> known = {
        "TEARDOWN", "ACCEPT", "DECLINE", "ACCEPT_INVERSE_OFFERS", "DECLINE_INVERSE_OFFERS", "REVIVE", "KILL",
        "SHUTDOWN", "ACKNOWLEDGE", "ACKNOWLEDGE_OPERATION_STATUS", "RECONCILE", "RECONCILE_OPERATIONS", "MESSAGE",
        "REQUEST", "SUPPRESS", "UPDATE_FRAMEWORK"};
    if (!known.contains(type)) {
      return text(request, Status::bad_request,
                  fmt::format("Failed to validate scheduler::Call: Expecting 'type' to be present (unknown type '{}')", type));
    }

    std::string stream_id;
    if (auto it = request.find("Mesos-Stream-Id"); it != request.end()) stream_id = std::string(it->value());
    if (auto checked = core_.check_caller(framework_id, stream_id); checked.code != CallOutcome::Code::accepted) {
      return outcome_response(request, checked);
    }
    const FrameworkId& id = *framework_id;
    CallOutcome outcome = CallOutcome::ok();

    if (type == "TEARDOWN") {
      outcome = core_.teardown(id, now);
    } else if (type == "ACCEPT") {
      outcome = core_.accept(id, require("accept"), now);
    } else if (type == "DECLINE") {
      v1::Fields decline = require("decline");
      std::optional<double> refuse;
      if (auto filters = decline.object("filters")) refuse = filters->number("refuse_seconds");
      outcome = core_.decline(id, offer_ids(decline), refuse, now);
    } else if (type == "REVIVE" || type == "SUPPRESS") {
      std::vector<std::string> roles;
      if (auto fields = sub(type == "REVIVE" ? "revive" : "suppress")) roles = fields->strings("roles");
      outcome = type == "REVIVE" ? core_.revive(id, roles) : core_.suppress(id, roles);
    } else if (type == "KILL") {
      v1::Fields kill = require("kill");
      const TaskId task(kill.required("task_id", kill.id("task_id")));
      std::optional<AgentId> agent;
      if (auto a = kill.id("agent_id")) agent = AgentId(*a);
      std::optional<Duration> grace;
      if (auto policy = kill.object("kill_policy")) {
        if (auto period = policy->object("grace_period")) {
          if (auto ns = period->integer("nanoseconds")) grace = Duration(*ns);
        }
      }
      kill.done();
      outcome = core_.kill(id, task, agent, grace, now);
    } else if (type == "SHUTDOWN") {
      v1::Fields shutdown = require("shutdown");
      const ExecutorId executor(shutdown.required("executor_id", shutdown.id("executor_id")));
      const AgentId agent(shutdown.required("agent_id", shutdown.id("agent_id")));
      shutdown.done();
      outcome = core_.shutdown_executor(id, executor, agent);
    } else if (type == "ACKNOWLEDGE") {
      v1::Fields ack = require("acknowledge");
      const AgentId agent(ack.required("agent_id", ack.id("agent_id")));
      const TaskId task(ack.required("task_id", ack.id("task_id")));
      const std::string uuid_text = ack.required("uuid", ack.string("uuid"));
      ack.done();
      auto uuid = base64_decode(uuid_text);
      if (!uuid || !is_valid_uuid_bytes(*uuid)) {
        return text(request, Status::bad_request, "Failed to validate scheduler::Call: Not a valid UUID");
      }
      outcome = core_.acknowledge(id, agent, task, *uuid);
    } else if (type == "RECONCILE") {
      std::vector<std::pair<TaskId, std::optional<AgentId>>> tasks;
      if (auto reconcile = sub("reconcile")) {
        for (const auto& t : reconcile->array("tasks")) {
          v1::Fields f(t, "reconcile.tasks.");
          TaskId task(f.required("task_id", f.id("task_id")));
          std::optional<AgentId> agent;
          if (auto a = f.id("agent_id")) agent = AgentId(*a);
          f.done();
          tasks.emplace_back(std::move(task), std::move(agent));
        }
      }
      outcome = core_.reconcile(id, tasks, now);
    } else if (type == "MESSAGE") {
      v1::Fields message = require("message");
      const AgentId agent(message.required("agent_id", message.id("agent_id")));
      const ExecutorId executor(message.required("executor_id", message.id("executor_id")));
      const std::string data_text = message.required("data", message.string("data"));
      message.done();
      auto data = base64_decode(data_text);
      if (!data) return text(request, Status::bad_request, "Failed to parse 'message.data': not base64");
      outcome = core_.message(id, agent, executor, *data);
    } else if (type == "REQUEST") {
      // Steers the framework's next offers (docs/design/allocator.md, "Requests").
      std::vector<ResourceRequest> requests;
      if (auto fields = sub("request")) {
        for (const auto& r : fields->array("requests")) {
          v1::Fields f(r, "request.requests.");
          ResourceRequest request_entry;
          if (auto a = f.id("agent_id")) request_entry.agent = AgentId(*a);
          if (const auto* resources = f.get("resources")) {
            auto decoded = resources_from_json(*resources);
            if (!decoded) {
              return text(request, Status::bad_request,
                          "Failed to validate scheduler::Call: 'request.requests.resources': " + decoded.error().message);
            }
            request_entry.resources = std::move(*decoded);
          }
          requests.push_back(std::move(request_entry));
        }
      }
      outcome = core_.request(id, std::move(requests));
    } else if (type == "ACKNOWLEDGE_OPERATION_STATUS") {
      v1::Fields ack = require("acknowledge_operation_status");
      const AgentId agent(ack.required("agent_id", ack.id("agent_id")));
      const std::string operation = ack.required("operation_id", ack.id("operation_id"));
      const std::string uuid_text = ack.required("uuid", ack.string("uuid"));
      ack.done();
      auto uuid = base64_decode(uuid_text);
      if (!uuid || !is_valid_uuid_bytes(*uuid)) {
        return text(request, Status::bad_request, "Failed to validate scheduler::Call: Not a valid UUID");
      }
      outcome = core_.acknowledge_operation_status(id, agent, operation, *uuid);
    } else if (type == "RECONCILE_OPERATIONS") {
      std::vector<std::pair<std::string, std::optional<AgentId>>> operations;
      if (auto reconcile = sub("reconcile_operations")) {
        for (const auto& o : reconcile->array("operations")) {
          v1::Fields f(o, "reconcile_operations.operations.");
          std::string operation = f.required("operation_id", f.id("operation_id"));
          std::optional<AgentId> agent;
          if (auto a = f.id("agent_id")) agent = AgentId(*a);
          f.done();
          operations.emplace_back(std::move(operation), std::move(agent));
        }
      }
      outcome = core_.reconcile_operations(id, operations);
    } else if (type == "ACCEPT_INVERSE_OFFERS" || type == "DECLINE_INVERSE_OFFERS") {
      outcome = CallOutcome::ok();  // Accepted; this master makes no inverse offers.
    } else if (type == "UPDATE_FRAMEWORK") {
      v1::Fields update = require("update_framework");
      auto info_fields = update.object("framework_info");
      if (!info_fields) throw v1::DecodeError("Missing required fields: update_framework.framework_info");
      v1::FrameworkInfo info = v1::decode_framework_info(*info_fields);
      auto suppressed = update.strings("suppressed_roles");
      outcome = core_.update_framework(id, std::move(info), std::move(suppressed));
      deliver();
      schedule_allocation();
      // UPDATE_FRAMEWORK answers 200, not 202, once applied.
      if (outcome.code == CallOutcome::Code::accepted) return http::make_response(request, Status::ok);
      return outcome_response(request, outcome);
    }
    deliver();
    // Declines, revives and kills free resources without any event to send: allocate anyway.
    schedule_allocation();
    return outcome_response(request, outcome);
  } catch (const v1::DecodeError& e) {
    return text(request, Status::bad_request, std::string("Failed to convert JSON into Call protobuf: ") + e.what());
  }
}

}  // namespace dcos::master
