#include "dcos/replicated_log/replica.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "dcos/common/log.hpp"

namespace dcos::replicated_log {

Replica::Replica(NodeId self, Recovered recovered, const ActionReader& storage)
    : self_(self),
      storage_(storage),
      metadata_(recovered.metadata),
      begin_(recovered.begin),
      end_(recovered.end),
      learned_(std::move(recovered.learned)),
      log_(dcos::log::get("replicated_log")) {
  DCOS_ASSERT(begin_ <= end_ + 1);
  learned_.remove_below(begin_);
}

Replica::~Replica() = default;

void Replica::step(const Envelope& in) {
  std::visit(
      [&](const auto& message) {
        using T = std::decay_t<decltype(message)>;
        if constexpr (std::is_same_v<T, PromiseRequest>) {
          on_promise(in.from, message);
        } else if constexpr (std::is_same_v<T, WriteRequest>) {
          on_write(in.from, message);
        } else if constexpr (std::is_same_v<T, LearnedMessage>) {
          on_learned(message.action);
        } else if constexpr (std::is_same_v<T, RecoverRequest>) {
          on_recover(in.from, message);
        } else if constexpr (std::is_same_v<T, FetchRequest>) {
          on_fetch(in.from, message);
        } else {
          log_->debug("replica ignoring message replica={} message={}", self_, message_name(in.message));
        }
      },
      in.message);
}

void Replica::on_promise(Address from, const PromiseRequest& request) {
  PromiseResponse response;
  response.proposal = request.proposal;
  response.position = request.position;
  if (metadata_.status != Status::voting) {
    // A replica that is not VOTING may have lost Paxos state: it must not vote. It answers
    // anyway so that the proposer can retry promptly instead of timing out (MESOS-3280).
    response.verdict = Verdict::ignored;
    return reply(from, response);
  }

  if (!request.position) {
    // Implicit promise. Proposals are unique per proposer incarnation, so an *equal* proposal
    // is a retransmission from the proposer we already promised: answering it again is safe.
    // A lower one would let two proposers each count this replica towards a quorum.
    if (request.proposal < metadata_.promised) {
      response.verdict = Verdict::rejected;
      response.promised = metadata_.promised;
      return reply(from, response);
    }
    if (request.proposal > metadata_.promised) {
      metadata_.promised = request.proposal;
      ready_.metadata = metadata_;
    }
    response.verdict = Verdict::accepted;
    response.end = end_;
    return reply(from, response);
  }

  const Position position = *request.position;
  if (position < begin_) {
    // Truncated here, so chosen everywhere as far as readers care: say so with a learned
    // tombstone. The proposer must not run phase 2, which this replica would ignore.
    response.verdict = Verdict::accepted;
    response.action = tombstone(position);
    return reply(from, response);
  }

  auto existing = action(position);
  if (!existing) {
    log_->error("replica read failed position={} error={}", position, existing.error().message);
    return;  // Answer nothing: the proposer retries.
  }
  if (*existing && (*existing)->learned) {
    // A chosen value needs no promise: hand it over so the proposer learns it.
    response.verdict = Verdict::accepted;
    response.action = **existing;
    return reply(from, response);
  }

  const Proposal effective =
      *existing ? std::max(metadata_.promised, (*existing)->promised) : metadata_.promised;
  if (request.proposal < effective) {
    response.verdict = Verdict::rejected;
    response.promised = effective;
    return reply(from, response);
  }

  if (*existing) {
    Action updated = **existing;
    response.action = updated;  // What was accepted before (if anything), for phase 2.
    if (request.proposal > updated.promised) {
      updated.promised = request.proposal;
      persist(std::move(updated));
    }
  } else if (request.proposal > metadata_.promised) {
    Action promise_only;
    promise_only.position = position;
    promise_only.promised = request.proposal;
    persist(std::move(promise_only));
  }
  response.verdict = Verdict::accepted;
  reply(from, response);
}

void Replica::on_write(Address from, const WriteRequest& request) {
  const Position position = request.action.position;
  WriteResponse response;
  response.proposal = request.proposal;
  response.position = position;
  if (metadata_.status != Status::voting) {
    response.verdict = Verdict::ignored;
    return reply(from, response);
  }
  if (position < begin_) {
    // Truncated: the position was chosen long ago, so the writer fell behind. Mesos stays
    // silent here, but if every replica truncated the position the writer would wait forever;
    // a rejection tells it to step down and elect again.
    response.verdict = Verdict::rejected;
    response.promised = metadata_.promised;
    return reply(from, response);
  }

  auto existing = action(position);
  if (!existing) {
    log_->error("replica read failed position={} error={}", position, existing.error().message);
    return;
  }
  const Proposal effective =
      *existing ? std::max(metadata_.promised, (*existing)->promised) : metadata_.promised;
  if (request.proposal < effective) {
    response.verdict = Verdict::rejected;
    response.promised = effective;
    return reply(from, response);
  }

  if (*existing && (*existing)->learned) {
    // A learned value is never overwritten (a learned message may overtake the write that
    // chose it, MESOS-1271). The very same value is acknowledged: counting us is true, that
    // value is chosen. A different one comes from a writer that was displaced without noticing
    // (we learned without promising); if every replica learned the position, silence would
    // leave it waiting forever, so reject it.
    if (same_value(**existing, request.action)) {
      response.verdict = Verdict::accepted;
    } else {
      response.verdict = Verdict::rejected;
      response.promised = std::max(effective, (*existing)->performed.value_or(Proposal{}));
    }
    return reply(from, response);
  }

  if (*existing && (*existing)->performed == request.proposal &&
      (*existing)->promised >= request.proposal) {
    // A retransmission of the write we already accepted: nothing new to persist.
    response.verdict = Verdict::accepted;
    return reply(from, response);
  }

  Action accepted;
  accepted.position = position;
  accepted.type = request.action.type;
  accepted.tombstone = request.action.tombstone;
  accepted.bytes = request.action.bytes;
  accepted.to = request.action.to;
  // Accepting raises the position's promise to the accepted proposal, so a delayed write with
  // a lower proposal can never replace this value (phase 1 reports the highest accepted one).
  accepted.promised = *existing ? std::max((*existing)->promised, request.proposal) : request.proposal;
  accepted.performed = request.proposal;
  accepted.learned = false;
  persist(std::move(accepted));
  response.verdict = Verdict::accepted;
  reply(from, response);
}

void Replica::on_learned(const Action& incoming) {
  if (!incoming.learned || !incoming.has_value()) {
    log_->warn("replica ignoring learned message without a learned value position={}",
               incoming.position);
    return;
  }
  const Position position = incoming.position;
  if (position < begin_) return;  // Truncated here already.

  auto existing = action(position);
  if (!existing) {
    log_->error("replica read failed position={} error={}", position, existing.error().message);
    return;
  }
  if (*existing && (*existing)->learned) {
    // Already chosen here. The only legitimate difference is a tombstone standing for a
    // position that some replica truncated; keep what we have either way.
    if (!same_value(**existing, incoming) && !(*existing)->tombstone && !incoming.tombstone) {
      log_->error("replica ignoring conflicting learned value position={}", position);
    }
    return;
  }

  Action learned = incoming;
  if (*existing) learned.promised = std::max(learned.promised, (*existing)->promised);
  persist(std::move(learned));
}

void Replica::on_recover(Address from, const RecoverRequest& request) {
  RecoverResponse response;
  response.nonce = request.nonce;
  response.status = metadata_.status;
  if (metadata_.status == Status::voting) {
    response.begin = begin_;
    response.end = end_;
    response.promised = metadata_.promised;
  }
  reply(from, response);
}

void Replica::on_fetch(Address from, const FetchRequest& request) {
  FetchResponse response;
  response.nonce = request.nonce;
  response.from = request.from;
  response.to = request.to;
  response.begin = begin_;
  if (request.to < request.from) return reply(from, response);

  // Learned values are chosen, so handing them out is safe whatever our status.
  std::size_t bytes = 0;
  const Position first = std::max(request.from, begin_);
  const Position last = std::min(request.to, end_);
  if (first <= last) {
    const IntervalSet learned = learned_.within(first, last);
    for (const auto& [a, b] : learned.intervals()) {
      for (Position p = a;; ++p) {
        if (response.actions.size() >= fetch_actions_max || bytes >= fetch_bytes_max) {
          response.to = p - 1;  // p > first here: at least one action was added.
          return reply(from, std::move(response));
        }
        auto found = action(p);
        if (!found) {
          log_->error("replica read failed position={} error={}", p, found.error().message);
          if (p == first) return;  // Nothing to offer; the requester retries.
          response.to = p - 1;
          return reply(from, std::move(response));
        }
        if (*found && (*found)->learned) {
          bytes += (*found)->bytes.size() + 64;
          response.actions.push_back(std::move(**found));
        }
        if (p == b) break;
      }
    }
  }
  reply(from, std::move(response));
}

void Replica::set_status(Status status) {
  if (metadata_.status == status) return;
  log_->info("replica status changed replica={} from={} to={}", self_, metadata_.status, status);
  metadata_.status = status;
  ready_.metadata = metadata_;
}

void Replica::adopt_promise(Proposal promised) {
  if (promised <= metadata_.promised) return;
  metadata_.promised = promised;
  ready_.metadata = metadata_;
}

void Replica::learn(const Action& action) { on_learned(action); }

void Replica::persist(Action action) {
  const Position position = action.position;
  if (position < begin_) return;
  end_ = std::max(end_, position);
  Position new_begin = begin_;
  Position delete_below = 0;  // Never delete the record that justifies the new `begin`.
  if (action.learned) {
    learned_.add(position);
    if (action.type == ActionType::truncate && action.to > new_begin) {
      new_begin = action.to;
      delete_below = action.to;
    }
    // A tombstone exists only below some replica's `begin`, so everything up to it is gone.
    if (action.type == ActionType::nop && action.tombstone && position + 1 > new_begin) {
      new_begin = position + 1;
      delete_below = position;
    }
  }
  if (auto it = pending_.find(position); it != pending_.end()) {
    ready_.actions[it->second] = std::move(action);
  } else {
    pending_.emplace(position, ready_.actions.size());
    ready_.actions.push_back(std::move(action));
  }
  if (new_begin > begin_) {
    log_->debug("replica truncated replica={} begin={} to={}", self_, begin_, new_begin);
    begin_ = new_begin;
    learned_.remove_below(begin_);
    ready_.truncate_before = std::max(ready_.truncate_before.value_or(0), delete_below);
  }
}

void Replica::reply(Address to, Message message) {
  ready_.messages.push_back(Envelope{Address{self_, Port::replica}, to, std::move(message)});
}

Action Replica::tombstone(Position position) const {
  Action action;
  action.position = position;
  action.promised = metadata_.promised;
  action.performed = metadata_.promised;
  action.learned = true;
  action.type = ActionType::nop;
  action.tombstone = true;
  return action;
}

void Replica::advance() {
  ready_ = Ready{};
  pending_.clear();
}

IntervalSet Replica::missing(Position from, Position to) const {
  IntervalSet out;
  if (from > to) return out;
  from = std::max(from, begin_);
  if (from > to) return out;
  out.add(from, to);
  out.remove(learned_.within(from, to));
  return out;
}

bool Replica::learned(Position position) const {
  return position < begin_ || learned_.contains(position);
}

std::optional<Position> Replica::learned_end() const { return learned_.run_end(begin_); }

Result<std::optional<Action>> Replica::action(Position position) const {
  if (position < begin_ || position > end_) return std::optional<Action>{};
  if (auto it = pending_.find(position); it != pending_.end()) {
    return std::optional<Action>{ready_.actions[it->second]};
  }
  return storage_.read(position);
}

Result<std::vector<Action>> Replica::read(Position from, Position to) const {
  if (to < from) return fail(Errc::invalid_argument, "Bad read range (to < from)");
  if (from < begin_) return fail(Errc::invalid_argument, "Bad read range (truncated position)");
  if (to > end_) return fail(Errc::invalid_argument, "Bad read range (past end of log)");
  std::vector<Action> actions;
  for (Position p = from;; ++p) {
    auto found = action(p);
    if (!found) return tl::unexpected(found.error());
    if (*found) actions.push_back(std::move(**found));
    if (p == to) break;
  }
  return actions;
}

}  // namespace dcos::replicated_log
