#include "dcos/state/zookeeper_storage.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zookeeper/zookeeper.h>

#include "completion.hpp"
#include "dcos/common/log.hpp"
#include "record.hpp"

namespace dcos::state {

namespace asio = boost::asio;
using detail::Completion;

struct ZooKeeperStorage::Session {
  zhandle_t* handle = nullptr;
  std::uint64_t number = 0;  // 1 for the first session, then one more per reconnect.
};

namespace {

// The outcome of one attempt: a definite result, or a transient ZooKeeper code to retry on.
template <typename R>
struct Step {
  std::optional<Result<R>> result;
  int rc = ZOK;

  // Implicit, so that an attempt can `co_return` a value, an optional or an error.
  template <typename U>
    requires std::constructible_from<Result<R>, U&&>
  Step(U&& value) : result(std::in_place, std::forward<U>(value)) {}  // NOLINT
  static Step transient(int rc) {
    Step step;
    step.rc = rc;
    return step;
  }

 private:
  Step() = default;
};

bool is_transient(int rc) {
  return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED || rc == ZINVALIDSTATE ||
         rc == ZCLOSING || rc == ZSESSIONMOVED;
}

// Codes after which the handle is dead for good and only a new session helps.
bool needs_new_session(int rc) { return rc == ZSESSIONEXPIRED || rc == ZINVALIDSTATE || rc == ZAUTHFAILED; }

tl::unexpected<Error> zookeeper_error(std::string_view what, int rc) {
  return fail(Errc::io_error, fmt::format("zookeeper {}: {} ({})", what, zerror(rc), rc));
}

// Completions arrive on the client's completion thread; each context is owned by the request
// from the call until its completion runs (or the call itself fails).
template <typename R>
Completion<R>* context(Completion<R> done) {
  return new Completion<R>(std::move(done));
}
template <typename R>
void complete(const void* data, R result) {
  std::unique_ptr<Completion<R>> done(static_cast<Completion<R>*>(const_cast<void*>(data)));
  (*done)(std::move(result));
}
template <typename R>
void complete_now(Completion<R>* done, R result) {
  complete<R>(done, std::move(result));
}

struct GetReply {
  int rc = ZOK;
  std::string data;
  std::int32_t version = -1;
};

asio::awaitable<GetReply> zk_get(zhandle_t* handle, const std::string& path) {
  auto start = [&](Completion<GetReply> done) {
    auto* data = context(std::move(done));
    const int rc = zoo_aget(
        handle, path.c_str(), 0,
        [](int rc, const char* value, int length, const struct Stat* stat, const void* data) {
          GetReply reply{rc, {}, -1};
          if (rc == ZOK) {
            if (value != nullptr && length > 0) reply.data.assign(value, static_cast<std::size_t>(length));
            if (stat != nullptr) reply.version = stat->version;
          }
          complete(data, std::move(reply));
        },
        data);
    if (rc != ZOK) complete_now(data, GetReply{rc, {}, -1});
  };
  co_return co_await detail::await_completion<GetReply>(std::move(start));
}

asio::awaitable<int> zk_create(zhandle_t* handle, const std::string& path, const std::string& bytes) {
  auto start = [&](Completion<int> done) {
    auto* data = context(std::move(done));
    const int rc = zoo_acreate(
        handle, path.c_str(), bytes.data(), static_cast<int>(bytes.size()), &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
        [](int rc, const char*, const void* data) { complete(data, rc); }, data);
    if (rc != ZOK) complete_now(data, rc);
  };
  co_return co_await detail::await_completion<int>(std::move(start));
}

asio::awaitable<int> zk_set(zhandle_t* handle, const std::string& path, const std::string& bytes,
                            std::int32_t version) {
  auto start = [&](Completion<int> done) {
    auto* data = context(std::move(done));
    const int rc = zoo_aset(
        handle, path.c_str(), bytes.data(), static_cast<int>(bytes.size()), version,
        [](int rc, const struct Stat*, const void* data) { complete(data, rc); }, data);
    if (rc != ZOK) complete_now(data, rc);
  };
  co_return co_await detail::await_completion<int>(std::move(start));
}

asio::awaitable<int> zk_delete(zhandle_t* handle, const std::string& path, std::int32_t version) {
  auto start = [&](Completion<int> done) {
    auto* data = context(std::move(done));
    const int rc = zoo_adelete(
        handle, path.c_str(), version, [](int rc, const void* data) { complete(data, rc); }, data);
    if (rc != ZOK) complete_now(data, rc);
  };
  co_return co_await detail::await_completion<int>(std::move(start));
}

struct ChildrenReply {
  int rc = ZOK;
  std::vector<std::string> children;
};

asio::awaitable<ChildrenReply> zk_children(zhandle_t* handle, const std::string& path) {
  auto start = [&](Completion<ChildrenReply> done) {
    auto* data = context(std::move(done));
    const int rc = zoo_aget_children(
        handle, path.c_str(), 0,
        [](int rc, const struct String_vector* strings, const void* data) {
          ChildrenReply reply{rc, {}};
          if (rc == ZOK && strings != nullptr) {
            for (std::int32_t i = 0; i < strings->count; ++i) reply.children.emplace_back(strings->data[i]);
          }
          complete(data, std::move(reply));
        },
        data);
    if (rc != ZOK) complete_now(data, ChildrenReply{rc, {}});
  };
  co_return co_await detail::await_completion<ChildrenReply>(std::move(start));
}

bool is_plain(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

std::string encode_name(const std::string& name) {
  if (name == "." || name == "..") {
    return name == "." ? "%2E" : "%2E%2E";
  }
  std::string out;
  for (char c : name) {
    if (is_plain(c)) {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::optional<std::string> decode_name(std::string_view encoded) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      out.push_back(encoded[i]);
      continue;
    }
    if (i + 2 >= encoded.size()) return std::nullopt;
    unsigned value = 0;
    for (std::size_t k = i + 1; k <= i + 2; ++k) {
      const char c = encoded[k];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<unsigned>(c - '0');
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
    }
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

Result<void> check_root(const std::string& root) {
  const bool ok = root.size() > 1 && root.front() == '/' && root.back() != '/' &&
                  root.find("//") == std::string::npos && root != "/zookeeper" && !root.starts_with("/zookeeper/");
  if (!ok) return fail(Errc::invalid_argument, fmt::format("zookeeper storage: bad root '{}'", root));
  return {};
}

void log_client_line(const char* message) {
  static const auto log = dcos::log::get("state");
  log->debug("zookeeper client: {}", message);
}

}  // namespace

Result<std::unique_ptr<ZooKeeperStorage>> ZooKeeperStorage::open(ZooKeeperOptions options) {
  if (auto ok = check_root(options.root); !ok) return tl::unexpected(ok.error());
  if (options.servers.empty()) return fail(Errc::invalid_argument, "zookeeper storage: no servers");
  std::unique_ptr<ZooKeeperStorage> storage(new ZooKeeperStorage(std::move(options)));
  storage->session();  // Starts connecting.
  return storage;
}

ZooKeeperStorage::ZooKeeperStorage(ZooKeeperOptions options)
    : options_(std::move(options)), log_(dcos::log::get("state")) {}

ZooKeeperStorage::~ZooKeeperStorage() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    session_.reset();  // Its deleter hands the close to the worker.
  }
  worker_.join();  // Runs a pending connect (which closes what it opened), then every close.
}

std::string ZooKeeperStorage::path_of(const std::string& name) const {
  return options_.root + "/" + encode_name(name);
}

std::uint64_t ZooKeeperStorage::sessions() const {
  std::lock_guard lock(mutex_);
  return sessions_;
}

std::shared_ptr<ZooKeeperStorage::Session> ZooKeeperStorage::session() {
  std::lock_guard lock(mutex_);
  if (!session_ && !connecting_) {
    connecting_ = true;
    asio::post(worker_, [this] { connect(); });
  }
  return session_;
}

void ZooKeeperStorage::reconnect(const std::shared_ptr<Session>& broken) {
  std::lock_guard lock(mutex_);
  if (!broken || session_ != broken) return;  // Someone reconnected already.
  log_->warn("zookeeper session lost, reconnecting session={} servers={}", broken->number, options_.servers);
  session_.reset();
  if (!connecting_) {
    connecting_ = true;
    asio::post(worker_, [this] { connect(); });
  }
}

// Worker thread: `zookeeper_init2` may resolve host names, and closing joins the client's threads.
void ZooKeeperStorage::connect() {
  const auto timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.session_timeout).count();
  zhandle_t* handle = zookeeper_init2(options_.servers.c_str(), &ZooKeeperStorage::on_watch,
                                      static_cast<int>(timeout_ms), nullptr, this, 0, &log_client_line);
  const int error = errno;
  std::unique_lock lock(mutex_);
  connecting_ = false;
  if (closing_) {
    lock.unlock();  // Closing joins the completion thread, whose watcher may want the lock.
    if (handle != nullptr) zookeeper_close(handle);
    return;
  }
  if (handle == nullptr) {
    // Operations keep asking for a session, which tries again, until their timeout.
    log_->error("zookeeper connect failed servers={}: {}", options_.servers, std::strerror(error));
    return;
  }
  const std::uint64_t number = ++sessions_;
  asio::any_io_executor worker = worker_.get_executor();
  session_ = std::shared_ptr<Session>(new Session{handle, number}, [worker](Session* session) {
    asio::post(worker, [session] {
      if (session->handle != nullptr) zookeeper_close(session->handle);
      delete session;
    });
  });
  log_->debug("zookeeper session created session={} servers={}", number, options_.servers);
}

// The client's completion thread.
void ZooKeeperStorage::on_watch(zhandle_t* handle, int type, int state, const char*, void* context) {
  if (type != ZOO_SESSION_EVENT) return;
  auto* self = static_cast<ZooKeeperStorage*>(context);
  if (state == ZOO_CONNECTED_STATE) {
    self->log_->debug("zookeeper connected servers={}", self->options_.servers);
  } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
    std::shared_ptr<Session> current;
    {
      std::lock_guard lock(self->mutex_);
      if (self->session_ && self->session_->handle == handle) current = self->session_;
    }
    self->reconnect(current);
  }
}

template <typename R, typename Attempt>
asio::awaitable<Result<R>> ZooKeeperStorage::retrying(std::string what, Attempt attempt) {
  const auto deadline = std::chrono::steady_clock::now() + options_.operation_timeout;
  auto delay = std::chrono::milliseconds(5);
  int last_rc = ZCONNECTIONLOSS;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    if (std::shared_ptr<Session> session = this->session()) {
      Step<R> step = co_await attempt(session->handle);
      if (step.result) co_return std::move(*step.result);
      last_rc = step.rc;
      if (needs_new_session(step.rc)) reconnect(session);
      log_->debug("zookeeper {} retrying: {}", what, zerror(step.rc));
    }
    if (std::chrono::steady_clock::now() + delay > deadline) {
      co_return fail(Errc::unavailable, fmt::format("zookeeper {}: {} for {} ms", what, zerror(last_rc),
                                                    std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        options_.operation_timeout)
                                                        .count()));
    }
    timer.expires_after(delay);
    co_await timer.async_wait(asio::use_awaitable);
    delay = std::min(delay * 2, std::chrono::milliseconds(250));
  }
}

// Creates the root and its parents. ZOK, or a code for the caller to handle.
asio::awaitable<int> ZooKeeperStorage::ensure_root(zhandle_t* handle) {
  for (std::size_t slash = options_.root.find('/', 1);; slash = options_.root.find('/', slash + 1)) {
    const std::string prefix = options_.root.substr(0, slash);
    const std::string no_data;
    const int rc = co_await zk_create(handle, prefix, no_data);
    if (rc != ZOK && rc != ZNODEEXISTS) co_return rc;
    if (slash == std::string::npos) co_return ZOK;
  }
}

asio::awaitable<Result<std::optional<Entry>>> ZooKeeperStorage::get(std::string name) {
  const std::string path = path_of(name);
  // The attempt and its name are locals, not temporaries in the co_await: g++ 12 destroys some
  // of those twice.
  const std::string what = "get " + path;
  auto attempt = [&](zhandle_t* handle) -> asio::awaitable<Step<std::optional<Entry>>> {
        GetReply reply = co_await zk_get(handle, path);
        if (reply.rc == ZNONODE) co_return std::optional<Entry>();
        if (is_transient(reply.rc)) co_return Step<std::optional<Entry>>::transient(reply.rc);
        if (reply.rc != ZOK) co_return zookeeper_error("get " + path, reply.rc);
        Result<Entry> entry = detail::decode_record(name, reply.data);
        if (!entry) co_return tl::unexpected(entry.error());
        co_return std::optional<Entry>(std::move(*entry));
      };
  co_return co_await retrying<std::optional<Entry>>(what, std::move(attempt));
}

// Compare-and-swap on the znode's data version. Every retry starts again from a read, and
// treats finding our own fresh uuid as success: the write landed but its reply was lost.
asio::awaitable<Result<bool>> ZooKeeperStorage::set(Entry entry, std::string expected_uuid) {
  if (auto ok = detail::check_uuid(entry); !ok) co_return tl::unexpected(ok.error());
  const std::string path = path_of(entry.name);
  const std::string record = detail::encode_record(entry.uuid, entry.value);
  if (record.size() > options_.value_bytes_max) {
    co_return fail(Errc::invalid_argument, fmt::format("zookeeper set {}: {} bytes, at most {}", path,
                                                       record.size(), options_.value_bytes_max));
  }
  const std::string what = "set " + path;
  auto attempt = [&](zhandle_t* handle) -> asio::awaitable<Step<bool>> {
    for (;;) {  // Loops only when another writer changed the znode between our read and write.
      GetReply reply = co_await zk_get(handle, path);
      if (is_transient(reply.rc)) co_return Step<bool>::transient(reply.rc);
      if (reply.rc == ZNONODE) {
        int rc = co_await zk_create(handle, path, record);
        if (rc == ZNONODE) {  // The root is missing.
          rc = co_await ensure_root(handle);
          if (rc == ZOK) continue;
        }
        if (rc == ZOK) co_return true;
        if (rc == ZNODEEXISTS) continue;  // Created meanwhile: compare with that one.
        if (is_transient(rc)) co_return Step<bool>::transient(rc);
        co_return zookeeper_error("create " + path, rc);
      }
      if (reply.rc != ZOK) co_return zookeeper_error("get " + path, reply.rc);
      Result<Entry> stored = detail::decode_record(entry.name, reply.data);
      if (!stored) co_return tl::unexpected(stored.error());
      if (stored->uuid == entry.uuid) co_return true;
      if (stored->uuid != expected_uuid) co_return false;
      const int rc = co_await zk_set(handle, path, record, reply.version);
      if (rc == ZOK) co_return true;
      if (rc == ZBADVERSION || rc == ZNONODE) continue;  // Changed or expunged meanwhile: read again.
      if (is_transient(rc)) co_return Step<bool>::transient(rc);
      co_return zookeeper_error("set " + path, rc);
    }
  };
  co_return co_await retrying<bool>(what, std::move(attempt));
}

asio::awaitable<Result<bool>> ZooKeeperStorage::expunge(Entry entry) {
  const std::string path = path_of(entry.name);
  const std::string what = "delete " + path;
  auto attempt = [&](zhandle_t* handle) -> asio::awaitable<Step<bool>> {
    for (;;) {
      GetReply reply = co_await zk_get(handle, path);
      if (reply.rc == ZNONODE) co_return false;
      if (is_transient(reply.rc)) co_return Step<bool>::transient(reply.rc);
      if (reply.rc != ZOK) co_return zookeeper_error("get " + path, reply.rc);
      Result<Entry> stored = detail::decode_record(entry.name, reply.data);
      if (!stored) co_return tl::unexpected(stored.error());
      if (stored->uuid != entry.uuid) co_return false;
      const int rc = co_await zk_delete(handle, path, reply.version);
      if (rc == ZOK) co_return true;
      if (rc == ZNONODE) co_return false;
      if (rc == ZBADVERSION) continue;
      if (is_transient(rc)) co_return Step<bool>::transient(rc);
      co_return zookeeper_error("delete " + path, rc);
    }
  };
  co_return co_await retrying<bool>(what, std::move(attempt));
}

asio::awaitable<Result<std::set<std::string>>> ZooKeeperStorage::names() {
  const std::string what = "children " + options_.root;
  auto attempt = [&](zhandle_t* handle) -> asio::awaitable<Step<std::set<std::string>>> {
        ChildrenReply reply = co_await zk_children(handle, options_.root);
        if (reply.rc == ZNONODE) co_return std::set<std::string>();
        if (is_transient(reply.rc)) co_return Step<std::set<std::string>>::transient(reply.rc);
        if (reply.rc != ZOK) co_return zookeeper_error("children " + options_.root, reply.rc);
        std::set<std::string> names;
        for (const std::string& child : reply.children) {
          if (std::optional<std::string> name = decode_name(child)) {
            names.insert(std::move(*name));
          } else {
            log_->warn("zookeeper ignoring foreign znode {}/{}", options_.root, child);
          }
        }
        co_return names;
      };
  co_return co_await retrying<std::set<std::string>>(what, std::move(attempt));
}

}  // namespace dcos::state
