#pragma once
// Scalar resource quantities for the allocator's bookkeeping: amounts by dense resource-name index
// (`ResourceNames`), kept in thousandths as Mesos keeps scalars in fixed point, so that sums and
// differences are exact however often grants and recoveries repeat. Pure values: no I/O.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/container/small_vector.hpp>

namespace dcos {

// Thousandths of a resource unit (Mesos rounds scalars to three decimals).
using Milli = std::int64_t;
Milli to_milli(double value);
double from_milli(Milli value);

// Amounts by resource-name index; an index past the end is zero.
class Quantities {
 public:
  Quantities() = default;
  Quantities(const Quantities&) = default;
  Quantities& operator=(const Quantities&) = default;
  // Out of line: inlined into a caller, GCC 12 cannot bound the element count of an inline
  // `small_vector` buffer and warns (-Wstringop-overread) about a read past its 6 slots.
  Quantities(Quantities&& other) noexcept;
  Quantities& operator=(Quantities&& other) noexcept;

  Milli get(std::size_t name) const { return name < values_.size() ? values_[name] : 0; }
  void set(std::size_t name, Milli value);
  void add(std::size_t name, Milli value) { set(name, get(name) + value); }
  std::size_t size() const { return values_.size(); }
  bool empty() const;  // All zero.

  Quantities& operator+=(const Quantities& other);
  // Requires: `contains(other)` (quantities never go negative).
  Quantities& operator-=(const Quantities& other);
  friend Quantities operator+(Quantities a, const Quantities& b) { return a += b; }
  friend Quantities operator-(Quantities a, const Quantities& b) { return a -= b; }
  bool contains(const Quantities& other) const;  // Every amount here >= the one in `other`.
  bool operator==(const Quantities& other) const;

 private:
  boost::container::small_vector<Milli, 6> values_;
};

// `a - b` per name, floored at zero (Mesos's `ResourceQuantities` subtraction).
Quantities saturating_minus(const Quantities& a, const Quantities& b);

// Interns resource names to the dense indexes `Quantities` uses. Indexes are never reused.
class ResourceNames {
 public:
  std::size_t index(std::string_view name);  // Adds the name if new.
  const std::string& name(std::size_t index) const { return names_[index]; }
  std::size_t size() const { return names_.size(); }

 private:
  std::unordered_map<std::string, std::size_t> indexes_;
  std::vector<std::string> names_;
};

}  // namespace dcos
