// dcos-log: operate on one replica's storage while its process is stopped (Mesos `mesos-log`).
//
//   dcos-log initialize --path DIR    mark an EMPTY replica VOTING (when auto-initialisation is off)
//   dcos-log status --path DIR        status, promise and range as JSON
//   dcos-log read --path DIR [--from N] [--to M]
//                                     the learned APPEND entries in [from, to], one JSON per line
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "dcos/common/log.hpp"

#include "dcos/replicated_log/leveldb_storage.hpp"
#include "dcos/replicated_log/replica.hpp"

namespace rl = dcos::replicated_log;

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "dcos-log: %s\n", message.c_str());
  return 1;
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
  for (auto* command : {initialize, status, read}) {
    command->add_option("--path", path, "The replica's LevelDB directory")->required();
  }
  read->add_option("--from", from, "First position (default: the log's beginning)");
  read->add_option("--to", to, "Last position (default: the last learned one)");
  CLI11_PARSE(app, argc, argv);
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
