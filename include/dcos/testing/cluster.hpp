#pragma once
// An in-process cluster for framework unit tests: one master and N agents on one io_context,
// talking real HTTP over loopback, running real task processes, with an injectable clock.
//
//   boost::asio::io_context io;
//   dcos::testing::Cluster cluster(io, {.agents = 2});
//   REQUIRE(cluster.start());
//   ... point a scheduler at cluster.master_endpoint() ...
//   cluster.run_until([&] { return finished; });
//   cluster.advance(std::chrono::seconds(75));  // ManualClock: no sleeping.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "dcos/agent/agent.hpp"
#include "dcos/common/clock.hpp"
#include "dcos/http/client.hpp"
#include "dcos/master/master.hpp"

namespace dcos::testing {

struct ClusterOptions {
  int agents = 1;
  std::string agent_resources = "cpus:2;mem:1024;disk:1024;ports:[31000-31100]";
  bool manual_clock = true;  // False: the system clock (for tools and benchmarks).
  std::string work_dir;      // Empty: a fresh temporary directory, removed afterwards.
  std::uint16_t master_port = 0;  // 0 picks a free port.
  master::MasterOptions master_options;
  // Where every master of the cluster keeps its registry. Null: one in-memory storage the
  // cluster creates and shares across `restart_master`, so a restarted master recovers what
  // the previous one admitted (agents, unreachable and gone marks).
  std::shared_ptr<state::Storage> registry_storage;
  // Applied to the master's configuration last, e.g. to keep the registry on a replicated log
  // instead (`registry_storage = nullptr`, `registry`, `log_replicas`, `quorum`...).
  std::function<void(master::MasterConfig&)> configure_master;
};

class Cluster {
 public:
  Cluster(boost::asio::io_context& io, ClusterOptions options = {});
  ~Cluster();

  // Starts the master, waits for it to recover its registry, then starts the agents and waits
  // until every agent is registered.
  bool start(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  master::Master& master() { return *master_; }
  agent::Agent& agent(size_t i) { return *agents_.at(i); }
  size_t agent_count() const { return agents_.size(); }
  http::Endpoint master_endpoint() const;
  Clock& clock() { return *clock_; }
  // Null unless `manual_clock`.
  ManualClock* manual_clock() { return manual_clock_; }
  const std::string& work_dir() const { return work_dir_; }
  boost::asio::io_context& io() { return io_; }

  // Runs the io_context until `done()` holds. `timeout` is a wall-clock safety net against a
  // hung test, not a way to wait for things. Returns `done()`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Runs whatever is ready now, without blocking.
  void poll();
  // Advances the manual clock by `by` in `steps` equal steps. After each step it runs the
  // io_context until it has been idle for a moment (`settle`), so the messages a step sends, and
  // the replies to them, land before the clock moves on: a ping sent at one step is answered
  // before the next, as it would be in real time.
  void advance(Duration by, int steps = 1);
  // Runs handlers until none has run for a short wall-clock window (bounded by a second).
  void settle();

  // Adds and starts one more agent; returns its index.
  size_t add_agent(const std::string& resources = {});
  // Stops an agent (its tasks are killed) and forgets it: the master sees it disconnect.
  void stop_agent(size_t i);
  // Restarts agent `i` as after a crash of its process: stops it leaving its tasks running, then
  // starts a new agent on the same work_dir and port, which recovers its checkpoint and
  // re-registers. Returns whether the new agent started.
  bool restart_agent(size_t i);
  // Replaces the master with a fresh one on the same port, sharing the registry, and waits for
  // it to recover (a master failover: agents and schedulers reconnect and re-register what
  // they run; agents retry after their back-off, so advance the clock).
  bool restart_master(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  state::Storage& registry_storage() { return *master_config_.registry_storage; }
  // The configuration masters are made with; a change applies from the next `restart_master`.
  master::MasterConfig& master_config() { return master_config_; }

 private:
  boost::asio::io_context& io_;
  ClusterOptions options_;
  std::string work_dir_;
  bool owns_work_dir_ = false;
  std::unique_ptr<Clock> clock_;
  ManualClock* manual_clock_ = nullptr;
  master::MasterConfig master_config_;
  std::unique_ptr<master::Master> master_;
  std::vector<std::unique_ptr<agent::Agent>> agents_;
};

// A fresh temporary directory (mkdtemp under $TMPDIR or /tmp).
std::string make_temp_dir(const std::string& prefix = "dcos-test");

}  // namespace dcos::testing
