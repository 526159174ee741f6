// bench_cluster: end-to-end throughput of the in-process cluster, and the scheduler-call rate the
// master sustains compared with minimal HTTP servers. Prints one JSON object per line on stdout
// (logs go to stderr at WARN):
//
//   1. `{"bench":"tasks",...}`: a `dcos::testing::Cluster` (system clock, 1 master, --agents
//      agents) and one framework on the same io_context, driven through
//      `dcos::scheduler::Scheduler`. Every offer is packed with as many `true` command tasks
//      (cpus:0.1;mem:32) as fit, in one ACCEPT with one LAUNCH of many task infos and
//      refuse_seconds 0; every update is acknowledged. Timed from `Scheduler::start()` until
//      --tasks tasks reached TASK_FINISHED. Real processes, real HTTP on loopback.
//   2. `{"bench":"calls",...}`: --connections keep-alive `dcos::http::Client`s send DECLINE
//      (unknown offer id) and ACKNOWLEDGE (well-formed uuid, unknown task, registered agent)
//      calls with the framework's `Mesos-Stream-Id` to a master (1 agent) for --seconds each,
//      then the same DECLINE requests to (a) "minimal-beast": a `dcos::http::Server` whose only
//      route answers 202 with no body, and (b) "bare-beast": a hand-rolled Beast coroutine
//      server in this file (read request, write 202). Servers run on their own io_context on
//      one thread, the clients on another io_context on the main thread: on a 2-core machine
//      the two compete with anything else running.
//
// Run (from the repository root):
//   cmake --build build --target bench_cluster -j2 && ./build/bench/bench_cluster
//   ./build/bench/bench_cluster --tasks 2000 --agents 10 --connections 8 --seconds 3
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <cstdint>
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
#include "dcos/v1/json_fields.hpp"
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
  double warmup_seconds = 0.5;
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

ThreadTimes thread_times() {
  ThreadTimes times;
  std::ifstream schedstat("/proc/thread-self/schedstat");
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
// operations are slow enough (create and remove 2000 sandboxes: ~6 s and ~20 s) to dominate the
// measurement, and the agent makes them on its event loop. An empty or unusable parent lets
// `Cluster` pick a temporary directory under $TMPDIR or /tmp.
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
  callbacks.disconnected = [&](const std::string& why) { std::cerr << "bench_cluster: scheduler disconnected: " << why << "\n"; };

  dcos::scheduler::SchedulerConfig config;
  config.master = cluster.master_endpoint();
  config.framework.user = "bench";
  config.framework.name = "bench_cluster";
  scheduler = dcos::scheduler::Scheduler::create(io.get_executor(), cluster.clock(), config, callbacks);
  scheduler->start();
  std::function<void()> report;
  asio::steady_timer progress(io);
  report = [&] {
    std::cerr << fmt::format("progress t={:.2f}s launched={} finished={} failed={} in_flight={} offers={} accepts={} declines={}\n",
                             seconds_since(started), launched, finished, failed, launched - finished - failed, offers_seen,
                             accepts, declines);
    progress.expires_after(std::chrono::milliseconds(250));
    progress.async_wait([&](boost::system::error_code ec) {
      if (!ec) report();
    });
  };
  if (flags.progress) report();
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(flags.task_timeout_seconds * 1000));
  const bool done = cluster.run_until([&] { return finished >= wanted || failed > wanted; }, timeout);
  const double seconds = elapsed.value_or(seconds_since(started));
  progress.cancel();
  scheduler->stop();
  scheduler.reset();

  nlohmann::ordered_json line = {{"bench", "tasks"},
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
    thread_ = std::thread([this] { io_.run(); });
  }
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
};

struct LoadResult {
  double requests_per_s = 0;
  std::uint64_t accepted = 0;  // 202s inside the measured window.
  std::uint64_t other = 0;     // Any other status, whole run.
  std::uint64_t errors = 0;    // Transport errors, whole run.
  std::string first_problem;
};

// `connections` keep-alive clients each send `prototype` back to back (one request in flight per
// connection) on `io`, run by the calling thread. Counts 202s between `warmup` and
// `warmup + measure`.
LoadResult run_load(asio::io_context& io, const dcos::http::Endpoint& endpoint, const dcos::http::Request& prototype,
                    int connections, double warmup, double measure) {
  LoadResult result;
  std::uint64_t accepted = 0, accepted_at_start = 0;
  bool stopping = false;
  SteadyClock::time_point window_start, window_end;
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

  asio::steady_timer timer(io);
  timer.expires_after(std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(warmup)));
  timer.async_wait([&](boost::system::error_code) {
    accepted_at_start = accepted;
    window_start = SteadyClock::now();
    timer.expires_after(std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(measure)));
    timer.async_wait([&](boost::system::error_code) {
      result.accepted = accepted - accepted_at_start;
      window_end = SteadyClock::now();
      stopping = true;
    });
  });
  io.restart();
  io.run();  // Returns once every client has its last answer and nothing else is pending.
  for (auto& client : clients) client->close();
  clients.clear();
  io.restart();
  io.poll();
  const double seconds = std::chrono::duration<double>(window_end - window_start).count();
  result.requests_per_s = seconds > 0 ? result.accepted / seconds : 0;
  return result;
}

nlohmann::ordered_json calls_line(const std::string& system, const std::optional<std::string>& call, int connections,
                          const LoadResult& result) {
  nlohmann::ordered_json line = {{"bench", "calls"}, {"system", system}};
  if (call) line["call"] = *call;
  line["connections"] = connections;
  line["requests_per_s"] = rounded(result.requests_per_s);
  line["accepted_202"] = result.accepted;
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
      {"type", "SUBSCRIBE"},
      {"subscribe", {{"framework_info", {{"user", "bench"}, {"name", "bench_cluster-calls"}}}}}};
  auto request = dcos::http::make_post(master, "/api/v1/scheduler", call.dump());
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
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
  }, asio::detached);
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

int run_calls_bench(const Flags& flags) {
  const int k = flags.connections;
  asio::io_context client_io(1);  // The main thread's.
  nlohmann::json decline_call, ack_call;
  LoadResult decline, acknowledge, minimal, bare;

  // (1) The master, with one agent and one subscribed framework.
  {
    const WorkDir work_dir(flags.work_dir_parent);
    ServerThread server;
    auto cluster = std::make_unique<dcos::testing::Cluster>(
        server.io(), dcos::testing::ClusterOptions{.agents = 1, .manual_clock = false, .work_dir = work_dir.path()});
    if (!cluster->start(std::chrono::seconds(30))) {
      std::cerr << "bench_cluster: the cluster did not start\n";
      return 1;
    }
    const std::string agent_id = cluster->agent(0).id().value();
    const dcos::http::Endpoint master = cluster->master_endpoint();
    server.start();  // From here on only the server thread touches the cluster.

    auto subscription = subscribe(client_io, master);
    if (!subscription) {
      std::cerr << "bench_cluster: the framework did not subscribe\n";
      server.stop();
      return 1;
    }
    const nlohmann::json framework_id = {{"value", subscription->framework_id}};
    decline_call = {{"type", "DECLINE"},
                    {"framework_id", framework_id},
                    {"decline", {{"offer_ids", {{{"value", "bench-no-such-offer"}}}}, {"filters", {{"refuse_seconds", 5}}}}}};
    ack_call = {{"type", "ACKNOWLEDGE"},
                {"framework_id", framework_id},
                {"acknowledge",
                 {{"agent_id", {{"value", agent_id}}},
                  {"task_id", {{"value", "bench-no-such-task"}}},
                  {"uuid", dcos::base64_encode(dcos::random_uuid_bytes())}}}};
    decline = run_load(client_io, master, scheduler_call(master, decline_call, subscription->stream_id), k,
                       flags.warmup_seconds, flags.seconds);
    print(calls_line("dcos-master", "DECLINE", k, decline));
    acknowledge = run_load(client_io, master, scheduler_call(master, ack_call, subscription->stream_id), k,
                           flags.warmup_seconds, flags.seconds);
    print(calls_line("dcos-master", "ACKNOWLEDGE", k, acknowledge));

    subscription->reader->close();
    subscription->reader.reset();
    client_io.restart();
    client_io.poll();
    server.stop();
    cluster.reset();  // On this thread, now the io_context's only user.
  }

  // (2) "minimal-beast": the same HTTP layer with one route that answers 202.
  {
    ServerThread server;
    auto router = std::make_shared<dcos::http::Router>();
    router->add("/api/v1/scheduler", [](const dcos::http::Request& request) {
      return dcos::http::make_response(request, dcos::http::Status::accepted);
    });
    auto http_server = std::make_unique<dcos::http::Server>(server.io().get_executor(), router);
    auto port = http_server->listen("127.0.0.1", 0);
    if (!port) {
      std::cerr << "bench_cluster: minimal server: " << port.error().message << "\n";
      return 1;
    }
    const dcos::http::Endpoint endpoint{"127.0.0.1", *port};
    server.start();
    minimal = run_load(client_io, endpoint, scheduler_call(endpoint, decline_call, "bench"), k, flags.warmup_seconds,
                       flags.seconds);
    print(calls_line("minimal-beast", std::nullopt, k, minimal));
    server.stop();
    http_server.reset();
    server.io().poll();
  }

  // (3) "bare-beast": a hand-rolled Beast coroutine server.
  {
    ServerThread server;
    tcp::acceptor acceptor(server.io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const dcos::http::Endpoint endpoint{"127.0.0.1", acceptor.local_endpoint().port()};
    asio::co_spawn(server.io(), bare_accept(acceptor), asio::detached);
    server.start();
    bare = run_load(client_io, endpoint, scheduler_call(endpoint, decline_call, "bench"), k, flags.warmup_seconds,
                    flags.seconds);
    print(calls_line("bare-beast", std::nullopt, k, bare));
    server.stop();
    acceptor.close();
    server.io().poll();
  }

  auto ratio = [](double a, double b) { return b > 0 ? rounded(a / b, 3) : 0.0; };
  print({{"bench", "calls"}, {"call", "DECLINE"}, {"ratio_master_to_minimal", ratio(decline.requests_per_s, minimal.requests_per_s)},
         {"ratio_master_to_bare", ratio(decline.requests_per_s, bare.requests_per_s)}});
  print({{"bench", "calls"}, {"call", "ACKNOWLEDGE"},
         {"ratio_master_to_minimal", ratio(acknowledge.requests_per_s, minimal.requests_per_s)},
         {"ratio_master_to_bare", ratio(acknowledge.requests_per_s, bare.requests_per_s)}});
  const bool clean = decline.other + acknowledge.other + minimal.other + bare.other == 0 &&
                     decline.errors + acknowledge.errors + minimal.errors + bare.errors == 0;
  return clean ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_cluster: in-process cluster task throughput and scheduler call rate"};
  Flags flags;
  std::string log_level = "warn";
  app.add_option("--tasks", flags.tasks, "Tasks to run to TASK_FINISHED")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--work_dir_parent", flags.work_dir_parent,
                 "Directory for the clusters' work dirs (empty: $TMPDIR or /tmp, on disk)")
      ->capture_default_str();
  app.add_option("--agents", flags.agents, "Agents in the task benchmark")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--agent_resources", flags.agent_resources, "Resources of each agent")->capture_default_str();
  app.add_option("--connections", flags.connections, "Concurrent keep-alive connections in the call benchmark")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seconds", flags.seconds, "Measured seconds per call benchmark")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup_seconds", flags.warmup_seconds, "Unmeasured seconds before each call benchmark")->capture_default_str();
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
