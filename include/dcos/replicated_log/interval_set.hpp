#pragma once
// A set of log positions kept as disjoint closed intervals, so "everything from 0 to 10^6 is
// learned" costs one node. Used for learned positions, missing positions and catch-up ranges.

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace dcos::replicated_log {

class IntervalSet {
 public:
  using Value = std::uint64_t;

  IntervalSet() = default;
  IntervalSet(Value first, Value last) { add(first, last); }

  // Adds [first, last]. Requires: first <= last.
  void add(Value first, Value last) {
    auto it = intervals_.upper_bound(first);
    if (it != intervals_.begin()) {
      auto prev = std::prev(it);
      if (prev->second >= first || prev->second + 1 == first) {
        first = prev->first;
        last = std::max(last, prev->second);
        it = intervals_.erase(prev);
      }
    }
    while (it != intervals_.end() && (it->first <= last || it->first == last + 1)) {
      last = std::max(last, it->second);
      it = intervals_.erase(it);
    }
    intervals_.emplace(first, last);
  }
  void add(Value value) { add(value, value); }

  // Removes [first, last]. Requires: first <= last.
  void remove(Value first, Value last) {
    auto it = intervals_.upper_bound(first);
    if (it != intervals_.begin()) --it;
    while (it != intervals_.end() && it->first <= last) {
      const Value a = it->first;
      const Value b = it->second;
      if (b < first) {
        ++it;
        continue;
      }
      it = intervals_.erase(it);
      if (a < first) intervals_.emplace(a, first - 1);
      if (b > last) {
        intervals_.emplace(last + 1, b);
        break;
      }
    }
  }
  void remove(Value value) { remove(value, value); }
  void remove(const IntervalSet& other) {
    for (const auto& [a, b] : other.intervals_) remove(a, b);
  }
  // Removes every value below `value`.
  void remove_below(Value value) {
    if (value > 0) remove(0, value - 1);
  }

  bool contains(Value value) const {
    auto it = intervals_.upper_bound(value);
    if (it == intervals_.begin()) return false;
    return std::prev(it)->second >= value;
  }
  // True when every value in [first, last] is in the set.
  bool contains(Value first, Value last) const {
    auto it = intervals_.upper_bound(first);
    if (it == intervals_.begin()) return false;
    --it;
    return it->first <= first && it->second >= last;
  }

  // The values of this set within [first, last].
  IntervalSet within(Value first, Value last) const {
    IntervalSet out;
    if (first > last) return out;
    auto it = intervals_.upper_bound(first);
    if (it != intervals_.begin()) --it;
    for (; it != intervals_.end() && it->first <= last; ++it) {
      if (it->second < first) continue;
      out.intervals_.emplace(std::max(it->first, first), std::min(it->second, last));
    }
    return out;
  }

  void clear() { intervals_.clear(); }
  bool empty() const { return intervals_.empty(); }
  // The number of values (not intervals).
  std::uint64_t size() const {
    std::uint64_t n = 0;
    for (const auto& [a, b] : intervals_) n += b - a + 1;
    return n;
  }
  std::optional<Value> first() const {
    if (intervals_.empty()) return std::nullopt;
    return intervals_.begin()->first;
  }
  std::optional<Value> last() const {
    if (intervals_.empty()) return std::nullopt;
    return intervals_.rbegin()->second;
  }
  // The end of the run of values that starts at `value`, if `value` is in the set.
  std::optional<Value> run_end(Value value) const {
    auto it = intervals_.upper_bound(value);
    if (it == intervals_.begin()) return std::nullopt;
    --it;
    if (it->second < value) return std::nullopt;
    return it->second;
  }
  // Up to `count` of the smallest values.
  std::vector<Value> take(std::size_t count) const {
    std::vector<Value> out;
    for (const auto& [a, b] : intervals_) {
      for (Value v = a; out.size() < count; ++v) {
        out.push_back(v);
        if (v == b) break;
      }
      if (out.size() >= count) break;
    }
    return out;
  }
  const std::map<Value, Value>& intervals() const { return intervals_; }
  bool operator==(const IntervalSet&) const = default;

 private:
  std::map<Value, Value> intervals_;  // first -> last, disjoint and non-adjacent.
};

}  // namespace dcos::replicated_log
