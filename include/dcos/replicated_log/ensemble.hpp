#pragma once
// A replicated log's replicas as operators name them in flags: "host:port" each, the same list
// on every replica. `LogOptions` wants numbered replicas; this turns one into the other so
// that every replica, given the same set in any order, numbers them alike.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "dcos/common/result.hpp"
#include "dcos/replicated_log/types.hpp"

namespace dcos::replicated_log {

struct Ensemble {
  // Every replica; ids are positions in the list sorted by resolved address.
  std::vector<std::pair<NodeId, boost::asio::ip::tcp::endpoint>> replicas;
  NodeId self;  // The entry equal to the `self` address given.
};

// "host:port" (a name or an IPv4 address; "[v6]:port" for IPv6) resolved to its first address.
// Blocks on name resolution: meant for start-up.
Result<boost::asio::ip::tcp::endpoint> resolve_replica_address(std::string_view address);

// Splits a flag value ("h1:p1,h2:p2", or one per line from a file) at commas and white space.
std::vector<std::string> split_replica_list(std::string_view list);

// `addresses` must name distinct replicas (after resolution) and include `self`, the address
// this replica listens on. Errors say which entry is wrong.
Result<Ensemble> make_ensemble(const std::vector<std::string>& addresses, const boost::asio::ip::tcp::endpoint& self);

// A quorum that keeps one log: more than half of the replicas (two quorums always share a
// replica) and no more than all of them (it can be reached). An error explains a bad one.
Result<void> check_quorum(std::size_t quorum, std::size_t replicas);

}  // namespace dcos::replicated_log
