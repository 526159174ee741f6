// Seeded simulation of the replicated log under faults.
//
// 3 or 5 replicas start EMPTY and auto-initialise; two or three of them host competing writers
// that elect, append (pipelined) and now and then truncate; lagging replicas catch up. Each node
// runs the cores exactly as the real shell does: step every input at once, hand the replica's
// writes to a simulated disk through a `WriteQueue` (a write takes simulated time; batches queued
// meanwhile are merged into the next one) and send the replica's replies only once durable;
// everything else leaves at once. The network drops, duplicates, delays and reorders messages and
// partitions nodes; nodes crash -- losing their unsynced write, or tearing it (a prefix of its
// records lands) -- and restart from their storage; now and then a crashed replica's storage is
// wiped, and it rejoins EMPTY, not voting until it has recovered from its peers. Then faults stop
// and every value the clients asked to append must be appended.
//
// Checked at every durable write (the only place state changes) and at every event:
//   - one chosen value per position: every learned record, learned message and acknowledged
//     append agrees (a tombstone may stand in only below a chosen truncation);
//   - promises never go backwards, per replica and per position; learned records never change;
//   - every acknowledged append reads back identical from every replica at the end;
//   - readers never see a hole: [begin, learned_end] is complete on disk at every replica.
//
// One thread, one `std::mt19937_64`, ordered containers: a seed replays exactly. Seeds: env
// DCOS_SEED (one run), else DCOS_SIM_SEEDS seeds from DCOS_SIM_FIRST_SEED (default 1,000 from 1).

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#include <spdlog/spdlog.h>

#include "dcos/common/log.hpp"
#include "dcos/replicated_log/catch_up.hpp"
#include "dcos/replicated_log/coordinator.hpp"
#include "dcos/replicated_log/recovery.hpp"
#include "dcos/replicated_log/replica.hpp"
#include "dcos/replicated_log/storage.hpp"
#include "dcos/replicated_log/write_queue.hpp"

namespace {

using namespace dcos::replicated_log;

// Printed if a core aborts on a broken invariant (DCOS_ASSERT), which Catch cannot report.
volatile std::uint64_t current_seed = 0;
char seed_message[64];
extern "C" void on_abort(int) {
  const int n = std::snprintf(seed_message, sizeof seed_message, "\nsim aborted: DCOS_SEED=%llu\n",
                              static_cast<unsigned long long>(current_seed));
  if (n > 0) (void)!::write(2, seed_message, static_cast<std::size_t>(n));
}

std::optional<std::uint64_t> env_u64(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::strtoull(value, nullptr, 10);
}

struct SimConfig {
  std::uint64_t seed = 1;
  std::uint32_t replicas = 3;
  std::uint32_t writers = 2;
  std::uint64_t fault_time = 6'000;   // Faults happen before this time...
  std::uint64_t end_time = 60'000;    // ...and every append must be done by this one.
  std::size_t values = 150;           // Appends the clients ask for.
  double drop = 0.05;
  double duplicate = 0.03;
  std::uint64_t delay_max = 12;       // Message delay in [1, delay_max]: reordering.
  double crash_per_tick = 0.004;
  double crash_per_write = 0.003;
  double wipe_per_crash = 0.25;       // The crashed replica restarts with empty storage.
  double partition_per_tick = 0.004;
  double catch_up_per_tick = 0.01;
  double truncate_per_tick = 0.01;
};

// What a run exercised, summed over seeds and printed, so a quiet sim cannot pass unnoticed.
struct SimStats {
  std::uint64_t steps = 0, acknowledged = 0, crashes = 0, torn = 0, wipes = 0, dropped = 0, duplicated = 0,
                partitions = 0, elections = 0, demotions = 0, truncations = 0, catch_ups = 0,
                recoveries = 0, batched = 0;
  void add(const SimStats& o) {
    steps += o.steps; acknowledged += o.acknowledged; crashes += o.crashes; torn += o.torn; wipes += o.wipes;
    dropped += o.dropped; duplicated += o.duplicated; partitions += o.partitions;
    elections += o.elections; demotions += o.demotions; truncations += o.truncations;
    catch_ups += o.catch_ups; recoveries += o.recoveries; batched += o.batched;
  }
};

enum class EventKind { deliver, tick, write_done, restart, crash };

struct Event {
  std::uint64_t time = 0;
  std::uint64_t sequence = 0;
  EventKind kind = EventKind::tick;
  std::uint32_t node = 0;
  std::uint64_t incarnation = 0;
  std::shared_ptr<Envelope> envelope;
  bool operator>(const Event& other) const {
    return std::tie(time, sequence) > std::tie(other.time, other.sequence);
  }
};

class Sim {
 public:
  explicit Sim(SimConfig config) : config_(config), rng_(config.seed) {
    quorum_ = config_.replicas / 2 + 1;
    for (std::uint32_t i = 0; i < config_.replicas; ++i) replicas_.push_back(NodeId{i});
    nodes_.resize(config_.replicas);
    for (std::uint32_t i = 0; i < config_.replicas; ++i) {
      nodes_[i].id = NodeId{i};
      start(i);
      schedule(EventKind::tick, i, uniform(1, 10));
    }
    for (std::size_t v = 0; v < config_.values; ++v) {
      queue_.push_back(fmt::format("v{}-{}", v, std::string(uniform(0, 24), 'x')));
    }
  }

  // Runs to the end; returns normally only if every check held.
  void run() {
    while (!events_.empty()) {
      Event event = events_.top();
      events_.pop();
      now_ = event.time;
      if (now_ > config_.end_time) break;
      if (!healed_ && now_ >= config_.fault_time) heal();
      handle(event);
      ++steps_;
      if (healed_ && done()) break;
    }
    INFO("time=" << now_ << " steps=" << steps_ << " queued=" << queue_.size()
                 << " in_flight=" << in_flight());
    REQUIRE(done());  // Liveness: once faults stop, every append completes.
    final_checks();
  }

  // Fingerprint of a run: equal seeds must give equal fingerprints.
  std::string fingerprint() const {
    std::string out = fmt::format("steps={} now={}", steps_, now_);
    for (const auto& [position, value] : acked_) out += fmt::format(" {}={}", position, value);
    return out;
  }

  SimStats stats() const {
    SimStats stats = stats_;
    stats.steps = steps_;
    stats.acknowledged = acked_.size();
    return stats;
  }

 private:
  struct Node {
    NodeId id;
    MemoryLogStorage storage;
    std::unique_ptr<WriteQueue> queue;  // The replica reads through it.
    std::unique_ptr<Replica> replica;
    std::unique_ptr<Coordinator> coordinator;
    std::unique_ptr<Recovery> recovery;
    std::unique_ptr<CatchUp> catch_up;
    bool up = false;
    std::uint64_t incarnation = 0;
    // The disk: a write in progress, and batches submitted meanwhile (merged into the next).
    bool writing = false;
    WriteBatch batch;
    std::uint64_t batch_sequence = 0;
    std::deque<std::pair<std::uint64_t, WriteBatch>> submitted;
    // Writer client state.
    std::map<Position, std::string> proposed;  // Appends in flight, by position.
    std::uint64_t elect_at = 0;                // Not before this time.
    std::uint64_t electing_since = 0;
  };

  // --- Scheduling and randomness -------------------------------------------------------------

  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng_);
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  void schedule(EventKind kind, std::uint32_t node, std::uint64_t after, std::shared_ptr<Envelope> envelope = {}) {
    Event event;
    event.time = now_ + after;
    event.sequence = sequence_++;
    event.kind = kind;
    event.node = node;
    event.incarnation = nodes_[node].incarnation;
    event.envelope = std::move(envelope);
    events_.push(std::move(event));
  }

  bool faulty() const { return !healed_; }

  void send(const Envelope& envelope) {
    const std::uint32_t from = envelope.from.node.value;
    const std::uint32_t to = envelope.to.node.value;
    if (const auto* learned = std::get_if<LearnedMessage>(&envelope.message)) check_chosen(learned->action, "learned message");
    if (from == to) {  // In-process: reliable.
      schedule(EventKind::deliver, to, 0, std::make_shared<Envelope>(envelope));
      return;
    }
    if (faulty()) {
      if (cut_.count({std::min(from, to), std::max(from, to)}) > 0) return;
      if (chance(config_.drop)) return void(++stats_.dropped);
      if (chance(config_.duplicate)) {
        ++stats_.duplicated;
        schedule(EventKind::deliver, to, uniform(1, config_.delay_max), std::make_shared<Envelope>(envelope));
      }
    }
    schedule(EventKind::deliver, to, uniform(1, faulty() ? config_.delay_max : 3), std::make_shared<Envelope>(envelope));
  }

  // --- Node life-cycle ----------------------------------------------------------------------

  void start(std::uint32_t i) {
    Node& node = nodes_[i];
    node.up = true;
    ++node.incarnation;
    node.writing = false;
    node.submitted.clear();
    node.proposed.clear();
    node.coordinator.reset();
    node.catch_up.reset();
    node.recovery.reset();
    auto recovered = node.storage.recover();
    REQUIRE(recovered);
    node.replica.reset();
    node.queue = std::make_unique<WriteQueue>(node.storage);
    node.replica = std::make_unique<Replica>(node.id, std::move(*recovered), *node.queue);
    if (node.replica->status() != Status::voting) {
      RecoveryConfig config;
      config.self = node.id;
      config.proposer = next_proposer(i);
      config.replicas = replicas_;
      config.quorum = quorum_;
      node.recovery = std::make_unique<Recovery>(config, *node.replica);
      node.recovery->start();
      ++stats_.recoveries;
    }
    node.elect_at = now_ + uniform(0, 50);
    flush(i);
  }

  void crash(std::uint32_t i) {
    Node& node = nodes_[i];
    if (node.writing) {
      // The unsynced write is lost, or torn: some prefix of its records reached the disk.
      const std::size_t records = MemoryLogStorage::records(node.batch);
      const std::size_t landed = uniform(0, records);
      if (landed > 0 && landed < records) ++stats_.torn;
      apply(i, node.batch, landed);
    }
    ++stats_.crashes;
    if (chance(config_.wipe_per_crash) && others_vote(i)) {
      // The disk is gone: the replica restarts EMPTY and must recover before it votes again.
      node.storage = MemoryLogStorage{};
      ++stats_.wipes;
    }
    for (auto& [position, value] : node.proposed) queue_.push_back(value);  // Outcome unknown.
    node.proposed.clear();
    node.up = false;
    node.writing = false;
    node.submitted.clear();
    node.replica.reset();
    node.queue.reset();
    node.coordinator.reset();
    node.recovery.reset();
    node.catch_up.reset();
    ++node.incarnation;  // Events for the old incarnation are void.
    schedule(EventKind::restart, i, uniform(20, 200));
  }

  // Whether every other replica's disk says VOTING. A wipe loses acceptor state, so wiping
  // while another replica is still recovering could lose a chosen value -- more failures than
  // Paxos tolerates, which no rule can survive.
  bool others_vote(std::uint32_t i) const {
    for (std::uint32_t j = 0; j < nodes_.size(); ++j) {
      if (j != i && nodes_[j].storage.metadata().status != Status::voting) return false;
    }
    return true;
  }

  void heal() {
    healed_ = true;
    cut_.clear();
    for (std::uint32_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].up) schedule(EventKind::restart, i, 1);
    }
  }

  std::uint64_t next_proposer(std::uint32_t node) { return (++proposers_ << 8) | node; }

  // --- Events -------------------------------------------------------------------------------

  void handle(const Event& event) {
    Node& node = nodes_[event.node];
    switch (event.kind) {
      case EventKind::restart:
        if (!node.up) start(event.node);
        return;
      case EventKind::crash:
        if (node.up && event.incarnation == node.incarnation && faulty()) crash(event.node);
        return;
      case EventKind::deliver:
        if (!node.up) return;
        step(event.node, *event.envelope);
        flush(event.node);
        return;
      case EventKind::write_done:
        if (!node.up || event.incarnation != node.incarnation || !node.writing) return;
        write_done(event.node);
        return;
      case EventKind::tick:
        schedule(EventKind::tick, event.node, uniform(8, 12));
        if (faulty() && node.up && chance(config_.crash_per_tick)) return crash(event.node);
        if (faulty() && chance(config_.partition_per_tick)) partition();
        if (!node.up) return;
        tick(event.node);
        flush(event.node);
        return;
    }
  }

  void partition() {
    if (!cut_.empty() && chance(0.5)) {
      cut_.clear();
      return;
    }
    ++stats_.partitions;
    const auto a = static_cast<std::uint32_t>(uniform(0, nodes_.size() - 1));
    const auto b = static_cast<std::uint32_t>(uniform(0, nodes_.size() - 1));
    if (a != b) cut_.insert({std::min(a, b), std::max(a, b)});
  }

  void step(std::uint32_t i, const Envelope& envelope) {
    Node& node = nodes_[i];
    switch (envelope.to.port) {
      case Port::replica:
        node.replica->step(envelope);
        break;
      case Port::coordinator:
        if (node.coordinator) node.coordinator->step(envelope);
        break;
      case Port::recovery:
        if (node.recovery) node.recovery->step(envelope);
        break;
      case Port::catch_up:
        if (node.recovery) node.recovery->step(envelope);
        if (node.catch_up) node.catch_up->step(envelope);
        break;
    }
  }

  // The writer client and the periodic work of every core.
  void tick(std::uint32_t i) {
    Node& node = nodes_[i];
    if (node.recovery) {
      node.recovery->tick();
      if (node.recovery->done()) node.recovery.reset();
    }
    if (node.catch_up) {
      node.catch_up->tick();
      if (node.catch_up->done()) node.catch_up.reset();
    } else if (faulty() && node.replica->status() == Status::voting && chance(config_.catch_up_per_tick)) {
      // A reader catching up the holes below its own end.
      IntervalSet missing = node.replica->missing(0, node.replica->end());
      if (!missing.empty()) {
        CatchUpConfig config;
        config.self = node.id;
        config.proposer = next_proposer(i);
        config.replicas = replicas_;
        config.quorum = quorum_;
        node.catch_up = std::make_unique<CatchUp>(config, *node.replica, std::move(missing));
        node.catch_up->start();
        ++stats_.catch_ups;
      }
    }
    if (node.coordinator) node.coordinator->tick();
    if (i >= config_.writers || node.replica->status() != Status::voting) return;
    // Once faults stop, one writer is enough (as with a real leader election).
    if (healed_ && i != first_up_writer()) {
      if (node.coordinator && node.coordinator->state() != CoordinatorState::idle) node.coordinator->abandon();
      return;
    }

    if (!node.coordinator) {
      CoordinatorConfig config;
      config.self = node.id;
      config.proposer = next_proposer(i);
      config.replicas = replicas_;
      config.quorum = quorum_;
      config.writes_in_flight_max = 8;
      node.coordinator = std::make_unique<Coordinator>(config, *node.replica);
    }
    Coordinator& coordinator = *node.coordinator;
    switch (coordinator.state()) {
      case CoordinatorState::idle:
        if (now_ >= node.elect_at) {
          REQUIRE(coordinator.elect());
          node.electing_since = now_;
        }
        break;
      case CoordinatorState::electing:
      case CoordinatorState::filling:
        if (now_ - node.electing_since > 400) coordinator.abandon();  // The shell's timeout.
        break;
      case CoordinatorState::elected:
        while (!queue_.empty() && coordinator.writes_in_flight() < 8) {
          auto position = coordinator.append(queue_.front());
          REQUIRE(position);
          node.proposed[*position] = queue_.front();
          queue_.pop_front();
        }
        if (faulty() && chance(config_.truncate_per_tick) && coordinator.writes_in_flight() < 8) {
          // Truncate somewhere between what this replica already dropped and the truncation's
          // own position. (A stale writer may find its replica truncated beyond that.)
          const Position next = coordinator.next_position();
          if (node.replica->begin() <= next) {
            REQUIRE(coordinator.truncate(uniform(node.replica->begin(), next)));
            ++stats_.truncations;
          }
        }
        break;
    }
  }

  std::uint32_t first_up_writer() const {
    for (std::uint32_t i = 0; i < config_.writers; ++i) {
      if (nodes_[i].up) return i;
    }
    return 0;
  }

  // Carries out every core's `Ready` as the shell does: the replica's writes go to the disk
  // and its replies wait for them; everything else is sent, and events reported, at once.
  void flush(std::uint32_t i) {
    Node& node = nodes_[i];
    if (!node.up) return;
    std::vector<Envelope> out;
    std::vector<CoordinatorEvent> events;
    if (node.recovery) {
      for (const Envelope& e : node.recovery->ready().messages) out.push_back(e);
      node.recovery->advance();
    }
    if (node.catch_up) {
      for (const Envelope& e : node.catch_up->ready().messages) out.push_back(e);
      node.catch_up->advance();
    }
    if (node.coordinator) {
      for (const Envelope& e : node.coordinator->ready().messages) out.push_back(e);
      events = node.coordinator->ready().events;
      node.coordinator->advance();
    }
    if (!node.replica->ready().empty()) {
      WriteQueue::Pushed pushed = node.queue->push(node.replica->ready());
      for (Envelope& e : pushed.send) out.push_back(std::move(e));
      if (pushed.batch) {
        node.submitted.emplace_back(pushed.sequence, std::move(*pushed.batch));
        if (!node.writing) start_write(i);
      }
    }
    node.replica->advance();
    for (const Envelope& e : out) send(e);
    for (const CoordinatorEvent& e : events) on_event(i, e);
  }

  // The disk takes every batch submitted so far as one write (as `DiskWriter` does).
  void start_write(std::uint32_t i) {
    Node& node = nodes_[i];
    DCOS_ASSERT(!node.writing && !node.submitted.empty());
    if (node.submitted.size() > 1) stats_.batched += node.submitted.size();
    node.batch = std::move(node.submitted.front().second);
    node.batch_sequence = node.submitted.front().first;
    node.submitted.pop_front();
    for (; !node.submitted.empty(); node.submitted.pop_front()) {
      node.batch.merge(std::move(node.submitted.front().second));
      node.batch_sequence = node.submitted.front().first;
    }
    node.writing = true;
    const std::uint64_t latency = uniform(1, 4);
    schedule(EventKind::write_done, i, latency);
    // Now and then the process dies mid-write: the write is lost or torn.
    if (faulty() && chance(config_.crash_per_write)) schedule(EventKind::crash, i, uniform(0, latency - 1));
  }

  void write_done(std::uint32_t i) {
    Node& node = nodes_[i];
    apply(i, node.batch, MemoryLogStorage::records(node.batch));
    node.writing = false;
    for (const Envelope& e : node.queue->durable(node.batch_sequence)) send(e);
    if (!node.submitted.empty()) start_write(i);
  }

  void on_event(std::uint32_t i, const CoordinatorEvent& e) {
    Node& node = nodes_[i];
    switch (e.type) {
      case CoordinatorEvent::Type::committed: {
        auto it = node.proposed.find(e.position);
        if (it == node.proposed.end()) return;  // A truncation.
        Action value = append_value(e.position, it->second);
        value.learned = true;
        check_chosen(value, "acknowledged append");
        acked_[e.position] = it->second;
        node.proposed.erase(it);
        return;
      }
      case CoordinatorEvent::Type::write_failed: {
        auto it = node.proposed.find(e.position);
        if (it == node.proposed.end()) return;
        queue_.push_back(it->second);  // Unknown outcome: ask again (at least once).
        node.proposed.erase(it);
        return;
      }
      case CoordinatorEvent::Type::election_lost:
      case CoordinatorEvent::Type::demoted:
        if (e.type == CoordinatorEvent::Type::demoted) ++stats_.demotions;
        node.elect_at = now_ + uniform(10, 150);  // Randomised back-off against duelling.
        return;
      case CoordinatorEvent::Type::elected:
        ++stats_.elections;
        return;
    }
  }

  // --- Checks ---------------------------------------------------------------------------------

  // Applies the first `records` records of `batch` to node `i`'s disk, checking each.
  void apply(std::uint32_t i, const WriteBatch& batch, std::size_t records) {
    MemoryLogStorage& storage = nodes_[i].storage;
    std::size_t left = records;
    for (const Action& action : batch.actions) {
      if (left == 0) break;
      --left;
      auto old = storage.actions().find(action.position);
      if (old != storage.actions().end()) {
        INFO("node=" << i << " position=" << action.position);
        CHECK_FALSE(action.promised < old->second.promised);  // Promises never go backwards.
        if (old->second.learned) {
          REQUIRE(action.learned);  // A learned record never changes.
          REQUIRE((same_value(action, old->second) || action.tombstone || old->second.tombstone));
        }
      }
      if (action.learned) check_chosen(action, "persisted learned action");
    }
    if (left > 0 && batch.truncate_before) --left;
    if (left > 0 && batch.metadata) {
      INFO("node=" << i);
      REQUIRE_FALSE(batch.metadata->promised < storage.metadata().promised);
      if (storage.metadata().status == Status::voting) REQUIRE(batch.metadata->status == Status::voting);
    }
    storage.write_prefix(batch, records);
  }

  // One chosen value per position.
  void check_chosen(const Action& action, const char* what) {
    if (action.type == ActionType::truncate) truncated_to_ = std::max(truncated_to_, action.to);
    auto [it, inserted] = chosen_.emplace(action.position, action);
    if (inserted) return;
    const Action& chosen = it->second;
    if (same_value(chosen, action)) return;
    if (action.tombstone || chosen.tombstone) {
      // Only a truncated position may be stood in for by a tombstone.
      INFO(what << ": tombstone at position=" << action.position << " above truncation " << truncated_to_);
      REQUIRE(action.position < truncated_to_);
      if (chosen.tombstone) it->second = action;  // Keep the real value for later comparisons.
      return;
    }
    INFO(what << ": position=" << action.position << " chosen=" << describe(chosen) << " now=" << describe(action));
    FAIL("two values chosen at one position");
  }

  static std::string describe(const Action& a) {
    return fmt::format("{}:{}{}", to_string(a.type), a.type == ActionType::truncate ? std::to_string(a.to) : a.bytes,
                       a.tombstone ? "(tombstone)" : "");
  }

  std::size_t in_flight() const {
    std::size_t n = 0;
    for (const Node& node : nodes_) n += node.proposed.size();
    return n;
  }

  bool done() const { return queue_.empty() && in_flight() == 0; }

  void final_checks() {
    // Every replica catches up to the highest end; then all agree, hole-free, with every ack.
    if (!healed_) heal();
    for (std::uint32_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].up) start(i);
    }
    Position end = 0;
    for (Node& node : nodes_) {
      end = std::max(end, node.storage.recover().value().end);
    }
    for (std::uint32_t i = 0; i < nodes_.size(); ++i) {
      Node& node = nodes_[i];
      node.coordinator.reset();
      node.recovery.reset();
      CatchUpConfig config;
      config.self = node.id;
      config.proposer = next_proposer(i);
      config.replicas = replicas_;
      config.quorum = quorum_;
      node.catch_up = std::make_unique<CatchUp>(config, *node.replica, node.replica->missing(0, end));
      node.catch_up->start();
      flush(i);
    }
    const std::uint64_t deadline = now_ + 20'000;
    while (!events_.empty() && now_ < deadline) {
      bool caught_up = true;
      for (const Node& node : nodes_) {
        caught_up &= !node.writing && node.submitted.empty() && (!node.catch_up || node.catch_up->done());
      }
      if (caught_up) break;
      Event event = events_.top();
      events_.pop();
      now_ = event.time;
      if (event.kind == EventKind::tick) {
        schedule(EventKind::tick, event.node, 10);
        Node& node = nodes_[event.node];
        if (node.catch_up) {
          node.catch_up->tick();
          flush(event.node);
        }
        continue;
      }
      handle(event);
    }
    Position begin = 0;
    for (const Node& node : nodes_) begin = std::max(begin, node.replica->begin());
    for (std::uint32_t i = 0; i < nodes_.size(); ++i) {
      const Node& node = nodes_[i];
      INFO("node=" << i << " begin=" << node.replica->begin() << " end=" << end);
      REQUIRE(node.catch_up->done());
      REQUIRE_FALSE(node.writing);
      // No holes: [begin, end] is learned, on disk, and agrees with the chosen values.
      REQUIRE(node.replica->learned_end() == std::optional<Position>(end));
      const auto& disk = node.storage.actions();
      for (Position p = node.replica->begin(); p <= end; ++p) {
        auto it = disk.find(p);
        INFO("position=" << p);
        REQUIRE(it != disk.end());
        REQUIRE(it->second.learned);
        check_chosen(it->second, "final read");
      }
    }
    // Every acknowledged append reads back identical, wherever it was not truncated away.
    for (const auto& [position, value] : acked_) {
      if (position < begin) continue;
      for (std::uint32_t i = 0; i < nodes_.size(); ++i) {
        auto action = nodes_[i].replica->action(position);
        INFO("node=" << i << " acknowledged position=" << position);
        REQUIRE(action);
        REQUIRE(*action);
        CHECK((*action)->type == ActionType::append);
        CHECK((*action)->bytes == value);
      }
    }
  }

  SimConfig config_;
  std::mt19937_64 rng_;
  std::size_t quorum_ = 0;
  std::vector<NodeId> replicas_;
  std::vector<Node> nodes_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::uint64_t now_ = 0;
  std::uint64_t sequence_ = 0;
  std::uint64_t steps_ = 0;
  std::uint64_t proposers_ = 0;
  bool healed_ = false;
  std::set<std::pair<std::uint32_t, std::uint32_t>> cut_;
  std::deque<std::string> queue_;
  std::map<Position, std::string> acked_;
  std::map<Position, Action> chosen_;
  Position truncated_to_ = 0;
  SimStats stats_;
};

SimConfig config_for(std::uint64_t seed) {
  SimConfig config;
  config.seed = seed;
  // Vary the shape with the seed: 3 or 5 replicas, 2 or 3 writers, harsher or milder faults.
  std::mt19937_64 shape(seed ^ 0x5eed);
  config.replicas = shape() % 3 == 0 ? 5 : 3;
  config.writers = shape() % 2 == 0 ? 2 : 3;
  config.drop = 0.02 + static_cast<double>(shape() % 10) / 100.0;
  config.duplicate = static_cast<double>(shape() % 6) / 100.0;
  // Half the runs never truncate, so that every acknowledged append is read back at the end.
  if (shape() % 2 == 0) config.truncate_per_tick = 0;
  return config;
}

}  // namespace

TEST_CASE("replicated log keeps one value per position under loss, reordering, crashes and partitions",
          "[sim]") {
  auto logger = dcos::log::get("replicated_log");
  const auto level = logger->level();
  // DCOS_SIM_LOG=debug (or info, ...) shows the cores' decisions.
  const char* log_level = std::getenv("DCOS_SIM_LOG");
  logger->set_level(log_level ? spdlog::level::from_str(log_level) : spdlog::level::off);
  std::signal(SIGABRT, on_abort);

  std::vector<std::uint64_t> seeds;
  if (auto seed = env_u64("DCOS_SEED")) {
    seeds.push_back(*seed);
  } else {
    const std::uint64_t first = env_u64("DCOS_SIM_FIRST_SEED").value_or(1);
    const std::uint64_t count = env_u64("DCOS_SIM_SEEDS").value_or(1'000);
    for (std::uint64_t s = first; s < first + count; ++s) seeds.push_back(s);
  }
  SimStats total;
  for (std::uint64_t seed : seeds) {
    current_seed = seed;
    INFO("reproduce with DCOS_SEED=" << seed);
    Sim sim(config_for(seed));
    sim.run();
    total.add(sim.stats());
  }
  logger->set_level(level);
  std::signal(SIGABRT, SIG_DFL);
  WARN("sim: " << seeds.size() << " seeds, " << total.steps << " steps, " << total.acknowledged
                << " acknowledged appends, " << total.elections << " elections, " << total.demotions
                << " demotions, " << total.crashes << " crashes (" << total.torn << " torn writes, "
                << total.wipes << " wiped disks), "
                << total.dropped << " dropped, " << total.duplicated << " duplicated, "
                << total.partitions << " partition changes, " << total.truncations << " truncations, "
                << total.catch_ups << " catch-ups, " << total.recoveries << " recoveries, "
                << total.batched << " messages group-committed");
  CHECK(total.acknowledged > 0);
}

TEST_CASE("a simulation seed replays exactly", "[sim]") {
  auto logger = dcos::log::get("replicated_log");
  const auto level = logger->level();
  logger->set_level(spdlog::level::off);
  for (std::uint64_t seed : {3, 4, 5}) {
    Sim first(config_for(seed));
    first.run();
    Sim second(config_for(seed));
    second.run();
    CHECK(first.fingerprint() == second.fingerprint());
  }
  logger->set_level(level);
}
