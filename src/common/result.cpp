#include "dcos/common/result.hpp"

#include <cstdio>
#include <cstdlib>

#include <spdlog/spdlog.h>

namespace dcos {
namespace {

class DcosCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "dcos"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::not_found: return "not found";
      case Errc::not_leader: return "not leader";
      case Errc::unavailable: return "unavailable";
      case Errc::timed_out: return "timed out";
      case Errc::cancelled: return "cancelled";
      case Errc::invalid_argument: return "invalid argument";
      case Errc::corruption: return "corruption";
      case Errc::io_error: return "i/o error";
      case Errc::conflict: return "conflict";
      case Errc::permission_denied: return "permission denied";
    }
    return "unknown dcos error";
  }
};

}  // namespace

const std::error_category& dcos_category() noexcept {
  static const DcosCategory category;
  return category;
}

std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), dcos_category()}; }

namespace detail {
void assert_failed(const char* condition, const char* file, int line) {
  spdlog::critical("assertion failed: {} at {}:{}", condition, file, line);
  spdlog::default_logger()->flush();
  std::fprintf(stderr, "dcos: assertion failed: %s at %s:%d\n", condition, file, line);
  std::abort();
}
}  // namespace detail

}  // namespace dcos
