#pragma once
// Named, versioned values with compare-and-swap, on any `Storage` (storage.hpp): Mesos's
// `State` and `protobuf::State` (`include/mesos/state/`), with JSON instead of protobuf.
//
//   State<Registry> state(storage);
//   Result<Variable<Registry>> fetched = co_await state.fetch("registry");
//   Registry next = fetched->get();  ... change `next` ...
//   auto stored = co_await state.store(fetched->mutate(std::move(next)));
//   if (!stored) -> a backend error; if (!*stored) -> a conflict: fetch again and redo.
//
// Invariants (docs/design/state.md): a `Variable` is immutable and remembers the version it was
// fetched at; `store` succeeds only while that version is still the stored one (or the name is
// absent) and then stores a fresh version; it never overwrites a newer value silently, and a
// conflict is an empty optional, never an error.

#include <optional>
#include <set>
#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "dcos/common/result.hpp"
#include "dcos/state/storage.hpp"

namespace dcos::state {

template <typename T>
class State;

// Names are non-empty and at most this long (every storage can hold them; see state.md).
inline constexpr std::size_t name_bytes_max = 255;

// A value of type `T` as fetched from, or stored into, a `State<T>`. Immutable.
template <typename T>
class Variable {
 public:
  const std::string& name() const { return name_; }
  const T& get() const { return value_; }
  const T& operator*() const { return value_; }
  const T* operator->() const { return &value_; }
  // The version this variable was fetched (or stored) at: 16 raw bytes.
  const std::string& version() const { return uuid_; }

  // The same variable with another value, keeping the version: storing it succeeds only if
  // nobody stored `name()` since this variable was fetched.
  Variable mutate(T value) const { return Variable(name_, uuid_, std::move(value)); }

 private:
  friend class State<T>;
  Variable(std::string name, std::string uuid, T value)
      : name_(std::move(name)), uuid_(std::move(uuid)), value_(std::move(value)) {}

  std::string name_;
  std::string uuid_;
  T value_;
};

namespace detail {
// The untyped halves of `State<T>` (src/state/state.cpp).
// The stored entry, or a new one with a fresh uuid and an empty value when `name` is absent.
boost::asio::awaitable<Result<Entry>> fetch_entry(Storage& storage, std::string name);
// Stores `value` under a fresh uuid if `name` is still at `uuid`; nullopt on a conflict.
boost::asio::awaitable<Result<std::optional<Entry>>> store_entry(Storage& storage, std::string name,
                                                                 std::string uuid, std::string value);
boost::asio::awaitable<Result<bool>> expunge_entry(Storage& storage, std::string name, std::string uuid);
boost::asio::awaitable<Result<std::set<std::string>>> entry_names(Storage& storage);
}  // namespace detail

// A typed view of a storage. `T` must be default-constructible (an absent name fetches as
// `T{}`) and convert with nlohmann's `to_json`/`from_json`. Stored values are JSON text.
// Holds `storage` by reference: the storage must outlive the state and its operations.
template <typename T>
class State {
 public:
  explicit State(Storage& storage) : storage_(storage) {}

  // The variable named `name`; when absent, a new variable holding `T{}` (nothing is written).
  // `Errc::corruption` when the stored bytes do not convert to `T`.
  boost::asio::awaitable<Result<Variable<T>>> fetch(std::string name) {
    Result<Entry> entry = co_await detail::fetch_entry(storage_, std::move(name));
    if (!entry) co_return tl::unexpected(entry.error());
    Result<T> value = decode(*entry);
    if (!value) co_return tl::unexpected(value.error());
    co_return Variable<T>(std::move(entry->name), std::move(entry->uuid), std::move(*value));
  }

  // Stores `variable` if its name is still at the version it was fetched at (or is absent) and
  // returns it at its new version; an empty optional when someone stored or expunged it since
  // (fetch again and redo the change). An error only when the storage fails, and then the
  // store may or may not have happened.
  boost::asio::awaitable<Result<std::optional<Variable<T>>>> store(Variable<T> variable) {
    std::string bytes;
    try {
      bytes = nlohmann::json(variable.get()).dump();
    } catch (const nlohmann::json::exception& e) {
      co_return fail(Errc::invalid_argument, "store name=" + variable.name() + ": " + e.what());
    }
    Result<std::optional<Entry>> stored =
        co_await detail::store_entry(storage_, variable.name_, variable.uuid_, std::move(bytes));
    if (!stored) co_return tl::unexpected(stored.error());
    if (!*stored) co_return std::optional<Variable<T>>();
    co_return std::optional<Variable<T>>(
        Variable<T>(std::move(variable.name_), std::move((*stored)->uuid), std::move(variable.value_)));
  }

  // Removes `variable` if it is still at its version. True when removed; false when absent or
  // stored since.
  boost::asio::awaitable<Result<bool>> expunge(Variable<T> variable) {
    return detail::expunge_entry(storage_, std::move(variable.name_), std::move(variable.uuid_));
  }

  // Every stored name (of any type: the storage is untyped).
  boost::asio::awaitable<Result<std::set<std::string>>> names() { return detail::entry_names(storage_); }

 private:
  static Result<T> decode(const Entry& entry) {
    if (entry.value.empty()) return T{};
    try {
      return nlohmann::json::parse(entry.value).template get<T>();
    } catch (const nlohmann::json::exception& e) {
      return fail(Errc::corruption, "fetch name=" + entry.name + ": " + e.what());
    }
  }

  Storage& storage_;
};

}  // namespace dcos::state
