// The scheduler library against a fake master: reconnection after missed heartbeats.
#include "dcos/scheduler/scheduler.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "support/run_until.hpp"

using namespace std::chrono_literals;

TEST_CASE("a subscription silent for five heartbeat intervals is dropped and renewed", "[scheduler][shell]") {
  // A fake master opens the event stream and then never sends anything.
  boost::asio::io_context io;
  dcos::ManualClock clock;
  int subscriptions = 0;
  std::vector<std::shared_ptr<dcos::http::Stream>> streams;
  auto router = std::make_shared<dcos::http::Router>();
  router->add("/api/v1/scheduler", [&](const dcos::http::Request& request) {
    ++subscriptions;
    dcos::http::Response response{dcos::http::Status::ok, request.version()};
    response.set(boost::beast::http::field::content_type, "application/json");
    response.set("Mesos-Stream-Id", "5c2e3f0e-8a7b-4c1d-9f00-2a6b1c3d4e5f");
    streams.push_back(std::make_shared<dcos::http::Stream>());
    return dcos::http::Reply(std::move(response), streams.back());
  });
  dcos::http::Server server(io.get_executor(), router);
  const auto port = server.listen("127.0.0.1", 0);
  REQUIRE(port);

  dcos::scheduler::SchedulerConfig config;
  config.master = {"127.0.0.1", *port};
  config.framework.user = "u";
  config.framework.name = "n";
  std::vector<std::string> disconnects;
  dcos::scheduler::Callbacks callbacks;
  callbacks.disconnected = [&](const std::string& why) { disconnects.push_back(why); };
  auto scheduler = dcos::scheduler::Scheduler::create(io.get_executor(), clock, config, callbacks);
  scheduler->start();
  using dcos::testing::run_until;
  REQUIRE(run_until(io, [&] { return scheduler->subscribed(); }));
  CHECK(subscriptions == 1);

  clock.advance(74s);  // Under 5 x 15 s: still trusted.
  io.poll();
  CHECK(disconnects.empty());
  clock.advance(1s);
  REQUIRE(run_until(io, [&] { return !disconnects.empty(); }));
  CHECK(disconnects.front() == "missed heartbeats");
  clock.advance(250ms);  // The first re-subscription backoff.
  REQUIRE(run_until(io, [&] { return subscriptions == 2; }));
  scheduler->stop();
  server.stop();
  io.poll();
}
