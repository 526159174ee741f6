#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dcos/resources/resources.hpp"

// Copies of `Resources` share their items until one changes: random operations on a pool of
// values that copy each other, each checked against the same operation on unshared copies, and
// every other value of the pool checked unchanged.

namespace {

using dcos::Range;
using dcos::Ranges;
using dcos::Resource;
using dcos::Resources;
using dcos::ValueType;

bool same_items(const Resources& a, const Resources& b) {
  const auto& x = a.items();
  const auto& y = b.items();
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i].name != y[i].name || x[i].type != y[i].type || x[i].scalar != y[i].scalar ||
        !(x[i].ranges == y[i].ranges) || x[i].set != y[i].set || x[i].role != y[i].role ||
        x[i].allocation_role != y[i].allocation_role || !(x[i].reservations == y[i].reservations)) {
      return false;
    }
  }
  return true;
}

// The same items in a buffer of their own.
Resources unshared(const Resources& resources) { return Resources(resources.items()); }

Resources random_resources(std::mt19937_64& random) {
  static const std::vector<std::string> roles = {"*", "eng"};
  Resources out;
  for (int i = static_cast<int>(random() % 4); i > 0; --i) {
    Resource r;
    r.role = roles[random() % roles.size()];
    if (random() % 3 == 0) r.allocation_role = "web";
    if (random() % 2 == 0) {
      r.name = random() % 2 ? "cpus" : "mem";
      r.scalar = static_cast<double>(1 + random() % 4);
    } else {
      r.name = "ports";
      r.type = ValueType::ranges;
      const std::uint64_t begin = 31000 + random() % 20;
      r.ranges = Ranges({Range{begin, begin + random() % 4}});
    }
    out += r;
  }
  return out;
}

}  // namespace

TEST_CASE("copies of Resources change independently", "[resources][core]") {
  std::mt19937_64 random(11);
  std::vector<Resources> pool(6);
  for (Resources& r : pool) r = random_resources(random);
  for (int step = 0; step < 20000; ++step) {
    const std::size_t i = random() % pool.size();
    const std::size_t j = random() % pool.size();
    std::vector<Resources> before;
    for (const Resources& r : pool) before.push_back(unshared(r));
    Resources expected = unshared(pool[i]);
    const Resources other = unshared(pool[j]);
    const int op = static_cast<int>(random() % 7);
    INFO("step " << step << " op " << op << ": " << pool[i].to_string() << " and " << pool[j].to_string());
    switch (op) {
      case 0:  // Share.
        pool[i] = pool[j];
        expected = other;
        break;
      case 1:  // `Ranges` does not add a value to itself: only other (maybe shared) values.
        if (i == j) continue;
        pool[i] += pool[j];
        expected += other;
        break;
      case 2:
        if (!pool[i].contains(pool[j])) continue;
        pool[i] -= pool[j];
        expected -= other;
        break;
      case 3:  // An item of a value sharing its items with this one, or not.
        if (i == j || pool[j].empty()) continue;
        pool[i] += pool[j].items().front();
        expected += other.items().front();
        break;
      case 4:
        pool[i] = std::move(pool[i]).allocated_to("web");
        expected = std::move(expected).allocated_to("web");
        break;
      case 5:
        pool[i] = std::move(pool[i]).unallocated();
        expected = std::move(expected).unallocated();
        break;
      case 6:
        pool[i] = random_resources(random);
        expected = pool[i];
        break;
    }
    REQUIRE(same_items(pool[i], expected));
    CHECK(pool[i].empty() == pool[i].items().empty());
    for (std::size_t k = 0; k < pool.size(); ++k) {
      if (k != i) REQUIRE(same_items(pool[k], before[k]));
    }
  }
}

TEST_CASE("a copy shares its items until one side changes", "[resources][core]") {
  const Resources a = dcos::parse_resources("cpus:2;mem:64;ports:[31000-31009]").value();
  Resources b = a;
  CHECK(&a.items() == &b.items());  // No copy made.
  CHECK(a.contains(b));
  b -= dcos::parse_resources("cpus:1").value();
  CHECK(&a.items() != &b.items());
  CHECK(a.scalar("cpus") == 2);
  CHECK(b.scalar("cpus") == 1);
  Resources c = b;
  c -= b;  // All of a shared value: nothing left, without touching `b`.
  CHECK(c.empty());
  CHECK(b.scalar("mem") == 64);
}
