#include "dcos/agent/health_check.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <map>

#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>

#include "dcos/agent/process.hpp"
#include "dcos/common/log.hpp"
#include "dcos/http/client.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::agent {

namespace asio = boost::asio;

Result<HealthCheckSpec> parse_health_check(const nlohmann::json& health_check) {
  HealthCheckSpec spec;
  try {
    v1::Fields fields(health_check, "health_check.");
    auto seconds = [&](const char* key, Duration fallback) {
      auto value = fields.number(key);
      if (value && *value < 0) throw v1::DecodeError(fmt::format("'{}' must not be negative", key));
      return value ? from_seconds(*value) : fallback;
    };
    spec.delay = seconds("delay_seconds", spec.delay);
    spec.interval = seconds("interval_seconds", spec.interval);
    spec.timeout = seconds("timeout_seconds", spec.timeout);
    spec.grace_period = seconds("grace_period_seconds", spec.grace_period);
    spec.consecutive_failures = static_cast<int>(fields.integer("consecutive_failures").value_or(3));
    auto type = fields.string("type");
    if (!type) type = fields.has("http") ? "HTTP" : fields.has("tcp") ? "TCP" : "COMMAND";
    if (*type == "COMMAND") {
      spec.type = HealthCheckSpec::Type::command;
      auto command = fields.object("command");
      if (!command) throw v1::DecodeError("Expecting 'command' to be set for COMMAND health check");
      spec.command = v1::decode_command_info(*command);
      if (!spec.command.value) throw v1::DecodeError("Command health check must contain 'command.value'");
    } else if (*type == "HTTP" || *type == "TCP") {
      const bool http = *type == "HTTP";
      spec.type = http ? HealthCheckSpec::Type::http : HealthCheckSpec::Type::tcp;
      auto sub = fields.object(http ? "http" : "tcp");
      if (!sub) throw v1::DecodeError(fmt::format("Expecting '{}' to be set for {} health check", http ? "http" : "tcp", *type));
      auto port = sub->required("port", sub->integer("port"));
      sub->done();
      if (port <= 0 || port > 65535) throw v1::DecodeError(fmt::format("Invalid port {}", port));
      spec.port = static_cast<std::uint16_t>(port);
      if (http) {
        spec.scheme = sub->string("scheme").value_or("http");
        spec.path = sub->string("path").value_or("/");
        if (spec.path.empty() || spec.path.front() != '/') spec.path = "/" + spec.path;
        if (spec.scheme != "http") throw v1::DecodeError(fmt::format("Unsupported HTTP health check scheme '{}'", spec.scheme));
      }
    } else {
      throw v1::DecodeError(fmt::format("Unsupported health check type '{}'", *type));
    }
    fields.done();
  } catch (const v1::DecodeError& e) {
    return fail(Errc::invalid_argument, e.what());
  }
  if (spec.consecutive_failures < 1) spec.consecutive_failures = 1;
  return spec;
}

HealthVerdict HealthCheckCore::on_success(TimePoint) {
  HealthVerdict verdict;
  verdict.healthy = true;
  verdict.report = initializing_ || failures_ > 0;
  initializing_ = false;
  failures_ = 0;
  return verdict;
}

HealthVerdict HealthCheckCore::on_failure(TimePoint now) {
  HealthVerdict verdict;
  if (initializing_ && spec_.grace_period > Duration::zero() && now - started_ <= spec_.grace_period) {
    return verdict;  // Still starting up: not reported, not counted.
  }
  ++failures_;
  verdict.report = true;
  verdict.healthy = false;
  verdict.consecutive_failures = failures_;
  verdict.kill = failures_ >= spec_.consecutive_failures;
  return verdict;
}

struct HealthChecker::Impl : std::enable_shared_from_this<HealthChecker::Impl> {
  Impl(asio::any_io_executor e, Clock& c, HealthCheckSpec spec, Context ctx, Callback cb)
      : executor(std::move(e)), clock(c), core(std::move(spec), c.now()), context(std::move(ctx)), callback(std::move(cb)) {}

  asio::any_io_executor executor;
  Clock& clock;
  HealthCheckCore core;
  Context context;
  Callback callback;
  bool stopped = false;
  std::uint64_t sequence = 0;  // Of the check in flight; late results of older ones are dropped.
  std::unique_ptr<Timer> next_timer;
  std::unique_ptr<Timer> timeout_timer;
  pid_t command_pid = 0;
  std::map<std::uint64_t, std::pair<pid_t, std::unique_ptr<ProcessWatcher>>> watchers;  // Until each command is reaped.
  std::shared_ptr<http::Client> client;
  std::shared_ptr<asio::ip::tcp::socket> socket;

  void schedule(Duration after) {
    std::weak_ptr<Impl> weak = weak_from_this();
    next_timer = clock.schedule(after, [weak] {
      if (auto self = weak.lock()) self->check();
    });
  }

  void check() {
    if (stopped) return;
    const std::uint64_t id = ++sequence;
    std::weak_ptr<Impl> weak = weak_from_this();
    const HealthCheckSpec& spec = core.spec();
    timeout_timer = clock.schedule(spec.timeout, [weak, id, seconds = to_seconds(spec.timeout)] {
      if (auto self = weak.lock()) self->result(id, false, fmt::format("Health check timed out after {}s", seconds));
    });
    switch (spec.type) {
      case HealthCheckSpec::Type::command: return check_command(id);
      case HealthCheckSpec::Type::http: return check_http(id);
      case HealthCheckSpec::Type::tcp: return check_tcp(id);
    }
  }

  void check_command(std::uint64_t id) {
    const v1::CommandInfo& command = core.spec().command;
    LaunchSpec launch;
    if (command.shell) {
      launch.argv = {"/bin/sh", "-c", command.value.value_or("")};
    } else {
      launch.argv = command.arguments.empty() ? std::vector<std::string>{command.value.value_or("")} : command.arguments;
      launch.argv[0] = command.value.value_or(launch.argv[0]);
    }
    launch.environment = context.environment;
    for (const auto& [name, value] : command.environment) launch.environment.push_back(name + "=" + value);
    launch.directory = context.sandbox;
    launch.stdout_path = "/dev/null";
    launch.stderr_path = "/dev/null";
    auto pid = spawn_process(launch);
    if (!pid) return result(id, false, "Failed to run the health check command: " + pid.error().message);
    command_pid = *pid;
    std::weak_ptr<Impl> weak = weak_from_this();
    auto watcher = ProcessWatcher::watch(executor, *pid, [weak, id](std::optional<int> status) {
      auto self = weak.lock();
      if (!self) return;
      if (self->sequence == id) self->command_pid = 0;
      const bool ok = status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
      const std::string how = status ? describe_wait_status(*status) : "ended";
      self->result(id, ok, ok ? "" : fmt::format("Command health check {}", how));
      self->watchers.erase(id);  // Last: destroys this callback.
    });
    if (!watcher) return result(id, false, "Failed to watch the health check command: " + watcher.error().message);
    watchers[id] = {*pid, std::move(*watcher)};
  }

  void check_http(std::uint64_t id) {
    const HealthCheckSpec& spec = core.spec();
    client = http::Client::create(executor, http::Endpoint{context.host, spec.port}, std::chrono::hours(1));
    http::Request request{http::beast_http::verb::get, spec.path, 11};
    request.set(http::beast_http::field::host, fmt::format("{}:{}", context.host, spec.port));
    request.set(http::beast_http::field::user_agent, "dcos-health-check");
    std::weak_ptr<Impl> weak = weak_from_this();
    client->send(std::move(request), [weak, id, path = spec.path](Result<http::Response> response) {
      auto self = weak.lock();
      if (!self) return;
      if (!response) return self->result(id, false, fmt::format("HTTP health check failed: {}", response.error().message));
      const int code = response->result_int();
      // Mesos: any status in [200, 400) is healthy.
      self->result(id, code >= 200 && code < 400, fmt::format("HTTP health check GET {} returned {}", path, code));
    });
  }

  void check_tcp(std::uint64_t id) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(context.host, ec);
    if (ec) return result(id, false, "TCP health check: bad address " + context.host);
    socket = std::make_shared<asio::ip::tcp::socket>(executor);
    std::weak_ptr<Impl> weak = weak_from_this();
    const std::uint16_t port = core.spec().port;
    socket->async_connect(asio::ip::tcp::endpoint(address, port), [weak, id, port, socket = socket](boost::system::error_code error) {
      auto self = weak.lock();
      if (!self) return;
      boost::system::error_code ignored;
      socket->close(ignored);
      self->result(id, !error, error ? fmt::format("TCP health check on port {} failed: {}", port, error.message()) : "");
    });
  }

  void abandon_in_flight() {
    if (command_pid > 0) signal_group(command_pid, SIGKILL);
    command_pid = 0;
    if (client) client->close();
    client.reset();
    if (socket) {
      boost::system::error_code ignored;
      socket->close(ignored);
    }
    socket.reset();
  }

  void result(std::uint64_t id, bool ok, const std::string& message) {
    if (stopped || id != sequence) return;
    ++sequence;  // Settled: anything else about check `id` is late.
    timeout_timer.reset();
    abandon_in_flight();
    const TimePoint now = clock.now();
    const HealthVerdict verdict = ok ? core.on_success(now) : core.on_failure(now);
    if (!ok) log::get("agent")->debug("health check failed message={} consecutive_failures={}", message, verdict.consecutive_failures);
    schedule(core.spec().interval);
    if (verdict.report && callback) callback(verdict, message);
  }
};

HealthChecker::HealthChecker(asio::any_io_executor executor, Clock& clock, HealthCheckSpec spec, Context context,
                             Callback on_verdict)
    : impl_(std::make_shared<Impl>(std::move(executor), clock, std::move(spec), std::move(context), std::move(on_verdict))) {
  impl_->schedule(impl_->core.spec().delay);
}

HealthChecker::~HealthChecker() {
  impl_->stopped = true;
  impl_->next_timer.reset();
  impl_->timeout_timer.reset();
  impl_->abandon_in_flight();
  // Check commands still running are killed and reaped here: nobody would wait for them later.
  for (auto& [id, entry] : impl_->watchers) {
    signal_group(entry.first, SIGKILL);
    entry.second.reset();
    ::waitpid(entry.first, nullptr, 0);
  }
  impl_->watchers.clear();
}

}  // namespace dcos::agent
