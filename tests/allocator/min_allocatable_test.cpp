#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "../src/allocator/resource_math.hpp"  // Private: src/.

// Model check of the minimum-offer check that reads an agent's kept quantities against the one
// that counts every requirement amount over the resources (`quantity_of`). Agents are built and
// changed as the allocator changes an agent's free resources (adding and taking parts), with the
// scalar quantities kept beside them by adding and subtracting the parts' quantities, so any
// drift between the two (rounding, names held as scalars and as ranges) shows as a mismatch.

namespace {

using dcos::Milli;
using dcos::Quantities;
using dcos::Requirement;
using dcos::Resource;
using dcos::Resources;
using dcos::ResourceNames;
using dcos::ValueType;

struct Model {
  std::mt19937_64 rng;
  int pick(int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); }

  // Scalars in thousandths, sometimes with a fourth decimal that `Resources` rounds away.
  double amount() {
    const double milli = static_cast<double>(pick(4000));
    return pick(4) == 0 ? milli / 1000.0 + static_cast<double>(pick(10)) / 10000.0 : milli / 1000.0;
  }
  std::string role() {
    static const char* roles[] = {"*", "*", "*", "eng", "eng/web"};
    return roles[pick(5)];
  }
  Resource item() {
    static const char* scalars[] = {"cpus", "mem", "disk", "gpus", "mixed"};
    Resource r;
    r.role = role();
    switch (pick(6)) {
      case 0: {
        r.name = pick(2) == 0 ? "ports" : "mixed";  // "mixed": a scalar elsewhere.
        r.type = ValueType::ranges;
        const auto begin = static_cast<std::uint64_t>(pick(100));
        r.ranges = dcos::Ranges({{begin, begin + static_cast<std::uint64_t>(pick(5))}});
        break;
      }
      case 1:
        r.name = "zones";
        r.type = ValueType::set;
        r.set = {"z" + std::to_string(pick(6))};
        break;
      default:
        r.name = scalars[pick(5)];
        r.scalar = amount();
    }
    return r;
  }
  Resources resources(int items) {
    Resources out;
    for (int i = 0; i < items; ++i) out += item();
    return out;
  }
  Requirement requirement(ResourceNames& names) {
    static const char* wanted[] = {"cpus", "mem", "disk", "gpus", "mixed", "ports", "zones", "absent"};
    Resources minimum;
    const int entries = 1 + pick(3);
    for (int i = 0; i < entries; ++i) {
      Resource r;
      r.name = wanted[pick(8)];
      if (r.name == "ports") {
        r.type = ValueType::ranges;
        r.ranges = dcos::Ranges({{0, static_cast<std::uint64_t>(pick(6))}});
      } else if (r.name == "zones") {
        r.type = ValueType::set;
        r.set = {"a"};
        if (pick(2) == 0) r.set.insert("b");
      } else {
        r.scalar = amount() / (1 + pick(4));
      }
      minimum += r;
    }
    return dcos::to_requirement(minimum, names);
  }
};

}  // namespace

TEST_CASE("Minimum offer check read from kept quantities agrees with counting over the resources",
          "[allocator][model]") {
  int held = 0, refused = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    Model m{std::mt19937_64(seed)};
    ResourceNames names;
    Resources free = m.resources(1 + m.pick(8));
    Quantities scalars = dcos::scalar_quantities(free, names);
    // Names some agent holds as ranges or sets, as the allocator flags them from totals, plus a
    // few more: flagging too many only counts those amounts the old way.
    std::vector<bool> non_scalar;
    auto flag = [&](const std::string& name) {
      const std::size_t index = names.index(name);
      if (non_scalar.size() <= index) non_scalar.resize(index + 1, false);
      non_scalar[index] = true;
    };
    std::vector<Resources> parts;  // What was taken, for giving some back.
    for (int step = 0; step < 60; ++step) {
      for (const Resource& r : free) {
        if (r.type != ValueType::scalar) flag(r.name);
      }
      if (m.pick(10) == 0) flag(m.pick(2) == 0 ? "cpus" : "absent");
      std::vector<Requirement> minimums;
      const int count = m.pick(4);
      for (int i = 0; i < count; ++i) minimums.push_back(m.requirement(names));
      const bool expected = dcos::allocatable(free, minimums);
      INFO("seed " << seed << " step " << step << " free " << free.to_string());
      REQUIRE(dcos::allocatable(free, scalars, non_scalar, minimums) == expected);
      (expected ? held : refused) += 1;

      // Change the agent as the allocator does: give a part back, or take one (often all).
      if (!parts.empty() && m.pick(2) == 0) {
        const Resources back = parts.back();
        parts.pop_back();
        free += back;
        scalars += dcos::scalar_quantities(back, names);
      } else if (m.pick(4) == 0 && !free.empty()) {
        parts.push_back(free);
        scalars -= dcos::scalar_quantities(free, names);
        free = Resources{};
      } else if (!free.empty()) {
        Resources part;
        for (const Resource& r : free) {
          if (m.pick(2) != 0) continue;
          Resource piece = r;
          if (r.type == ValueType::scalar) piece.scalar = r.scalar * m.pick(4) / 4.0;
          part += piece;
        }
        if (part.empty() || !free.contains(part)) continue;
        free -= part;
        scalars -= dcos::scalar_quantities(part, names);
        parts.push_back(part);
      } else {
        const Resources more = m.resources(1 + m.pick(4));
        free += more;
        scalars += dcos::scalar_quantities(more, names);
      }
    }
  }
  // Both answers are common, so a check that always says one of them would fail.
  CHECK(held > 2000);
  CHECK(refused > 2000);
}

TEST_CASE("Minimum offer check from kept quantities: both answers occur, names held as ranges count",
          "[allocator]") {
  ResourceNames names;
  const Resources free = dcos::parse_resources("cpus:1;mem:64;ports:[1-4]").value();
  const Quantities scalars = dcos::scalar_quantities(free, names);
  std::vector<bool> non_scalar(names.index("ports") + 1, false);
  non_scalar[names.index("ports")] = true;
  auto minimum = [&](const char* text) {
    return std::vector<Requirement>{dcos::to_requirement(dcos::parse_resources(text).value(), names)};
  };
  CHECK(dcos::allocatable(free, scalars, non_scalar, minimum("cpus:1;mem:64")));
  CHECK_FALSE(dcos::allocatable(free, scalars, non_scalar, minimum("cpus:1.001")));
  CHECK(dcos::allocatable(free, scalars, non_scalar, minimum("ports:[10-13]")));
  CHECK_FALSE(dcos::allocatable(free, scalars, non_scalar, minimum("ports:[10-14]")));
  CHECK(dcos::allocatable(free, scalars, non_scalar, {}));
  CHECK_FALSE(dcos::allocatable(Resources{}, Quantities{}, non_scalar, {}));
}
