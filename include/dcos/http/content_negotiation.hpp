#pragma once
// Content negotiation shared by the v1 APIs (scheduler, executor, operator).

#include "dcos/http/server.hpp"

namespace dcos::http {

// True when the request's `Accept` header admits `application/json`: absent, or a range
// `application/json`, `application/*` or `*/*` whose `q` is not 0 ("not acceptable").
bool accepts_json(const Request& request);

}  // namespace dcos::http
