#include "dcos/replicated_log/coordinator.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "dcos/common/log.hpp"
#include "dcos/replicated_log/replica.hpp"
#include "paxos_round.hpp"

namespace dcos::replicated_log {

using detail::PaxosRound;

Coordinator::Coordinator(CoordinatorConfig config, const Replica& local)
    : config_(std::move(config)), local_(local), log_(dcos::log::get("replicated_log")) {
  DCOS_ASSERT(config_.quorum > 0);
  DCOS_ASSERT(config_.writes_in_flight_max > 0 && config_.fills_in_flight_max > 0);
}

Coordinator::~Coordinator() = default;

std::size_t Coordinator::writes_in_flight() const { return rounds_.size() - fills_in_flight_; }

Result<Proposal> Coordinator::elect() {
  if (state_ != CoordinatorState::idle) return fail(Errc::invalid_argument, "elect: already electing or elected");
  // Mesos: start from the highest proposal seen, locally promised or in a rejection, plus one.
  const std::uint64_t round = std::max(highest_seen_.round, local_.promised().round) + 1;
  proposal_ = Proposal{round, config_.proposer};
  state_ = CoordinatorState::electing;
  promised_by_.clear();
  ignored_ = 0;
  index_ = 0;
  election_sent_tick_ = ticks_;
  log_->debug("coordinator electing node={} proposal={}", config_.self, proposal_);
  broadcast(PromiseRequest{proposal_, std::nullopt});
  return proposal_;
}

Result<Position> Coordinator::append(std::string bytes) {
  return propose(append_value(0, std::move(bytes)));
}

Result<Position> Coordinator::truncate(Position to) {
  if (state_ == CoordinatorState::elected && to > next_position_) {
    return fail(Errc::invalid_argument, fmt::format("truncate: to={} is beyond position={}", to, next_position_));
  }
  return propose(truncate_value(0, to));
}

Result<Position> Coordinator::propose(Action value) {
  if (state_ != CoordinatorState::elected) return fail(Errc::not_leader, "write: not elected");
  if (writes_in_flight() >= config_.writes_in_flight_max) {
    return fail(Errc::unavailable, fmt::format("write: {} writes in flight", writes_in_flight()));
  }
  const Position position = next_position_++;
  DCOS_ASSERT(position > index_);
  value.position = position;
  auto round = std::make_unique<PaxosRound>(PaxosRound::write(std::move(value), proposal_, config_.quorum));
  round->sent_tick = ticks_;
  send_round(*round, false);
  rounds_.emplace(position, std::move(round));
  return position;
}

void Coordinator::abandon() {
  if (state_ == CoordinatorState::idle) return;
  lose(Proposal{});
}

void Coordinator::step(const Envelope& in) {
  if (const auto* promise = std::get_if<PromiseResponse>(&in.message)) {
    on_promise(in.from.node, *promise);
  } else if (const auto* write = std::get_if<WriteResponse>(&in.message)) {
    on_write(in.from.node, *write);
  }
}

void Coordinator::on_promise(NodeId from, const PromiseResponse& response) {
  if (response.verdict == Verdict::rejected) highest_seen_ = std::max(highest_seen_, response.promised);
  if (response.proposal != proposal_) return;  // For an older election of ours.

  if (response.position) {
    if (state_ != CoordinatorState::filling) return;
    auto it = rounds_.find(*response.position);
    if (it == rounds_.end()) return;
    if (it->second->on_promise(from, response)) on_round_changed(*it->second);
    return;
  }

  if (state_ != CoordinatorState::electing) return;
  if (std::find(promised_by_.begin(), promised_by_.end(), from) != promised_by_.end()) return;
  promised_by_.push_back(from);
  switch (response.verdict) {
    case Verdict::rejected:
      return lose(response.promised);
    case Verdict::ignored:
      // Not enough VOTING replicas can answer: fail now so the owner retries (MESOS-3280).
      if (config_.replicas.size() - ++ignored_ < config_.quorum) lose(Proposal{});
      return;
    case Verdict::accepted:
      index_ = std::max(index_, response.end);
      if (promised_by_.size() - ignored_ >= config_.quorum) begin_filling();
      return;
  }
}

void Coordinator::on_write(NodeId from, const WriteResponse& response) {
  if (response.verdict == Verdict::rejected) highest_seen_ = std::max(highest_seen_, response.promised);
  if (response.proposal != proposal_) return;
  if (state_ != CoordinatorState::filling && state_ != CoordinatorState::elected) return;
  auto it = rounds_.find(response.position);
  if (it == rounds_.end()) return;
  if (it->second->on_write(from, response)) on_round_changed(*it->second);
}

void Coordinator::on_round_changed(PaxosRound& round) {
  const Position position = round.position();
  switch (round.phase()) {
    case PaxosRound::Phase::promising:
      return;
    case PaxosRound::Phase::writing:
      round.sent_tick = ticks_;
      return send_round(round, false);
    case PaxosRound::Phase::rejected:
      return lose(round.rejected_by());
    case PaxosRound::Phase::chosen:
      break;
  }
  broadcast(LearnedMessage{round.chosen()});
  const bool fill = position <= index_;
  rounds_.erase(position);
  if (fill) {
    --fills_in_flight_;
    start_fills();
  } else {
    event(CoordinatorEvent::Type::committed, position);
  }
}

void Coordinator::begin_filling() {
  state_ = CoordinatorState::filling;
  // Every position up to `index_` the local replica has not learned may be a hole a failed
  // leader left, or a value it never saw chosen: settle each by full Paxos (Mesos `catchup`).
  fill_queue_ = local_.missing(0, index_);
  log_->debug("coordinator promised node={} proposal={} index={} fills={}", config_.self, proposal_,
              index_, fill_queue_.size());
  start_fills();
}

void Coordinator::start_fills() {
  if (state_ != CoordinatorState::filling) return;
  while (fills_in_flight_ < config_.fills_in_flight_max && !fill_queue_.empty()) {
    const Position position = *fill_queue_.first();
    fill_queue_.remove(position);
    if (local_.learned(position)) continue;  // Learned meanwhile (e.g. by catch-up).
    auto round = std::make_unique<PaxosRound>(PaxosRound::fill(position, proposal_, config_.quorum));
    round->sent_tick = ticks_;
    send_round(*round, false);
    rounds_.emplace(position, std::move(round));
    ++fills_in_flight_;
  }
  if (fills_in_flight_ == 0 && fill_queue_.empty()) become_elected();
}

void Coordinator::become_elected() {
  state_ = CoordinatorState::elected;
  next_position_ = index_ + 1;
  log_->info("coordinator elected node={} proposal={} index={}", config_.self, proposal_, index_);
  event(CoordinatorEvent::Type::elected, index_);
}

void Coordinator::lose(Proposal promised) {
  const CoordinatorState was = state_;
  state_ = CoordinatorState::idle;
  for (const auto& [position, round] : rounds_) {
    if (position > index_) event(CoordinatorEvent::Type::write_failed, position);
  }
  rounds_.clear();
  fills_in_flight_ = 0;
  fill_queue_.clear();
  promised_by_.clear();
  if (was == CoordinatorState::elected) {
    log_->info("coordinator demoted node={} proposal={} by={}", config_.self, proposal_, promised);
    event(CoordinatorEvent::Type::demoted, 0, promised);
  } else {
    log_->debug("coordinator lost election node={} proposal={} by={}", config_.self, proposal_, promised);
    event(CoordinatorEvent::Type::election_lost, 0, promised);
  }
}

void Coordinator::tick() {
  ++ticks_;
  if (state_ == CoordinatorState::electing) {
    if (ticks_ - election_sent_tick_ >= config_.resend_ticks) {
      election_sent_tick_ = ticks_;
      for (NodeId replica : config_.replicas) {
        if (std::find(promised_by_.begin(), promised_by_.end(), replica) != promised_by_.end()) continue;
        ready_.messages.push_back(Envelope{Address{config_.self, Port::coordinator},
                                           Address{replica, Port::replica},
                                           PromiseRequest{proposal_, std::nullopt}});
      }
    }
    return;
  }
  for (auto& [position, round] : rounds_) {
    if (ticks_ - round->sent_tick < config_.resend_ticks) continue;
    round->sent_tick = ticks_;
    send_round(*round, true);
  }
}

void Coordinator::broadcast(const Message& message) {
  for (NodeId replica : config_.replicas) {
    ready_.messages.push_back(
        Envelope{Address{config_.self, Port::coordinator}, Address{replica, Port::replica}, message});
  }
}

void Coordinator::send_round(PaxosRound& round, bool only_unanswered) {
  const Message request = round.request();
  for (NodeId replica : config_.replicas) {
    if (only_unanswered && round.answered(replica)) continue;
    ready_.messages.push_back(
        Envelope{Address{config_.self, Port::coordinator}, Address{replica, Port::replica}, request});
  }
}

void Coordinator::event(CoordinatorEvent::Type type, Position position, Proposal promised) {
  ready_.events.push_back(CoordinatorEvent{type, position, promised});
}

}  // namespace dcos::replicated_log
