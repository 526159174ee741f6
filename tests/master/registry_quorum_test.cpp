// The master's registry on a replicated log of three replicas with `--quorum=2`: the master's
// own replica and two standalone ones (as `dcos-log replica` runs them). The registry outlives
// the master's disk and one lost replica; without a quorum the master cannot write, and steps
// down. Real replicas on loopback, real LevelDB.
#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>

#include "cluster/framework_harness.hpp"
#include "cluster/master_client.hpp"
#include "dcos/master/registrar.hpp"
#include "dcos/replicated_log/ensemble.hpp"
#include "dcos/replicated_log/log.hpp"
#include "support/run_until.hpp"

namespace dcos::testing {
namespace {

using namespace std::chrono_literals;
namespace rl = replicated_log;

// A port nobody listens on now (bound, read, released).
std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

// Three replica addresses; the first is the master's, the other two are opened here.
struct RegistryEnsemble {
  RegistryEnsemble() : directory(make_temp_dir("dcos-quorum")) {
    for (int i = 0; i < 3; ++i) ports.push_back(free_port());
    for (std::uint16_t port : ports) addresses.push_back(fmt::format("127.0.0.1:{}", port));
    for (std::size_t i = 1; i < ports.size(); ++i) standalone.push_back(open_replica(i));
  }
  ~RegistryEnsemble() {
    standalone.clear();
    std::filesystem::remove_all(directory);
  }

  std::unique_ptr<rl::Log> open_replica(std::size_t i) const {
    auto ensemble = rl::make_ensemble(addresses, {boost::asio::ip::make_address("127.0.0.1"), ports[i]});
    REQUIRE(ensemble);
    rl::LogOptions options;
    options.self = ensemble->self;
    options.replicas = ensemble->replicas;
    options.path = fmt::format("{}/replica-{}", directory, i);
    options.quorum = 2;
    options.tick = 20ms;
    auto log = rl::Log::open(options);
    REQUIRE(log);
    return std::move(*log);
  }

  // The master's replica is the first address; its registry is on the log, not in memory.
  void configure(master::MasterConfig& config) const {
    config.registry_storage = nullptr;
    config.registry = "replicated_log";
    config.log_replicas = addresses;
    config.log_port = ports[0];
    config.quorum = 2;
  }

  std::string directory;
  std::vector<std::uint16_t> ports;
  std::vector<std::string> addresses;
  std::vector<std::unique_ptr<rl::Log>> standalone;  // Replicas 1 and 2.
};

// The weight of "eng" in the registry the master last stored or recovered.
std::optional<double> stored_weight(Cluster& cluster) {
  const auto& weights = cluster.master().registrar()->registry().weights;
  if (!weights.contains("eng")) return std::nullopt;
  return weights.at("eng");
}

nlohmann::json update_weight(double weight) {
  return {{"type", "UPDATE_WEIGHTS"}, {"update_weights", {{"weight_infos", {{{"role", "eng"}, {"weight", weight}}}}}}};
}

}  // namespace

TEST_CASE("with --quorum=2 the registry outlives the master's disk: a master on a fresh one recovers it",
          "[registrar][replicated_log][cluster][shell]") {
  RegistryEnsemble ensemble;
  boost::asio::io_context io;
  Cluster cluster(io, {.agents = 1, .configure_master = [&](master::MasterConfig& c) { ensemble.configure(c); }});
  REQUIRE(cluster.start());
  const AgentId agent = cluster.agent(0).id();
  REQUIRE(cluster.master().registrar()->registry().agents.size() == 1);
  REQUIRE(operator_call(cluster, update_weight(2.5)).result() == http::Status::ok);
  REQUIRE(cluster.run_until([&] { return stored_weight(cluster) == 2.5; }));
  const auto metrics = get_json(cluster, "/metrics/snapshot");
  CHECK(metrics["registrar/log/ensemble_size"] == 3);
  CHECK(metrics["registrar/log/recovered"] == 1);

  // The master's machine is replaced: same replica address, an empty disk. Its replica catches
  // up from the two others before the registry is read.
  cluster.master_config().work_dir = cluster.work_dir() + "/replacement";
  REQUIRE(cluster.restart_master(std::chrono::seconds(20)));
  REQUIRE(cluster.master().core().recovered_agents().contains(agent));
  CHECK(stored_weight(cluster) == 2.5);
  cluster.advance(10s, 40);  // The agent retries after its back-off.
  REQUIRE(cluster.run_until([&] { return cluster.agent(0).registered(); }));
  CHECK(cluster.agent(0).id() == agent);
  CHECK(cluster.master().core().agents().contains(agent));
}

TEST_CASE("with --quorum=2 the registry takes writes with one replica down, and the master steps down without a quorum",
          "[registrar][replicated_log][cluster][shell]") {
  RegistryEnsemble ensemble;
  boost::asio::io_context io;
  std::optional<Error> fatal;
  Cluster cluster(io, {.agents = 0, .configure_master = [&](master::MasterConfig& c) {
                         ensemble.configure(c);
                         c.on_fatal = [&](const Error& error) { fatal = error; };
                       }});
  REQUIRE(cluster.start());

  ensemble.standalone[1]->close();  // One of three: the master's replica and replica 1 remain.
  REQUIRE(operator_call(cluster, update_weight(3.0)).result() == http::Status::ok);
  REQUIRE(cluster.run_until([&] { return stored_weight(cluster) == 3.0; }));
  const std::uint64_t stores = cluster.master().registrar()->stats().stores;

  ensemble.standalone[0]->close();  // Two of three: no write can be chosen.
  REQUIRE(operator_call(cluster, update_weight(4.0)).result() == http::Status::ok);
  // The store waits for a quorum that does not come; `registry_store_timeout` (20 s) ends it.
  cluster.advance(19s);
  CHECK_FALSE(fatal);
  cluster.advance(1s);
  REQUIRE(cluster.run_until([&] { return fatal.has_value(); }));
  CHECK(fatal->code == Errc::timed_out);
  CHECK(cluster.master().registrar()->stats().stores == stores);
}

TEST_CASE("a master refuses a registry log ensemble that cannot keep one log", "[registrar][replicated_log][shell]") {
  const std::string work_dir = make_temp_dir("dcos-quorum-flags");
  boost::asio::io_context io;
  ManualClock clock;
  auto refused = [&](std::function<void(master::MasterConfig&)> configure) {
    master::MasterConfig config;
    config.port = 0;
    config.work_dir = work_dir;
    configure(config);
    master::Master master(io.get_executor(), clock, config);
    auto started = master.start();
    REQUIRE_FALSE(started);
    CHECK(started.error().code == Errc::invalid_argument);
    return started.error().message;
  };
  const std::vector<std::string> three = {"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"};
  CHECK_THAT(refused([](auto& c) { c.quorum = 2; }),
             Catch::Contains("--quorum=2 needs the other replicas") && Catch::Contains("--log_replicas"));
  CHECK_THAT(refused([&](auto& c) { c.log_replicas = three; }), Catch::Contains("--log_port is required"));
  CHECK_THAT(refused([&](auto& c) {
               c.log_replicas = three;
               c.log_port = 7004;
             }),
             Catch::Contains("do not include this one (127.0.0.1:7004)"));
  CHECK_THAT(refused([&](auto& c) {
               c.log_replicas = three;
               c.log_port = 7001;  // Quorum 1 of 3: two masters could each write alone.
             }),
             Catch::Contains("--quorum: quorum 1 is not a majority of the 3 replicas") && Catch::Contains("at least 2"));
  CHECK_THAT(refused([&](auto& c) {
               c.log_replicas = three;
               c.log_port = 7001;
               c.quorum = 4;
             }),
             Catch::Contains("quorum 4 is more than the 3 replicas"));
  CHECK_THAT(refused([&](auto& c) {
               c.log_replicas = three;
               c.log_port = 7001;
               c.ip = "0.0.0.0";
               c.quorum = 2;
             }),
             Catch::Contains("--ip 0.0.0.0 is not an address other replicas can reach"));
  std::filesystem::remove_all(work_dir);
}

}  // namespace dcos::testing
