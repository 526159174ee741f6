#include "dcos/replicated_log/log.hpp"

#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "dcos/common/log.hpp"
#include "dcos/replicated_log/catch_up.hpp"
#include "dcos/replicated_log/coordinator.hpp"
#include "dcos/replicated_log/leveldb_storage.hpp"
#include "dcos/replicated_log/recovery.hpp"
#include "dcos/replicated_log/replica.hpp"
#include "dcos/replicated_log/write_queue.hpp"
#include "disk_writer.hpp"
#include "transport.hpp"

namespace dcos::replicated_log {

namespace asio = boost::asio;

// The shell: steps the cores on one core thread, which also runs the sockets (one thread hop
// less each way per message), and carries out their `Ready`s. The replica's
// writes go to a disk thread (`DiskWriter`) through a `WriteQueue`, which holds the replica's
// replies until what they rest on is durable; everything else is sent at once. So the leader's
// own write runs beside its followers', and the core thread keeps counting acknowledgements
// while a sync is in progress: any quorum commits an append. Every durable write covers
// everything the replica handed out since the previous one began (group commit).
class Log::Impl {
 public:
  explicit Impl(LogOptions options) : options_(std::move(options)), log_(dcos::log::get("replicated_log")) {
    for (const auto& [node, endpoint] : options_.replicas) replicas_.push_back(node);
    if (options_.quorum == 0) options_.quorum = replicas_.size() / 2 + 1;
    std::random_device random;
    rng_.seed((static_cast<std::uint64_t>(random()) << 32) ^ random());
  }

  ~Impl() { stop(); }

  Result<void> open() {
    auto storage = LevelDbLogStorage::open(options_.path);
    if (!storage) return tl::unexpected(storage.error());
    storage_ = std::move(*storage);
    auto recovered = storage_->recover();
    if (!recovered) return tl::unexpected(recovered.error());
    queue_ = std::make_unique<WriteQueue>(*storage_);
    replica_ = std::make_unique<Replica>(options_.self, std::move(*recovered), *queue_);
    disk_ = std::make_unique<detail::DiskWriter>(*storage_, [this](std::uint64_t sequence) {
      post([this, sequence] {
        for (Envelope& e : queue_->durable(sequence)) released_.push_back(std::move(e));
      });
    });

    std::map<NodeId, asio::ip::tcp::endpoint> peers;
    asio::ip::tcp::endpoint own;
    for (const auto& [node, endpoint] : options_.replicas) {
      if (node == options_.self) {
        own = endpoint;
      } else {
        peers.emplace(node, endpoint);
      }
    }
    // Frames arrive on the io thread, which is the core thread: step them in at once.
    transport_ = std::make_shared<detail::Transport>(io_, std::move(peers), [this](std::vector<Envelope> in) {
      if (stopping_) return;
      for (const Envelope& e : in) route(e);
      schedule_flush();
    });
    if (auto listening = transport_->listen(own); !listening) return listening;

    if (replica_->status() != Status::voting) {
      RecoveryConfig config;
      config.self = options_.self;
      config.proposer = proposer();
      config.replicas = replicas_;
      config.quorum = options_.quorum;
      config.auto_initialize = options_.auto_initialize;
      recovery_ = std::make_unique<Recovery>(config, *replica_);
      recovery_->start();
    }
    asio::post(io_, [this] {
      schedule_flush();  // Whatever recovery wants to send.
      arm_tick();
    });
    io_thread_ = std::thread([this] { io_.run(); });
    return {};
  }

  asio::ip::tcp::endpoint endpoint() const { return transport_->local_endpoint(); }

  // Runs `command` on the core thread, then carries out what it caused. Any thread may call it.
  void post(std::function<void()> command) {
    asio::post(io_, [this, command = std::move(command)] {
      if (stopping_) return;
      command();
      schedule_flush();
    });
  }

  // One flush after everything already queued on the core thread (commands, frames, durable
  // writes) has been stepped in: they share its disk write and its frames (group commit).
  void schedule_flush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    asio::post(io_, [this] {
      flush_scheduled_ = false;
      if (!stopping_) flush();
    });
  }

  void arm_tick() {
    tick_timer_.expires_after(options_.tick);
    tick_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      tick();
      schedule_flush();
      arm_tick();
    });
  }

  // Answers `query` from the core thread, blocking the caller; `closed` once the log is closed.
  template <typename T>
  T call(std::function<T()> query, T closed) {
    std::promise<T> promise;
    auto future = promise.get_future();
    {
      // Posted before `stop`'s own command, so it runs; or not posted at all.
      std::lock_guard lock(gate_);
      if (stopped_) return closed;
      post([&] { promise.set_value(query()); });
    }
    return future.get();
  }

  // Runs `command(done)` on the core thread, or fails `done` at once once the log is closed:
  // every public operation's callback runs exactly once.
  template <typename Command>
  void submit(Callback done, Command command) {
    std::unique_lock lock(gate_);
    if (stopped_) {
      lock.unlock();
      return done(closed_error());
    }
    post([command = std::move(command), done = std::move(done)]() mutable { command(std::move(done)); });
  }

  static auto closed_error() { return fail(Errc::cancelled, "log closed"); }

  void start(Callback done) {
    submit(std::move(done), [this](Callback done) {
      start_waiters_.push_back(std::move(done));
      maybe_elect();
    });
  }

  void write(Action value, Callback done) {
    submit(std::move(done), [this, value = std::move(value)](Callback done) mutable {
      if (!coordinator_ || coordinator_->state() != CoordinatorState::elected) {
        return completions_.push_back([done = std::move(done)] { done(fail(Errc::not_leader, "write: not elected")); });
      }
      waiting_.emplace_back(std::move(value), std::move(done));
      propose_waiting();
    });
  }

  Result<std::vector<Entry>> read(Position from, Position to) {
    return call<Result<std::vector<Entry>>>(
        [&]() -> Result<std::vector<Entry>> {
      if (to < from) return fail(Errc::invalid_argument, "Bad read range (to < from)");
      if (!replica_->missing(from, to).empty() && from >= replica_->begin()) {
        return fail(Errc::invalid_argument, "Bad read range (unlearned position)");
      }
      auto actions = replica_->read(from, to);
      if (!actions) return tl::unexpected(actions.error());
      std::vector<Entry> entries;
      for (Action& action : *actions) {
        if (action.type == ActionType::append) entries.push_back(Entry{action.position, std::move(action.bytes)});
      }
      return entries;
        },
        closed_error());
  }

  void catch_up(Callback done) {
    submit(std::move(done), [this](Callback done) {
      catch_up_waiters_.push_back(std::move(done));
      if (probe_nonce_ != 0 || catch_up_) return;  // One at a time; it serves every waiter.
      probe_nonce_ = proposer();
      probe_.clear();
      send_probe();
      on_probe();  // A one-replica log knows its end already.
    });
  }

  // Asks every other replica for its status and end (answered to our catch-up port).
  void send_probe() {
    std::vector<Envelope> out;
    for (NodeId node : replicas_) {
      if (node == options_.self) continue;
      out.push_back(Envelope{Address{options_.self, Port::catch_up}, Address{node, Port::replica},
                             RecoverRequest{probe_nonce_}});
    }
    transport_->send(std::move(out));
  }

  LogStatus status() {
    return call<LogStatus>([&] {
      LogStatus s;
      s.status = replica_->status();
      s.begin = replica_->begin();
      s.end = replica_->end();
      s.learned_end = replica_->learned_end();
      s.writer = coordinator_ && coordinator_->state() == CoordinatorState::elected;
      return s;
    }, LogStatus{});
  }

  void stop() {
    {
      std::lock_guard lock(gate_);
      if (stopped_) return;
      stopped_ = true;
    }
    // Every public command is queued before this one (see `submit`), so this is the last to
    // meet a callback.
    asio::post(io_, [this] {
      stopping_ = true;
      tick_timer_.cancel();
      // Whoever still waits learns that the log is closing.
      for (auto& [position, done] : writes_) done(fail(Errc::cancelled, "log closed"));
      for (auto& [value, done] : waiting_) done(fail(Errc::cancelled, "log closed"));
      for (auto& done : start_waiters_) done(fail(Errc::cancelled, "log closed"));
      for (auto& done : catch_up_waiters_) done(fail(Errc::cancelled, "log closed"));
      writes_.clear();
      waiting_.clear();
      start_waiters_.clear();
      catch_up_waiters_.clear();
      run_completions();  // Answers made before the close, whose flush will not come.
      if (transport_) transport_->stop();
      // Let the transport close its sockets, then stop.
      asio::post(io_, [this] { io_.stop(); });
    });
    if (io_thread_.joinable()) io_thread_.join();
    disk_.reset();  // Finishes the writes handed out; its reports go nowhere now.
  }

 private:
  std::uint64_t proposer() {
    return (static_cast<std::uint64_t>(options_.self.value) << 48) ^ (rng_() & ((1ull << 48) - 1));
  }

  void route(const Envelope& envelope) {
    switch (envelope.to.port) {
      case Port::replica:
        replica_->step(envelope);
        break;
      case Port::coordinator:
        if (coordinator_) coordinator_->step(envelope);
        break;
      case Port::recovery:
        if (recovery_) recovery_->step(envelope);
        break;
      case Port::catch_up:
        if (const auto* response = std::get_if<RecoverResponse>(&envelope.message)) {
          if (response->nonce == probe_nonce_ && probe_nonce_ != 0) {
            probe_[envelope.from.node] = *response;
            on_probe();
          }
          break;
        }
        if (recovery_) recovery_->step(envelope);
        if (catch_up_) catch_up_->step(envelope);
        break;
    }
  }

  void on_probe() {
    // Our own replica counts if it votes; the end of the log is the highest a quorum reports.
    std::size_t voting = replica_->status() == Status::voting ? 1 : 0;
    Position end = replica_->end();
    for (const auto& [node, response] : probe_) {
      if (response.status != Status::voting) continue;
      ++voting;
      end = std::max(end, response.end);
    }
    if (voting < options_.quorum) return;
    probe_nonce_ = 0;
    probe_.clear();
    catch_up_target_ = end;
    CatchUpConfig config;
    config.self = options_.self;
    config.proposer = proposer();
    config.replicas = replicas_;
    config.quorum = options_.quorum;
    catch_up_ = std::make_unique<CatchUp>(config, *replica_, replica_->missing(0, end));
    catch_up_->start();
  }

  void tick() {
    ++ticks_;
    transport_->send(std::move(learned_));
    learned_.clear();
    if (recovery_) recovery_->tick();
    if (catch_up_) catch_up_->tick();
    if (coordinator_) {
      coordinator_->tick();
      const CoordinatorState state = coordinator_->state();
      if ((state == CoordinatorState::electing || state == CoordinatorState::filling) &&
          ticks_ - election_started_ > election_timeout_ticks) {
        coordinator_->abandon();  // Reported to the waiters as a lost election.
      }
    }
    if (probe_nonce_ != 0 && ticks_ % 10 == 0) send_probe();  // Answers may have been lost.
  }

  void maybe_elect() {
    if (start_waiters_.empty()) return;
    if (recovery_) return;  // Elect once this replica votes.
    if (!coordinator_) {
      CoordinatorConfig config;
      config.self = options_.self;
      config.proposer = proposer();
      config.replicas = replicas_;
      config.quorum = options_.quorum;
      config.writes_in_flight_max = options_.writes_in_flight_max;
      coordinator_ = std::make_unique<Coordinator>(config, *replica_);
    }
    switch (coordinator_->state()) {
      case CoordinatorState::idle:
        if (coordinator_->elect()) election_started_ = ticks_;
        break;
      case CoordinatorState::elected: {
        const Position index = coordinator_->next_position() - 1;
        for (auto& done : start_waiters_) completions_.push_back([done = std::move(done), index] { done(index); });
        start_waiters_.clear();
        break;
      }
      default:
        break;  // Electing: the waiters hear the outcome.
    }
  }

  void propose_waiting() {
    while (!waiting_.empty() && coordinator_ && coordinator_->state() == CoordinatorState::elected &&
           coordinator_->writes_in_flight() < options_.writes_in_flight_max) {
      auto& [value, done] = waiting_.front();
      auto position = value.type == ActionType::truncate ? coordinator_->truncate(value.to)
                                                         : coordinator_->append(std::move(value.bytes));
      if (!position) {
        completions_.push_back([done = std::move(done), error = position.error()] { done(tl::unexpected(error)); });
      } else {
        writes_.emplace(*position, std::move(done));
      }
      waiting_.pop_front();
    }
  }

  void on_event(const CoordinatorEvent& event) {
    using Type = CoordinatorEvent::Type;
    switch (event.type) {
      case Type::elected:
        for (auto& done : start_waiters_) {
          completions_.push_back([done = std::move(done), index = event.position] { done(index); });
        }
        start_waiters_.clear();
        propose_waiting();
        return;
      case Type::election_lost:
        for (auto& done : start_waiters_) {
          completions_.push_back([done = std::move(done)] { done(fail(Errc::not_leader, "start: lost the election")); });
        }
        start_waiters_.clear();
        return;
      case Type::committed:
      case Type::write_failed: {
        auto it = writes_.find(event.position);
        if (it == writes_.end()) return;
        Callback done = std::move(it->second);
        writes_.erase(it);
        const Position position = event.position;
        if (event.type == Type::committed) {
          completions_.push_back([done = std::move(done), position] { done(position); });
        } else {
          completions_.push_back([done = std::move(done)] { done(fail(Errc::not_leader, "write: demoted")); });
        }
        return;
      }
      case Type::demoted:
        for (auto& [value, done] : waiting_) {
          completions_.push_back([done = std::move(done)] { done(fail(Errc::not_leader, "write: demoted")); });
        }
        waiting_.clear();
        return;
    }
  }

  // Carries out every core's `Ready`: hand the replica's writes to the disk thread, send what
  // may leave (the replica's replies once durable), and feed messages for this node straight
  // back in, until nothing is left. Any read issued after a completion runs after this, so it
  // sees the entry learned locally (from the write queue if not yet on disk).
  void flush() {
    for (;;) {
      std::vector<Envelope> out = std::move(released_);
      released_.clear();
      if (recovery_) {
        for (const Envelope& e : recovery_->ready().messages) out.push_back(e);
        recovery_->advance();
      }
      if (catch_up_) {
        for (const Envelope& e : catch_up_->ready().messages) out.push_back(e);
        catch_up_->advance();
      }
      if (coordinator_) {
        for (const Envelope& e : coordinator_->ready().messages) out.push_back(e);
        std::vector<CoordinatorEvent> events = coordinator_->ready().events;
        coordinator_->advance();
        for (const CoordinatorEvent& e : events) on_event(e);
        // A committed append is chosen (a quorum made it durable) and the local replica shows it
        // learned from its pending state, so readers here see it: answer now rather than after
        // one more local fsync for the learned flag.
        run_completions();
        propose_waiting();
        if (coordinator_->ready().messages.size() > 0) {
          for (const Envelope& e : coordinator_->ready().messages) out.push_back(e);
          coordinator_->advance();
        }
      }
      if (!replica_->ready().empty()) {
        WriteQueue::Pushed pushed = queue_->push(replica_->ready());
        if (pushed.batch) disk_->submit(pushed.sequence, std::move(*pushed.batch));
        for (Envelope& e : pushed.send) out.push_back(std::move(e));
      }
      replica_->advance();

      std::vector<Envelope> local;
      std::vector<Envelope> remote;
      for (Envelope& e : out) {
        if (e.to.node == options_.self) {
          local.push_back(std::move(e));
        } else if (std::holds_alternative<LearnedMessage>(e.message)) {
          // Nobody waits for a follower to learn (the append completed already, and a reader
          // there catches up): let it ride with the next frame, where the follower steps it
          // with the next write and persists both in one batch, instead of waking its core and
          // disk threads once more per append. The tick sends what no frame took along.
          learned_.push_back(std::move(e));
        } else {
          remote.push_back(std::move(e));
        }
      }
      if (!remote.empty() && !learned_.empty()) {
        remote.insert(remote.begin(), std::make_move_iterator(learned_.begin()), std::make_move_iterator(learned_.end()));
        learned_.clear();
      }
      transport_->send(std::move(remote));
      if (local.empty()) break;
      for (const Envelope& e : local) route(e);
    }

    if (recovery_ && recovery_->done()) {
      recovery_.reset();
      log_->info("replica recovered node={}", options_.self);
      maybe_elect();
      return flush();
    }
    if (catch_up_ && catch_up_->done()) {
      catch_up_.reset();
      const Position end = catch_up_target_;
      for (auto& done : catch_up_waiters_) completions_.push_back([done = std::move(done), end] { done(end); });
      catch_up_waiters_.clear();
    }
    run_completions();
  }

  void run_completions() {
    std::vector<std::function<void()>> completions = std::move(completions_);
    completions_.clear();
    for (auto& completion : completions) completion();
  }

  static constexpr std::uint64_t election_timeout_ticks = 100;

  LogOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<NodeId> replicas_;
  std::mt19937_64 rng_;
  std::unique_ptr<LevelDbLogStorage> storage_;
  std::unique_ptr<WriteQueue> queue_;  // The replica reads through it.
  std::unique_ptr<detail::DiskWriter> disk_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<Recovery> recovery_;
  std::unique_ptr<CatchUp> catch_up_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::shared_ptr<detail::Transport> transport_;
  asio::steady_timer tick_timer_{io_};
  std::thread io_thread_;  // The core thread: runs `io_`, so the cores and the sockets.
  std::mutex gate_;  // Orders public commands against `stop`.
  bool stopped_ = false;  // Guarded by `gate_`.

  // Core thread only.
  bool stopping_ = false;
  bool flush_scheduled_ = false;
  std::uint64_t ticks_ = 0;
  std::uint64_t election_started_ = 0;
  std::map<Position, Callback> writes_;
  std::deque<std::pair<Action, Callback>> waiting_;
  std::vector<Callback> start_waiters_;
  std::vector<Callback> catch_up_waiters_;
  std::uint64_t probe_nonce_ = 0;
  std::map<NodeId, RecoverResponse> probe_;
  Position catch_up_target_ = 0;
  std::vector<std::function<void()>> completions_;
  std::vector<Envelope> released_;  // Replies whose writes became durable.
  std::vector<Envelope> learned_;   // Learned messages for other nodes, sent with the next frame.
};

Result<std::unique_ptr<Log>> Log::open(LogOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto opened = impl->open(); !opened) return tl::unexpected(opened.error());
  return std::unique_ptr<Log>(new Log(std::move(impl)));
}

Log::Log(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Log::~Log() = default;
void Log::close() { impl_->stop(); }

asio::ip::tcp::endpoint Log::endpoint() const { return impl_->endpoint(); }
void Log::start(Callback done) { impl_->start(std::move(done)); }
void Log::append(std::string data, Callback done) { impl_->write(append_value(0, std::move(data)), std::move(done)); }
void Log::truncate(Position to, Callback done) { impl_->write(truncate_value(0, to), std::move(done)); }
Result<std::vector<Entry>> Log::read(Position from, Position to) { return impl_->read(from, to); }
void Log::catch_up(Callback done) { impl_->catch_up(std::move(done)); }
LogStatus Log::status() { return impl_->status(); }

namespace {
template <typename F>
Result<Position> wait(F&& start) {
  std::promise<Result<Position>> promise;
  auto future = promise.get_future();
  start([&promise](Result<Position> result) { promise.set_value(std::move(result)); });
  return future.get();
}
}  // namespace

Result<Position> Log::start_sync() {
  return wait([&](Callback done) { start(std::move(done)); });
}
Result<Position> Log::append_sync(std::string data) {
  return wait([&](Callback done) { append(std::move(data), std::move(done)); });
}
Result<Position> Log::truncate_sync(Position to) {
  return wait([&](Callback done) { truncate(to, std::move(done)); });
}
Result<Position> Log::catch_up_sync() {
  return wait([&](Callback done) { catch_up(std::move(done)); });
}

}  // namespace dcos::replicated_log
