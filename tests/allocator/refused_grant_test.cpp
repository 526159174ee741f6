#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "dcos/allocator/allocator.hpp"

// Model check of declines recognised by identity: an allocator told to recover a grant it made
// (the same value, sharing its items) may skip comparing it with the agent's newest refusal; one
// told to recover an equal copy built anew must compare. Both get the same random operations
// (declines of whole grants with and without filters, partial recoveries, used resources coming
// back later, agents changing total or leaving and returning, frameworks arriving and reviving),
// so any difference in their grants is a wrong shortcut.

namespace {

using namespace std::chrono_literals;

dcos::Resources R(const std::string& text) { return dcos::parse_resources(text).value(); }

// An equal value that shares nothing with `resources`.
dcos::Resources rebuilt(const dcos::Resources& resources) {
  return dcos::Resources(std::vector<dcos::Resource>(resources.begin(), resources.end()));
}

struct Held {
  dcos::FrameworkId framework;
  dcos::AgentId agent;
  dcos::Resources resources;
};

struct Pair {
  std::unique_ptr<dcos::Allocator> shared, copied;
  std::vector<Held> held;  // What frameworks keep, as the shared allocator granted it.
};

}  // namespace

TEST_CASE("Recovering a grant itself or an equal copy gives the same offers", "[allocator][core]") {
  const std::vector<std::string> totals = {"cpus:4;mem:1024;ports:[1-10]", "cpus:2;mem:512;disk:100",
                                           "cpus:8;mem:2048;ports:[1-4,8-9]"};
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    std::mt19937_64 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
    dcos::AllocatorOptions options;
    options.full_scan = seed % 2 == 0;
    Pair p{dcos::make_drf_allocator(options), dcos::make_drf_allocator(options), {}};
    auto both = [&](auto&& call) {
      call(*p.shared);
      call(*p.copied);
    };
    std::vector<dcos::FrameworkId> frameworks;
    auto add_framework = [&] {
      frameworks.emplace_back("fw-" + std::to_string(frameworks.size()));
      const std::string role = pick(3) == 0 ? "web" : "*";
      both([&](dcos::Allocator& a) { a.add_framework(frameworks.back(), {role}, true); });
    };
    for (int i = 0; i < 3; ++i) add_framework();
    std::vector<dcos::AgentId> agents;
    for (int i = 0; i < 4; ++i) {
      agents.emplace_back("agent-" + std::to_string(i));
      both([&](dcos::Allocator& a) { a.add_agent(agents.back(), R(totals[i % 3]), {}); });
    }
    dcos::TimePoint now(std::chrono::seconds(1'700'000'000));
    for (int step = 0; step < 150; ++step) {
      INFO("seed " << seed << " step " << step);
      now += 1s;
      const std::vector<dcos::Grant> grants = p.shared->allocate(now);
      const std::vector<dcos::Grant> copies = p.copied->allocate(now);
      REQUIRE(grants.size() == copies.size());
      for (std::size_t i = 0; i < grants.size(); ++i) {
        REQUIRE(grants[i].framework == copies[i].framework);
        REQUIRE(grants[i].agent == copies[i].agent);
        REQUIRE(grants[i].role == copies[i].role);
        REQUIRE(grants[i].resources == copies[i].resources);
      }
      auto give_back_held = [&](std::size_t i) {
        const Held h = p.held[i];
        p.held.erase(p.held.begin() + static_cast<std::ptrdiff_t>(i));
        const std::optional<dcos::Duration> refuse = pick(2) == 0 ? std::optional<dcos::Duration>(10s) : std::nullopt;
        p.shared->recover(h.framework, h.agent, h.resources, refuse, now);
        p.copied->recover(h.framework, h.agent, rebuilt(h.resources), refuse, now);
      };
      for (const dcos::Grant& g : grants) {
        // Sometimes what was used on the agent comes back first: the grant then returns to an
        // agent with something free already.
        for (std::size_t i = 0; i < p.held.size(); ++i) {
          if (p.held[i].agent == g.agent && pick(3) == 0) {
            give_back_held(i);
            break;
          }
        }
        std::optional<dcos::Duration> refuse;
        switch (pick(6)) {
          case 0: refuse = std::nullopt; break;
          case 1: refuse = 2s; break;
          case 2: p.held.push_back({g.framework, g.agent, g.resources}); continue;  // Used.
          case 3: {  // Part used, the rest declined.
            const dcos::Resources part = R("cpus:1").allocated_to(g.role);
            if (g.resources.contains(part)) {
              p.held.push_back({g.framework, g.agent, part});
              const dcos::Resources rest = g.resources - part;
              both([&](dcos::Allocator& a) { a.recover(g.framework, g.agent, rebuilt(rest), 5s, now); });
              continue;
            }
            refuse = 5s;
            break;
          }
          default: refuse = pick(2) == 0 ? 3600s : 5s;
        }
        p.shared->recover(g.framework, g.agent, g.resources, refuse, now);
        p.copied->recover(g.framework, g.agent, rebuilt(g.resources), refuse, now);
      }
      switch (pick(12)) {
        case 0:
          if (!p.held.empty()) give_back_held(static_cast<std::size_t>(pick(static_cast<int>(p.held.size()))));
          break;
        case 1: {  // A new total: free resources change under the filters.
          const dcos::AgentId& agent = agents[static_cast<std::size_t>(pick(4))];
          const std::string total = totals[static_cast<std::size_t>(pick(3))];
          both([&](dcos::Allocator& a) { a.update_agent_total(agent, R(total)); });
          break;
        }
        case 2: {  // An agent leaves and comes back empty: its holdings and filters are gone.
          const dcos::AgentId agent = agents[static_cast<std::size_t>(pick(4))];
          std::erase_if(p.held, [&](const Held& h) { return h.agent == agent; });
          const std::string total = totals[static_cast<std::size_t>(pick(3))];
          both([&](dcos::Allocator& a) {
            a.remove_agent(agent);
            a.add_agent(agent, R(total), {});
          });
          break;
        }
        case 3:
          if (frameworks.size() < 6) add_framework();
          break;
        case 4: {
          const dcos::FrameworkId& framework = frameworks[static_cast<std::size_t>(pick(static_cast<int>(frameworks.size())))];
          both([&](dcos::Allocator& a) { a.revive(framework, {}); });
          break;
        }
        default: break;
      }
    }
  }
}
