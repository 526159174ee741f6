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

// Three replica addresses; the first `masters` are masters', the others are opened here.
struct RegistryEnsemble {
  explicit RegistryEnsemble(std::size_t masters = 1) : directory(make_temp_dir("dcos-quorum")) {
    for (int i = 0; i < 3; ++i) ports.push_back(free_port());
    for (std::uint16_t port : ports) addresses.push_back(fmt::format("127.0.0.1:{}", port));
    for (std::size_t i = masters; i < ports.size(); ++i) standalone.push_back(open_replica(i));
  }
  ~RegistryEnsemble() {
    standalone.clear();
    std::filesystem::remove_all(directory);
  }

  std::unique_ptr<rl::Log> open_replica(std::size_t i, std::string path = {}) const {
    auto ensemble = rl::make_ensemble(addresses, {boost::asio::ip::make_address("127.0.0.1"), ports[i]});
    REQUIRE(ensemble);
    rl::LogOptions options;
    options.self = ensemble->self;
    options.replicas = ensemble->replicas;
    options.path = path.empty() ? fmt::format("{}/replica-{}", directory, i) : path;
    options.quorum = 2;
    options.tick = 20ms;
    auto log = rl::Log::open(options);
    REQUIRE(log);
    return std::move(*log);
  }

  // Master `i`'s replica is address `i`; its registry is on the log, not in memory.
  void configure(master::MasterConfig& config, std::size_t i = 0) const {
    config.registry_storage = nullptr;
    config.registry = "replicated_log";
    config.log_replicas = addresses;
    config.log_port = ports[i];
    config.quorum = 2;
  }

  std::string directory;
  std::vector<std::uint16_t> ports;
  std::vector<std::string> addresses;
  std::vector<std::unique_ptr<rl::Log>> standalone;  // Replicas `masters`.. 2.
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

TEST_CASE("a second master on the registry's ensemble takes the registry over, and the first steps down at its next store",
          "[registrar][replicated_log][shell]") {
  RegistryEnsemble ensemble(2);  // Masters' replicas 0 and 1, a standalone replica 2.
  boost::asio::io_context io;
  ManualClock clock;
  std::vector<std::optional<Error>> fatal(2);
  std::vector<std::unique_ptr<master::Master>> masters;
  // A brand-new log is initialised only when all three replicas answer: the second master's
  // replica serves in its directory while the first master recovers, then the master takes it.
  auto work_dir = [&](std::size_t i) { return fmt::format("{}/master-{}", ensemble.directory, i); };
  auto stand_in = ensemble.open_replica(1, work_dir(1) + "/replicated_log");
  for (std::size_t i = 0; i < 2; ++i) {
    if (i == 1) stand_in.reset();  // Releases the LevelDB directory.
    master::MasterConfig config;
    config.port = 0;
    config.work_dir = work_dir(i);
    ensemble.configure(config, i);
    config.on_fatal = [&fatal, i](const Error& error) { fatal[i] = error; };
    masters.push_back(std::make_unique<master::Master>(io.get_executor(), clock, config));
    REQUIRE(masters.back()->start());
    REQUIRE(run_until(io, [&] { return masters.back()->recovered(); }));
  }
  // The second recovery elected its own writer and stored its master info over the first's.
  CHECK(masters[1]->registrar()->registry().master_info["id"] == masters[1]->id());

  auto update_weights = [&](master::Master& master, double weight) {
    auto client = http::Client::create(io.get_executor(), {"127.0.0.1", master.port()});
    std::optional<Result<http::Response>> reply;
    client->send(http::make_post({"127.0.0.1", master.port()}, "/api/v1", update_weight(weight).dump()),
                 [&](Result<http::Response> r) { reply = std::move(r); });
    REQUIRE(run_until(io, [&] { return reply.has_value(); }));
    REQUIRE(*reply);
    CHECK((*reply)->result() == http::Status::ok);
    client->close();
  };
  update_weights(*masters[0], 5.0);  // Answered at once; the store finds the registry moved on.
  REQUIRE(run_until(io, [&] { return fatal[0].has_value(); }));
  CHECK(fatal[0]->code == Errc::conflict);
  update_weights(*masters[1], 6.0);
  REQUIRE(run_until(io, [&] {
    const auto& weights = masters[1]->registrar()->registry().weights;
    return weights.contains("eng") && weights.at("eng") == 6.0;
  }));
  CHECK_FALSE(fatal[1]);
  for (auto& master : masters) master->stop();
  io.poll();
  masters.clear();
  io.restart();
  io.poll();
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
