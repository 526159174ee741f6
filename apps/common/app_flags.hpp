#pragma once
// Flags as Mesos reads them: `--name=value` on the command line, else `DCOS_<NAME>` or
// `MESOS_<NAME>` in the environment (command line wins); `file:///path` values are read from
// the file. Shared by the daemons and tools in apps/.

#include <array>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

namespace dcos::apps {

// Call first: later values of an option replace earlier ones.
inline void prepare(CLI::App& app) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

// Parses argv after prepending flags found in the environment, so the command line wins.
// Returns a process exit code to stop with, or -1 to carry on.
inline int parse_flags(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args;
  for (const CLI::Option* option : app.get_options()) {
    const std::string name = option->get_single_name();
    if (name.empty() || name == "help") continue;
    std::string upper;
    for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& prefix : {std::string("DCOS_"), std::string("MESOS_")}) {
      const char* value = std::getenv((prefix + upper).c_str());
      if (!value) value = std::getenv((prefix + name).c_str());
      if (value) {
        args.push_back("--" + name + "=" + value);
        break;
      }
    }
  }
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  // CLI11 takes the arguments reversed; options use TakeLast, so the command line wins.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return -1;
}

// The value itself, or the contents of the file a `file://` value names.
inline std::string resolve_value(const std::string& value) {
  if (value.rfind("file://", 0) != 0) return value;
  std::ifstream in(value.substr(7));
  std::stringstream contents;
  contents << in.rdbuf();
  std::string text = contents.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Every option's value as text, for `/flags`.
inline std::map<std::string, std::string> flag_values(const CLI::App& app) {
  std::map<std::string, std::string> out;
  for (const CLI::Option* option : app.get_options()) {
    const std::string name = option->get_single_name();
    if (name.empty() || name == "help") continue;
    const auto results = option->results();
    if (!results.empty()) out[name] = results.back();
    else if (!option->get_default_str().empty()) out[name] = option->get_default_str();
  }
  return out;
}

// A `--logging_level` value: Mesos spells levels as glog does (INFO, WARNING, ERROR), spdlog in
// lower case (info, warn, error); both are accepted, in any case. Nullopt for anything else.
inline std::optional<spdlog::level::level_enum> parse_log_level(std::string level) {
  for (char& c : level) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (level == "warning") level = "warn";
  if (level == "fatal") level = "critical";
  static constexpr std::array<const char*, 7> names = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  for (size_t i = 0; i < names.size(); ++i) {
    if (level == names[i]) return static_cast<spdlog::level::level_enum>(i);
  }
  return std::nullopt;
}

// `->check(log_level_check)` on a `--logging_level` option: an unknown level is a usage error.
inline const CLI::Validator log_level_check(
    [](std::string& value) -> std::string {
      return parse_log_level(value) ? std::string() : "unknown logging level '" + value + "' (INFO, WARNING, ERROR, DEBUG, TRACE)";
    },
    "LEVEL");

// Requires: `level` passed `log_level_check`.
inline void set_log_level(const std::string& level) {
  spdlog::set_level(parse_log_level(level).value_or(spdlog::level::info));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %L %n: %v");
}

}  // namespace dcos::apps
