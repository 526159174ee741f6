#include "dcos/agent/fetcher.hpp"

#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "dcos/agent/process.hpp"
#include "dcos/common/log.hpp"
#include "dcos/http/client.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::agent {

namespace fs = std::filesystem;

Result<std::vector<FetchUri>> parse_uris(const nlohmann::json& uris) {
  std::vector<FetchUri> out;
  if (uris.is_null()) return out;
  if (!uris.is_array()) return fail(Errc::invalid_argument, "'uris' must be an array");
  try {
    for (const auto& u : uris) {
      v1::Fields fields(u, "uris.");
      FetchUri uri;
      uri.value = fields.required("value", fields.string("value"));
      uri.executable = fields.boolean("executable").value_or(false);
      uri.extract = fields.boolean("extract").value_or(true);
      uri.output_file = fields.string("output_file");
      fields.done();
      out.push_back(std::move(uri));
    }
  } catch (const v1::DecodeError& e) {
    return fail(Errc::invalid_argument, e.what());
  }
  return out;
}

Result<std::string> fetched_name(const FetchUri& uri) {
  std::string name;
  if (uri.output_file) {
    name = *uri.output_file;
  } else {
    std::string_view path = uri.value;
    if (const auto scheme = path.find("://"); scheme != std::string_view::npos) {
      path.remove_prefix(scheme + 3);
      if (!uri.value.starts_with("file://")) {
        const auto slash = path.find('/');
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
      }
    }
    path = path.substr(0, path.find_first_of("?#"));
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    name = std::string(path.substr(path.rfind('/') + 1));
  }
  // The name is relative to the sandbox and must stay inside it.
  if (name.empty() || name.front() == '/') return fail(Errc::invalid_argument, fmt::format("cannot name a file for URI '{}'", uri.value));
  for (const auto& part : fs::path(name)) {
    if (part == "..") return fail(Errc::invalid_argument, fmt::format("output file '{}' leaves the sandbox", name));
  }
  return name;
}

std::optional<std::vector<std::string>> extract_command(const std::string& file, const std::string& directory) {
  auto ends = [&](std::string_view suffix) { return file.ends_with(suffix); };
  if (ends(".tar") || ends(".tar.gz") || ends(".tgz") || ends(".tar.bz2") || ends(".tbz2") || ends(".tar.xz") ||
      ends(".txz")) {
    return std::vector<std::string>{"tar", "-C", directory, "-xf", file};
  }
  if (ends(".zip")) return std::vector<std::string>{"unzip", "-o", "-q", "-d", directory, file};
  return std::nullopt;
}

struct Fetcher::State : std::enable_shared_from_this<Fetcher::State> {
  boost::asio::any_io_executor executor;
  std::vector<FetchUri> uris;
  std::string sandbox;
  Done done;
  size_t next = 0;
  bool cancelled = false;
  std::unique_ptr<ProcessWatcher> watcher;
  std::shared_ptr<http::Client> client;

  void finish(Result<void> result) {
    if (cancelled) return;
    cancelled = true;
    watcher.reset();
    if (client) client->close();
    auto callback = std::move(done);
    if (callback) callback(std::move(result));
  }

  // Runs `argv` in the sandbox; `then` runs when it exits 0.
  void run(std::vector<std::string> argv, const std::string& what, std::function<void()> then) {
    LaunchSpec spec;
    spec.argv = std::move(argv);
    const char* path = std::getenv("PATH");
    spec.environment = {fmt::format("PATH={}", path ? path : "/usr/local/bin:/usr/bin:/bin")};
    spec.directory = sandbox;
    spec.stdout_path = sandbox + "/stdout";
    spec.stderr_path = sandbox + "/stderr";
    auto pid = spawn_process(spec);
    if (!pid) return finish(fail(pid.error().code, fmt::format("{}: {}", what, pid.error().message)));
    std::weak_ptr<State> weak = weak_from_this();
    auto watched = ProcessWatcher::watch(executor, *pid, [weak, what, then = std::move(then)](std::optional<int> status) {
      auto self = weak.lock();
      if (!self || self->cancelled) return;
      self->watcher.reset();
      if (status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return then();
      self->finish(fail(Errc::io_error, fmt::format("{}: {}", what, status ? describe_wait_status(*status) : "failed")));
    });
    if (!watched) return finish(fail(watched.error().code, what + ": " + watched.error().message));
    watcher = std::move(*watched);
  }

  void fetch_next() {
    if (cancelled) return;
    if (next == uris.size()) return finish({});
    const FetchUri uri = uris[next++];
    auto name = fetched_name(uri);
    if (!name) return finish(tl::unexpected(name.error()));
    const std::string destination = sandbox + "/" + *name;
    std::error_code ec;
    fs::create_directories(fs::path(destination).parent_path(), ec);
    auto fetched = [self = shared_from_this(), uri, destination] {
      if (uri.executable) {
        if (::chmod(destination.c_str(), 0755) != 0) {
          return self->finish(fail(Errc::io_error, fmt::format("chmod {}: {}", destination, std::strerror(errno))));
        }
      } else if (uri.extract) {
        if (auto extract = extract_command(destination, self->sandbox)) {
          return self->run(std::move(*extract), "Failed to extract " + destination, [self] { self->fetch_next(); });
        }
      }
      self->fetch_next();
    };
    if (uri.value.starts_with("http://")) {
      std::string_view rest = std::string_view(uri.value).substr(7);
      const auto slash = rest.find('/');
      const std::string target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
      auto endpoint = http::parse_endpoint(rest.substr(0, slash));
      if (!endpoint) {
        // "host" without a port: 80.
        endpoint = http::Endpoint{std::string(rest.substr(0, slash)), 80};
      }
      client = http::Client::create(executor, *endpoint, std::chrono::seconds(60));
      http::Request request{http::beast_http::verb::get, target, 11};
      request.set(http::beast_http::field::host, endpoint->to_string());
      std::weak_ptr<State> weak = weak_from_this();
      client->send(std::move(request), [weak, uri, destination, fetched](Result<http::Response> response) {
        auto self = weak.lock();
        if (!self || self->cancelled) return;
        if (!response) return self->finish(fail(response.error().code, fmt::format("Failed to fetch '{}': {}", uri.value, response.error().message)));
        if (response->result_int() != 200) {
          return self->finish(fail(Errc::io_error, fmt::format("Failed to fetch '{}': HTTP {}", uri.value, response->result_int())));
        }
        std::ofstream out(destination, std::ios::binary | std::ios::trunc);
        out << response->body();
        out.close();
        if (!out) return self->finish(fail(Errc::io_error, fmt::format("Failed to write {}", destination)));
        fetched();
      });
      return;
    }
    if (uri.value.starts_with("https://") || (uri.value.find("://") != std::string::npos && !uri.value.starts_with("file://"))) {
      return finish(fail(Errc::invalid_argument, fmt::format("Unsupported URI scheme in '{}'", uri.value)));
    }
    const std::string source = uri.value.starts_with("file://") ? uri.value.substr(7) : uri.value;
    if (source.empty() || source.front() != '/') {
      return finish(fail(Errc::invalid_argument, fmt::format("Failed to fetch '{}': not an absolute path", uri.value)));
    }
    if (!fs::exists(source, ec)) {
      return finish(fail(Errc::not_found, fmt::format("Failed to fetch '{}': no such file", uri.value)));
    }
    run({"cp", "-f", "--", source, destination}, fmt::format("Failed to fetch '{}'", uri.value), fetched);
  }
};

std::shared_ptr<Fetcher> Fetcher::start(boost::asio::any_io_executor executor, std::vector<FetchUri> uris,
                                        std::string sandbox, Done done) {
  auto state = std::make_shared<State>();
  state->executor = executor;
  state->uris = std::move(uris);
  state->sandbox = std::move(sandbox);
  state->done = std::move(done);
  // Start from the event loop: `done` must never run inside the caller.
  boost::asio::post(executor, [weak = std::weak_ptr<State>(state)] {
    if (auto s = weak.lock()) s->fetch_next();
  });
  return std::shared_ptr<Fetcher>(new Fetcher(state));
}

Fetcher::~Fetcher() {
  state_->cancelled = true;
  state_->watcher.reset();
  if (state_->client) state_->client->close();
}

}  // namespace dcos::agent
