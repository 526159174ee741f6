#include "dcos/http/server.hpp"

#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include "dcos/common/log.hpp"

namespace dcos::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

Response make_response(const Request& request, Status status, std::string body, std::string content_type) {
  Response response{status, request.version()};
  response.set(beast_http::field::server, "dcos");
  if (!body.empty()) response.set(beast_http::field::content_type, content_type);
  response.body() = std::move(body);
  response.keep_alive(request.keep_alive());
  response.prepare_payload();
  return response;
}

Response make_json_response(const Request& request, Status status, const std::string& json) {
  return make_response(request, status, json, "application/json");
}

bool Stream::send(std::string bytes) {
  if (closed()) return false;
  queue_.push_back(std::move(bytes));
  if (wake_) wake_();
  return true;
}

void Stream::close() {
  if (closed()) return;
  closing_ = true;
  if (wake_) wake_();
}

void Deferred::resolve(Response response) {
  DCOS_ASSERT(!response_);
  response_ = std::move(response);
  if (wake_) wake_();
}

std::string_view target_path(std::string_view target) {
  return target.substr(0, target.find('?'));
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> query_parameters(std::string_view target) {
  std::map<std::string, std::string> out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (!pair.empty()) {
      out[percent_decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

void Router::add(std::string path, Handler handler) { routes_[std::move(path)] = std::move(handler); }

Reply Router::route(const Request& request) const {
  if (gate_) {
    if (auto refused = gate_(request)) return std::move(*refused);
  }
  const auto it = routes_.find(target_path(request.target()));
  if (it == routes_.end()) return make_response(request, Status::not_found);
  return it->second(request);
}

struct Server::State {
  asio::any_io_executor executor;
  std::shared_ptr<const Router> router;
  ServerLimits limits;
  std::optional<tcp::acceptor> acceptor;
  std::set<std::shared_ptr<class Connection>> connections;
  bool stopped = false;
  std::shared_ptr<spdlog::logger> log = log::get("http");
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::weak_ptr<Server::State> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    beast::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = fmt::format("{}:{}", remote.address().to_string(), remote.port());
  }

  asio::awaitable<void> run(std::shared_ptr<Server::State> server) {
    beast::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    beast::flat_buffer buffer;
    for (;;) {
      beast_http::request_parser<beast_http::string_body> parser;
      parser.body_limit(server->limits.body_bytes_max);
      parser.header_limit(server->limits.header_bytes_max);
      stream_.expires_after(server->limits.idle_timeout);
      co_await beast_http::async_read(stream_, buffer, parser, token);
      if (ec) {
        // A request we refuse to read whole still gets an answer saying why.
        std::optional<Status> status;
        if (ec == beast_http::error::body_limit) status = Status::payload_too_large;
        else if (ec == beast_http::error::header_limit) status = Status::request_header_fields_too_large;
        else if (ec.category() == beast_http::make_error_code(beast_http::error::bad_target).category()) status = Status::bad_request;
        if (status && !server->stopped) {
          Request dummy;
          dummy.version(11);
          auto response = make_response(dummy, *status, fmt::format("Failed to read request: {}", ec.message()));
          response.keep_alive(false);
          co_await beast_http::async_write(stream_, response, token);
        }
        break;
      }
      Request request = parser.release();
      std::optional<Reply> reply;
      try {
        reply.emplace(server->router->route(request));
      } catch (const std::exception& e) {
        server->log->error("handler failed target={} error={}", std::string(request.target()), e.what());
        reply.emplace(make_response(request, Status::internal_server_error, "Internal error"));
      }
      if (reply->stream) {
        co_await serve_stream(std::move(*reply), server);
        break;
      }
      if (reply->deferred) {
        std::optional<Response> later = co_await wait_for(std::move(reply->deferred));
        if (!later) break;  // The server stopped first.
        later->keep_alive(later->keep_alive() && request.keep_alive());
        reply.emplace(std::move(*later));
      }
      Response& response = reply->response;
      if (request.method() == beast_http::verb::head) response.body().clear();
      response.prepare_payload();
      const bool keep_alive = response.keep_alive() && !server->stopped;
      co_await beast_http::async_write(stream_, response, token);
      if (ec || !keep_alive) break;
    }
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  void close() {
    if (stream_state_) {
      stream_state_->closing_ = true;
      if (stream_state_->wake_) stream_state_->wake_();
    }
    if (auto waiting = std::exchange(waiting_for_, nullptr); waiting && waiting->wake_) waiting->wake_();
    beast::error_code ec;
    stream_.socket().cancel(ec);
    stream_.socket().close(ec);
  }

 private:
  // The deferred response once resolved; nullopt when the connection closed first.
  asio::awaitable<std::optional<Response>> wait_for(std::shared_ptr<Deferred> deferred) {
    if (!deferred->resolved()) {
      // Shared with `wake_`: a resolve after this frame is gone must not touch its timer.
      auto wake = std::make_shared<asio::steady_timer>(stream_.get_executor(), asio::steady_timer::time_point::max());
      deferred->wake_ = [weak = std::weak_ptr<asio::steady_timer>(wake)] {
        if (auto timer = weak.lock()) timer->cancel();
      };
      waiting_for_ = deferred;
      beast::error_code ec;
      co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      waiting_for_ = nullptr;
      deferred->wake_ = nullptr;
    }
    if (!deferred->resolved()) co_return std::nullopt;
    co_return std::move(*deferred->response_);
  }

  asio::awaitable<void> serve_stream(Reply reply, std::shared_ptr<Server::State> server) {
    beast::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    std::shared_ptr<Stream> stream = std::move(reply.stream);
    stream_state_ = stream;
    stream->peer_ = peer_;
    Response& response = reply.response;
    response.body().clear();
    response.keep_alive(false);
    response.chunked(true);
    stream_.expires_never();
    beast_http::response_serializer<beast_http::string_body> serializer(response);
    co_await beast_http::async_write_header(stream_, serializer, token);

    bool peer_gone = static_cast<bool>(ec);
    asio::steady_timer wake(stream_.get_executor());
    wake.expires_at(asio::steady_timer::time_point::max());
    stream->wake_ = [&wake] { wake.cancel(); };

    // Nothing is expected from the peer: any read completing means it closed or reset.
    auto self = shared_from_this();
    auto watch = std::make_shared<bool>(false);
    asio::co_spawn(stream_.get_executor(), [self, watch, &wake, stream]() -> asio::awaitable<void> {
      beast::error_code read_ec;
      char scratch[256];
      for (;;) {
        co_await self->stream_.socket().async_read_some(asio::buffer(scratch),
                                                        asio::redirect_error(asio::use_awaitable, read_ec));
        if (read_ec) break;
      }
      if (!*watch) {
        *watch = true;
        if (stream->wake_) wake.cancel();
      }
    }, asio::detached);

    std::string batch;
    while (!peer_gone && !server->stopped) {
      batch.clear();
      while (!stream->queue_.empty()) {
        const std::string& record = stream->queue_.front();
        batch += fmt::format("{:x}\r\n", record.size());
        batch += record;
        batch += "\r\n";
        stream->queue_.pop_front();
      }
      const bool finishing = stream->closing_;
      if (finishing) batch += "0\r\n\r\n";
      if (!batch.empty()) {
        co_await asio::async_write(stream_.socket(), asio::buffer(batch), token);
        if (ec) break;
      }
      if (finishing || *watch) break;
      // A send or close during the write above found no wait to cancel: look again first.
      if (!stream->queue_.empty() || stream->closing_) continue;
      wake.expires_at(asio::steady_timer::time_point::max());
      co_await wake.async_wait(token);
      ec = {};
    }
    *watch = true;
    stream->wake_ = nullptr;
    stream->closed_ = true;
    stream->queue_.clear();
    stream_state_.reset();
    if (auto on_closed = std::move(stream->on_closed_)) on_closed();
  }

  beast::tcp_stream stream_;
  std::weak_ptr<Server::State> server_;
  std::string peer_;
  std::shared_ptr<Stream> stream_state_;
  std::shared_ptr<Deferred> waiting_for_;  // The deferred reply being waited for, if any.
};

Server::Server(asio::any_io_executor executor, std::shared_ptr<const Router> router, ServerLimits limits)
    : state_(std::make_shared<State>()) {
  state_->executor = std::move(executor);
  state_->router = std::move(router);
  state_->limits = limits;
}

Server::~Server() { stop(); }

Result<std::uint16_t> Server::listen(const std::string& address, std::uint16_t port) {
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) return fail(ec, fmt::format("listen: bad address '{}'", address));
  tcp::endpoint endpoint(ip, port);
  auto& acceptor = state_->acceptor.emplace(state_->executor);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec, fmt::format("listen on {}:{}: {}", address, port, ec.message()));
  port_ = acceptor.local_endpoint().port();
  auto state = state_;
  asio::co_spawn(state_->executor, [state]() -> asio::awaitable<void> {
    for (;;) {
      beast::error_code accept_ec;
      tcp::socket socket = co_await state->acceptor->async_accept(asio::redirect_error(asio::use_awaitable, accept_ec));
      if (state->stopped) break;
      if (accept_ec) {
        if (accept_ec == asio::error::operation_aborted) break;
        state->log->warn("accept failed error={}", accept_ec.message());
        continue;
      }
      socket.set_option(tcp::no_delay(true), accept_ec);
      auto connection = std::make_shared<Connection>(std::move(socket), state);
      state->connections.insert(connection);
      asio::co_spawn(state->executor, connection->run(state), [state, connection](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            state->log->error("connection failed error={}", ex.what());
          }
        }
        state->connections.erase(connection);
      });
    }
  }, asio::detached);
  return port_;
}

void Server::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  beast::error_code ec;
  if (state_->acceptor) state_->acceptor->close(ec);
  auto connections = state_->connections;
  for (const auto& connection : connections) connection->close();
}

}  // namespace dcos::http
