#pragma once
// The fetcher: puts `CommandInfo.uris` into a sandbox before its task or executor starts
// (reference/mesos-api.md §1.6, Mesos `mesos-fetcher`). Sources are `file://` paths (or bare
// absolute paths) and `http://` URLs; a URI may be marked `executable` (mode 0755) and archives
// are extracted unless `extract` is false (.tar, .tar.gz, .tgz, .tar.bz2, .tbz2, .tar.xz, .txz,
// .zip). Copies and extraction run in child processes (`cp`, `tar`, `unzip`), downloads on the
// agent's event loop, so the agent never blocks on a slow source.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "dcos/common/result.hpp"

namespace dcos::agent {

struct FetchUri {
  std::string value;
  bool executable = false;
  bool extract = true;
  std::optional<std::string> output_file;
};

// `CommandInfo.uris` as sent (a JSON array of URI objects). Pure.
Result<std::vector<FetchUri>> parse_uris(const nlohmann::json& uris);
// The file name a URI is fetched to inside the sandbox: `output_file`, else the last path
// segment of the URI (without query). Errors when that would leave the sandbox. Pure.
Result<std::string> fetched_name(const FetchUri& uri);
// The command extracting `file` into `directory`, or nullopt when it is not an archive. Pure.
std::optional<std::vector<std::string>> extract_command(const std::string& file, const std::string& directory);

// One fetch of a list of URIs into a sandbox, one URI after another. `done` runs once on the
// executor, unless the fetcher is destroyed first (that cancels the fetch).
class Fetcher : public std::enable_shared_from_this<Fetcher> {
 public:
  using Done = std::function<void(Result<void>)>;
  static std::shared_ptr<Fetcher> start(boost::asio::any_io_executor executor, std::vector<FetchUri> uris,
                                        std::string sandbox, Done done);
  ~Fetcher();

  struct State;

 private:
  explicit Fetcher(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace dcos::agent
