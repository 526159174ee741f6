#include "transport.hpp"

#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "dcos/common/log.hpp"
#include "dcos/replicated_log/codec.hpp"

namespace dcos::replicated_log::detail {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

bool get_varint(std::string_view& in, std::uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto b = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    value |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

struct Transport::Link {
  explicit Link(asio::io_context& io, tcp::endpoint endpoint) : endpoint(std::move(endpoint)), socket(io) {}
  tcp::endpoint endpoint;
  tcp::socket socket;
  std::string pending;  // { varint size | envelope } ..., not yet framed.
  bool busy = false;    // A connect-and-write coroutine owns the socket.
  std::chrono::steady_clock::time_point retry_after{};
};

Transport::Transport(asio::io_context& io, std::map<NodeId, tcp::endpoint> peers, Deliver deliver)
    : io_(io), peers_(std::move(peers)), deliver_(std::move(deliver)) {
  for (const auto& [node, endpoint] : peers_) links_[node] = std::make_shared<Link>(io_, endpoint);
}

Transport::~Transport() = default;

Result<void> Transport::listen(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec, fmt::format("listen on {}:{}", endpoint.address().to_string(), endpoint.port()));
  acceptor_ = std::move(acceptor);

  auto self = shared_from_this();
  asio::co_spawn(
      io_,
      [self]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, socket] = co_await self->acceptor_->async_accept(asio::as_tuple(asio::use_awaitable));
          if (ec || self->stopped_) co_return;
          socket.set_option(tcp::no_delay(true), ec);
          auto shared = std::make_shared<tcp::socket>(std::move(socket));
          self->inbound_.push_back(shared);
          asio::co_spawn(
              self->io_,
              [self, shared]() -> asio::awaitable<void> {
                std::string header(4, '\0');
                std::string body;
                for (;;) {
                  auto [ec1, n1] = co_await asio::async_read(*shared, asio::buffer(header), asio::as_tuple(asio::use_awaitable));
                  if (ec1) co_return;
                  std::uint32_t length = 0;
                  for (char c : header) length = (length << 8) | static_cast<std::uint8_t>(c);
                  if (length > frame_bytes_max) co_return;
                  body.resize(length);
                  auto [ec2, n2] = co_await asio::async_read(*shared, asio::buffer(body), asio::as_tuple(asio::use_awaitable));
                  if (ec2) co_return;
                  std::vector<Envelope> envelopes;
                  std::string_view in(body);
                  while (!in.empty()) {
                    std::uint64_t size = 0;
                    if (!get_varint(in, size) || size > in.size()) co_return;  // Corrupt: drop the link.
                    auto envelope = decode_envelope(in.substr(0, size));
                    in.remove_prefix(size);
                    if (!envelope) {
                      dcos::log::get("replicated_log")->warn("transport dropping link: {}", envelope.error().message);
                      co_return;
                    }
                    envelopes.push_back(std::move(*envelope));
                  }
                  if (!self->stopped_) self->deliver_(std::move(envelopes));
                }
              },
              asio::detached);
        }
      },
      asio::detached);
  return {};
}

tcp::endpoint Transport::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_ ? acceptor_->local_endpoint(ec) : tcp::endpoint{};
}

void Transport::send(std::vector<Envelope> envelopes) {
  if (envelopes.empty()) return;
  // On the io thread already (the log's core thread): queue now rather than behind whatever
  // else is posted, which would delay the frame.
  if (io_.get_executor().running_in_this_thread()) return enqueue(std::move(envelopes));
  asio::post(io_, [self = shared_from_this(), envelopes = std::move(envelopes)]() mutable {
    self->enqueue(std::move(envelopes));
  });
}

void Transport::enqueue(std::vector<Envelope> envelopes) {
  if (stopped_) return;
  std::string encoded;
  for (const Envelope& envelope : envelopes) {
    auto it = links_.find(envelope.to.node);
    if (it == links_.end()) continue;
    Link& link = *it->second;
    if (link.pending.size() > queue_bytes_max) continue;  // Bounded: drop, the cores retry.
    encoded.clear();
    encode(envelope, encoded);
    put_varint(link.pending, encoded.size());
    link.pending += encoded;
  }
  for (auto& [node, link] : links_) {
    if (!link->busy && !link->pending.empty()) start_writing(*link);
  }
}

void Transport::start_writing(Link& link_ref) {
  link_ref.busy = true;
  auto self = shared_from_this();
  std::shared_ptr<Link> link;
  for (auto& [node, l] : links_) {
    if (l.get() == &link_ref) link = l;
  }
  asio::co_spawn(
      io_,
      [self, link]() -> asio::awaitable<void> {
        std::string frame;
        while (!self->stopped_ && !link->pending.empty()) {
          if (!link->socket.is_open()) {
            if (std::chrono::steady_clock::now() < link->retry_after) {
              link->pending.clear();  // Peer down: these messages are lost.
              break;
            }
            auto [ec] = co_await link->socket.async_connect(link->endpoint, asio::as_tuple(asio::use_awaitable));
            if (ec) {
              boost::system::error_code ignored;
              link->socket.close(ignored);
              link->retry_after = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
              link->pending.clear();
              break;
            }
            link->socket.set_option(tcp::no_delay(true), ec);
          }
          // Everything queued so far goes out as one frame.
          std::string body;
          body.swap(link->pending);
          if (body.size() > frame_bytes_max) continue;  // Cannot happen with the queue bound; drop.
          frame.clear();
          const auto length = static_cast<std::uint32_t>(body.size());
          for (int shift = 24; shift >= 0; shift -= 8) frame.push_back(static_cast<char>((length >> shift) & 0xff));
          frame += body;
          auto [ec, n] = co_await asio::async_write(link->socket, asio::buffer(frame), asio::as_tuple(asio::use_awaitable));
          if (ec) {
            boost::system::error_code ignored;
            link->socket.close(ignored);
          }
        }
        link->busy = false;
      },
      asio::detached);
}

void Transport::stop() {
  asio::post(io_, [self = shared_from_this()] {
    self->stopped_ = true;
    boost::system::error_code ec;
    if (self->acceptor_) self->acceptor_->close(ec);
    for (auto& [node, link] : self->links_) link->socket.close(ec);
    for (auto& weak : self->inbound_) {
      if (auto socket = weak.lock()) socket->close(ec);
    }
  });
}

}  // namespace dcos::replicated_log::detail
