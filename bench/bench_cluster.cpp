// bench_cluster: end-to-end task throughput of the in-process cluster, and the scheduler-call
// rate the master sustains next to minimal HTTP servers. One JSON object per line on stdout (the
// components log to stderr, WARN by default). Exits by itself in about 25 s with the defaults.
//
//   1. {"bench":"tasks",...}: a `dcos::testing::Cluster` (system clock, 1 master, --agents
//      agents of --agent_resources) and one framework on the same io_context, driven through
//      `dcos::scheduler::Scheduler`. Each offer gets one ACCEPT (refuse_seconds 0) with one
//      LAUNCH of as many `true` command tasks (cpus 0.1, mem 32, role "*") as fit; offers with
//      no room are declined for 5 s (a filter only holds back offers it contains, so the agent
//      is offered again as soon as a task ends there). Every update is acknowledged. Timed from
//      `Scheduler::start()` until --tasks tasks reached TASK_FINISHED; real processes, real HTTP
//      on loopback, everything on this thread. The sandboxes go to tmpfs unless
//      --work_dir_parent says otherwise (see `WorkDir`). `thread_cpu_s` and
//      `thread_runqueue_wait_s` tell the loop's own CPU time from time lost to other processes.
//   2. {"bench":"calls",...}: --connections keep-alive `dcos::http::Client`s, one request in
//      flight each, send (a) DECLINE of an unknown offer and (b) ACKNOWLEDGE of an unknown task
//      on the registered agent (well-formed uuid) with the framework's `Mesos-Stream-Id` to a
//      master with one agent; then the same DECLINE request to (c) "minimal-beast", a
//      `dcos::http::Server` whose single route answers an empty 202, and (d) "bare-beast", the
//      hand-rolled Beast coroutine server below (read request, write 202). All servers share
//      one server thread with its own io_context; the clients run on the main thread's. The
//      four targets take turns (--rounds) so that load from other processes on this shared
//      machine hits them alike. `*_thread_busy` is each thread's CPU share of the windows.
//
// Run (from the repository root):
//   cmake --build build --target bench_cluster -j2 && ./build/bench/bench_cluster
//   ./build/bench/bench_cluster --tasks 2000 --agents 10 --connections 8 --seconds 3
//   ./build/bench/bench_cluster --skip_calls --progress --work_dir_parent ""  # sandboxes on disk
#include <cmath>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "dcos/common/uuid.hpp"
#include "dcos/http/client.hpp"
#include "dcos/http/recordio.hpp"
#include "dcos/http/server.hpp"
#include "dcos/resources/resources.hpp"
#include "dcos/scheduler/scheduler.hpp"
#include "dcos/testing/cluster.hpp"
#include "dcos/v1/task.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

struct Flags {
  std::string work_dir_parent = "/dev/shm";  // Where the cluster's sandboxes go; see `WorkDir`.
  int tasks = 2000;
  int agents = 10;
  std::string agent_resources = "cpus:8;mem:8192;disk:1024;ports:[31000-32000]";
  int connections = 8;
  double seconds = 3;
  double warmup_seconds = 0.2;  // Before each round's measured window.
  int rounds = 3;               // --seconds is split over this many turns per target.
  double task_timeout_seconds = 60;
  bool skip_tasks = false;
  bool skip_calls = false;
  bool progress = false;
};

void print(const nlohmann::ordered_json& line) { std::cout << line.dump() << std::endl; }

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// This thread's time on a CPU and waiting for one (runnable but not running), from
// /proc/thread-self/schedstat; on a shared machine the wait shows how much others took.
struct ThreadTimes {
  double on_cpu_s = 0;
  double runqueue_wait_s = 0;
};

ThreadTimes thread_times(pid_t tid = 0) {
  ThreadTimes times;
  std::ifstream schedstat(tid ? fmt::format("/proc/self/task/{}/schedstat", tid)
                              : std::string("/proc/thread-self/schedstat"));
  double on_cpu_ns = 0, wait_ns = 0;
  if (schedstat >> on_cpu_ns >> wait_ns) times = {on_cpu_ns / 1e9, wait_ns / 1e9};
  return times;
}

// CPU seconds (user + system) of reaped children: the tasks' processes.
double children_cpu_s() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double rounded(double value, int digits = 1) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

// A fresh directory under `parent` for the cluster (its sandboxes, one per task), removed with
// this object. The default parent is tmpfs: on this project's build machines the disk's metadata
// operations are slow and erratic (creating and removing 2000 sandboxes took 1.2 s and 0.8 s in
// one try, 5.7 s and 21.8 s in another), and the agent makes them on its event loop, so they
// would measure the disk. An empty or unusable parent lets `Cluster` pick a temporary directory
// under $TMPDIR or /tmp.
class WorkDir {
 public:
  explicit WorkDir(const std::string& parent) {
    std::error_code ec;
    if (parent.empty() || !std::filesystem::is_directory(parent, ec) || ::access(parent.c_str(), W_OK) != 0) return;
    std::string pattern = parent + "/bench_cluster-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~WorkDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const std::string& path() const { return path_; }  // Empty: let `Cluster` choose.

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// 1. Task throughput

// The resources of one task, as a v1 `Resource` array.
nlohmann::json task_resources_json() {
  return nlohmann::json::array({
      {{"name", "cpus"}, {"type", "SCALAR"}, {"scalar", {{"value", 0.1}}}, {"role", "*"}},
      {{"name", "mem"}, {"type", "SCALAR"}, {"scalar", {{"value", 32}}}, {"role", "*"}},
  });
}

int run_task_bench(const Flags& flags) {
  const WorkDir work_dir(flags.work_dir_parent);
  asio::io_context io(1);
  dcos::testing::ClusterOptions options;
  options.work_dir = work_dir.path();
  options.agents = flags.agents;
  options.agent_resources = flags.agent_resources;
  options.manual_clock = false;
  dcos::testing::Cluster cluster(io, options);
  const auto setup_started = SteadyClock::now();
  if (!cluster.start(std::chrono::seconds(30))) {
    std::cerr << "bench_cluster: the cluster did not start\n";
    return 1;
  }
  const double setup_seconds = seconds_since(setup_started);

  const nlohmann::json task_resources = task_resources_json();
  const dcos::Resources task_needs = dcos::resources_from_json(task_resources).value();
  const int wanted = flags.tasks;
  int launched = 0, finished = 0, failed = 0, offers_seen = 0, accepts = 0, declines = 0;
  std::vector<char> terminal;  // By task number: a terminal update was counted.
  std::string first_failure;
  std::optional<double> first_offer_seconds;

  std::shared_ptr<dcos::scheduler::Scheduler> scheduler;
  const ThreadTimes times_at_start = thread_times();
  const double children_at_start = children_cpu_s();
  ThreadTimes times_at_end;
  double children_at_end = 0;
  const auto started = SteadyClock::now();
  std::optional<double> elapsed;

  dcos::scheduler::Callbacks callbacks;
  callbacks.event = [&](const nlohmann::json& event) {
    const std::string type = event.value("type", "");
    if (type == "OFFERS") {
      if (!first_offer_seconds) first_offer_seconds = seconds_since(started);
      for (const auto& offer : event["offers"]["offers"]) {
        ++offers_seen;
        const std::string offer_id = offer["id"]["value"];
        const std::string agent_id = offer["agent_id"]["value"];
        auto offered = dcos::resources_from_json(offer["resources"]);
        dcos::Resources remaining = offered ? offered->unallocated() : dcos::Resources{};
        const int in_flight = launched - finished - failed;
        int needed = wanted - finished - in_flight;
        nlohmann::json task_infos = nlohmann::json::array();
        while (needed > 0 && remaining.contains(task_needs)) {
          remaining -= task_needs;
          const std::string task_id = fmt::format("bench-{}", launched++);
          terminal.push_back(0);
          --needed;
          task_infos.push_back({{"name", task_id},
                                {"task_id", {{"value", task_id}}},
                                {"agent_id", {{"value", agent_id}}},
                                {"resources", task_resources},
                                {"command", {{"shell", true}, {"value", "true"}}}});
        }
        if (task_infos.empty()) {
          // Nothing fits or nothing is needed: a filter keeps these exact leftovers away until
          // a task ends on that agent and the offer grows (the allocator's filters match only
          // offers they contain).
          ++declines;
          scheduler->decline({offer_id}, 5.0);
          continue;
        }
        ++accepts;
        nlohmann::json launch = {{"type", "LAUNCH"}, {"launch", {{"task_infos", std::move(task_infos)}}}};
        scheduler->accept({offer_id}, nlohmann::json::array({std::move(launch)}), 0.0);
      }
    } else if (type == "UPDATE") {
      const auto& status = event["update"]["status"];
      scheduler->acknowledge(status);
      const auto state = dcos::v1::parse_task_state(status.value("state", ""));
      if (!state || !dcos::v1::is_terminal(*state)) return;
      const std::string task_id = status["task_id"]["value"];
      const size_t number = std::stoul(task_id.substr(task_id.find('-') + 1));
      if (number >= terminal.size() || terminal[number]) return;  // A retried update.
      terminal[number] = 1;
      if (*state == dcos::v1::TaskState::finished) {
        if (++finished == wanted) {
          elapsed = seconds_since(started);
          times_at_end = thread_times();
          children_at_end = children_cpu_s();
        }
      } else {
        if (failed++ == 0) first_failure = status.dump();
        scheduler->revive();  // Its replacement may need offers that a decline filtered.
      }
    }
  };
  callbacks.disconnected = [&](const std::string& why) {
    std::cerr << "bench_cluster: scheduler disconnected: " << why << "\n";
  };

  dcos::scheduler::SchedulerConfig config;
  config.master = cluster.master_endpoint();
  config.framework.user = "bench";
  config.framework.name = "bench_cluster";
  scheduler = dcos::scheduler::Scheduler::create(io.get_executor(), cluster.clock(), config, callbacks);
  scheduler->start();
  std::function<void()> report;
  asio::steady_timer progress(io);
  report = [&] {
    std::cerr << fmt::format(
        "progress t={:.2f}s launched={} finished={} failed={} in_flight={} offers={} accepts={} declines={}\n",
        seconds_since(started), launched, finished, failed, launched - finished - failed, offers_seen, accepts,
        declines);
    progress.expires_after(std::chrono::milliseconds(250));
    progress.async_wait([&](boost::system::error_code ec) {
      if (!ec) report();
    });
  };
  if (flags.progress) report();
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(flags.task_timeout_seconds * 1000));
  const bool done = cluster.run_until([&] { return finished >= wanted || failed > wanted; }, timeout);
  if (!elapsed) {
    times_at_end = thread_times();
    children_at_end = children_cpu_s();
  }
  const double seconds = elapsed.value_or(seconds_since(started));
  progress.cancel();
  scheduler->stop();
  scheduler.reset();

  nlohmann::ordered_json line = {
      {"bench", "tasks"},
      {"agents", flags.agents},
      {"tasks", wanted},
      {"finished_tasks", finished},
      {"failed_tasks", failed},
      {"seconds", rounded(seconds, 3)},
      {"tasks_per_s", rounded(finished / seconds)},
      {"offers", offers_seen},
      {"accepts", accepts},
      {"declines", declines},
      {"first_offer_ms", rounded(first_offer_seconds.value_or(0) * 1000)},
      {"thread_cpu_s", rounded(times_at_end.on_cpu_s - times_at_start.on_cpu_s, 3)},
      {"thread_runqueue_wait_s", rounded(times_at_end.runqueue_wait_s - times_at_start.runqueue_wait_s, 3)},
      {"task_processes_cpu_s", rounded(children_at_end - children_at_start, 3)},
      {"cluster_start_ms", rounded(setup_seconds * 1000)}};
  line["work_dir"] = cluster.work_dir();
  if (!done || finished < wanted) line["timed_out"] = true;
  print(line);
  if (!first_failure.empty()) std::cerr << "bench_cluster: first failed task: " << first_failure << "\n";
  return done && finished >= wanted ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// 2. Call rate

// The server side of one measurement: an io_context run by one thread of its own.
class ServerThread {
 public:
  ServerThread() : guard_(asio::make_work_guard(io_)) {}
  ~ServerThread() { stop(); }
  asio::io_context& io() { return io_; }
  void start() {
    std::promise<pid_t> started;
    auto tid = started.get_future();
    thread_ = std::thread([this, &started] {
      started.set_value(::gettid());
      io_.run();
    });
    tid_ = tid.get();
  }
  pid_t tid() const { return tid_; }
  // Stops the io_context and joins the thread; afterwards the caller's thread owns `io()`, and
  // it is restarted so that owners may run their clean-up handlers on it.
  void stop() {
    if (!thread_.joinable()) return;
    guard_.reset();
    io_.stop();
    thread_.join();
    io_.restart();
  }

 private:
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
  pid_t tid_ = 0;
};

// What one target answered, summed over its rounds.
struct LoadResult {
  std::uint64_t accepted = 0;  // 202s inside the measured windows.
  double window_s = 0;         // Total length of the measured windows.
  double server_cpu_s = 0;     // CPU time of the server thread inside the windows.
  double client_cpu_s = 0;     // CPU time of the client thread inside the windows.
  std::uint64_t other = 0;     // Any other status, warm-up included.
  std::uint64_t errors = 0;    // Transport errors, warm-up included.
  std::string first_problem;

  double requests_per_s() const { return window_s > 0 ? accepted / window_s : 0; }
  // Share of the windows each thread spent on a CPU: near 1 marks the side that limits the rate.
  double server_busy() const { return window_s > 0 ? server_cpu_s / window_s : 0; }
  double client_busy() const { return window_s > 0 ? client_cpu_s / window_s : 0; }
  // Server CPU per answered request: steadier than the rate when other processes take CPU.
  double server_us_per_request() const { return accepted > 0 ? server_cpu_s / accepted * 1e6 : 0; }
};

// `connections` keep-alive clients each send `prototype` back to back (one request in flight per
// connection) on `io`, run by the calling thread, and add to `result` the 202s counted between
// `warmup` and `warmup + measure`. `server_tid` is the thread serving them, for its CPU time.
void run_load(asio::io_context& io, const dcos::http::Endpoint& endpoint, const dcos::http::Request& prototype,
              int connections, double warmup, double measure, pid_t server_tid, LoadResult& result) {
  ThreadTimes server_at_start, client_at_start;
  std::uint64_t accepted = 0, accepted_at_start = 0;
  bool stopping = false;
  SteadyClock::time_point window_start;
  std::vector<std::shared_ptr<dcos::http::Client>> clients;
  for (int i = 0; i < connections; ++i) clients.push_back(dcos::http::Client::create(io.get_executor(), endpoint));

  std::function<void(size_t)> issue = [&](size_t i) {
    if (stopping) return;
    clients[i]->send(prototype, [&, i](dcos::Result<dcos::http::Response> response) {
      if (!response) {
        if (result.errors++ == 0) result.first_problem = response.error().message;
        return;  // This connection stops; the others go on.
      }
      if (response->result() == dcos::http::Status::accepted) {
        ++accepted;
      } else if (result.other++ == 0) {
        result.first_problem = fmt::format("HTTP {}: {}", response->result_int(), response->body());
      }
      issue(i);
    });
  };
  for (int i = 0; i < connections; ++i) issue(i);

  auto duration = [](double seconds) {
    return std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
  };
  asio::steady_timer timer(io);
  timer.expires_after(duration(warmup));
  timer.async_wait([&](boost::system::error_code) {
    accepted_at_start = accepted;
    window_start = SteadyClock::now();
    server_at_start = thread_times(server_tid);
    client_at_start = thread_times();
    timer.expires_after(duration(measure));
    timer.async_wait([&](boost::system::error_code) {
      result.accepted += accepted - accepted_at_start;
      result.window_s += seconds_since(window_start);
      result.server_cpu_s += thread_times(server_tid).on_cpu_s - server_at_start.on_cpu_s;
      result.client_cpu_s += thread_times().on_cpu_s - client_at_start.on_cpu_s;
      stopping = true;
    });
  });
  io.restart();
  io.run();  // Returns once every client has its last answer and nothing else is pending.
  for (auto& client : clients) client->close();
  clients.clear();
  io.restart();
  io.poll();
}

nlohmann::ordered_json calls_line(const std::string& system, const std::optional<std::string>& call, int connections,
                                  const LoadResult& result) {
  nlohmann::ordered_json line = {{"bench", "calls"}, {"system", system}};
  if (call) line["call"] = *call;
  line["connections"] = connections;
  line["requests_per_s"] = rounded(result.requests_per_s());
  line["accepted_202"] = result.accepted;
  line["seconds"] = rounded(result.window_s, 3);
  line["server_thread_busy"] = rounded(result.server_busy(), 2);
  line["client_thread_busy"] = rounded(result.client_busy(), 2);
  line["server_cpu_us_per_request"] = rounded(result.server_us_per_request(), 2);
  if (result.other) line["non_202"] = result.other;
  if (result.errors) line["transport_errors"] = result.errors;
  if (!result.first_problem.empty()) std::cerr << "bench_cluster: " << system << ": " << result.first_problem << "\n";
  return line;
}

struct Subscription {
  std::unique_ptr<dcos::http::StreamReader> reader;
  std::string stream_id;
  std::string framework_id;
};

// Subscribes a framework with a raw v1 SUBSCRIBE (the scheduler library keeps its stream id to
// itself) and reads until SUBSCRIBED. The stream stays open, unread, until `reader` goes.
std::optional<Subscription> subscribe(asio::io_context& io, const dcos::http::Endpoint& master) {
  Subscription subscription;
  const nlohmann::json call = {
      {"type", "SUBSCRIBE"}, {"subscribe", {{"framework_info", {{"user", "bench"}, {"name", "bench_cluster-calls"}}}}}};
  auto request = dcos::http::make_post(master, "/api/v1/scheduler", call.dump());
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto opened = co_await dcos::http::StreamReader::open(io.get_executor(), master, std::move(request));
        if (!opened) {
          std::cerr << "bench_cluster: subscribe: " << opened.error().message << "\n";
          co_return;
        }
        subscription.reader = std::move(*opened);
        subscription.stream_id = std::string(subscription.reader->header()["Mesos-Stream-Id"]);
        dcos::http::RecordIoDecoder decoder;
        while (subscription.framework_id.empty()) {
          auto bytes = co_await subscription.reader->read();
          if (!bytes) co_return;
          decoder.feed(*bytes);
          for (;;) {
            auto record = decoder.next();
            if (!record || !*record) break;
            auto event = nlohmann::json::parse(**record, nullptr, false);
            if (event.value("type", "") == "SUBSCRIBED") {
              subscription.framework_id = event["subscribed"]["framework_id"]["value"];
            }
          }
        }
      },
      asio::detached);
  io.restart();
  io.run_for(std::chrono::seconds(10));
  if (subscription.framework_id.empty() || subscription.stream_id.empty()) return std::nullopt;
  return subscription;
}

dcos::http::Request scheduler_call(const dcos::http::Endpoint& endpoint, const nlohmann::json& call,
                                   const std::string& stream_id) {
  auto request = dcos::http::make_post(endpoint, "/api/v1/scheduler", call.dump());
  request.set("Mesos-Stream-Id", stream_id);
  return request;
}

// A bare Beast server: each connection reads a request and writes an empty 202, kept alive.
asio::awaitable<void> bare_session(tcp::socket socket) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  for (;;) {
    beast_http::request<beast_http::string_body> request;
    co_await beast_http::async_read(socket, buffer, request, token);
    if (ec) break;
    beast_http::response<beast_http::empty_body> response{beast_http::status::accepted, request.version()};
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    co_await beast_http::async_write(socket, response, token);
    if (ec || !response.keep_alive()) break;
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> bare_accept(tcp::acceptor& acceptor) {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(acceptor.get_executor(), bare_session(std::move(socket)), asio::detached);
  }
}

// All three servers live on one server thread; the clients run on this one. The targets take
// turns for `flags.rounds` rounds, so a change in the machine's load (it is shared) hits them
// alike instead of skewing the ratios.
int run_calls_bench(const Flags& flags) {
  const int k = flags.connections;
  const int rounds = std::max(1, flags.rounds);
  const WorkDir work_dir(flags.work_dir_parent);
  ServerThread server;

  // The master, with one agent; a framework subscribes below.
  auto cluster = std::make_unique<dcos::testing::Cluster>(
      server.io(), dcos::testing::ClusterOptions{.agents = 1, .manual_clock = false, .work_dir = work_dir.path()});
  if (!cluster->start(std::chrono::seconds(30))) {
    std::cerr << "bench_cluster: the cluster did not start\n";
    return 1;
  }
  const std::string agent_id = cluster->agent(0).id().value();
  const dcos::http::Endpoint master = cluster->master_endpoint();

  // "minimal-beast": the same HTTP layer with one route that answers 202.
  auto router = std::make_shared<dcos::http::Router>();
  router->add("/api/v1/scheduler", [](const dcos::http::Request& request) {
    return dcos::http::make_response(request, dcos::http::Status::accepted);
  });
  auto minimal_server = std::make_unique<dcos::http::Server>(server.io().get_executor(), router);
  auto minimal_port = minimal_server->listen("127.0.0.1", 0);
  if (!minimal_port) {
    std::cerr << "bench_cluster: minimal server: " << minimal_port.error().message << "\n";
    return 1;
  }
  const dcos::http::Endpoint minimal{"127.0.0.1", *minimal_port};

  // "bare-beast": the hand-rolled coroutine server above.
  tcp::acceptor bare_acceptor(server.io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const dcos::http::Endpoint bare{"127.0.0.1", bare_acceptor.local_endpoint().port()};
  asio::co_spawn(server.io(), bare_accept(bare_acceptor), asio::detached);

  server.start();  // From here until `server.stop()` only the server thread touches these.
  asio::io_context client_io(1);
  auto subscription = subscribe(client_io, master);
  if (!subscription) {
    std::cerr << "bench_cluster: the framework did not subscribe\n";
    server.stop();
    return 1;
  }
  const nlohmann::json framework_id = {{"value", subscription->framework_id}};
  const nlohmann::json decline_call = {
      {"type", "DECLINE"},
      {"framework_id", framework_id},
      {"decline", {{"offer_ids", {{{"value", "bench-no-such-offer"}}}}, {"filters", {{"refuse_seconds", 5}}}}}};
  const nlohmann::json ack_call = {{"type", "ACKNOWLEDGE"},
                                   {"framework_id", framework_id},
                                   {"acknowledge",
                                    {{"agent_id", {{"value", agent_id}}},
                                     {"task_id", {{"value", "bench-no-such-task"}}},
                                     {"uuid", dcos::base64_encode(dcos::random_uuid_bytes())}}}};
  struct Target {
    std::string system;
    std::optional<std::string> call;
    dcos::http::Endpoint endpoint;
    dcos::http::Request request;
    LoadResult result;
  };
  // The minimal servers get the very DECLINE request the master gets (its stream id included).
  const std::string& stream_id = subscription->stream_id;
  std::vector<Target> targets = {
      {"dcos-master", "DECLINE", master, scheduler_call(master, decline_call, stream_id), {}},
      {"dcos-master", "ACKNOWLEDGE", master, scheduler_call(master, ack_call, stream_id), {}},
      {"minimal-beast", std::nullopt, minimal, scheduler_call(minimal, decline_call, stream_id), {}},
      {"bare-beast", std::nullopt, bare, scheduler_call(bare, decline_call, stream_id), {}},
  };
  for (int round = 0; round < rounds; ++round) {
    for (Target& target : targets) {
      run_load(client_io, target.endpoint, target.request, k, flags.warmup_seconds, flags.seconds / rounds,
               server.tid(), target.result);
    }
  }
  for (const Target& target : targets) print(calls_line(target.system, target.call, k, target.result));

  subscription->reader->close();
  subscription->reader.reset();
  client_io.restart();
  client_io.poll();
  server.stop();
  // On this thread, now the server io_context's only user.
  bare_acceptor.close();
  minimal_server.reset();
  cluster.reset();

  auto ratio = [](double a, double b) { return b > 0 ? rounded(a / b, 3) : 0.0; };
  const LoadResult& minimal_result = targets[2].result;
  const LoadResult& bare_result = targets[3].result;
  for (const Target& target : {targets[0], targets[1]}) {
    print({{"bench", "calls"},
           {"call", *target.call},
           {"connections", k},
           {"ratio_master_to_minimal", ratio(target.result.requests_per_s(), minimal_result.requests_per_s())},
           {"ratio_master_to_bare", ratio(target.result.requests_per_s(), bare_result.requests_per_s())},
           {"server_cpu_per_request_master_to_minimal",
            ratio(target.result.server_us_per_request(), minimal_result.server_us_per_request())}});
  }
  print({{"bench", "calls"},
         {"connections", k},
         {"ratio_minimal_to_bare", ratio(minimal_result.requests_per_s(), bare_result.requests_per_s())}});
  bool clean = true;
  for (const Target& target : targets) clean = clean && target.result.other == 0 && target.result.errors == 0;
  return clean ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_cluster: in-process cluster task throughput and scheduler call rate"};
  Flags flags;
  std::string log_level = "warn";
  app.add_option("--tasks", flags.tasks, "Tasks to run to TASK_FINISHED")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--work_dir_parent", flags.work_dir_parent,
                 "Directory for the clusters' work dirs (empty: $TMPDIR or /tmp, on disk)")
      ->capture_default_str();
  app.add_option("--agents", flags.agents, "Agents in the task benchmark")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--agent_resources", flags.agent_resources, "Resources of each agent")->capture_default_str();
  app.add_option("--connections", flags.connections, "Concurrent keep-alive connections in the call benchmark")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seconds", flags.seconds, "Measured seconds per call target")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup_seconds", flags.warmup_seconds, "Unmeasured seconds before each measured window")
      ->capture_default_str();
  app.add_option("--rounds", flags.rounds, "Turns each call target takes (--seconds is split over them)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--task_timeout_seconds", flags.task_timeout_seconds, "Give up on the task benchmark after this long")
      ->capture_default_str();
  app.add_flag("--skip_tasks", flags.skip_tasks, "Skip the task benchmark");
  app.add_flag("--skip_calls", flags.skip_calls, "Skip the call benchmark");
  app.add_flag("--progress", flags.progress, "Print the task benchmark's progress to stderr every 250 ms");
  app.add_option("--log_level", log_level, "spdlog level for the components (on stderr)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGPIPE, SIG_IGN);
  // Stdout carries only the JSON lines.
  spdlog::set_default_logger(spdlog::stderr_color_mt("bench"));
  spdlog::set_level(spdlog::level::from_str(log_level));

  int rc = 0;
  if (!flags.skip_tasks) rc |= run_task_bench(flags);
  if (!flags.skip_calls) rc |= run_calls_bench(flags);
  return rc;
}
