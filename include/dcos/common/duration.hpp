#pragma once
// Mesos-style durations and byte sizes in flags: `10secs`, `500ms`, `2hrs`, `512MB`.

#include <cstdint>
#include <string>
#include <string_view>

#include "dcos/common/clock.hpp"
#include "dcos/common/result.hpp"

namespace dcos {

// Accepts a number followed by ns, us, ms, secs, mins, hrs, days or weeks.
Result<Duration> parse_duration(std::string_view text);
// The shortest exact Mesos spelling, e.g. "15secs", "500ms".
std::string format_duration(Duration d);
// Accepts a number followed by B, KB, MB, GB or TB; returns bytes.
Result<std::uint64_t> parse_bytes(std::string_view text);

}  // namespace dcos
