#include <catch2/catch.hpp>

#include <bitset>
#include <cstdint>
#include <random>
#include <vector>

#include "dcos/resources/resources.hpp"

// `Ranges` arithmetic in one pass over both sorted lists, checked against a model that keeps
// each value of a small universe as one bit.

namespace {

using dcos::Range;
using dcos::Ranges;

constexpr std::size_t universe = 64;
using Values = std::bitset<universe>;

Values values_of(const Ranges& ranges) {
  Values out;
  for (const Range& r : ranges.items()) {
    for (std::uint64_t v = r.begin; v <= r.end; ++v) out.set(v);
  }
  return out;
}

// Sorted, disjoint and coalesced: no two ranges touch.
bool normalized(const Ranges& ranges) {
  const auto& items = ranges.items();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].begin > items[i].end) return false;
    if (i > 0 && items[i - 1].end + 1 >= items[i].begin) return false;
  }
  return true;
}

// Up to 8 ranges of up to 8 values, overlapping or not, in any order.
Ranges random_ranges(std::mt19937_64& random) {
  std::vector<Range> items(random() % 9);
  for (Range& r : items) {
    r.begin = random() % (universe - 8);
    r.end = r.begin + random() % 8;
  }
  return Ranges(std::move(items));
}

}  // namespace

TEST_CASE("Ranges contains, += and -= agree with a model of their values", "[resources][core]") {
  std::mt19937_64 random(7);
  for (int i = 0; i < 5000; ++i) {
    const Ranges a = random_ranges(random);
    const Ranges b = random_ranges(random);
    INFO(a.to_string() << " and " << b.to_string());
    REQUIRE(normalized(a));
    CHECK(a.contains(b) == ((values_of(b) & ~values_of(a)).none()));
    Ranges sum = a;
    sum += b;
    CHECK(normalized(sum));
    CHECK(values_of(sum) == (values_of(a) | values_of(b)));
    Ranges difference = a;
    difference -= b;
    CHECK(normalized(difference));
    CHECK(values_of(difference) == (values_of(a) & ~values_of(b)));
  }
}

TEST_CASE("Ranges reaching the largest value coalesce and subtract without overflow", "[resources][core]") {
  // [10-MAX] swallows [20-30]; cutting [0-MAX] leaves nothing; cutting [MAX-MAX] leaves [10-MAX-1].
  constexpr std::uint64_t max = UINT64_MAX;
  Ranges top({{20, 30}, {10, max}});
  CHECK(top.items() == std::vector<Range>{{10, max}});
  CHECK(top.contains(Ranges({{max, max}, {11, 12}})));
  Ranges cut = top;
  cut -= Ranges({{max, max}});
  CHECK(cut.items() == std::vector<Range>{{10, max - 1}});
  cut += Ranges({{max, max}, {0, 0}});
  CHECK(cut.items() == std::vector<Range>{{0, 0}, {10, max}});
  cut -= Ranges({{0, max}});
  CHECK(cut.empty());
}
