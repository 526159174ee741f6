#pragma once
// `count` replicas of the replicated log (`replicated_log::Log`) on 127.0.0.1, LevelDB under a
// fresh temp directory, all opened; removed at the end.

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "dcos/replicated_log/log.hpp"

namespace dcos::state::testing {

class LocalReplicatedLog {
 public:
  explicit LocalReplicatedLog(std::size_t count) {
    namespace asio = boost::asio;
    using asio::ip::tcp;
    static int counter = 0;
    directory_ = std::filesystem::temp_directory_path() / fmt::format("dcos-state-log-{}-{}", ::getpid(), counter++);
    std::filesystem::remove_all(directory_);
    std::vector<std::pair<replicated_log::NodeId, tcp::endpoint>> endpoints;
    for (std::uint32_t i = 0; i < count; ++i) {
      asio::io_context io;
      tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      endpoints.emplace_back(replicated_log::NodeId{i}, acceptor.local_endpoint());
    }
    for (std::uint32_t i = 0; i < count; ++i) {
      replicated_log::LogOptions options;
      options.self = replicated_log::NodeId{i};
      options.replicas = endpoints;
      options.path = (directory_ / fmt::format("r{}", i)).string();
      options.tick = std::chrono::milliseconds(20);
      auto log = replicated_log::Log::open(options);
      REQUIRE(log);
      logs_.push_back(std::move(*log));
    }
  }
  ~LocalReplicatedLog() {
    logs_.clear();
    std::filesystem::remove_all(directory_);
  }
  replicated_log::Log& log(std::size_t i) { return *logs_.at(i); }

 private:
  std::filesystem::path directory_;
  std::vector<std::unique_ptr<replicated_log::Log>> logs_;
};

}  // namespace dcos::state::testing
