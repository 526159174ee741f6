// bench_state: stores per second and store latency of `State<T>` on each storage.
//
//   independent  `writers` coroutines each store `stores` times to a name of its own, chaining
//                the variable each store returns (no conflicts possible).
//   contended    `writers` coroutines each add 1 to one shared counter `stores` times with
//                fetch-then-store, retrying on conflict; latency is per successful update,
//                retries included.
//
// One io_context thread drives every writer; storages do their own blocking work elsewhere
// (LevelDB's worker thread, the ZooKeeper client's threads, the replicated log's core and
// network threads). `log` is `LogStorage` on an in-memory log (its own overhead);
// `replicated_log` is `LogStorage` on three replicas over loopback TCP with LevelDB sync writes. ZooKeeper runs against a real
// server started from Debian's `zookeeper` package on 127.0.0.1 (skipped, with a line saying
// why, where it cannot start). Prints one JSON object per line.
//
//   admit        the master's `Registrar` admits `--admit-agents` agents (10,000) with a
//                realistic `AgentInfo` each, keeping `concurrency` admissions outstanding (as
//                that many agents registering at once): operations queued meanwhile share one
//                store, which rewrites the whole registry. Not on ZooKeeper (a znode holds 1 MB).
//
//   bench_state [--storages in_memory,log,replicated_log,leveldb,zookeeper] [--writers 8] [--stores 200]
//               [--value-bytes 1024] [--scenarios independent,contended,admit] [--admit-agents 10000]
//               [--admit-concurrency 10000,1000,100]

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "dcos/common/clock.hpp"
#include "dcos/master/registrar.hpp"
#include "dcos/resources/resources.hpp"
#include "dcos/state/in_memory_storage.hpp"
#include "dcos/state/leveldb_storage.hpp"
#include "dcos/state/log_storage.hpp"
#include "dcos/replicated_log/log.hpp"
#include "dcos/state/memory_log.hpp"
#include "dcos/state/replicated_log_adapter.hpp"
#include "dcos/state/state.hpp"
#include "dcos/state/zookeeper_storage.hpp"
#include "support/zookeeper_server.hpp"

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace dcos::state;
using Clock = std::chrono::steady_clock;

struct Value {
  std::uint64_t count = 0;
  std::string pad;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Value, count, pad)

struct Tally {
  std::vector<double> latencies_us;
  std::uint64_t stores = 0;
  std::uint64_t conflicts = 0;
  std::string error;
};

double micros_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

asio::awaitable<void> independent_writer(Storage& storage, std::string name, int stores, std::size_t value_bytes,
                                         Tally& tally) {
  State<Value> state(storage);
  auto variable = co_await state.fetch(name);
  if (!variable) {
    tally.error = variable.error().message;
    co_return;
  }
  Variable<Value> current = *variable;
  for (int i = 0; i < stores; ++i) {
    const auto start = Clock::now();
    Variable<Value> next = current.mutate(Value{current->count + 1, std::string(value_bytes, 'v')});
    auto stored = co_await state.store(std::move(next));
    if (!stored || !*stored) {
      tally.error = stored ? "unexpected conflict on a private name" : stored.error().message;
      co_return;
    }
    tally.latencies_us.push_back(micros_since(start));
    ++tally.stores;
    current = std::move(**stored);
  }
}

asio::awaitable<void> contended_writer(Storage& storage, int updates, std::size_t value_bytes, Tally& tally) {
  State<Value> state(storage);
  for (int done = 0; done < updates;) {
    const auto start = Clock::now();
    for (;;) {
      auto variable = co_await state.fetch("hot");
      if (!variable) {
        tally.error = variable.error().message;
        co_return;
      }
      Variable<Value> next = variable->mutate(Value{(*variable)->count + 1, std::string(value_bytes, 'v')});
      auto stored = co_await state.store(std::move(next));
      if (!stored) {
        tally.error = stored.error().message;
        co_return;
      }
      if (*stored) break;
      ++tally.conflicts;
    }
    tally.latencies_us.push_back(micros_since(start));
    ++tally.stores;
    ++done;
  }
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

void run_scenario(const std::string& storage_name, Storage& storage, const std::string& scenario, int writers,
                  int stores, std::size_t value_bytes) {
  asio::io_context io;
  std::vector<Tally> tallies(static_cast<std::size_t>(writers));
  const auto start = Clock::now();
  for (int i = 0; i < writers; ++i) {
    Tally& tally = tallies[static_cast<std::size_t>(i)];
    auto task = scenario == "independent"
                    ? independent_writer(storage, fmt::format("writer-{}", i), stores, value_bytes, tally)
                    : contended_writer(storage, stores, value_bytes, tally);
    asio::co_spawn(io, std::move(task), [&tally](std::exception_ptr e) {
      if (e) tally.error = "exception";
    });
  }
  io.run();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> latencies;
  std::uint64_t total = 0;
  std::uint64_t conflicts = 0;
  std::string error;
  for (Tally& tally : tallies) {
    latencies.insert(latencies.end(), tally.latencies_us.begin(), tally.latencies_us.end());
    total += tally.stores;
    conflicts += tally.conflicts;
    if (error.empty()) error = tally.error;
  }
  std::sort(latencies.begin(), latencies.end());
  nlohmann::json line = {
      {"bench", "state"},
      {"storage", storage_name},
      {"scenario", scenario},
      {"writers", writers},
      {"value_bytes", value_bytes},
      {"stores", total},
      {"conflicts", conflicts},
      {"seconds", std::round(seconds * 1000) / 1000},
      {"stores_per_s", std::round(static_cast<double>(total) / seconds)},
      {"latency_us_p50", std::round(percentile(latencies, 0.50))},
      {"latency_us_p99", std::round(percentile(latencies, 0.99))},
      {"latency_us_max", std::round(latencies.empty() ? 0 : latencies.back())},
  };
  if (!error.empty()) line["error"] = error;
  std::cout << line.dump() << std::endl;
}

struct Options {
  std::vector<std::string> scenarios;
  int writers = 8;
  int stores = 200;
  std::size_t value_bytes = 1024;
  int admit_agents = 10'000;
  std::vector<int> admit_concurrency;
};

// The registrar admits `agents` agents, `concurrency` at a time, into a fresh registry.
void run_admit(const std::string& storage_name, Storage& storage, int agents, int concurrency) {
  namespace master = dcos::master;
  static int run = 0;
  asio::io_context io;
  dcos::SystemClock clock(io.get_executor());
  // Not owned: `storage` outlives this run, which waits for every store.
  std::shared_ptr<Storage> unowned(std::shared_ptr<void>(), &storage);
  master::Registrar registrar(io.get_executor(), clock, unowned, {.name = fmt::format("registry-{}", run++)});
  std::string error;
  bool recovered = false;
  registrar.recover({{"id", "bench"}}, [&](dcos::Result<master::Registry> r) {
    recovered = true;
    if (!r) error = r.error().message;
  });
  while (!recovered) io.run_one();
  const nlohmann::json resources =
      dcos::to_json(dcos::parse_resources("cpus:16;mem:65536;disk:1048576;ports:[31000-32000]").value());
  std::vector<double> latencies_us;
  latencies_us.reserve(static_cast<std::size_t>(agents));
  int issued = 0;
  int done = 0;
  std::function<void()> issue = [&] {
    const std::string id = fmt::format("5c0c9a3e-0b1d-4a57-9a8e-7f3f6b2a1c00-S{}", issued++);
    nlohmann::json info = {{"id", {{"value", id}}}, {"hostname", fmt::format("agent-{}.example.com", issued)},
                           {"port", 5051}, {"resources", resources}};
    const auto start = Clock::now();
    registrar.apply(master::AdmitAgent{dcos::AgentId(id), std::move(info)}, [&, start](dcos::Result<bool> admitted) {
      latencies_us.push_back(micros_since(start));
      ++done;
      if (!admitted && error.empty()) error = admitted.error().message;
      if (issued < agents && error.empty()) issue();
    });
  };
  const auto start = Clock::now();
  for (int i = 0; i < std::min(concurrency, agents) && error.empty(); ++i) issue();
  while (done < issued) io.run_one();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  nlohmann::json line = {
      {"bench", "state"},
      {"storage", storage_name},
      {"scenario", "admit"},
      {"agents", done},
      {"concurrency", concurrency},
      {"seconds", std::round(seconds * 1000) / 1000},
      {"admissions_per_s", std::round(done / seconds)},
      {"stores", registrar.stats().stores - 1},  // Recovery's store excluded.
      {"largest_batch", registrar.stats().largest_batch},
      {"registry_bytes", error.empty() ? nlohmann::json(registrar.registry()).dump().size() : 0},
      {"latency_ms_p50", std::round(percentile(latencies_us, 0.50) / 100) / 10},
      {"latency_ms_p99", std::round(percentile(latencies_us, 0.99) / 100) / 10},
  };
  if (!error.empty()) line["error"] = error;
  std::cout << line.dump() << std::endl;
}

bool wanted(const Options& options, const std::string& scenario) {
  return std::find(options.scenarios.begin(), options.scenarios.end(), scenario) != options.scenarios.end();
}

void run_storage(const std::string& name, Storage& storage, const Options& options) {
  for (const char* scenario : {"independent", "contended"}) {
    if (wanted(options, scenario)) {
      run_scenario(name, storage, scenario, options.writers, options.stores, options.value_bytes);
    }
  }
  if (!wanted(options, "admit")) return;
  if (name == "zookeeper") {
    std::cout << nlohmann::json{{"bench", "state"}, {"storage", name}, {"scenario", "admit"},
                                {"skipped", "a znode holds 1 MB; the registry of 10,000 agents is larger"}}
                     .dump()
              << std::endl;
    return;
  }
  for (int concurrency : options.admit_concurrency) run_admit(name, storage, options.admit_agents, concurrency);
}

// Three replicas of the replicated log on 127.0.0.1 (LevelDB under `directory`); the storage
// writes through replica 0.
void run_replicated_log(const fs::path& directory, const Options& run_options) {
  using asio::ip::tcp;
  std::vector<std::pair<dcos::replicated_log::NodeId, tcp::endpoint>> endpoints;
  for (std::uint32_t i = 0; i < 3; ++i) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    endpoints.emplace_back(dcos::replicated_log::NodeId{i}, acceptor.local_endpoint());
  }
  std::vector<std::unique_ptr<dcos::replicated_log::Log>> logs;
  for (std::uint32_t i = 0; i < 3; ++i) {
    dcos::replicated_log::LogOptions options;
    options.self = dcos::replicated_log::NodeId{i};
    options.replicas = endpoints;
    options.path = (directory / fmt::format("r{}", i)).string();
    auto log = dcos::replicated_log::Log::open(options);
    if (!log) throw std::runtime_error("replicated log: " + log.error().message);
    logs.push_back(std::move(*log));
  }
  ReplicatedLogAdapter adapter(*logs[0]);
  LogStorage storage(adapter, adapter);
  run_storage("replicated_log(3)", storage, run_options);
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) items.push_back(item);
  return items;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_state: State<T> stores per second and latency on each storage"};
  std::string storages = "in_memory,log,replicated_log,leveldb,zookeeper";
  std::string scenarios = "independent,contended,admit";
  std::string admit_concurrency = "10000,1000,100";
  Options options;
  app.add_option("--storages", storages, "comma-separated: in_memory, log, replicated_log, leveldb, zookeeper");
  app.add_option("--scenarios", scenarios, "comma-separated: independent, contended, admit");
  app.add_option("--writers", options.writers, "concurrent writers")->check(CLI::PositiveNumber);
  app.add_option("--stores", options.stores, "stores per writer")->check(CLI::PositiveNumber);
  app.add_option("--value-bytes", options.value_bytes, "padding in each stored value");
  app.add_option("--admit-agents", options.admit_agents, "agents the registrar admits")->check(CLI::PositiveNumber);
  app.add_option("--admit-concurrency", admit_concurrency, "comma-separated: admissions outstanding at once");
  CLI11_PARSE(app, argc, argv);
  options.scenarios = split(scenarios);
  for (const std::string& k : split(admit_concurrency)) {
    try {
      options.admit_concurrency.push_back(std::max(1, std::stoi(k)));
    } catch (const std::exception&) {
      std::cerr << "--admit-concurrency: not a number: " << k << std::endl;
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);

  for (const std::string& name : split(storages)) {
    if (name == "in_memory") {
      InMemoryStorage storage;
      run_storage(name, storage, options);
    } else if (name == "log") {
      // `LogStorage`'s own cost, on a log in memory.
      MemoryLog log(/*yield=*/false);
      auto writer = log.writer();
      LogStorage storage(log, *writer);
      run_storage("log(memory)", storage, options);
    } else if (name == "replicated_log") {
      const fs::path directory = fs::temp_directory_path() / fmt::format("dcos-bench-state-log-{}", ::getpid());
      fs::remove_all(directory);
      run_replicated_log(directory, options);
      fs::remove_all(directory);
    } else if (name == "leveldb") {
      const fs::path directory = fs::temp_directory_path() / fmt::format("dcos-bench-state-{}", ::getpid());
      fs::remove_all(directory);
      {
        auto storage = LevelDbStorage::open(directory.string());
        if (!storage) {
          std::cerr << "leveldb: " << storage.error().message << std::endl;
          return 1;
        }
        run_storage(name, **storage, options);
      }
      fs::remove_all(directory);
    } else if (name == "zookeeper") {
      auto server = dcos::testing::ZooKeeperServer::start();
      if (!server) {
        std::cout << nlohmann::json{{"bench", "state"}, {"storage", name}, {"skipped", server.error().message}}.dump()
                  << std::endl;
        continue;
      }
      auto storage = ZooKeeperStorage::open({.servers = (*server)->connect_string(), .root = "/dcos/bench"});
      if (!storage) {
        std::cerr << "zookeeper: " << storage.error().message << std::endl;
        return 1;
      }
      run_storage(name, **storage, options);
    } else {
      std::cerr << "unknown storage " << name << std::endl;
      return 2;
    }
  }
  return 0;
}
