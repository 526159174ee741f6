// The operator calls RESERVE_RESOURCES and UNRESERVE_RESOURCES (`POST /api/v1`), in Mesos's
// shapes and status codes (reference/mesos-api.md §3): 202 once applied, 400 for a malformed
// call, an unknown agent or invalid resources, 409 when the agent does not have the resources
// free. Validation is in reservation_operations.cpp, the decision in `MasterCore`.
#include <fmt/format.h>

#include "dcos/master/master.hpp"
#include "dcos/master/reservation_operations.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::master {

using http::Status;

namespace {

// The resources at `fields[key]` (an array of v1 Resource), or empty when absent.
Resources resources_at(const v1::Fields& fields, const char* key) {
  const nlohmann::json* value = fields.get(key);
  if (!value) return {};
  auto decoded = resources_from_json(*value);
  if (!decoded) throw v1::DecodeError(fmt::format("Invalid '{}{}': {}", fields.path(), key, decoded.error().message));
  return std::move(*decoded);
}

}  // namespace

std::optional<http::Reply> Master::reservation_call(const http::Request& request, const std::string& type,
                                                    const nlohmann::json& body) {
  const bool reserve = type == "RESERVE_RESOURCES";
  if (!reserve && type != "UNRESERVE_RESOURCES") return std::nullopt;
  const char* key = reserve ? "reserve_resources" : "unreserve_resources";
  AgentId agent;
  Result<Conversion> conversion;
  try {
    v1::Fields call(body, "");
    auto fields = call.object(key);
    if (!fields) throw v1::DecodeError(fmt::format("Expecting '{}' to be present", key));
    agent = AgentId(fields->required("agent_id", fields->id("agent_id")));
    fields->done();
    const Resources resources = resources_at(*fields, "resources");
    conversion = reserve ? operator_reserve_conversion(resources, resources_at(*fields, "source"))
                         : operator_unreserve_conversion(resources);
  } catch (const v1::DecodeError& e) {
    return http::make_response(request, Status::bad_request, e.what());
  }
  if (!recovered_) return http::make_response(request, Status::service_unavailable, "Master has not finished recovery");
  if (!conversion) return http::make_response(request, Status::bad_request, conversion.error().message);
  auto applied = core_.apply_operator_reservation(agent, reserve ? "RESERVE" : "UNRESERVE", *conversion);
  deliver();  // Rescinded offers and the agent's CHECKPOINT_RESOURCES go out even on a conflict.
  if (!applied) {
    const bool conflict = applied.error().code == make_error_code(Errc::unavailable);
    return http::make_response(request, conflict ? Status::conflict : Status::bad_request, applied.error().message);
  }
  return http::make_response(request, Status::accepted);
}

}  // namespace dcos::master
