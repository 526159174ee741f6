#include "dcos/replicated_log/ensemble.hpp"

#include <algorithm>
#include <charconv>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

namespace dcos::replicated_log {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string show(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), endpoint.port())
                         : fmt::format("{}:{}", address.to_string(), endpoint.port());
}

}  // namespace

Result<tcp::endpoint> resolve_replica_address(std::string_view address) {
  address = trim(address);
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return fail(Errc::invalid_argument, fmt::format("replica address '{}' is not host:port", address));
  }
  std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return fail(Errc::invalid_argument, fmt::format("replica address '{}' has no valid port (1-65535)", address));
  }
  boost::system::error_code error;
  const auto literal = asio::ip::make_address(std::string(host), error);
  if (!error) return tcp::endpoint(literal, static_cast<std::uint16_t>(port));
  asio::io_context io;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(std::string(host), std::string(port_text), error);
  if (error || results.empty()) {
    return fail(Errc::invalid_argument, fmt::format("replica address '{}': cannot resolve '{}': {}", address, host,
                                                    error ? error.message() : "no address"));
  }
  return results.begin()->endpoint();
}

std::vector<std::string> split_replica_list(std::string_view list) {
  std::vector<std::string> out;
  constexpr std::string_view separators = ", \t\r\n";
  while (!list.empty()) {
    const auto end = list.find_first_of(separators);
    if (end != 0) out.emplace_back(list.substr(0, end));
    if (end == std::string_view::npos) break;
    list.remove_prefix(end + 1);
  }
  return out;
}

Result<Ensemble> make_ensemble(const std::vector<std::string>& addresses, const tcp::endpoint& self) {
  std::vector<tcp::endpoint> endpoints;
  for (const std::string& address : addresses) {
    auto endpoint = resolve_replica_address(address);
    if (!endpoint) return tl::unexpected(endpoint.error());
    if (std::find(endpoints.begin(), endpoints.end(), *endpoint) != endpoints.end()) {
      return fail(Errc::invalid_argument, fmt::format("replica {} is listed twice (as '{}')", show(*endpoint), address));
    }
    endpoints.push_back(*endpoint);
  }
  // Sorted, so that the numbering does not depend on the order each replica was given.
  std::sort(endpoints.begin(), endpoints.end());
  Ensemble ensemble;
  bool found = false;
  for (std::uint32_t i = 0; i < endpoints.size(); ++i) {
    ensemble.replicas.emplace_back(NodeId{i}, endpoints[i]);
    if (endpoints[i] == self) {
      ensemble.self = NodeId{i};
      found = true;
    }
  }
  if (!found) {
    return fail(Errc::invalid_argument,
                fmt::format("the replicas listed do not include this one ({}): list every replica, this one too", show(self)));
  }
  return ensemble;
}

Result<void> check_quorum(std::size_t quorum, std::size_t replicas) {
  if (quorum > replicas) {
    return fail(Errc::invalid_argument,
                fmt::format("quorum {} is more than the {} replicas: no write could ever be chosen", quorum, replicas));
  }
  if (quorum * 2 <= replicas) {
    return fail(Errc::invalid_argument,
                fmt::format("quorum {} is not a majority of the {} replicas: two writers could each reach one alone "
                            "(use at least {})",
                            quorum, replicas, replicas / 2 + 1));
  }
  return {};
}

}  // namespace dcos::replicated_log
