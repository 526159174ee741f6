#include "dcos/state/in_memory_storage.hpp"

namespace dcos::state {

namespace asio = boost::asio;

asio::awaitable<Result<std::optional<Entry>>> InMemoryStorage::get(std::string name) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end()) co_return std::optional<Entry>();
  co_return std::optional<Entry>(it->second);
}

asio::awaitable<Result<bool>> InMemoryStorage::set(Entry entry, std::string expected_uuid) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(entry.name);
  if (it != entries_.end() && it->second.uuid != expected_uuid) co_return false;
  std::string name = entry.name;
  entries_.insert_or_assign(std::move(name), std::move(entry));
  co_return true;
}

asio::awaitable<Result<bool>> InMemoryStorage::expunge(Entry entry) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(entry.name);
  if (it == entries_.end() || it->second.uuid != entry.uuid) co_return false;
  entries_.erase(it);
  co_return true;
}

asio::awaitable<Result<std::set<std::string>>> InMemoryStorage::names() {
  std::lock_guard lock(mutex_);
  std::set<std::string> names;
  for (const auto& [name, entry] : entries_) names.insert(name);
  co_return names;
}

}  // namespace dcos::state
