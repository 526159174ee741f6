// bench_log: appends per second and latency of the replicated log against etcd.
//
// Starts 3 dcos replicas (`Log`, LevelDB with synchronous writes, TCP on 127.0.0.1) in this
// process and, when `etcd` is installed (Debian's etcd-server), a 3-member etcd cluster on the
// same machine. For each writer count, W closed-loop writers append `--bytes`-byte entries for
// `--seconds` (etcd: W HTTP/1.1 keep-alive connections to the v3 JSON gateway, one `put` at a
// time each). Prints one JSON line per point:
//   {"system":"dcos-log","writers":200,"appends_per_s":...,"p50_ms":...,"p99_ms":...}
// then, with `--catch-up N`, how long a wiped replica takes to catch up N entries.
//
//   build-log/bench/bench_log --writers 1,16,200,1000 --seconds 5 --catch-up 1000000

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/replicated_log/log.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using dcos::replicated_log::Log;
using dcos::replicated_log::LogOptions;
using dcos::replicated_log::NodeId;
using dcos::replicated_log::Position;

struct Point {
  std::string system;
  std::size_t writers = 0;
  double appends_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

void print(const Point& p) {
  std::printf("{\"system\":\"%s\",\"writers\":%zu,\"appends_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
              p.system.c_str(), p.writers, p.appends_per_s, p.p50_ms, p.p99_ms);
  std::fflush(stdout);
}

Point summarise(std::string system, std::size_t writers, std::vector<double> latencies_ms, double seconds) {
  Point p;
  p.system = std::move(system);
  p.writers = writers;
  p.appends_per_s = static_cast<double>(latencies_ms.size()) / seconds;
  if (!latencies_ms.empty()) {
    std::sort(latencies_ms.begin(), latencies_ms.end());
    p.p50_ms = latencies_ms[latencies_ms.size() / 2];
    p.p99_ms = latencies_ms[std::min(latencies_ms.size() - 1, latencies_ms.size() * 99 / 100)];
  }
  return p;
}

std::uint16_t free_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// --- dcos replicated log ----------------------------------------------------------------------

struct DcosCluster {
  std::vector<LogOptions> options;
  std::vector<std::unique_ptr<Log>> logs;

  DcosCluster(const fs::path& dir, std::size_t replicas) {
    std::vector<std::pair<NodeId, tcp::endpoint>> endpoints;
    for (std::uint32_t i = 0; i < replicas; ++i) {
      endpoints.emplace_back(NodeId{i}, tcp::endpoint(asio::ip::make_address("127.0.0.1"), free_port()));
    }
    for (std::uint32_t i = 0; i < replicas; ++i) {
      LogOptions o;
      o.self = NodeId{i};
      o.replicas = endpoints;
      o.path = (dir / fmt::format("replica{}", i)).string();
      options.push_back(o);
    }
    for (auto& o : options) logs.push_back(open(o));
  }

  static std::unique_ptr<Log> open(const LogOptions& o) {
    auto log = Log::open(o);
    if (!log) throw std::runtime_error("open log: " + log.error().message);
    return std::move(*log);
  }
};

// W closed-loop writers on `log` for `seconds`.
Point run_dcos(Log& log, std::size_t writers, double seconds, const std::string& payload) {
  std::mutex mutex;
  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  std::atomic<std::size_t> outstanding{0};
  std::atomic<bool> failed{false};
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));

  std::function<void()> issue;  // Runs on the log's core thread after the first call.
  struct Writer {
    Clock::time_point sent;
  };
  std::vector<Writer> state(writers);
  std::function<void(std::size_t)> next = [&](std::size_t w) {
    if (Clock::now() >= deadline) return;
    ++outstanding;
    state[w].sent = Clock::now();
    log.append(payload, [&, w](dcos::Result<Position> result) {
      const auto now = Clock::now();
      if (!result) {
        failed = true;
      } else if (now < deadline) {
        std::lock_guard lock(mutex);
        latencies.push_back(std::chrono::duration<double, std::milli>(now - state[w].sent).count());
      }
      --outstanding;
      next(w);
    });
  };
  for (std::size_t w = 0; w < writers; ++w) next(w);
  std::this_thread::sleep_until(deadline);
  while (outstanding > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (failed) std::fprintf(stderr, "bench_log: some appends failed\n");
  std::lock_guard lock(mutex);
  return summarise("dcos-log", writers, latencies, seconds);
}

// --- etcd -------------------------------------------------------------------------------------

struct EtcdCluster {
  std::vector<pid_t> pids;
  std::vector<std::uint16_t> client_ports;

  EtcdCluster(const std::string& binary, const fs::path& dir, std::size_t members) {
    std::vector<std::uint16_t> peer_ports;
    for (std::size_t i = 0; i < members; ++i) {
      client_ports.push_back(free_port());
      peer_ports.push_back(free_port());
    }
    std::string cluster;
    for (std::size_t i = 0; i < members; ++i) {
      cluster += fmt::format("{}e{}=http://127.0.0.1:{}", i ? "," : "", i, peer_ports[i]);
    }
    for (std::size_t i = 0; i < members; ++i) {
      std::vector<std::string> args = {
          binary,
          "--name", fmt::format("e{}", i),
          "--data-dir", (dir / fmt::format("etcd{}", i)).string(),
          "--listen-client-urls", fmt::format("http://127.0.0.1:{}", client_ports[i]),
          "--advertise-client-urls", fmt::format("http://127.0.0.1:{}", client_ports[i]),
          "--listen-peer-urls", fmt::format("http://127.0.0.1:{}", peer_ports[i]),
          "--initial-advertise-peer-urls", fmt::format("http://127.0.0.1:{}", peer_ports[i]),
          "--initial-cluster", cluster,
          "--initial-cluster-state", "new",
          "--initial-cluster-token", "bench",
          "--log-level", "error",
      };
      const pid_t pid = ::fork();
      if (pid == 0) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const std::string log = (dir / fmt::format("etcd{}.log", i)).string();
        if (FILE* f = std::freopen(log.c_str(), "w", stderr)) (void)f;
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
      }
      pids.push_back(pid);
    }
  }

  ~EtcdCluster() {
    for (pid_t pid : pids) ::kill(pid, SIGTERM);
    for (pid_t pid : pids) ::waitpid(pid, nullptr, 0);
  }
};

http::request<http::string_body> put_request(std::uint16_t port, const std::string& key, const std::string& value) {
  http::request<http::string_body> request{http::verb::post, "/v3/kv/put", 11};
  request.set(http::field::host, fmt::format("127.0.0.1:{}", port));
  request.set(http::field::content_type, "application/json");
  request.keep_alive(true);
  request.body() = fmt::format("{{\"key\":\"{}\",\"value\":\"{}\"}}", dcos::base64_encode(key), dcos::base64_encode(value));
  request.prepare_payload();
  return request;
}

// True once a put through `port` succeeds.
bool etcd_ready(std::uint16_t port) {
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(2));
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::write(stream, put_request(port, "ready", "1"));
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return response.result() == http::status::ok;
  } catch (const std::exception&) {
    return false;
  }
}

Point run_etcd(std::uint16_t port, std::size_t writers, double seconds, const std::string& payload) {
  asio::io_context io;
  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  std::size_t errors = 0;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (std::size_t w = 0; w < writers; ++w) {
    asio::co_spawn(
        io,
        [&, w]() -> asio::awaitable<void> {
          beast::tcp_stream stream(co_await asio::this_coro::executor);
          auto [ec] = co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                                    asio::as_tuple(asio::use_awaitable));
          if (ec) {
            ++errors;
            co_return;
          }
          beast::flat_buffer buffer;
          for (std::uint64_t i = 0; Clock::now() < deadline; ++i) {
            auto request = put_request(port, fmt::format("bench/{}/{}", w, i), payload);
            const auto sent = Clock::now();
            auto [ec1, n1] = co_await http::async_write(stream, request, asio::as_tuple(asio::use_awaitable));
            http::response<http::string_body> response;
            auto [ec2, n2] = co_await http::async_read(stream, buffer, response, asio::as_tuple(asio::use_awaitable));
            if (ec1 || ec2 || response.result() != http::status::ok) {
              ++errors;
              co_return;
            }
            const auto now = Clock::now();
            if (now < deadline) latencies.push_back(std::chrono::duration<double, std::milli>(now - sent).count());
          }
        },
        asio::detached);
  }
  io.run();
  if (errors > 0) std::fprintf(stderr, "bench_log: %zu etcd writers failed\n", errors);
  return summarise("etcd", writers, latencies, seconds);
}

std::vector<std::size_t> parse_list(const std::string& text) {
  std::vector<std::size_t> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t comma = text.find(',', start);
    out.push_back(std::stoul(text.substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_log: the replicated log's appends/s and latency, against a 3-member etcd"};
  std::string writers_text = "1,16,200,1000";
  double seconds = 5;
  std::size_t bytes = 256;
  std::string dir_text;
  std::string etcd = "/usr/bin/etcd";
  bool skip_etcd = false;
  std::size_t catch_up = 0;
  app.add_option("--writers", writers_text, "Comma-separated writer counts");
  app.add_option("--seconds", seconds, "Measuring time per point");
  app.add_option("--bytes", bytes, "Entry size");
  app.add_option("--dir", dir_text, "Working directory (default: a fresh one under /tmp)");
  app.add_option("--etcd", etcd, "etcd binary");
  app.add_flag("--no-etcd", skip_etcd, "Do not measure etcd");
  app.add_option("--catch-up", catch_up, "Then time a wiped replica catching up this many entries");
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::warn);
  dcos::log::get("replicated_log")->set_level(spdlog::level::warn);
  const fs::path dir = dir_text.empty() ? fs::temp_directory_path() / fmt::format("bench_log-{}", ::getpid()) : fs::path(dir_text);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string payload(bytes, 'x');
  const auto writer_counts = parse_list(writers_text);

  std::fprintf(stderr, "bench_log: dir=%s\n", dir.c_str());
  {
    DcosCluster cluster(dir / "dcos", 3);
    auto elected = cluster.logs[0]->start_sync();
    for (int attempt = 0; !elected && attempt < 20; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      elected = cluster.logs[0]->start_sync();
    }
    if (!elected) {
      std::fprintf(stderr, "bench_log: no writer: %s\n", elected.error().message.c_str());
      return 1;
    }
    for (std::size_t w : writer_counts) print(run_dcos(*cluster.logs[0], w, seconds, payload));

    if (catch_up > 0) {
      // Fill the log to `catch_up` entries (pipelined), wipe replica 2, time its recovery.
      std::atomic<std::size_t> done{0};
      const std::size_t window = 2000;
      std::atomic<std::size_t> issued{0};
      std::function<void()> more = [&] {
        if (issued.fetch_add(1) >= catch_up) return;
        cluster.logs[0]->append(payload, [&](dcos::Result<Position>) {
          ++done;
          more();
        });
      };
      for (std::size_t i = 0; i < window; ++i) more();
      while (done < catch_up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      cluster.logs[2].reset();
      fs::remove_all(cluster.options[2].path);
      const auto start = Clock::now();
      cluster.logs[2] = DcosCluster::open(cluster.options[2]);
      for (;;) {
        auto status = cluster.logs[2]->status();
        if (status.status == dcos::replicated_log::Status::voting) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      auto status = cluster.logs[2]->status();
      std::printf("{\"system\":\"dcos-log\",\"catch_up_entries\":%zu,\"catch_up_s\":%.2f,\"entries_per_s\":%.0f,\"end\":%llu}\n",
                  catch_up, elapsed, static_cast<double>(catch_up) / elapsed,
                  static_cast<unsigned long long>(status.end));
      std::fflush(stdout);
    }
  }

  if (!skip_etcd && fs::exists(etcd)) {
    EtcdCluster cluster(etcd, dir, 3);
    bool ready = false;
    for (int attempt = 0; attempt < 100 && !ready; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      ready = etcd_ready(cluster.client_ports[0]);
    }
    if (!ready) {
      std::fprintf(stderr, "bench_log: etcd did not become ready (logs in %s)\n", dir.c_str());
      return 1;
    }
    for (std::size_t w : writer_counts) print(run_etcd(cluster.client_ports[0], w, seconds, payload));
  } else if (!skip_etcd) {
    std::fprintf(stderr, "bench_log: %s not found; install etcd-server to compare\n", etcd.c_str());
  }
  fs::remove_all(dir);
  return 0;
}
