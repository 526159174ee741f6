#pragma once
// The replicated log's data model: positions, proposals, the per-position `Action` and the
// per-replica `Metadata`. See docs/design/replicated_log.md for how they are used and stored.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace dcos::replicated_log {

// A slot in the log. Position 0 is the first; a brand-new log fills it with a NOP.
using Position = std::uint64_t;

// A replica in the static replica set: an index the operator (or test) assigns.
struct NodeId {
  std::uint32_t value = 0;
  auto operator<=>(const NodeId&) const = default;
};

// A Paxos ballot. Ordered by `round`, then `proposer`. `proposer` is unique per proposer
// *incarnation* (a restarted coordinator takes a fresh one), so two proposers never share a
// proposal and one proposer never proposes two values at one position under one proposal. That
// is why replicas may treat an equal proposal as a retransmission (see `Replica`).
struct Proposal {
  std::uint64_t round = 0;
  std::uint64_t proposer = 0;
  auto operator<=>(const Proposal&) const = default;
};

// EMPTY -> STARTING -> VOTING is the two-phase auto-initialisation of a brand-new log; a replica
// that finds a quorum already VOTING goes EMPTY (or RECOVERING after a crash) -> RECOVERING ->
// VOTING through catch-up. Only VOTING replicas answer promise and write requests.
enum class Status : std::uint8_t { empty = 0, starting = 1, recovering = 2, voting = 3 };

enum class ActionType : std::uint8_t { nop = 0, append = 1, truncate = 2 };

// What one replica knows about one position.
struct Action {
  Position position = 0;
  // The highest proposal this replica promised for this position explicitly. The effective
  // promise is the larger of this and the replica's implicit `Metadata::promised`.
  Proposal promised;
  // The proposal under which the value below was accepted; empty for a promise-only record.
  std::optional<Proposal> performed;
  // The value is chosen (some quorum accepted it, or it was truncated away).
  bool learned = false;
  ActionType type = ActionType::nop;
  bool tombstone = false;  // nop only: stands for a position that was truncated.
  std::string bytes;       // append only.
  Position to = 0;         // truncate only: positions below `to` are dropped.

  bool has_value() const { return performed.has_value(); }
};

// True when `a` and `b` carry the same value (type and payload), whatever their Paxos fields.
bool same_value(const Action& a, const Action& b);

// Constructors for values, as a proposer fills them in before writing.
Action nop_value(Position position);
Action append_value(Position position, std::string bytes);
Action truncate_value(Position position, Position to);

struct Metadata {
  Status status = Status::empty;
  Proposal promised;  // The implicit promise: covers every position without a higher explicit one.
  bool operator==(const Metadata&) const = default;
};

std::string_view to_string(Status status);
std::string_view to_string(ActionType type);

}  // namespace dcos::replicated_log

template <>
struct fmt::formatter<dcos::replicated_log::NodeId> : fmt::formatter<std::uint32_t> {
  template <typename Context>
  auto format(const dcos::replicated_log::NodeId& id, Context& ctx) const {
    return fmt::formatter<std::uint32_t>::format(id.value, ctx);
  }
};

template <>
struct fmt::formatter<dcos::replicated_log::Proposal> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const dcos::replicated_log::Proposal& p, Context& ctx) const {
    return fmt::format_to(ctx.out(), "{}.{:x}", p.round, p.proposer);
  }
};

template <>
struct fmt::formatter<dcos::replicated_log::Status> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(dcos::replicated_log::Status s, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(dcos::replicated_log::to_string(s), ctx);
  }
};
