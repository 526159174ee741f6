#pragma once
// Runs an io_context until a condition holds. The wall-clock bound only guards against a hung
// test: the condition is awaited, never slept for.

#include <chrono>
#include <functional>

#include <boost/asio/io_context.hpp>

namespace dcos::testing {

// Restarts `io` (it may have run out of work before) and runs it until `done()` or `limit`.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  io.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(10));
  return done();
}

}  // namespace dcos::testing
