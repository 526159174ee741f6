#pragma once
// HTTP clients on Boost.Beast: `Client` sends requests over one kept-alive connection, one at a
// time and in order; `StreamReader` opens a request whose response body is an endless stream
// (the scheduler's and agent's event streams) and hands its bytes over as they arrive.
//
// Threading: use each object only from its executor's thread (or strand).

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "dcos/common/result.hpp"
#include "dcos/http/server.hpp"

namespace dcos::http {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
  bool operator==(const Endpoint&) const = default;
};

// Parses "host:port" (an optional "http://" prefix and trailing path are tolerated).
Result<Endpoint> parse_endpoint(std::string_view text);

// A JSON POST to `target` with the given extra headers (e.g. Mesos-Stream-Id).
Request make_post(const Endpoint& endpoint, std::string target, std::string body,
                  std::string content_type = "application/json");

class Client : public std::enable_shared_from_this<Client> {
 public:
  using Callback = std::function<void(Result<Response>)>;

  static std::shared_ptr<Client> create(boost::asio::any_io_executor executor, Endpoint endpoint,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Queues `request`; `callback` runs with the response or the transport error. Requests are
  // sent in order on one connection, reconnecting when the peer closed it.
  void send(Request request, Callback callback);
  boost::asio::awaitable<Result<Response>> request(Request request);
  // Fails every queued request with `Errc::cancelled` and closes the connection.
  void close();
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  Client(boost::asio::any_io_executor executor, Endpoint endpoint, std::chrono::milliseconds timeout);
  boost::asio::awaitable<void> drain();
  struct Connection;
  boost::asio::any_io_executor executor_;
  Endpoint endpoint_;
  std::chrono::milliseconds timeout_;
  std::deque<std::pair<Request, Callback>> queue_;
  std::unique_ptr<Connection> connection_;
  bool draining_ = false;
  bool closed_ = false;
};

class StreamReader {
 public:
  ~StreamReader();
  // Connects, sends `request` and reads the response header. A response that is not a stream
  // (any status but 200, or a body with a length) is read whole and returned as `header()`
  // with its body; `read()` then reports the end.
  static boost::asio::awaitable<Result<std::unique_ptr<StreamReader>>> open(
      boost::asio::any_io_executor executor, Endpoint endpoint, Request request,
      std::chrono::milliseconds connect_timeout = std::chrono::seconds(10));
  const Response& header() const { return header_; }
  // The next body bytes; an error once the stream ended or failed.
  boost::asio::awaitable<Result<std::string>> read();
  void close();

 private:
  StreamReader();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Response header_;
};

}  // namespace dcos::http
