#pragma once
// Test helpers: a framework driven through the C++ scheduler library against an in-process
// `Cluster`, recording every event it receives.

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcos/scheduler/scheduler.hpp"
#include "dcos/testing/cluster.hpp"

namespace dcos::testing {

struct TestFramework {
  Cluster& cluster;
  std::shared_ptr<scheduler::Scheduler> scheduler;
  std::vector<nlohmann::json> events;
  bool auto_acknowledge = true;
  bool auto_decline = false;

  TestFramework(Cluster& c, v1::FrameworkInfo info) : cluster(c) {
    scheduler::SchedulerConfig config;
    config.master = cluster.master_endpoint();
    config.framework = std::move(info);
    scheduler::Callbacks callbacks;
    callbacks.event = [this](const nlohmann::json& event) {
      events.push_back(event);
      if (auto_acknowledge && event.value("type", "") == "UPDATE") scheduler->acknowledge(event["update"]["status"]);
      if (auto_decline && event.value("type", "") == "OFFERS") {
        for (const auto& offer : event["offers"]["offers"]) scheduler->decline({offer["id"]["value"]}, 3600.0);
      }
    };
    scheduler = scheduler::Scheduler::create(cluster.io().get_executor(), cluster.clock(), config, callbacks);
  }

  static v1::FrameworkInfo info(std::string name = "test", double failover_timeout = 0,
                                std::vector<std::string> capabilities = {}) {
    v1::FrameworkInfo f;
    f.user = "tester";
    f.name = std::move(name);
    f.failover_timeout = failover_timeout;
    f.capabilities = std::move(capabilities);
    return f;
  }

  // `info(name)` in one role (not MULTI_ROLE).
  static v1::FrameworkInfo in_role(std::string name, std::string role) {
    v1::FrameworkInfo f = info(std::move(name));
    f.role = std::move(role);
    return f;
  }

  // Events of `type` received so far.
  std::vector<nlohmann::json> of(const std::string& type) const {
    std::vector<nlohmann::json> out;
    for (const auto& e : events) {
      if (e.value("type", "") == type) out.push_back(e);
    }
    return out;
  }
  // Waits for the n-th (1-based) event of `type`.
  std::optional<nlohmann::json> await(const std::string& type, size_t n = 1) {
    if (!cluster.run_until([&] { return of(type).size() >= n; })) return std::nullopt;
    return of(type)[n - 1];
  }
  // Task states received for `task_id`, in order.
  std::vector<std::string> states(const std::string& task_id) const {
    std::vector<std::string> out;
    for (const auto& e : of("UPDATE")) {
      const auto& status = e["update"]["status"];
      if (status["task_id"]["value"] == task_id) out.push_back(status["state"]);
    }
    return out;
  }
  bool saw_state(const std::string& task_id, const std::string& state) const {
    auto s = states(task_id);
    return std::find(s.begin(), s.end(), state) != s.end();
  }
  bool await_state(const std::string& task_id, const std::string& state) {
    return cluster.run_until([&] { return saw_state(task_id, state); });
  }
  // Sends `call` and waits for the master's answer; returns its HTTP status (-1: no answer).
  int call(nlohmann::json call) {
    int status = 0;
    scheduler->send(std::move(call), [&](Result<http::Response> response) {
      status = response ? static_cast<int>(response->result_int()) : -1;
    });
    cluster.run_until([&] { return status != 0; });
    return status;
  }
  // ACCEPTs `offer` with `operations`; what they leave is filtered for `refuse_seconds`.
  int accept(const nlohmann::json& offer, nlohmann::json operations, double refuse_seconds = 1) {
    return call({{"type", "ACCEPT"},
                 {"accept",
                  {{"offer_ids", {offer["id"]}},
                   {"operations", std::move(operations)},
                   {"filters", {{"refuse_seconds", refuse_seconds}}}}}});
  }
  // Declines `offer_id` and waits until the master has taken the call.
  bool decline(const std::string& offer_id, double refuse_seconds) {
    bool done = false;
    scheduler->decline({offer_id}, refuse_seconds, [&](auto) { done = true; });
    return cluster.run_until([&] { return done; });
  }
  // Launches one command task on the first offer received (waits for it).
  std::string launch(const std::string& task_id, const std::string& command,
                     const std::string& resources = "cpus:0.1;mem:32") {
    auto offers = await("OFFERS");
    if (!offers) return {};
    const auto& offer = (*offers)["offers"]["offers"][0];
    const std::string agent = offer["agent_id"]["value"];
    scheduler->accept({offer["id"]["value"]},
                      nlohmann::json::array({scheduler::Scheduler::launch_command(
                          task_id, task_id, agent, command, to_json(parse_resources(resources).value()))}),
                      0.0);
    return agent;
  }
};

// Outstanding offers of `framework`, from the master's own books. None until its scheduler has
// its id: the master may make offers before the scheduler has read SUBSCRIBED.
inline std::vector<master::Offer> outstanding(Cluster& cluster, const TestFramework& framework) {
  std::vector<master::Offer> out;
  const std::optional<FrameworkId>& id = framework.scheduler->framework_id();
  if (!id) return out;
  for (const auto& [offer_id, offer] : cluster.master().core().offers()) {
    if (offer.framework_id == *id) out.push_back(offer);
  }
  return out;
}

// The scalar `name` summed over the outstanding offers of `framework`.
inline double offered(Cluster& cluster, const TestFramework& framework, const std::string& name = "cpus") {
  double amount = 0;
  for (const auto& offer : outstanding(cluster, framework)) amount += offer.resources.scalar(name);
  return amount;
}

}  // namespace dcos::testing
