#include "paxos_round.hpp"

#include <algorithm>

namespace dcos::replicated_log::detail {

PaxosRound PaxosRound::fill(Position position, Proposal proposal, std::size_t quorum) {
  PaxosRound round;
  round.phase_ = Phase::promising;
  round.proposal_ = proposal;
  round.quorum_ = quorum;
  round.value_ = nop_value(position);
  return round;
}

PaxosRound PaxosRound::write(Action value, Proposal proposal, std::size_t quorum) {
  PaxosRound round;
  round.proposal_ = proposal;
  round.quorum_ = quorum;
  round.value_ = std::move(value);
  round.begin_writing();
  return round;
}

Message PaxosRound::request() const {
  if (phase_ == Phase::promising) return PromiseRequest{proposal_, value_.position};
  WriteRequest request;
  request.proposal = proposal_;
  request.action = value_;
  return request;
}

bool PaxosRound::answered(NodeId node) const {
  return std::find(answered_.begin(), answered_.end(), node) != answered_.end();
}

bool PaxosRound::on_promise(NodeId from, const PromiseResponse& response) {
  if (phase_ != Phase::promising || response.proposal != proposal_ ||
      response.position != value_.position || answered(from)) {
    return false;  // Stale, duplicate, or for another round.
  }
  answered_.push_back(from);
  switch (response.verdict) {
    case Verdict::ignored:
      ++ignored_;
      return false;
    case Verdict::rejected:
      phase_ = Phase::rejected;
      rejected_by_ = response.promised;
      return true;
    case Verdict::accepted:
      break;
  }
  if (response.action && response.action->learned) {
    choose(*response.action);
    return true;
  }
  if (response.action && response.action->has_value() &&
      (!highest_ || *response.action->performed > *highest_->performed)) {
    highest_ = response.action;
  }
  if (++accepted_ < quorum_) return false;
  // Paxos phase 2a: the value with the highest proposal among a quorum's answers may have been
  // chosen; any other value certainly was not, so a NOP is safe when nobody reports one.
  Action value = highest_ ? *highest_ : nop_value(value_.position);
  value.position = value_.position;
  value_ = std::move(value);
  begin_writing();
  return true;
}

bool PaxosRound::on_write(NodeId from, const WriteResponse& response) {
  if (phase_ != Phase::writing || response.proposal != proposal_ ||
      response.position != value_.position || answered(from)) {
    return false;
  }
  answered_.push_back(from);
  switch (response.verdict) {
    case Verdict::ignored:
      ++ignored_;
      return false;
    case Verdict::rejected:
      phase_ = Phase::rejected;
      rejected_by_ = response.promised;
      return true;
    case Verdict::accepted:
      break;
  }
  if (++accepted_ < quorum_) return false;
  Action learned = value_;
  learned.promised = proposal_;
  learned.performed = proposal_;
  choose(std::move(learned));
  return true;
}

void PaxosRound::begin_writing() {
  phase_ = Phase::writing;
  answered_.clear();
  accepted_ = 0;
  ignored_ = 0;
  value_.learned = false;
  sent_tick = 0;
}

void PaxosRound::choose(Action learned) {
  learned.learned = true;
  if (!learned.performed) learned.performed = proposal_;
  value_ = std::move(learned);
  phase_ = Phase::chosen;
}

}  // namespace dcos::replicated_log::detail
