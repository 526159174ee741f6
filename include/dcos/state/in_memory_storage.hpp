#pragma once
// `Storage` in a map: for tests, `--registry=in_memory` and benchmarks. Nothing survives the
// object. Every operation completes without suspending; a mutex makes each one atomic, so the
// storage may be shared by coroutines on several threads.

#include <map>
#include <mutex>

#include "dcos/state/storage.hpp"

namespace dcos::state {

class InMemoryStorage final : public Storage {
 public:
  boost::asio::awaitable<Result<std::optional<Entry>>> get(std::string name) override;
  boost::asio::awaitable<Result<bool>> set(Entry entry, std::string expected_uuid) override;
  boost::asio::awaitable<Result<bool>> expunge(Entry entry) override;
  boost::asio::awaitable<Result<std::set<std::string>>> names() override;

 private:
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace dcos::state
