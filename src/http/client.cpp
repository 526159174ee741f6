#include "dcos/http/client.hpp"

#include <charconv>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

namespace dcos::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

Result<Endpoint> parse_endpoint(std::string_view text) {
  std::string_view rest = text;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  rest = rest.substr(0, rest.find('/'));
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return fail(Errc::invalid_argument, fmt::format("'{}' is not host:port", text));
  }
  std::uint16_t port = 0;
  const auto digits = rest.substr(colon + 1);
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || port == 0) {
    return fail(Errc::invalid_argument, fmt::format("'{}' has no valid port", text));
  }
  return Endpoint{std::string(rest.substr(0, colon)), port};
}

Request make_post(const Endpoint& endpoint, std::string target, std::string body, std::string content_type) {
  Request request{beast_http::verb::post, target, 11};
  request.set(beast_http::field::host, endpoint.to_string());
  request.set(beast_http::field::content_type, content_type);
  request.set(beast_http::field::accept, "application/json");
  request.body() = std::move(body);
  request.keep_alive(true);
  request.prepare_payload();
  return request;
}

namespace {

asio::awaitable<beast::error_code> connect(beast::tcp_stream& stream, const Endpoint& endpoint,
                                           std::chrono::milliseconds timeout) {
  beast::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  // A numeric address needs no lookup. Asio resolves on a private thread, so skipping it keeps
  // every step of a loopback exchange on the io_context (what lets a test's manual clock advance
  // without racing that thread) and spares a thread hop on each new connection.
  beast::error_code not_numeric;
  const auto address = asio::ip::make_address(endpoint.host, not_numeric);
  if (!not_numeric) {
    stream.expires_after(timeout);
    co_await stream.async_connect(tcp::endpoint(address, endpoint.port), token);
  } else {
    tcp::resolver resolver(stream.get_executor());
    const auto results = co_await resolver.async_resolve(endpoint.host, std::to_string(endpoint.port), token);
    if (ec) co_return ec;
    stream.expires_after(timeout);
    co_await stream.async_connect(results, token);
  }
  if (!ec) stream.socket().set_option(tcp::no_delay(true), ec);
  co_return ec;
}

}  // namespace

struct Client::Connection {
  explicit Connection(asio::any_io_executor executor) : stream(executor) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  bool open = false;
};

std::shared_ptr<Client> Client::create(asio::any_io_executor executor, Endpoint endpoint,
                                       std::chrono::milliseconds timeout) {
  return std::shared_ptr<Client>(new Client(std::move(executor), std::move(endpoint), timeout));
}

Client::Client(asio::any_io_executor executor, Endpoint endpoint, std::chrono::milliseconds timeout)
    : executor_(std::move(executor)), endpoint_(std::move(endpoint)), timeout_(timeout) {}

void Client::send(Request request, Callback callback) {
  if (closed_) {
    asio::post(executor_, [callback = std::move(callback)] { callback(fail(Errc::cancelled, "client closed")); });
    return;
  }
  request.set(beast_http::field::host, endpoint_.to_string());
  request.keep_alive(true);
  request.prepare_payload();
  queue_.emplace_back(std::move(request), std::move(callback));
  if (!draining_) {
    draining_ = true;
    asio::co_spawn(executor_, [self = shared_from_this()]() { return self->drain(); }, asio::detached);
  }
}

asio::awaitable<Result<Response>> Client::request(Request request) {
  auto result = std::make_shared<std::optional<Result<Response>>>();
  asio::steady_timer done(executor_, asio::steady_timer::time_point::max());
  send(std::move(request), [result, &done](Result<Response> r) {
    *result = std::move(r);
    done.cancel();
  });
  beast::error_code ec;
  while (!*result) co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return std::move(**result);
}

void Client::close() {
  closed_ = true;
  if (connection_) {
    beast::error_code ec;
    connection_->stream.socket().close(ec);
  }
}

asio::awaitable<void> Client::drain() {
  beast::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  while (!queue_.empty()) {
    auto [request, callback] = std::move(queue_.front());
    queue_.pop_front();
    if (closed_) {
      callback(fail(Errc::cancelled, "client closed"));
      continue;
    }
    Result<Response> result = fail(Errc::unavailable, "not sent");
    // A kept-alive connection may have been closed by the peer meanwhile: retry once, fresh.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = connection_ && connection_->open;
      if (!reused) {
        connection_ = std::make_unique<Connection>(executor_);
        ec = co_await connect(connection_->stream, endpoint_, timeout_);
        if (ec) {
          result = fail(Errc::unavailable, fmt::format("connect to {}: {}", endpoint_.to_string(), ec.message()));
          connection_.reset();
          break;
        }
        connection_->open = true;
      }
      connection_->stream.expires_after(timeout_);
      co_await beast_http::async_write(connection_->stream, request, token);
      Response response;
      if (!ec) {
        beast_http::response_parser<beast_http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        co_await beast_http::async_read(connection_->stream, connection_->buffer, parser, token);
        if (!ec) response = parser.release();
      }
      if (ec) {
        connection_.reset();
        result = fail(Errc::unavailable, fmt::format("request to {}: {}", endpoint_.to_string(), ec.message()));
        if (reused && ec != beast::error::timeout) continue;
        break;
      }
      if (!response.keep_alive()) connection_.reset();
      result = std::move(response);
      break;
    }
    callback(std::move(result));
  }
  draining_ = false;
}

struct StreamReader::Impl {
  explicit Impl(asio::any_io_executor executor) : stream(executor) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  beast_http::response_parser<beast_http::string_body> parser;
  std::string pending;
  bool ended = false;
  // Beast keeps a reference to the chunk callback, so it lives here.
  std::function<std::size_t(std::uint64_t, std::string_view, beast::error_code&)> on_chunk;
};

StreamReader::StreamReader() = default;
StreamReader::~StreamReader() = default;

asio::awaitable<Result<std::unique_ptr<StreamReader>>> StreamReader::open(
    asio::any_io_executor executor, Endpoint endpoint, Request request, std::chrono::milliseconds connect_timeout) {
  std::unique_ptr<StreamReader> reader(new StreamReader());
  reader->impl_ = std::make_unique<Impl>(executor);
  Impl& impl = *reader->impl_;
  beast::error_code ec = co_await connect(impl.stream, endpoint, connect_timeout);
  if (ec) co_return fail(Errc::unavailable, fmt::format("connect to {}: {}", endpoint.to_string(), ec.message()));
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  request.set(beast_http::field::host, endpoint.to_string());
  request.prepare_payload();
  impl.stream.expires_after(connect_timeout);
  co_await beast_http::async_write(impl.stream, request, token);
  if (!ec) co_await beast_http::async_read_header(impl.stream, impl.buffer, impl.parser, token);
  if (ec) co_return fail(Errc::unavailable, fmt::format("open stream at {}: {}", endpoint.to_string(), ec.message()));
  impl.stream.expires_never();
  const auto& head = impl.parser.get();
  const bool streaming = head.result() == Status::ok && impl.parser.chunked();
  if (!streaming) {
    // A refusal or an ordinary response: read it whole.
    impl.parser.body_limit(8 * 1024 * 1024);
    impl.stream.expires_after(connect_timeout);
    co_await beast_http::async_read(impl.stream, impl.buffer, impl.parser, token);
    if (ec) co_return fail(Errc::unavailable, fmt::format("read response from {}: {}", endpoint.to_string(), ec.message()));
    reader->header_ = impl.parser.release();
    impl.ended = true;
    co_return reader;
  }
  reader->header_ = Response(head.base());
  impl.parser.body_limit(boost::none);
  impl.on_chunk = [&impl](std::uint64_t, std::string_view body, beast::error_code&) {
    impl.pending.append(body);
    return body.size();
  };
  impl.parser.on_chunk_body(impl.on_chunk);
  co_return reader;
}

asio::awaitable<Result<std::string>> StreamReader::read() {
  Impl& impl = *impl_;
  beast::error_code ec;
  while (impl.pending.empty()) {
    if (impl.ended || impl.parser.is_done()) co_return fail(Errc::unavailable, "stream ended");
    co_await beast_http::async_read_some(impl.stream, impl.buffer, impl.parser,
                                         asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      impl.ended = true;
      if (impl.pending.empty()) co_return fail(Errc::unavailable, fmt::format("stream: {}", ec.message()));
    }
  }
  co_return std::exchange(impl.pending, {});
}

void StreamReader::close() {
  if (!impl_) return;
  impl_->ended = true;
  beast::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  impl_->stream.socket().close(ec);
}

}  // namespace dcos::http
