#include "dcos/allocator/drf_sorter.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

// The DRF order a visit walks, after random adds (names landing between existing siblings),
// removes, activations and grants, against sorting the active clients by (share, grants, path).

TEST_CASE("DrfSorter visits active clients by share, then grants, then path", "[allocator][core]") {
  std::mt19937_64 random(5);
  dcos::DrfSorter sorter;
  dcos::Quantities totals;
  totals.set(0, 100'000);
  totals.set(1, 100'000);
  sorter.set_totals(totals);
  struct Tracked {
    bool active = false;
    std::uint64_t grants = 0;
  };
  std::map<dcos::DrfSorter::Client, Tracked> clients;
  std::map<std::string, dcos::DrfSorter::Client> by_name;
  for (int step = 0; step < 5000; ++step) {
    const int op = static_cast<int>(random() % 6);
    if (op == 0 || clients.empty()) {
      const std::string name = "f" + std::to_string(random() % 200);
      if (by_name.contains(name)) continue;
      const auto client = sorter.add(name);
      by_name[name] = client;
      clients[client] = {};
      continue;
    }
    auto it = std::next(clients.begin(), static_cast<long>(random() % clients.size()));
    const auto client = it->first;
    switch (op) {
      case 1:
        if (random() % 4 != 0) continue;  // Removes are rarer than adds.
        by_name.erase(sorter.path(client));
        sorter.remove(client);
        clients.erase(it);
        break;
      case 2:
        sorter.activate(client);
        it->second.active = true;
        break;
      case 3:
        sorter.deactivate(client);
        it->second.active = false;
        break;
      case 4: {
        dcos::Quantities granted;
        granted.set(random() % 2, static_cast<dcos::Milli>(1 + random() % 3) * 1000);
        sorter.allocated(client, granted);
        ++it->second.grants;
        break;
      }
      case 5:
        if (sorter.allocation(client).empty()) continue;
        sorter.unallocated(client, dcos::Quantities(sorter.allocation(client)));
        break;
    }
    std::vector<std::tuple<double, std::uint64_t, std::string>> expected;
    for (const auto& [c, tracked] : clients) {
      if (tracked.active) expected.emplace_back(sorter.share(c), tracked.grants, sorter.path(c));
    }
    std::sort(expected.begin(), expected.end());
    std::vector<std::string> visited;
    sorter.visit([&](dcos::DrfSorter::Client c) {
      visited.push_back(sorter.path(c));
      return true;
    });
    REQUIRE(visited.size() == expected.size());
    for (std::size_t i = 0; i < visited.size(); ++i) REQUIRE(visited[i] == std::get<2>(expected[i]));
  }
}
