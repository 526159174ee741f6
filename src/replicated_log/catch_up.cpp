#include "dcos/replicated_log/catch_up.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "dcos/common/log.hpp"
#include "dcos/replicated_log/replica.hpp"
#include "paxos_round.hpp"

namespace dcos::replicated_log {

using detail::PaxosRound;

namespace {

// The positions of `set` the local replica still misses.
IntervalSet still_missing(const Replica& local, const IntervalSet& set) {
  IntervalSet out;
  for (const auto& [a, b] : set.intervals()) {
    const IntervalSet missing = local.missing(a, b);
    for (const auto& [x, y] : missing.intervals()) out.add(x, y);
  }
  return out;
}

}  // namespace

CatchUp::CatchUp(CatchUpConfig config, Replica& local, IntervalSet positions)
    : config_(std::move(config)),
      local_(local),
      positions_(std::move(positions)),
      log_(dcos::log::get("replicated_log")) {
  DCOS_ASSERT(config_.quorum > 0 && config_.chunk_positions > 0);
  for (NodeId replica : config_.replicas) {
    if (replica != config_.self) peers_.push_back(replica);
  }
  to_fetch_ = positions_;
}

CatchUp::~CatchUp() = default;

void CatchUp::start() {
  if (started_) return;
  started_ = true;
  log_->debug("catch-up started node={} positions={}", config_.self, positions_.size());
  pump();
}

IntervalSet CatchUp::remaining() const { return still_missing(local_, positions_); }

bool CatchUp::done() const { return remaining().empty(); }

void CatchUp::step(const Envelope& in) {
  if (const auto* fetch = std::get_if<FetchResponse>(&in.message)) {
    on_fetch(in.from.node, *fetch);
  } else if (const auto* promise = std::get_if<PromiseResponse>(&in.message)) {
    on_promise(in.from.node, *promise);
  } else if (const auto* write = std::get_if<WriteResponse>(&in.message)) {
    on_write(in.from.node, *write);
  }
}

void CatchUp::on_fetch(NodeId from, const FetchResponse& response) {
  // Learned values are chosen values, whichever request they answer: always keep them.
  for (const Action& action : response.actions) {
    if (action.learned && !local_.learned(action.position)) local_.learn(action);
  }
  if (response.begin > 0 && response.begin > local_.begin()) {
    // The peer truncated below `begin`: a chosen TRUNCATE says so. One tombstone just below
    // moves our `begin` there too.
    Action tombstone = nop_value(response.begin - 1);
    tombstone.tombstone = true;
    tombstone.learned = true;
    tombstone.performed = Proposal{};
    local_.learn(tombstone);
  }

  auto it = chunks_.find(response.nonce);
  if (it == chunks_.end()) return pump();
  Chunk& chunk = it->second;
  auto owed = chunk.next.find(from);
  if (owed == chunk.next.end() || owed->second != response.from) return pump();
  if (response.to >= chunk.to) {
    chunk.next.erase(owed);
    chunk.complete.insert(from);
  } else {
    owed->second = response.to + 1;
    send(from, FetchRequest{response.nonce, response.to + 1, chunk.to});
  }

  if (local_.missing(chunk.from, chunk.to).empty()) {
    finish_chunk(response.nonce, false);
  } else if (chunk.complete.size() >= std::min(config_.quorum, peers_.size())) {
    // A quorum has not learned the rest: settle it by Paxos.
    finish_chunk(response.nonce, true);
  }
  pump();
}

void CatchUp::finish_chunk(std::uint64_t nonce, bool give_up) {
  auto it = chunks_.find(nonce);
  if (it == chunks_.end()) return;
  if (give_up) {
    IntervalSet missing = local_.missing(it->second.from, it->second.to);
    for (const auto& [a, b] : missing.intervals()) {
      const IntervalSet wanted = positions_.within(a, b);
      for (const auto& [x, y] : wanted.intervals()) to_fill_.add(x, y);
    }
  }
  chunks_.erase(it);
}

void CatchUp::on_promise(NodeId from, const PromiseResponse& response) {
  if (response.verdict == Verdict::rejected) highest_seen_ = std::max(highest_seen_, response.promised);
  if (!response.position) return;
  auto it = fills_.find(*response.position);
  if (it == fills_.end() || !it->second.round) return;
  if (it->second.round->on_promise(from, response)) on_round_changed(*it->second.round);
}

void CatchUp::on_write(NodeId from, const WriteResponse& response) {
  if (response.verdict == Verdict::rejected) highest_seen_ = std::max(highest_seen_, response.promised);
  auto it = fills_.find(response.position);
  if (it == fills_.end() || !it->second.round) return;
  if (it->second.round->on_write(from, response)) on_round_changed(*it->second.round);
}

void CatchUp::on_round_changed(PaxosRound& round) {
  const Position position = round.position();
  Fill& fill = fills_.at(position);
  switch (round.phase()) {
    case PaxosRound::Phase::promising:
      return;
    case PaxosRound::Phase::writing:
      round.sent_tick = ticks_;
      return send_round(round, false);
    case PaxosRound::Phase::chosen:
      local_.learn(round.chosen());
      fills_.erase(position);
      return pump();
    case PaxosRound::Phase::rejected:
      // Someone holds a higher promise here -- most likely the writer, about to finish this
      // position. Back off, then ask again (a learned value comes back at any proposal).
      highest_seen_ = std::max(highest_seen_, round.rejected_by());
      fill.round.reset();
      ++fill.attempt;
      fill.retry_tick = ticks_ + config_.backoff_ticks;
      return pump();
  }
}

Proposal CatchUp::next_proposal(std::uint64_t attempt) const {
  if (attempt == 0) return Proposal{0, config_.proposer};
  return Proposal{std::max(highest_seen_.round, local_.promised().round) + 1, config_.proposer};
}

void CatchUp::start_round(Position position, std::uint64_t attempt) {
  Fill& fill = fills_[position];
  fill.attempt = attempt;
  fill.round = std::make_unique<PaxosRound>(PaxosRound::fill(position, next_proposal(attempt), config_.quorum));
  fill.round->sent_tick = ticks_;
  send_round(*fill.round, false);
}

void CatchUp::pump() {
  if (!started_) return;
  to_fetch_ = still_missing(local_, to_fetch_);
  to_fill_ = still_missing(local_, to_fill_);
  if (peers_.empty()) {
    for (const auto& [a, b] : to_fetch_.intervals()) to_fill_.add(a, b);
    to_fetch_.clear();
  }

  while (chunks_.size() < config_.chunks_in_flight_max && !to_fetch_.empty()) {
    const Position from = *to_fetch_.first();
    const Position to = std::min(from + config_.chunk_positions - 1, *to_fetch_.last());
    to_fetch_.remove(from, to);
    const std::uint64_t nonce = next_nonce_++;
    Chunk& chunk = chunks_[nonce];
    chunk.from = from;
    chunk.to = to;
    chunk.sent_tick = ticks_;
    for (NodeId peer : peers_) {
      chunk.next[peer] = from;
      send(peer, FetchRequest{nonce, from, to});
    }
  }

  // Drop fills the local replica learned meanwhile (e.g. from the writer's broadcast).
  for (auto it = fills_.begin(); it != fills_.end();) {
    it = local_.learned(it->first) ? fills_.erase(it) : std::next(it);
  }
  std::size_t active = 0;
  for (const auto& [position, fill] : fills_) active += fill.round ? 1 : 0;
  while (active < config_.fills_in_flight_max && !to_fill_.empty()) {
    const Position position = *to_fill_.first();
    to_fill_.remove(position);
    if (fills_.count(position) > 0) continue;
    start_round(position, 0);
    ++active;
  }
}

void CatchUp::tick() {
  ++ticks_;
  std::vector<std::uint64_t> expired;
  for (auto& [nonce, chunk] : chunks_) {
    if (ticks_ - chunk.sent_tick < config_.resend_ticks) continue;
    if (++chunk.attempts > config_.fetch_attempts) {
      expired.push_back(nonce);
      continue;
    }
    chunk.sent_tick = ticks_;
    for (const auto& [peer, from] : chunk.next) send(peer, FetchRequest{nonce, from, chunk.to});
  }
  for (std::uint64_t nonce : expired) finish_chunk(nonce, true);

  for (auto& [position, fill] : fills_) {
    if (fill.round) {
      if (ticks_ - fill.round->sent_tick < config_.resend_ticks) continue;
      fill.round->sent_tick = ticks_;
      send_round(*fill.round, true);
    } else if (ticks_ >= fill.retry_tick && !local_.learned(position)) {
      start_round(position, fill.attempt);
    }
  }
  pump();
}

void CatchUp::send(NodeId to, Message message) {
  ready_.messages.push_back(
      Envelope{Address{config_.self, Port::catch_up}, Address{to, Port::replica}, std::move(message)});
}

void CatchUp::send_round(PaxosRound& round, bool only_unanswered) {
  const Message request = round.request();
  for (NodeId replica : config_.replicas) {
    if (only_unanswered && round.answered(replica)) continue;
    send(replica, request);
  }
}

}  // namespace dcos::replicated_log
