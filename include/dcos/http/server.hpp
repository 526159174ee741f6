#pragma once
// The HTTP server every daemon and in-process component serves its API on (Boost.Beast).
// Handlers are plain functions from a request to a reply, run on the server's executor; a reply
// may turn into an endless chunked event stream that the owner feeds through `Stream`.
//
// Threading: a `Server` and all its streams belong to one single-threaded `io_context` (or one
// strand); call `Stream::send` only from there.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "dcos/common/result.hpp"

namespace dcos::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;
using Status = beast_http::status;

// A response with a plain-text (or JSON) body and Content-Length.
Response make_response(const Request& request, Status status, std::string body = {},
                       std::string content_type = "text/plain; charset=utf-8");
Response make_json_response(const Request& request, Status status, const std::string& json);

// The server side of one event stream. Records are written in order, each whole in one HTTP
// chunk. When the peer goes away or `close()` completes, `on_closed` runs once.
class Stream {
 public:
  // Queues one already-framed record. Returns false (and drops it) once the stream is closed.
  bool send(std::string bytes);
  // Writes what is queued, ends the chunked body and closes the connection.
  void close();
  bool closed() const { return closing_ || closed_; }
  void on_closed(std::function<void()> fn) { on_closed_ = std::move(fn); }
  size_t queued() const { return queue_.size(); }
  const std::string& peer() const { return peer_; }

 private:
  friend class Connection;
  std::deque<std::string> queue_;
  bool closing_ = false;
  bool closed_ = false;
  std::function<void()> on_closed_;
  std::function<void()> wake_;  // Set by the connection writing this stream.
  std::string peer_;
};

// A response the handler decides later (after a durable write, say): it returns
// `Reply::later(deferred)` and calls `resolve` once, on the server's executor. The connection
// waits for it (a request pipelined behind waits too); when the server stops first, the
// connection closes unanswered and a later `resolve` goes nowhere.
class Deferred {
 public:
  void resolve(Response response);
  bool resolved() const { return response_.has_value(); }

 private:
  friend class Connection;
  std::optional<Response> response_;
  std::function<void()> wake_;  // Set by the connection waiting for it.
};

struct Reply {
  Response response;                   // For a stream: status and headers; the body is ignored.
  std::shared_ptr<Stream> stream;      // Non-null turns the response into a chunked event stream.
  std::shared_ptr<Deferred> deferred;  // Non-null: `response` is ignored, the deferred one is sent.

  Reply(Response r) : response(std::move(r)) {}  // NOLINT: implicit by design.
  Reply(Response r, std::shared_ptr<Stream> s) : response(std::move(r)), stream(std::move(s)) {}
  static Reply later(std::shared_ptr<Deferred> deferred) {
    Reply reply{Response{}};
    reply.deferred = std::move(deferred);
    return reply;
  }
};

using Handler = std::function<Reply(const Request&)>;

// Decides every request before it reaches a route: return a response to refuse it (401/403),
// nullopt to let it through. This is where authentication and authorization plug in.
using Gate = std::function<std::optional<Response>(const Request&)>;

class Router {
 public:
  // Exact path match on the target without its query string.
  void add(std::string path, Handler handler);
  void set_gate(Gate gate) { gate_ = std::move(gate); }
  Reply route(const Request& request) const;

 private:
  std::map<std::string, Handler, std::less<>> routes_;
  Gate gate_;
};

struct ServerLimits {
  std::uint64_t body_bytes_max = 8 * 1024 * 1024;
  std::uint32_t header_bytes_max = 64 * 1024;
  std::chrono::seconds idle_timeout{300};  // A keep-alive connection with no request is closed.
};

class Server {
 public:
  Server(boost::asio::any_io_executor executor, std::shared_ptr<const Router> router, ServerLimits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Port 0 picks a free port; the bound port is returned.
  Result<std::uint16_t> listen(const std::string& address, std::uint16_t port);
  // Stops accepting and closes every connection, streams included.
  void stop();
  std::uint16_t port() const { return port_; }

  struct State;  // Shared with connections; opaque outside server.cpp.

 private:
  std::shared_ptr<State> state_;
  std::uint16_t port_ = 0;
};

// The query parameters of a target, decoded (`?a=1&b=x%20y`).
std::map<std::string, std::string> query_parameters(std::string_view target);
// The target without its query string.
std::string_view target_path(std::string_view target);

}  // namespace dcos::http
