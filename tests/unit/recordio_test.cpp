#include "dcos/http/recordio.hpp"  // First: proves the header is self-contained.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

using Catch::Matchers::Contains;
using dcos::http::recordio_encode;
using dcos::http::RecordIoDecoder;

// Drains every whole record the decoder holds; fails the test on a decode error.
std::vector<std::string> drain(RecordIoDecoder& decoder) {
  std::vector<std::string> out;
  for (;;) {
    auto next = decoder.next();
    REQUIRE(next);
    if (!*next) return out;
    out.push_back(std::move(**next));
  }
}

}  // namespace

TEST_CASE("recordio_encode writes length, LF and the bytes, no trailing newline", "[http][core]") {
  // The example from the Mesos docs: 20 bytes of JSON behind "20\n".
  CHECK(recordio_encode(R"({"type":"HEARTBEAT"})") == "20\n{\"type\":\"HEARTBEAT\"}");
  CHECK(recordio_encode("a\nb") == "3\na\nb");
  CHECK(recordio_encode(std::string(1234, 'x')).substr(0, 5) == "1234\n");
  CHECK(recordio_encode(std::string(1234, 'x')).size() == 5 + 1234);
}

TEST_CASE("RecordIoDecoder decodes a stream fed one byte at a time", "[http][core]") {
  // Records come out only once their last byte arrives, whatever the chunking.
  const std::vector<std::string> records = {R"({"type":"SUBSCRIBED"})", "x", std::string(300, 'y'),
                                            "line\nbreak"};
  std::string stream;
  for (const auto& r : records) stream += recordio_encode(r);

  RecordIoDecoder decoder;
  std::vector<std::string> decoded;
  const size_t first_end = recordio_encode(records[0]).size();
  for (size_t i = 0; i < stream.size(); ++i) {
    decoder.feed(std::string_view(stream).substr(i, 1));
    auto got = drain(decoder);
    if (i + 1 < first_end) CHECK(got.empty());  // Nothing before the first record is whole.
    if (i + 1 == first_end) CHECK(got == std::vector<std::string>{records[0]});
    decoded.insert(decoded.end(), got.begin(), got.end());
  }
  CHECK(decoded == records);
}

TEST_CASE("RecordIoDecoder returns several records from one feed", "[http][core]") {
  // Three records in one chunk come out in order, then the decoder asks for more.
  RecordIoDecoder decoder;
  decoder.feed(recordio_encode("one") + recordio_encode("two") + recordio_encode("three") + "5\nfo");
  CHECK(drain(decoder) == std::vector<std::string>{"one", "two", "three"});
  decoder.feed("ur!");
  CHECK(drain(decoder) == std::vector<std::string>{"four!"});
}

TEST_CASE("RecordIoDecoder keeps decoding across its buffer compaction", "[http][core]") {
  // 10000 records (about 250 KB) fed in 1000-byte slices all come back intact and in order.
  std::string stream;
  std::vector<std::string> records;
  for (int i = 0; i < 10000; ++i) {
    records.push_back("{\"seq\":" + std::to_string(i) + ",\"pad\":\"abc\"}");
    stream += recordio_encode(records.back());
  }
  RecordIoDecoder decoder;
  std::vector<std::string> decoded;
  for (size_t i = 0; i < stream.size(); i += 1000) {
    decoder.feed(std::string_view(stream).substr(i, 1000));
    auto got = drain(decoder);
    decoded.insert(decoded.end(), got.begin(), got.end());
  }
  CHECK(decoded == records);
}

TEST_CASE("RecordIoDecoder rejects a length that is not decimal digits, for good", "[http][core]") {
  // "2x" is corruption; the error is sticky even after valid bytes follow.
  RecordIoDecoder decoder;
  decoder.feed("2x\n{}");
  auto first = decoder.next();
  REQUIRE_FALSE(first);
  CHECK(first.error().code == dcos::Errc::corruption);
  CHECK_THAT(first.error().message, Contains("not a decimal number"));
  decoder.feed(recordio_encode("ok"));
  auto second = decoder.next();
  REQUIRE_FALSE(second);
  CHECK(second.error().message == first.error().message);

  RecordIoDecoder negative;
  negative.feed("-1\nx");
  CHECK_FALSE(negative.next());

  RecordIoDecoder empty_length;
  empty_length.feed("\n{}");
  auto empty = empty_length.next();
  REQUIRE_FALSE(empty);
  CHECK_THAT(empty.error().message, Contains("empty record length"));
}

TEST_CASE("RecordIoDecoder rejects a record over its limit before buffering it", "[http][core]") {
  // With a 10-byte limit, a 10-byte record passes and an 11-byte length fails at once.
  RecordIoDecoder decoder(10);
  decoder.feed(recordio_encode("0123456789"));
  CHECK(drain(decoder) == std::vector<std::string>{"0123456789"});
  decoder.feed("11\n");
  auto over = decoder.next();
  REQUIRE_FALSE(over);
  CHECK(over.error().code == dcos::Errc::corruption);
  CHECK_THAT(over.error().message, Contains("longer than 10 bytes"));

  RecordIoDecoder huge;  // Default limit: 64 MiB.
  huge.feed("99999999999999999999\n");
  auto too_big = huge.next();
  REQUIRE_FALSE(too_big);
  CHECK_THAT(too_big.error().message, Contains("longer than"));
}

TEST_CASE("RecordIoDecoder rejects a length longer than 20 digits", "[http][core]") {
  // 20 digits without LF may still be a length (uint64); the 21st digit makes it corruption.
  RecordIoDecoder decoder;
  decoder.feed(std::string(20, '1'));
  auto waiting = decoder.next();
  REQUIRE(waiting);
  CHECK_FALSE(*waiting);
  decoder.feed("1");
  auto error = decoder.next();
  REQUIRE_FALSE(error);
  CHECK(error.error().code == dcos::Errc::corruption);
  CHECK_THAT(error.error().message, Contains("20 digits"));
}
