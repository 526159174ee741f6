// `http::Server`'s deferred replies over real sockets: answered when the handler resolves them,
// in order with requests pipelined behind; dropped, with the connection, when the server stops.
#include "dcos/http/server.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "dcos/http/client.hpp"
#include "support/run_until.hpp"

namespace dcos::http {
namespace {

using dcos::testing::run_until;

// A server whose `/later` replies are resolved by the test, and whose `/now` answers at once.
struct DeferringServer {
  DeferringServer() {
    auto router = std::make_shared<Router>();
    router->add("/later", [this](const Request&) {
      pending.push_back(std::make_shared<Deferred>());
      return Reply::later(pending.back());
    });
    router->add("/now", [](const Request& request) { return make_response(request, Status::ok, "now"); });
    server = std::make_unique<Server>(io.get_executor(), router);
    port = server->listen("127.0.0.1", 0).value();
    client = Client::create(io.get_executor(), {"127.0.0.1", port});
  }
  void get(const std::string& target, std::vector<Result<Response>>& into) {
    client->send(Request{beast_http::verb::get, target, 11}, [&into](Result<Response> r) { into.push_back(std::move(r)); });
  }

  boost::asio::io_context io;
  std::vector<std::shared_ptr<Deferred>> pending;
  std::unique_ptr<Server> server;
  std::uint16_t port = 0;
  std::shared_ptr<Client> client;
};

}  // namespace

TEST_CASE("a deferred reply is sent once resolved, and requests behind it wait their turn", "[http][shell]") {
  DeferringServer s;
  std::vector<Result<Response>> replies;
  s.get("/later", replies);
  s.get("/now", replies);
  REQUIRE(run_until(s.io, [&] { return s.pending.size() == 1; }));
  s.io.poll();
  CHECK(replies.empty());  // `/now` is behind the unresolved `/later` on one connection.
  s.pending[0]->resolve(make_response(Request{}, Status::accepted, "later"));
  REQUIRE(run_until(s.io, [&] { return replies.size() == 2; }));
  REQUIRE(replies[0]);
  CHECK(replies[0]->result() == Status::accepted);
  CHECK(replies[0]->body() == "later");
  REQUIRE(replies[1]);
  CHECK(replies[1]->body() == "now");
}

TEST_CASE("a deferred reply resolved inside its handler is sent at once", "[http][shell]") {
  boost::asio::io_context io;
  auto router = std::make_shared<Router>();
  router->add("/resolved", [](const Request& request) {
    auto deferred = std::make_shared<Deferred>();
    deferred->resolve(make_response(request, Status::ok, "done"));
    return Reply::later(deferred);
  });
  Server server(io.get_executor(), router);
  const std::uint16_t port = server.listen("127.0.0.1", 0).value();
  auto client = Client::create(io.get_executor(), {"127.0.0.1", port});
  std::optional<Result<Response>> reply;
  client->send(Request{beast_http::verb::get, "/resolved", 11}, [&](Result<Response> r) { reply = std::move(r); });
  REQUIRE(run_until(io, [&] { return reply.has_value(); }));
  REQUIRE(*reply);
  CHECK((*reply)->body() == "done");
}

TEST_CASE("a server that stops with a deferred reply pending closes the connection; resolving later is harmless",
          "[http][shell]") {
  DeferringServer s;
  std::vector<Result<Response>> replies;
  s.get("/later", replies);
  REQUIRE(run_until(s.io, [&] { return s.pending.size() == 1; }));
  s.server->stop();
  REQUIRE(run_until(s.io, [&] { return replies.size() == 1; }));
  CHECK_FALSE(replies[0]);  // No answer: the connection closed.
  s.pending[0]->resolve(make_response(Request{}, Status::ok));
  s.io.restart();
  s.io.poll();
  CHECK(replies.size() == 1);
}

}  // namespace dcos::http
