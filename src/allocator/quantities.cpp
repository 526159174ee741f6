#include "dcos/allocator/quantities.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "dcos/common/result.hpp"

namespace dcos {

Milli to_milli(double value) { return static_cast<Milli>(std::llround(value * 1000.0)); }

double from_milli(Milli value) { return static_cast<double>(value) / 1000.0; }

Quantities::Quantities(Quantities&& other) noexcept : values_(std::move(other.values_)) {}

Quantities& Quantities::operator=(Quantities&& other) noexcept {
  values_ = std::move(other.values_);
  return *this;
}

void Quantities::set(std::size_t name, Milli value) {
  DCOS_ASSERT(value >= 0);
  if (name >= values_.size()) {
    if (value == 0) return;
    values_.resize(name + 1, 0);
  }
  values_[name] = value;
}

bool Quantities::empty() const {
  return std::all_of(values_.begin(), values_.end(), [](Milli v) { return v == 0; });
}

Quantities& Quantities::operator+=(const Quantities& other) {
  if (other.values_.size() > values_.size()) values_.resize(other.values_.size(), 0);
  for (std::size_t i = 0; i < other.values_.size(); ++i) values_[i] += other.values_[i];
  return *this;
}

Quantities& Quantities::operator-=(const Quantities& other) {
  for (std::size_t i = 0; i < other.values_.size(); ++i) {
    if (other.values_[i] == 0) continue;
    DCOS_ASSERT(i < values_.size() && values_[i] >= other.values_[i]);
    values_[i] -= other.values_[i];
  }
  return *this;
}

bool Quantities::contains(const Quantities& other) const {
  for (std::size_t i = 0; i < other.values_.size(); ++i) {
    if (get(i) < other.values_[i]) return false;
  }
  return true;
}

bool Quantities::operator==(const Quantities& other) const { return contains(other) && other.contains(*this); }

Quantities saturating_minus(const Quantities& a, const Quantities& b) {
  Quantities out;
  for (std::size_t i = 0; i < a.size(); ++i) out.set(i, std::max<Milli>(0, a.get(i) - b.get(i)));
  return out;
}

std::size_t ResourceNames::index(std::string_view name) {
  // A handful of names in practice (cpus, mem, disk, gpus, ports): a scan beats hashing.
  for (std::size_t i = 0; i < names_.size() && i < 16; ++i) {
    if (names_[i] == name) return i;
  }
  auto it = indexes_.find(std::string(name));
  if (it != indexes_.end()) return it->second;
  const std::size_t index = names_.size();
  names_.emplace_back(name);
  indexes_.emplace(names_.back(), index);
  return index;
}

}  // namespace dcos
