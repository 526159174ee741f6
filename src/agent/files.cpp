// `/files/browse`, `/files/read`, `/files/download`, `/files/debug`, and sandbox garbage
// collection.
#include "dcos/agent/files.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "dcos/agent/agent.hpp"
#include "dcos/common/log.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::agent {

namespace fs = std::filesystem;
using http::Status;

namespace {

// Lexically normal, absolute, no trailing slash ("/" stays "/").
std::string normal(std::string_view path) {
  std::string text(path);
  if (text.empty() || text.front() != '/') text = "/" + text;
  std::string out = fs::path(text).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool within(const std::string& path, const std::string& root) {
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          (root.back() == '/' || path[root.size()] == '/'));
}

}  // namespace

Result<ResolvedPath> resolve_sandbox_path(const std::map<std::string, std::string>& attached, std::string_view requested) {
  const std::string path = normal(requested);
  // The longest attached prefix wins.
  const std::string* virtual_root = nullptr;
  const std::string* real_root = nullptr;
  for (const auto& [from, to] : attached) {
    const std::string root = normal(from);
    if (within(path, root) && (!virtual_root || root.size() > virtual_root->size())) {
      virtual_root = &from;
      real_root = &to;
    }
  }
  if (!virtual_root) return fail(Errc::not_found, fmt::format("No file or directory found at path '{}'", requested));
  const std::string root_normal = normal(*virtual_root);
  const std::string rest = path.substr(root_normal.size());
  std::error_code ec;
  const fs::path root = fs::canonical(*real_root, ec);
  if (ec) return fail(Errc::not_found, fmt::format("No file or directory found at path '{}'", requested));
  const fs::path real = fs::canonical(fs::path(*real_root).concat(rest), ec);
  if (ec) return fail(Errc::not_found, fmt::format("No file or directory found at path '{}'", requested));
  if (!within(real.string(), root.string())) {
    return fail(Errc::permission_denied, fmt::format("Path '{}' leaves its sandbox", requested));
  }
  return ResolvedPath{real.string(), root.string()};
}

std::string mode_string(unsigned mode) {
  std::string out(10, '-');
  if (S_ISDIR(mode)) out[0] = 'd';
  else if (S_ISLNK(mode)) out[0] = 'l';
  else if (S_ISCHR(mode)) out[0] = 'c';
  else if (S_ISBLK(mode)) out[0] = 'b';
  else if (S_ISFIFO(mode)) out[0] = 'p';
  else if (S_ISSOCK(mode)) out[0] = 's';
  const char letters[] = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) {
    if (mode & (1u << (8 - i))) out[1 + i] = letters[i];
  }
  return out;
}

namespace {

nlohmann::json file_info(const std::string& virtual_path, const struct stat& s) {
  std::string user = std::to_string(s.st_uid), group = std::to_string(s.st_gid);
  if (const passwd* pw = ::getpwuid(s.st_uid)) user = pw->pw_name;
  if (const struct group* gr = ::getgrgid(s.st_gid)) group = gr->gr_name;
  return {{"path", virtual_path},
          {"nlink", static_cast<std::int64_t>(s.st_nlink)},
          {"size", static_cast<std::int64_t>(s.st_size)},
          {"mtime", static_cast<double>(s.st_mtime)},
          {"mode", mode_string(s.st_mode)},
          {"uid", user},
          {"gid", group}};
}

http::Response error_response(const http::Request& request, const Error& error) {
  if (error.code == make_error_code(Errc::permission_denied)) {
    return http::make_response(request, Status::forbidden, error.message);
  }
  return http::make_response(request, Status::not_found, error.message);
}

std::optional<std::int64_t> parse_integer(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  size_t i = text[0] == '-' ? 1 : 0;
  if (i == text.size()) return std::nullopt;
  for (size_t j = i; j < text.size(); ++j) {
    if (text[j] < '0' || text[j] > '9') return std::nullopt;
  }
  return std::stoll(text);
}

constexpr std::int64_t read_bytes_max = 16 * 4096;          // Mesos caps a read at 16 pages.
constexpr std::int64_t download_bytes_max = 256 << 20;

}  // namespace

void Agent::add_file_routes(http::Router& router) {
  router.add("/files/browse", [this](const http::Request& request) -> http::Reply {
    auto query = http::query_parameters(request.target());
    auto path = query.find("path");
    if (path == query.end() || path->second.empty()) {
      return http::make_response(request, Status::bad_request, "Expecting 'path=value' in query.\n");
    }
    auto resolved = resolve_sandbox_path(attached_, path->second);
    if (!resolved) return error_response(request, resolved.error());
    std::string base = path->second;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    nlohmann::json listing = nlohmann::json::array();
    struct stat s {};
    if (::stat(resolved->real.c_str(), &s) != 0) return http::make_response(request, Status::not_found);
    if (!S_ISDIR(s.st_mode)) {
      listing.push_back(file_info(base, s));
    } else {
      std::error_code ec;
      std::vector<std::string> names;
      for (fs::directory_iterator it(resolved->real, ec), end; !ec && it != end; it.increment(ec)) {
        names.push_back(it->path().filename().string());
      }
      std::sort(names.begin(), names.end());
      for (const std::string& name : names) {
        struct stat entry {};
        // `lstat`: a symlink is listed as itself, never as what it points at.
        if (::lstat((resolved->real + "/" + name).c_str(), &entry) != 0) continue;
        listing.push_back(file_info(base + "/" + name, entry));
      }
    }
    return http::make_json_response(request, Status::ok, listing.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
  });

  router.add("/files/read", [this](const http::Request& request) -> http::Reply {
    auto query = http::query_parameters(request.target());
    auto path = query.find("path");
    if (path == query.end() || path->second.empty()) {
      return http::make_response(request, Status::bad_request, "Expecting 'path=value' in query.\n");
    }
    std::int64_t offset = -1, length = -1;
    if (auto o = query.find("offset"); o != query.end()) {
      auto value = parse_integer(o->second);
      if (!value) return http::make_response(request, Status::bad_request, fmt::format("Failed to parse offset: '{}'\n", o->second));
      if (*value < -1) return http::make_response(request, Status::bad_request, fmt::format("Negative offset provided: {}.\n", *value));
      offset = *value;
    }
    if (auto l = query.find("length"); l != query.end()) {
      auto value = parse_integer(l->second);
      if (!value) return http::make_response(request, Status::bad_request, fmt::format("Failed to parse length: '{}'\n", l->second));
      if (*value < -1) return http::make_response(request, Status::bad_request, fmt::format("Negative length provided: {}.\n", *value));
      length = *value;
    }
    auto resolved = resolve_sandbox_path(attached_, path->second);
    if (!resolved) return error_response(request, resolved.error());
    struct stat s {};
    if (::stat(resolved->real.c_str(), &s) != 0) return http::make_response(request, Status::not_found);
    if (S_ISDIR(s.st_mode)) return http::make_response(request, Status::bad_request, "Cannot read a directory.\n");
    const std::int64_t size = s.st_size;
    // offset=-1: the size, for pagers to start at the end (Mesos webui).
    if (offset == -1) return http::make_json_response(request, Status::ok, v1::dump({{"data", ""}, {"offset", size}}));
    length = length == -1 ? read_bytes_max : std::min(length, read_bytes_max);
    std::string data;
    if (offset < size) {
      std::ifstream in(resolved->real, std::ios::binary);
      in.seekg(offset);
      data.resize(static_cast<size_t>(std::min(length, size - offset)));
      in.read(data.data(), static_cast<std::streamsize>(data.size()));
      data.resize(static_cast<size_t>(in.gcount()));
    }
    nlohmann::json out = {{"data", data}, {"offset", offset}};
    return http::make_json_response(request, Status::ok, out.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
  });

  router.add("/files/download", [this](const http::Request& request) -> http::Reply {
    auto query = http::query_parameters(request.target());
    auto path = query.find("path");
    if (path == query.end() || path->second.empty()) {
      return http::make_response(request, Status::bad_request, "Expecting 'path=value' in query.\n");
    }
    auto resolved = resolve_sandbox_path(attached_, path->second);
    if (!resolved) return error_response(request, resolved.error());
    struct stat s {};
    if (::stat(resolved->real.c_str(), &s) != 0) return http::make_response(request, Status::not_found);
    if (S_ISDIR(s.st_mode)) return http::make_response(request, Status::bad_request, "Cannot download a directory.\n");
    if (s.st_size > download_bytes_max) return http::make_response(request, Status::payload_too_large, "File too large to download.\n");
    auto contents = read_file(resolved->real);
    if (!contents) return http::make_response(request, Status::not_found);
    auto response = http::make_response(request, Status::ok, std::move(*contents), "application/octet-stream");
    response.set(http::beast_http::field::content_disposition,
                 fmt::format("attachment; filename=\"{}\"", fs::path(resolved->real).filename().string()));
    return response;
  });

  router.add("/files/debug", [this](const http::Request& request) -> http::Reply {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [from, to] : attached_) out[from] = to;
    return http::make_json_response(request, Status::ok, out.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
  });
}

void Agent::schedule_gc(const std::string& sandbox, const std::string& meta) {
  const TimePoint now = clock_.now();
  gc_.schedule(sandbox, now, config_.gc_delay);
  if (!meta.empty()) gc_.schedule(meta, now, config_.gc_delay);
}

void Agent::on_gc_tick() {
  const TimePoint now = clock_.now();
  std::vector<std::string> paths = gc_.due(now);
  struct statvfs info {};
  if (::statvfs(config_.work_dir.c_str(), &info) == 0 && info.f_blocks > 0) {
    const double usage = 1.0 - static_cast<double>(info.f_bavail) / static_cast<double>(info.f_blocks);
    for (auto& path : gc_.prune(usage, config_.gc_disk_headroom, config_.gc_delay, now)) paths.push_back(std::move(path));
  }
  for (const std::string& path : paths) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) log::get("agent")->warn("gc failed path={} error={}", path, ec.message());
    else log::get("agent")->debug("gc removed path={}", path);
    std::erase_if(attached_, [&](const auto& entry) { return entry.second == path; });
  }
  gc_timer_ = clock_.schedule(config_.disk_watch_interval, [this] { on_gc_tick(); });
}

}  // namespace dcos::agent
