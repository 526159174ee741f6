#include "dcos/state/state.hpp"

#include <fmt/format.h>

#include "dcos/common/uuid.hpp"

namespace dcos::state::detail {

namespace asio = boost::asio;

namespace {

Result<void> check_name(std::string_view what, const std::string& name) {
  if (name.empty()) return fail(Errc::invalid_argument, fmt::format("{}: empty name", what));
  if (name.size() > name_bytes_max) {
    return fail(Errc::invalid_argument, fmt::format("{}: name of {} bytes, at most {}", what,
                                                    name.size(), name_bytes_max));
  }
  return {};
}

}  // namespace

asio::awaitable<Result<Entry>> fetch_entry(Storage& storage, std::string name) {
  if (auto ok = check_name("fetch", name); !ok) co_return tl::unexpected(ok.error());
  Result<std::optional<Entry>> stored = co_await storage.get(name);
  if (!stored) co_return tl::unexpected(stored.error());
  if (*stored) co_return std::move(**stored);
  // Absent: a new variable whose store succeeds as long as the name stays absent (Mesos).
  co_return Entry{std::move(name), random_uuid_bytes(), std::string()};
}

asio::awaitable<Result<std::optional<Entry>>> store_entry(Storage& storage, std::string name,
                                                          std::string uuid, std::string value) {
  if (auto ok = check_name("store", name); !ok) co_return tl::unexpected(ok.error());
  // A fresh version for every store, so that a variable fetched before this store can never
  // match again, even if it carries the same value.
  Entry entry{std::move(name), random_uuid_bytes(), std::move(value)};
  Result<bool> written = co_await storage.set(entry, std::move(uuid));
  if (!written) co_return tl::unexpected(written.error());
  if (!*written) co_return std::optional<Entry>();
  co_return std::optional<Entry>(std::move(entry));
}

asio::awaitable<Result<bool>> expunge_entry(Storage& storage, std::string name, std::string uuid) {
  if (auto ok = check_name("expunge", name); !ok) co_return tl::unexpected(ok.error());
  // A named entry, not a temporary in the co_await: g++ 12 destroys some of those twice.
  Entry entry{std::move(name), std::move(uuid), std::string()};
  co_return co_await storage.expunge(std::move(entry));
}

asio::awaitable<Result<std::set<std::string>>> entry_names(Storage& storage) {
  co_return co_await storage.names();
}

}  // namespace dcos::state::detail
