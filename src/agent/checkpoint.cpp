#include "dcos/agent/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::agent {

namespace fs = std::filesystem;

std::string Layout::agent_meta(const AgentId& a) const { return fmt::format("{}/slaves/{}", meta(), a); }
std::string Layout::framework_meta(const AgentId& a, const FrameworkId& f) const {
  return fmt::format("{}/frameworks/{}", agent_meta(a), f);
}
std::string Layout::executor_meta(const AgentId& a, const FrameworkId& f, const ExecutorId& e) const {
  return fmt::format("{}/executors/{}", framework_meta(a, f), e);
}
std::string Layout::run_meta(const AgentId& a, const FrameworkId& f, const ExecutorId& e, const std::string& cid) const {
  return fmt::format("{}/runs/{}", executor_meta(a, f, e), cid);
}
std::string Layout::task_meta(const AgentId& a, const FrameworkId& f, const ExecutorId& e, const std::string& cid,
                              const TaskId& t) const {
  return fmt::format("{}/tasks/{}", run_meta(a, f, e, cid), t);
}
std::string Layout::executor_sandboxes(const AgentId& a, const FrameworkId& f, const ExecutorId& e) const {
  return fmt::format("{}/slaves/{}/frameworks/{}/executors/{}/runs", work_dir, a, f, e);
}
std::string Layout::sandbox(const AgentId& a, const FrameworkId& f, const ExecutorId& e, const std::string& cid) const {
  return fmt::format("{}/{}", executor_sandboxes(a, f, e), cid);
}

namespace {

Error errno_error(const std::string& what) {
  return Error{std::error_code(errno, std::system_category()), fmt::format("{}: {}", what, std::strerror(errno))};
}

Result<void> fsync_directory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(errno_error("open directory " + directory));
  const int rc = ::fsync(fd);
  const Error error = errno_error("fsync directory " + directory);
  ::close(fd);
  if (rc != 0) return tl::unexpected(error);
  return {};
}

Result<void> write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(errno_error("write " + path));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace

Result<void> write_atomically(const std::string& path, std::string_view content, bool sync) {
  const fs::path target(path);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) return fail(ec, fmt::format("create directory {}: {}", target.parent_path().string(), ec.message()));
  std::string temp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return tl::unexpected(errno_error("create temporary file for " + path));
  auto written = write_all(fd, content, temp);
  if (written && sync && ::fsync(fd) != 0) written = tl::unexpected(errno_error("fsync " + temp));
  ::fchmod(fd, 0644);
  ::close(fd);
  if (written && ::rename(temp.c_str(), path.c_str()) != 0) written = tl::unexpected(errno_error("rename to " + path));
  if (!written) {
    ::unlink(temp.c_str());
    return written;
  }
  if (sync) return fsync_directory(target.parent_path().string());
  return {};
}

Result<void> append_record(const std::string& path, std::string_view record) {
  const fs::path target(path);
  std::error_code ec;
  const bool existed = fs::exists(target, ec);
  if (!existed) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) return fail(ec, fmt::format("create directory {}: {}", target.parent_path().string(), ec.message()));
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return tl::unexpected(errno_error("open " + path));
  std::string line(record);
  line += '\n';
  auto written = write_all(fd, line, path);
  if (written && ::fdatasync(fd) != 0) written = tl::unexpected(errno_error("fdatasync " + path));
  ::close(fd);
  if (!written) return written;
  if (!existed) return fsync_directory(target.parent_path().string());
  return {};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::not_found, "read " + path + ": not found");
  std::stringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return fail(Errc::io_error, "read " + path);
  return contents.str();
}

Result<void> replace_symlink(const std::string& target, const std::string& link) {
  const std::string temp = link + ".tmp-" + random_uuid_string();
  if (::symlink(target.c_str(), temp.c_str()) != 0) return tl::unexpected(errno_error("symlink " + temp));
  if (::rename(temp.c_str(), link.c_str()) != 0) {
    const Error error = errno_error("rename to " + link);
    ::unlink(temp.c_str());
    return tl::unexpected(error);
  }
  return {};
}

std::string encode_update_record(const v1::TaskStatus& status) {
  return v1::dump({{"type", "UPDATE"}, {"update", {{"status", v1::to_json(status)}}}});
}

std::string encode_ack_record(const std::string& uuid) {
  return v1::dump({{"type", "ACK"}, {"uuid", base64_encode(uuid)}});
}

Result<std::vector<UpdateRecord>> parse_update_log(std::string_view text) {
  std::vector<UpdateRecord> records;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto newline = text.find('\n');
    const bool last = newline == std::string_view::npos || newline + 1 == text.size();
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (line.empty()) continue;
    // A line without its newline is an append that was cut short: the update was never
    // acknowledged to anyone, so dropping it loses nothing.
    const bool torn = newline == std::string_view::npos;
    auto parse = [&]() -> std::optional<UpdateRecord> {
      auto json = nlohmann::json::parse(line, nullptr, false);
      if (json.is_discarded() || !json.is_object()) return std::nullopt;
      try {
        UpdateRecord record;
        const std::string type = json.value("type", "");
        if (type == "UPDATE") {
          record.type = UpdateRecord::Type::update;
          record.status = v1::decode_task_status(v1::Fields(json.at("update").at("status"), "update.status."));
          if (!record.status->uuid) return std::nullopt;
        } else if (type == "ACK") {
          record.type = UpdateRecord::Type::ack;
          auto uuid = base64_decode(json.at("uuid").get<std::string>());
          if (!uuid) return std::nullopt;
          record.uuid = *uuid;
        } else {
          return std::nullopt;
        }
        return record;
      } catch (const std::exception&) {
        return std::nullopt;
      }
    };
    auto record = parse();
    if (!record) {
      if (torn || last) break;
      return fail(Errc::corruption, fmt::format("update log line {} is corrupt", line_number));
    }
    if (torn) break;
    records.push_back(std::move(*record));
  }
  return records;
}

Result<Resources> apply_checkpointed_resources(const Resources& declared, const Resources& checkpointed) {
  Resources total = declared;
  for (Resource reserved : checkpointed) {
    if (!reserved.dynamically_reserved()) {
      return fail(Errc::corruption, fmt::format("checkpointed resource {} is not dynamically reserved",
                                                Resources{reserved}.to_string()));
    }
    Resource underneath = reserved;
    while (underneath.dynamically_reserved()) underneath = underneath.popped();
    const Resources base{underneath};
    if (!total.contains(base)) {
      return fail(Errc::invalid_argument,
                  fmt::format("checkpointed resources {} do not fit the agent's resources {}: {} is missing",
                              checkpointed.to_string(), declared.to_string(), base.to_string()));
    }
    total -= base;
    total += reserved;
  }
  return total;
}

std::optional<int> parse_exit_status(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  auto number = [](std::string_view digits) -> std::optional<int> {
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    int n = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  };
  if (text.starts_with("exit ")) {
    auto code = number(text.substr(5));
    if (!code || *code > 255) return std::nullopt;
    return W_EXITCODE(*code, 0);
  }
  if (text.starts_with("signal ")) {
    auto signal = number(text.substr(7));
    if (!signal || *signal == 0 || *signal > 64) return std::nullopt;
    return W_EXITCODE(0, *signal);
  }
  return std::nullopt;
}

namespace {

// Directory entries (names only), sorted; empty when the directory is missing.
std::vector<std::string> entries(const std::string& directory) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == "latest" || name.find(".tmp-") != std::string::npos) continue;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<nlohmann::json> read_json(const std::string& path) {
  auto text = read_file(path);
  if (!text) return tl::unexpected(text.error());
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded()) return fail(Errc::corruption, path + " is not JSON");
  return json;
}

// Reading one entity either succeeds or yields an error; `strict` decides whether that error
// ends recovery or skips the entity.
struct Reader {
  bool strict;
  int errors = 0;
  std::optional<Error> fatal;
  bool skip(const Error& error) {
    if (strict) {
      if (!fatal) fatal = error;
    } else {
      ++errors;
      log::get("agent")->warn("recovery skipped a corrupt checkpoint entry error={}", error.message);
    }
    return false;
  }
};

std::optional<RecoveredRun> read_run(Reader& reader, const std::string& run_dir, const std::string& container_id) {
  RecoveredRun run;
  run.container_id = container_id;
  run.completed = fs::exists(run_dir + "/" + std::string(sentinel_file));
  if (auto forked = read_json(run_dir + "/" + std::string(forked_pid_file))) {
    try {
      run.forked = ProcessIdentity{forked->at("pid").get<pid_t>(), forked->at("start_time").get<std::uint64_t>()};
    } catch (const std::exception& e) {
      reader.skip(Error{make_error_code(Errc::corruption), run_dir + "/pids/forked.pid: " + e.what()});
    }
  } else if (forked.error().code != make_error_code(Errc::not_found)) {
    reader.skip(forked.error());
  }
  if (auto status = read_file(run_dir + "/" + std::string(exit_status_file))) run.exit_status = *status;
  for (const std::string& task_name : entries(run_dir + "/tasks")) {
    const std::string task_dir = run_dir + "/tasks/" + task_name;
    auto info = read_json(task_dir + "/" + std::string(task_info_file));
    if (!info) {
      reader.skip(info.error());
      continue;
    }
    RecoveredTask task;
    try {
      task.info = v1::decode_task_info(v1::Fields(*info, "task."));
    } catch (const std::exception& e) {
      reader.skip(Error{make_error_code(Errc::corruption), task_dir + "/task.info: " + e.what()});
      continue;
    }
    if (auto log = read_file(task_dir + "/" + std::string(task_updates_file))) {
      auto records = parse_update_log(*log);
      if (!records) {
        reader.skip(Error{records.error().code, task_dir + "/task.updates: " + records.error().message});
        continue;
      }
      task.records = std::move(*records);
    }
    run.tasks.emplace(task.info.task_id, std::move(task));
  }
  return run;
}

}  // namespace

Result<std::optional<RecoveredState>> recover_checkpoint(const Layout& layout, bool strict) {
  auto latest = read_file(layout.latest_agent());
  if (!latest) {
    if (latest.error().code == make_error_code(Errc::not_found)) return std::optional<RecoveredState>();
    return tl::unexpected(latest.error());
  }
  RecoveredState state;
  std::string agent_id = *latest;
  while (!agent_id.empty() && (agent_id.back() == '\n' || agent_id.back() == ' ')) agent_id.pop_back();
  if (agent_id.empty()) return fail(Errc::corruption, layout.latest_agent() + " is empty");
  state.agent_id = AgentId(agent_id);
  if (auto boot = read_file(layout.boot_id())) {
    state.boot_id = *boot;
    while (!state.boot_id.empty() && state.boot_id.back() == '\n') state.boot_id.pop_back();
  }
  Reader reader{strict};
  if (auto info = read_json(layout.agent_info(state.agent_id))) state.agent_info = *info;
  else reader.skip(info.error());

  const std::string frameworks_dir = layout.agent_meta(state.agent_id) + "/frameworks";
  for (const std::string& framework_name : entries(frameworks_dir)) {
    const FrameworkId framework_id(framework_name);
    RecoveredFramework framework;
    auto info = read_json(layout.framework_info(state.agent_id, framework_id));
    if (!info) {
      reader.skip(info.error());
      continue;
    }
    try {
      framework.info = v1::decode_framework_info(v1::Fields(*info, "framework_info."));
      framework.info.id = framework_id;
    } catch (const std::exception& e) {
      reader.skip(Error{make_error_code(Errc::corruption), framework_name + "/framework.info: " + e.what()});
      continue;
    }
    const std::string executors_dir = layout.framework_meta(state.agent_id, framework_id) + "/executors";
    for (const std::string& executor_name : entries(executors_dir)) {
      const ExecutorId executor_id(executor_name);
      RecoveredExecutor executor;
      executor.id = executor_id;
      auto executor_info = read_json(layout.executor_info(state.agent_id, framework_id, executor_id));
      if (!executor_info) {
        reader.skip(executor_info.error());
        continue;
      }
      executor.info = executor_info->value("executor_info", nlohmann::json::object());
      executor.command_task = executor_info->value("command_task", false);
      const std::string runs_dir = layout.executor_meta(state.agent_id, framework_id, executor_id) + "/runs";
      std::error_code ec;
      const fs::path latest_run = fs::read_symlink(runs_dir + "/latest", ec);
      if (!ec) {
        const std::string container_id = latest_run.filename().string();
        executor.latest = read_run(reader, runs_dir + "/" + container_id, container_id);
      }
      framework.executors.push_back(std::move(executor));
    }
    state.frameworks.push_back(std::move(framework));
  }
  if (reader.fatal) return tl::unexpected(*reader.fatal);
  state.errors = reader.errors;
  return std::optional<RecoveredState>(std::move(state));
}

}  // namespace dcos::agent
