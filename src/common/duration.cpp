#include "dcos/common/duration.hpp"

#include <charconv>
#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace dcos {
namespace {

// Splits "12.5secs" into 12.5 and "secs".
Result<std::pair<double, std::string_view>> split_number(std::string_view text, std::string_view what) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, value);
  if (i == 0 || ec != std::errc() || ptr != text.data() + i) {
    return fail(Errc::invalid_argument, fmt::format("invalid {} '{}': expected a number first", what, text));
  }
  return std::make_pair(value, text.substr(i));
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  auto split = split_number(text, "duration");
  if (!split) return tl::unexpected(split.error());
  const auto [value, unit] = *split;
  double ns_per_unit = 0;
  if (unit == "ns") ns_per_unit = 1;
  else if (unit == "us") ns_per_unit = 1e3;
  else if (unit == "ms") ns_per_unit = 1e6;
  else if (unit == "secs") ns_per_unit = 1e9;
  else if (unit == "mins") ns_per_unit = 60e9;
  else if (unit == "hrs") ns_per_unit = 3600e9;
  else if (unit == "days") ns_per_unit = 86400e9;
  else if (unit == "weeks") ns_per_unit = 7 * 86400e9;
  else {
    return fail(Errc::invalid_argument,
                fmt::format("invalid duration '{}': unit must be one of ns, us, ms, secs, mins, hrs, days, weeks", text));
  }
  if (value * ns_per_unit >= 9.2e18) {
    return fail(Errc::invalid_argument, fmt::format("invalid duration '{}': too long", text));
  }
  return Duration(static_cast<Duration::rep>(std::llround(value * ns_per_unit)));
}

std::string format_duration(Duration d) {
  const auto ns = d.count();
  struct Unit { std::int64_t ns; const char* name; };
  static constexpr Unit units[] = {{7LL * 86400'000'000'000, "weeks"}, {86400'000'000'000, "days"},
                                   {3600'000'000'000, "hrs"}, {60'000'000'000, "mins"},
                                   {1'000'000'000, "secs"}, {1'000'000, "ms"}, {1'000, "us"}};
  for (const Unit& unit : units) {
    if (ns != 0 && ns % unit.ns == 0) return fmt::format("{}{}", ns / unit.ns, unit.name);
  }
  if (ns == 0) return "0ns";
  return fmt::format("{}ns", ns);
}

Result<std::uint64_t> parse_bytes(std::string_view text) {
  auto split = split_number(text, "byte size");
  if (!split) return tl::unexpected(split.error());
  const auto [value, unit] = *split;
  double multiplier = 0;
  if (unit == "B" || unit.empty()) multiplier = 1;
  else if (unit == "KB") multiplier = 1024.0;
  else if (unit == "MB") multiplier = 1024.0 * 1024;
  else if (unit == "GB") multiplier = 1024.0 * 1024 * 1024;
  else if (unit == "TB") multiplier = 1024.0 * 1024 * 1024 * 1024;
  else return fail(Errc::invalid_argument, fmt::format("invalid byte size '{}': unit must be B, KB, MB, GB or TB", text));
  if (value * multiplier >= 1.8e19) {
    return fail(Errc::invalid_argument, fmt::format("invalid byte size '{}': too large", text));
  }
  return static_cast<std::uint64_t>(std::llround(value * multiplier));
}

}  // namespace dcos
