#include "dcos/testing/cluster.hpp"

#include <stdlib.h>

#include <filesystem>

#include <fmt/format.h>

#include "dcos/state/in_memory_storage.hpp"

namespace dcos::testing {

std::string make_temp_dir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = fmt::format("{}/{}-XXXXXX", tmp ? tmp : "/tmp", prefix);
  if (::mkdtemp(pattern.data()) == nullptr) return {};
  return pattern;
}

Cluster::Cluster(boost::asio::io_context& io, ClusterOptions options) : io_(io), options_(std::move(options)) {
  work_dir_ = options_.work_dir;
  if (work_dir_.empty()) {
    work_dir_ = make_temp_dir();
    owns_work_dir_ = true;
  }
  if (options_.manual_clock) {
    auto clock = std::make_unique<ManualClock>();
    manual_clock_ = clock.get();
    clock_ = std::move(clock);
  } else {
    clock_ = std::make_unique<SystemClock>(io_.get_executor());
  }
  master_config_.port = options_.master_port;
  master_config_.work_dir = work_dir_ + "/master";
  master_config_.options = options_.master_options;
  master_config_.registry_storage = options_.registry_storage;
  if (!master_config_.registry_storage) master_config_.registry_storage = std::make_shared<state::InMemoryStorage>();
  if (options_.configure_master) options_.configure_master(master_config_);
  master_ = std::make_unique<master::Master>(io_.get_executor(), *clock_, master_config_);
}

Cluster::~Cluster() {
  for (auto& agent : agents_) {
    if (agent) agent->stop(true);
  }
  if (master_) master_->stop();
  // Let connections wind down before the objects they point at go away.
  io_.poll();
  agents_.clear();
  master_.reset();
  io_.poll();
  if (owns_work_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
  }
}

http::Endpoint Cluster::master_endpoint() const { return {"127.0.0.1", master_->port()}; }

bool Cluster::start(std::chrono::milliseconds timeout) {
  if (!master_->start()) return false;
  if (!run_until([&] { return master_->recovered(); }, timeout)) return false;
  for (int i = 0; i < options_.agents; ++i) add_agent();
  return run_until([&] {
    return std::all_of(agents_.begin(), agents_.end(), [](const auto& a) { return !a || a->registered(); });
  }, timeout);
}

size_t Cluster::add_agent(const std::string& resources) {
  agent::AgentConfig config;
  config.port = 0;
  config.master = master_endpoint();
  config.work_dir = fmt::format("{}/agent-{}", work_dir_, agents_.size());
  config.resources = parse_resources(resources.empty() ? options_.agent_resources : resources).value();
  auto agent = std::make_unique<agent::Agent>(io_.get_executor(), *clock_, config);
  agent->start();
  agents_.push_back(std::move(agent));
  return agents_.size() - 1;
}

void Cluster::stop_agent(size_t i) {
  if (agents_.at(i)) agents_[i]->stop(true);
  poll();
}

bool Cluster::restart_agent(size_t i) {
  const agent::AgentConfig config = agents_.at(i)->config();  // Its bound port, not 0.
  agents_[i]->stop(false);
  poll();
  agents_[i].reset();
  poll();
  agents_[i] = std::make_unique<agent::Agent>(io_.get_executor(), *clock_, config);
  return agents_[i]->start().has_value();
}

bool Cluster::restart_master(std::chrono::milliseconds timeout) {
  const std::uint16_t port = master_->port();
  master_->stop();
  poll();
  master_.reset();
  poll();
  master_config_.port = port;
  master_ = std::make_unique<master::Master>(io_.get_executor(), *clock_, master_config_);
  if (!master_->start()) return false;
  return run_until([&] { return master_->recovered(); }, timeout);
}

bool Cluster::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (io_.stopped()) io_.restart();
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    io_.run_one_for(std::chrono::milliseconds(20));
    if (io_.stopped()) io_.restart();
  }
  return true;
}

void Cluster::poll() {
  if (io_.stopped()) io_.restart();
  io_.poll();
}

void Cluster::advance(Duration by, int steps) {
  if (!manual_clock_) return;
  for (int i = 0; i < steps; ++i) {
    manual_clock_->advance(by / steps);
    settle();
  }
}

void Cluster::settle() {
  // Loopback I/O completes within microseconds but not within the handler that starts it, so a
  // bare poll() can return while a reply is still in the kernel. Two quiet milliseconds in a row
  // end the step; the one-second bound keeps a chatty io_context from holding the test.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  poll();
  while (std::chrono::steady_clock::now() < deadline && io_.run_one_for(std::chrono::milliseconds(2)) > 0) {
    if (io_.stopped()) io_.restart();
  }
  if (io_.stopped()) io_.restart();
}

}  // namespace dcos::testing
