// replicated-ledger: a component of your own that keeps its state in `State<T>` on the
// replicated log, the way the master keeps its registry (docs/design/state.md).
//
//   replicated-ledger --dir /tmp/ledger add "backup db-1"   # appends an entry, prints the ledger
//   replicated-ledger --dir /tmp/ledger list                # the entries survive the process
//
// The state is one variable, "ledger", holding a JSON-convertible struct. Every change is a
// fetch, a change to the value, and a compare-and-swap store; a conflict (someone else stored
// since our fetch) means "fetch again and redo", never a lost update. Here the log has a single
// replica in `--dir`; give `LogOptions::replicas` three entries (one per process) to replicate.

#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "dcos/replicated_log/log.hpp"
#include "dcos/state/log_storage.hpp"
#include "dcos/state/replicated_log_adapter.hpp"
#include "dcos/state/state.hpp"

namespace {

namespace asio = boost::asio;

// The component's state: any default-constructible type with nlohmann `to_json`/`from_json`.
struct Ledger {
  std::vector<std::string> entries;
  std::uint64_t revision = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Ledger, entries, revision)

// Appends `entry` with compare-and-swap, retrying on conflict. Returns the ledger as stored.
asio::awaitable<dcos::Result<Ledger>> append(dcos::state::State<Ledger>& state, std::string entry) {
  for (;;) {
    auto variable = co_await state.fetch("ledger");
    if (!variable) co_return tl::unexpected(variable.error());
    Ledger next = variable->get();
    next.entries.push_back(entry);
    ++next.revision;
    auto stored = co_await state.store(variable->mutate(std::move(next)));
    if (!stored) co_return tl::unexpected(stored.error());
    if (*stored) co_return (*stored)->get();
    // Another writer stored "ledger" since our fetch: fetch its value and apply ours on top.
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"replicated-ledger: an append-only ledger kept in State<T> on the replicated log"};
  std::string dir;
  std::string command = "list";
  std::string entry;
  app.add_option("--dir", dir, "Where the log replica keeps its LevelDB")->required();
  app.add_option("command", command, "add or list")->check(CLI::IsMember({"add", "list"}));
  app.add_option("entry", entry, "The entry to add");
  CLI11_PARSE(app, argc, argv);
  if (command == "add" && entry.empty()) {
    std::cerr << "replicated-ledger: add needs an entry\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);

  dcos::replicated_log::LogOptions options;
  options.self = dcos::replicated_log::NodeId{0};
  options.replicas = {{options.self, {asio::ip::make_address("127.0.0.1"), 0}}};
  options.path = dir;
  auto log = dcos::replicated_log::Log::open(options);
  if (!log) {
    std::cerr << "replicated-ledger: " << log.error().message << "\n";
    return 1;
  }
  dcos::state::ReplicatedLogAdapter adapter(**log);
  dcos::state::LogStorage storage(adapter, adapter);  // The log's writer and reader.
  dcos::state::State<Ledger> state(storage);

  asio::io_context io;
  int code = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        dcos::Result<Ledger> ledger = Ledger{};
        if (command == "add") {
          ledger = co_await append(state, entry);
        } else {
          auto variable = co_await state.fetch("ledger");
          if (variable) ledger = variable->get();
          else ledger = tl::unexpected(variable.error());
        }
        if (!ledger) {
          std::cerr << "replicated-ledger: " << ledger.error().message << "\n";
          code = 1;
          co_return;
        }
        std::cout << "revision " << ledger->revision << "\n";
        for (const std::string& e : ledger->entries) std::cout << "- " << e << "\n";
      },
      asio::detached);
  io.run();
  return code;
}
