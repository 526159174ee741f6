#include "dcos/http/content_negotiation.hpp"

#include <cstdlib>
#include <string>
#include <vector>

#include <boost/algorithm/string.hpp>

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

}  // namespace dcos::http
