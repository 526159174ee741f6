// dcos-log: run a standalone replica, or operate on one replica's storage while its process is
// stopped (Mesos `mesos-log`).
//
//   dcos-log replica --path DIR --ip IP --port P --replicas h:p,... [--quorum Q]
//                                     serve as one replica of a log (e.g. a master's registry
//                                     log, so that one master keeps it on several machines)
//   dcos-log initialize --path DIR    mark an EMPTY replica VOTING (when auto-initialisation is off)
//   dcos-log status --path DIR        status, promise and range as JSON
//   dcos-log read --path DIR [--from N] [--to M]
//                                     the learned APPEND entries in [from, to], one JSON per line
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/app_flags.hpp"
#include "dcos/common/log.hpp"

#include "dcos/replicated_log/ensemble.hpp"
#include "dcos/replicated_log/leveldb_storage.hpp"
#include "dcos/replicated_log/log.hpp"
#include "dcos/replicated_log/replica.hpp"

namespace rl = dcos::replicated_log;

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "dcos-log: %s\n", message.c_str());
  return 1;
}

struct ReplicaFlags {
  std::string ip = "127.0.0.1";
  std::uint16_t port = 0;
  std::string replicas;
  std::size_t quorum = 0;
};

// Serves one replica until SIGINT or SIGTERM. It takes part in recovery, elections and writes
// like any other replica; it never writes on its own.
int serve_replica(const std::string& path, const ReplicaFlags& flags) {
  auto self = rl::resolve_replica_address(fmt::format("{}:{}", flags.ip, flags.port));
  if (!self) return fail("--ip/--port: " + self.error().message);
  auto ensemble = rl::make_ensemble(rl::split_replica_list(flags.replicas), *self);
  if (!ensemble) return fail("--replicas: " + ensemble.error().message);
  const std::size_t quorum = flags.quorum ? flags.quorum : ensemble->replicas.size() / 2 + 1;
  if (auto checked = rl::check_quorum(quorum, ensemble->replicas.size()); !checked) {
    return fail("--quorum: " + checked.error().message);
  }
  // Blocked before the log starts its threads, which inherit the mask: only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  rl::LogOptions options;
  options.self = ensemble->self;
  options.replicas = ensemble->replicas;
  options.path = path;
  options.quorum = quorum;
  auto log = rl::Log::open(options);
  if (!log) return fail(log.error().message);
  std::printf("replica %u of %zu (quorum %zu) serving %s on %s:%u\n", ensemble->self.value, ensemble->replicas.size(),
              quorum, path.c_str(), self->address().to_string().c_str(), (*log)->endpoint().port());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&signals, &signal);
  (*log)->close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dcos-log: initialise, inspect and read a replicated log replica's storage", "dcos-log"};
  app.require_subcommand(1);
  std::string path;
  rl::Position from = 0;
  std::optional<rl::Position> to;
  auto* initialize = app.add_subcommand("initialize", "Mark an EMPTY replica VOTING (only on a brand-new log, on every replica)");
  auto* status = app.add_subcommand("status", "Show the replica's status, promise and positions");
  auto* read = app.add_subcommand("read", "Print the learned APPEND entries in [from, to]");
  auto* replica_command = app.add_subcommand("replica", "Serve as one replica of a log until SIGINT or SIGTERM");
  ReplicaFlags replica_flags;
  replica_command->add_option("--ip", replica_flags.ip, "Address to listen on, as listed in --replicas")->capture_default_str();
  replica_command->add_option("--port", replica_flags.port, "Port to listen on")->required()->check(CLI::Range(1, 65535));
  replica_command->add_option("--replicas", replica_flags.replicas, "Every replica of the log as host:port,... (this one too)")
      ->required();
  replica_command->add_option("--quorum", replica_flags.quorum, "Replicas that must hold each write (default: a majority)");
  for (auto* command : {initialize, status, read, replica_command}) {
    command->add_option("--path", path, "The replica's LevelDB directory")->required();
  }
  read->add_option("--from", from, "First position (default: the log's beginning)");
  read->add_option("--to", to, "Last position (default: the last learned one)");
  CLI11_PARSE(app, argc, argv);
  if (replica_command->parsed()) {
    dcos::apps::set_log_level("INFO");
    return serve_replica(path, replica_flags);
  }
  dcos::log::get("replicated_log")->set_level(spdlog::level::warn);

  auto storage = rl::LevelDbLogStorage::open(path);
  if (!storage) return fail(storage.error().message);
  auto recovered = (*storage)->recover();
  if (!recovered) return fail(recovered.error().message);
  rl::Replica replica(rl::NodeId{0}, std::move(*recovered), **storage);

  if (initialize->parsed()) {
    if (replica.status() != rl::Status::empty) {
      return fail(fmt::format("replica is {}, not EMPTY: refusing to initialise", rl::to_string(replica.status())));
    }
    replica.set_status(rl::Status::voting);
    if (auto written = (*storage)->write(replica.ready()); !written) return fail(written.error().message);
    replica.advance();
    std::printf("initialised %s\n", path.c_str());
    return 0;
  }

  if (status->parsed()) {
    nlohmann::json out = {
        {"status", std::string(rl::to_string(replica.status()))},
        {"promised", {{"round", replica.promised().round}, {"proposer", replica.promised().proposer}}},
        {"begin", replica.begin()},
        {"end", replica.end()},
    };
    if (auto end = replica.learned_end()) out["learned_end"] = *end;
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }

  // read
  const auto learned_end = replica.learned_end();
  if (!learned_end) return 0;  // Nothing readable.
  from = std::max(from, replica.begin());
  const rl::Position last = to ? *to : *learned_end;
  if (last > *learned_end) return fail(fmt::format("position {} is not learned here (learned up to {})", last, *learned_end));
  if (from > last) return 0;
  auto actions = replica.read(from, last);
  if (!actions) return fail(actions.error().message);
  for (const rl::Action& action : *actions) {
    if (action.type != rl::ActionType::append) continue;
    nlohmann::json line = {{"position", action.position}, {"data", action.bytes}};
    std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  return 0;
}
