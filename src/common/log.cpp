#include "dcos/common/log.hpp"

#include <spdlog/spdlog.h>

namespace dcos::log {

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = spdlog::default_logger()->clone(name);
  logger->set_level(spdlog::default_logger()->level());
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace dcos::log
