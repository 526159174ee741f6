#pragma once
// One named spdlog logger per module ("master", "agent", "http", ...). Applications configure
// sinks and levels once in `main`; embedders may register their own loggers under these names
// before creating components.

#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace dcos::log {

// The logger named `name`, created on first use with the default sink.
std::shared_ptr<spdlog::logger> get(const std::string& name);

}  // namespace dcos::log
