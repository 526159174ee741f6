#include "dcos/http/recordio.hpp"

#include <fmt/format.h>

namespace dcos::http {

std::string recordio_encode(std::string_view record) {
  std::string out = std::to_string(record.size());
  out += '\n';
  out.append(record);
  return out;
}

Result<std::optional<std::string>> RecordIoDecoder::next() {
  if (error_) return tl::unexpected(*error_);
  const auto newline = buffer_.find('\n', offset_);
  if (newline == std::string::npos) {
    if (buffer_.size() - offset_ > 20) {
      error_ = Error{make_error_code(Errc::corruption), "recordio: record length longer than 20 digits"};
      return tl::unexpected(*error_);
    }
    return std::nullopt;
  }
  size_t length = 0;
  if (newline == offset_) {
    error_ = Error{make_error_code(Errc::corruption), "recordio: empty record length"};
    return tl::unexpected(*error_);
  }
  for (size_t i = offset_; i < newline; ++i) {
    const char c = buffer_[i];
    if (c < '0' || c > '9' || length > record_bytes_max_) {
      error_ = Error{make_error_code(Errc::corruption),
                     c < '0' || c > '9' ? "recordio: record length is not a decimal number"
                                        : fmt::format("recordio: record longer than {} bytes", record_bytes_max_)};
      return tl::unexpected(*error_);
    }
    length = length * 10 + static_cast<size_t>(c - '0');
  }
  if (length > record_bytes_max_) {
    error_ = Error{make_error_code(Errc::corruption), fmt::format("recordio: record longer than {} bytes", record_bytes_max_)};
    return tl::unexpected(*error_);
  }
  if (buffer_.size() - (newline + 1) < length) return std::nullopt;
  std::string record = buffer_.substr(newline + 1, length);
  offset_ = newline + 1 + length;
  if (offset_ > 64 * 1024 && offset_ * 2 > buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return record;
}

}  // namespace dcos::http
