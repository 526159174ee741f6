#pragma once
// Replica-to-replica messaging over TCP. Each link carries frames:
//   u32 big-endian length | length bytes of { varint size | encoded Envelope } ...
// so everything queued for a peer while the previous frame was being written goes out as one
// frame (one syscall, one wake-up at the receiver). Delivery is best effort: a message to a peer
// that cannot be reached is dropped, exactly as the cores expect of any network; they
// retransmit. Queues are bounded (`queue_bytes_max`); beyond it new messages are dropped.
//
// Runs on the given io_context, which must be run by exactly one thread; `send()` may be called
// from any thread.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "dcos/common/result.hpp"
#include "dcos/replicated_log/messages.hpp"

namespace dcos::replicated_log::detail {

class Transport : public std::enable_shared_from_this<Transport> {
 public:
  using Deliver = std::function<void(std::vector<Envelope>)>;
  static constexpr std::size_t frame_bytes_max = 64 << 20;
  static constexpr std::size_t queue_bytes_max = 256 << 20;

  // `deliver` is called on the io thread with every envelope of one received frame.
  Transport(boost::asio::io_context& io, std::map<NodeId, boost::asio::ip::tcp::endpoint> peers, Deliver deliver);
  ~Transport();

  // Binds and starts accepting. Port 0 picks a free port (see `local_endpoint()`).
  Result<void> listen(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void send(std::vector<Envelope> envelopes);
  // Closes every socket; call from any thread, then stop the io_context.
  void stop();

 private:
  struct Link;
  void enqueue(std::vector<Envelope> envelopes);
  void start_writing(Link& link);

  boost::asio::io_context& io_;
  std::map<NodeId, boost::asio::ip::tcp::endpoint> peers_;
  Deliver deliver_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::map<NodeId, std::shared_ptr<Link>> links_;
  std::vector<std::weak_ptr<boost::asio::ip::tcp::socket>> inbound_;
  bool stopped_ = false;
};

}  // namespace dcos::replicated_log::detail
