#pragma once
// Content negotiation shared by the v1 APIs (scheduler, executor, operator).

#include <optional>

#include "dcos/http/server.hpp"

namespace dcos::http {

// True when the request's `Accept` header admits `application/json`: absent, or a range
// `application/json`, `application/*` or `*/*` whose `q` is not 0 ("not acceptable").
bool accepts_json(const Request& request);

// What the v1 call endpoints (scheduler, executor) check before reading a body: the method is
// POST (else 405 with `Allow: POST`) and the Content-Type is application/json (400 when absent,
// 415 for anything else, protobuf included). The error response, or nullopt to go on.
std::optional<Response> check_v1_call(const Request& request);

}  // namespace dcos::http
