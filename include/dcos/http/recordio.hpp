#pragma once
// RecordIO, the framing of every v1 event stream (`reference/mesos-api.md` §1.2):
// `decimal length` LF `bytes`, no trailing newline, lengths never 0.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "dcos/common/result.hpp"

namespace dcos::http {

std::string recordio_encode(std::string_view record);

// Incremental decoder. Feed it bytes as they arrive, then drain `next()`. A record longer than
// `record_bytes_max`, or a length that is not decimal digits, is a permanent error.
class RecordIoDecoder {
 public:
  explicit RecordIoDecoder(size_t record_bytes_max = 64 * 1024 * 1024) : record_bytes_max_(record_bytes_max) {}
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole record, nullopt if more bytes are needed, or an error (sticky).
  Result<std::optional<std::string>> next();

 private:
  size_t record_bytes_max_;
  std::string buffer_;
  size_t offset_ = 0;
  std::optional<Error> error_;
};

}  // namespace dcos::http
