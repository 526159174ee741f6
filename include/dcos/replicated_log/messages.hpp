#pragma once
// The messages replicas and proposers exchange. Every request names the proposal (or nonce) it
// belongs to and every response echoes it, so a proposer can drop answers to an older round;
// every message may be lost, duplicated, delayed or reordered. The wire encoding is in
// `codec.hpp`; docs/design/replicated_log.md lists the rules each handler follows.

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "dcos/replicated_log/types.hpp"

namespace dcos::replicated_log {

// Which component on a node a message is for. A node hosts one replica and, at times, one
// coordinator, one recovery and one catch-up; responses go back to the requester's port.
enum class Port : std::uint8_t { replica = 0, coordinator = 1, recovery = 2, catch_up = 3 };

struct Address {
  NodeId node;
  Port port = Port::replica;
  auto operator<=>(const Address&) const = default;
};

// Phase 1. Without `position` it is *implicit*: a promise for every position without a higher
// explicit promise (the Multi-Paxos leader's lease). With `position` it is *explicit*.
struct PromiseRequest {
  Proposal proposal;
  std::optional<Position> position;
};

enum class Verdict : std::uint8_t { accepted = 0, rejected = 1, ignored = 2 };

struct PromiseResponse {
  Verdict verdict = Verdict::ignored;
  Proposal proposal;                 // Echo of the request's.
  Proposal promised;                 // rejected: the replica's promise, which beat `proposal`.
  std::optional<Position> position;  // Echo of an explicit request's position.
  Position end = 0;                  // accepted, implicit: the replica's last written position.
  // accepted, explicit: what the replica had at `position` (a value, or learned, or a learned
  // tombstone when the position was truncated). Absent when it had nothing.
  std::optional<Action> action;
};

// Phase 2. `action` carries the position and the value; the replica fills in the Paxos fields.
struct WriteRequest {
  Proposal proposal;
  Action action;
};

struct WriteResponse {
  Verdict verdict = Verdict::ignored;
  Proposal proposal;  // Echo.
  Proposal promised;  // rejected: the replica's effective promise at the position.
  Position position = 0;
};

// A chosen value. Not acknowledged: a replica that misses it catches up later.
struct LearnedMessage {
  Action action;  // learned == true.
};

// Recovery: what status and range are the other replicas in?
struct RecoverRequest {
  std::uint64_t nonce = 0;
};

struct RecoverResponse {
  std::uint64_t nonce = 0;  // Echo.
  Status status = Status::empty;
  // VOTING replicas only.
  Position begin = 0;
  Position end = 0;
  Proposal promised;
};

// Catch-up: send me your learned actions in [from, to]. The answer may stop early (`to` in
// the response) to bound its size; positions in [from, response.to] that it does not list
// are not learned at the responder. Positions below `begin` were truncated there.
struct FetchRequest {
  std::uint64_t nonce = 0;
  Position from = 0;
  Position to = 0;
};

struct FetchResponse {
  std::uint64_t nonce = 0;  // Echo.
  Position from = 0;
  Position to = 0;
  Position begin = 0;
  std::vector<Action> actions;  // Learned, ascending, within [max(from, begin), to].
};

using Message = std::variant<PromiseRequest, PromiseResponse, WriteRequest, WriteResponse,
                             LearnedMessage, RecoverRequest, RecoverResponse, FetchRequest,
                             FetchResponse>;

struct Envelope {
  Address from;
  Address to;
  Message message;
};

std::string_view message_name(const Message& message);

}  // namespace dcos::replicated_log
