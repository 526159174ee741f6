#include "dcos/common/ids.hpp"

namespace dcos {

std::string id_problem(std::string_view id) {
  if (id.empty()) return "ID must not be empty";
  if (id.size() > 255) return "ID must not be longer than 255 characters";
  if (id == "." || id == "..") return "'" + std::string(id) + "' is disallowed";
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return "ID must not contain control characters";
    }
    if (c == '/' || c == '\\') return "ID must not contain slash or backslash";
  }
  return {};
}

}  // namespace dcos
