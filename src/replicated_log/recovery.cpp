#include "dcos/replicated_log/recovery.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "dcos/common/log.hpp"
#include "dcos/replicated_log/replica.hpp"

namespace dcos::replicated_log {

Recovery::Recovery(RecoveryConfig config, Replica& local)
    : config_(std::move(config)), local_(local), log_(dcos::log::get("replicated_log")) {
  DCOS_ASSERT(config_.quorum > 0 && config_.quorum <= config_.replicas.size());
  config_.catch_up.self = config_.self;
  config_.catch_up.proposer = config_.proposer;
  config_.catch_up.replicas = config_.replicas;
  config_.catch_up.quorum = config_.quorum;
}

Recovery::~Recovery() = default;

void Recovery::start() {
  if (started_) return;
  started_ = true;
  if (local_.status() == Status::voting) return;
  log_->info("replica recovering node={} status={}", config_.self, local_.status());
  broadcast();
}

bool Recovery::done() const { return local_.status() == Status::voting; }

void Recovery::broadcast() {
  // Unique across incarnations, so a late answer to a previous incarnation's round is dropped.
  nonce_ = config_.proposer * 1'000'003 + ++rounds_;
  responses_.clear();
  round_tick_ = ticks_;
  for (NodeId replica : config_.replicas) {
    if (replica == config_.self) continue;
    ready_.messages.push_back(Envelope{Address{config_.self, Port::recovery},
                                       Address{replica, Port::replica}, RecoverRequest{nonce_}});
  }
  decide();  // A one-replica log decides on its own status alone.
}

void Recovery::step(const Envelope& in) {
  if (!started_ || done()) return;
  if (in.to.port == Port::catch_up) {
    if (catch_up_) {
      catch_up_->step(in);
      for (const Envelope& out : catch_up_->ready().messages) ready_.messages.push_back(out);
      catch_up_->advance();
      finish_catch_up_if_done();
    }
    return;
  }
  if (const auto* response = std::get_if<RecoverResponse>(&in.message)) on_response(in.from.node, *response);
}

void Recovery::on_response(NodeId from, const RecoverResponse& response) {
  if (catch_up_ || response.nonce != nonce_ || from == config_.self) return;
  responses_.emplace(from, response);
  decide();
}

void Recovery::decide() {
  std::size_t voting = 0;
  std::size_t empty_or_starting = 0;
  std::size_t starting_or_voting = 0;
  std::optional<Position> begin;
  std::optional<Position> end;
  Proposal promised;
  const Status own = local_.status();
  // Our own status counts as one answer, as it does in Mesos (the local replica is part of
  // the network it broadcasts to).
  if (own == Status::empty || own == Status::starting) ++empty_or_starting;
  if (own == Status::starting) ++starting_or_voting;
  for (const auto& [node, response] : responses_) {
    switch (response.status) {
      case Status::voting:
        ++voting;
        ++starting_or_voting;
        begin = std::min(begin.value_or(response.begin), response.begin);
        end = std::max(end.value_or(response.end), response.end);
        promised = std::max(promised, response.promised);
        break;
      case Status::starting:
        ++empty_or_starting;
        ++starting_or_voting;
        break;
      case Status::empty:
        ++empty_or_starting;
        break;
      case Status::recovering:
        break;
    }
  }
  const std::size_t all = config_.replicas.size();

  if (voting >= config_.quorum) {
    // This replica may have lost Paxos state (that is why it is not VOTING): it must not vote
    // until it holds every position that could have been chosen. Adopting the highest promise
    // a quorum reports also keeps it from accepting a write that quorum already refuses.
    local_.set_status(Status::recovering);
    local_.adopt_promise(promised);
    IntervalSet positions = local_.missing(*begin, *end);
    log_->info("replica catching up node={} begin={} end={} missing={}", config_.self, *begin, *end,
               positions.size());
    catch_up_ = std::make_unique<CatchUp>(config_.catch_up, local_, std::move(positions));
    catch_up_->start();
    for (const Envelope& out : catch_up_->ready().messages) ready_.messages.push_back(out);
    catch_up_->advance();
    return finish_catch_up_if_done();
  }
  if (!config_.auto_initialize) return;
  if (own == Status::empty && empty_or_starting >= all) {
    local_.set_status(Status::starting);
    return broadcast();
  }
  if (own == Status::starting && starting_or_voting >= all) {
    local_.set_status(Status::voting);
    log_->info("replica initialised the log node={}", config_.self);
  }
}

void Recovery::finish_catch_up_if_done() {
  if (!catch_up_ || !catch_up_->done()) return;
  local_.set_status(Status::voting);
  log_->info("replica caught up and is voting node={} end={}", config_.self, local_.end());
}

void Recovery::tick() {
  ++ticks_;
  if (!started_ || done()) return;
  if (catch_up_) {
    catch_up_->tick();
    for (const Envelope& out : catch_up_->ready().messages) ready_.messages.push_back(out);
    catch_up_->advance();
    return finish_catch_up_if_done();
  }
  if (ticks_ - round_tick_ >= config_.retry_ticks) broadcast();
}

}  // namespace dcos::replicated_log
