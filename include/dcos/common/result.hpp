#pragma once
// Operating errors as values: `Result<T>` is a `T` or an `Error` the caller can act on.
// Broken invariants are `DCOS_ASSERT`s; foreign exceptions are caught at module edges.

#include <string>
#include <system_error>
#include <type_traits>

#include <tl/expected.hpp>

namespace dcos {

enum class Errc {
  not_found = 1,
  not_leader,
  unavailable,
  timed_out,
  cancelled,
  invalid_argument,
  corruption,
  io_error,
  conflict,
  permission_denied,
};

const std::error_category& dcos_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

struct Error {
  std::error_code code;  // An `Errc`, or an Asio/system code passed through unchanged.
  std::string message;   // What we were doing, with ids.
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Errc code, std::string message) {
  return tl::unexpected<Error>(Error{make_error_code(code), std::move(message)});
}
inline tl::unexpected<Error> fail(std::error_code code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

namespace detail {
[[noreturn]] void assert_failed(const char* condition, const char* file, int line);
}

}  // namespace dcos

template <>
struct std::is_error_code_enum<dcos::Errc> : std::true_type {};

// A broken invariant: log, flush, abort, also in release builds.
#define DCOS_ASSERT(cond) \
  ((cond) ? void(0) : ::dcos::detail::assert_failed(#cond, __FILE__, __LINE__))
