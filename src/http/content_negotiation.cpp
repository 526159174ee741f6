#include "dcos/http/content_negotiation.hpp"

#include <cstdlib>
#include <string>
#include <vector>

#include <boost/algorithm/string.hpp>
#include <fmt/format.h>

namespace dcos::http {

bool accepts_json(const Request& request) {
  auto it = request.find(beast_http::field::accept);
  if (it == request.end()) return true;
  std::vector<std::string> ranges;
  boost::split(ranges, it->value(), boost::is_any_of(","));
  for (auto& range : ranges) {
    std::string type = range.substr(0, range.find(';'));
    boost::trim(type);
    boost::to_lower(type);
    if (type == "application/json" || type == "*/*" || type == "application/*") {
      const auto q = range.find("q=");
      if (q != std::string::npos && std::atof(range.c_str() + q + 2) <= 0) continue;
      return true;
    }
  }
  return false;
}

std::optional<Response> check_v1_call(const Request& request) {
  if (request.method() != beast_http::verb::post) {
    auto response = make_response(request, Status::method_not_allowed,
                                  fmt::format("Expecting 'POST', received '{}'", std::string(request.method_string())));
    response.set(beast_http::field::allow, "POST");
    return response;
  }
  auto content_type = request.find(beast_http::field::content_type);
  if (content_type == request.end()) return make_response(request, Status::bad_request, "Expecting 'Content-Type' to be present");
  if (content_type->value() != "application/json") {
    return make_response(request, Status::unsupported_media_type,
                         fmt::format("Expecting 'Content-Type' of application/json (application/x-protobuf is not "
                                     "supported), received '{}'", std::string(content_type->value())));
  }
  return std::nullopt;
}

}  // namespace dcos::http
