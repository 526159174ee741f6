#include "support/zookeeper_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace dcos::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

// A port the kernel just handed out on 127.0.0.1 and that nobody listens on. Another process
// may take it before the server binds it; `start` then tries again with another.
Result<unsigned short> free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return fail(std::error_code(errno, std::system_category()), "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int error = errno;
    ::close(fd);
    return fail(std::error_code(error, std::system_category()), "bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// Sends a four-letter word and returns the whole answer ("" when nobody answers).
std::string four_letter_word(unsigned short port, const char* word) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::send(fd, word, std::strlen(word), MSG_NOSIGNAL) == static_cast<ssize_t>(std::strlen(word))) {
    char buffer[64];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) answer.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

std::string tail_of(const fs::path& file, std::size_t bytes = 1500) {
  std::ifstream in(file);
  std::stringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
}

}  // namespace

Result<std::unique_ptr<ZooKeeperServer>> ZooKeeperServer::start(std::chrono::milliseconds timeout) {
  const std::string java = env_or("JAVA", "/usr/bin/java");
  const std::string classpath = env_or("DCOS_ZOOKEEPER_CLASSPATH", "/usr/share/java/zookeeper.jar");
  if (::access(java.c_str(), X_OK) != 0) {
    return fail(Errc::unavailable, fmt::format("no java at {} (install the `zookeeper` package)", java));
  }
  if (classpath.find(':') == std::string::npos && !fs::exists(classpath)) {
    return fail(Errc::unavailable, fmt::format("no {} (install the `zookeeper` package)", classpath));
  }
  Error last{make_error_code(Errc::unavailable), "not tried"};
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string pattern = (fs::temp_directory_path() / "dcos-zookeeper-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return fail(std::error_code(errno, std::system_category()), "mkdtemp " + pattern);
    }
    Result<unsigned short> port = free_port();
    if (!port) return tl::unexpected(port.error());
    std::unique_ptr<ZooKeeperServer> server(new ZooKeeperServer(pattern, *port));
    std::ofstream config(fs::path(pattern) / "zoo.cfg");
    config << "tickTime=500\n"
           << "minSessionTimeout=1000\n"
           << "maxSessionTimeout=60000\n"
           << "dataDir=" << pattern << "/data\n"
           << "clientPort=" << *port << "\n"
           << "clientPortAddress=127.0.0.1\n"
           << "maxClientCnxns=0\n"
           << "admin.enableServer=false\n"
           << "4lw.commands.whitelist=ruok,srvr\n";
    config.close();
    Result<void> launched = server->launch(timeout);
    if (launched) return server;
    last = launched.error();
  }
  return tl::unexpected(last);
}

ZooKeeperServer* ZooKeeperServer::shared(std::string* why) {
  static std::mutex mutex;
  static std::unique_ptr<ZooKeeperServer> server;
  static std::string failure;
  std::lock_guard lock(mutex);
  if (!server && failure.empty()) {
    auto started = start();
    if (started) {
      server = std::move(*started);
    } else {
      failure = started.error().message;
    }
  }
  if (why != nullptr) *why = failure;
  return server.get();
}

Result<void> ZooKeeperServer::launch(std::chrono::milliseconds timeout) {
  const std::string java = env_or("JAVA", "/usr/bin/java");
  const std::string classpath = env_or("DCOS_ZOOKEEPER_CLASSPATH", "/usr/share/java/zookeeper.jar");
  const std::string config = (fs::path(directory_) / "zoo.cfg").string();
  const std::string log = (fs::path(directory_) / "server.log").string();
  std::vector<std::string> args = {java,
                                   "-Xmx256m",
                                   "-XX:+UseSerialGC",
                                   "-XX:TieredStopAtLevel=1",
                                   "-Djava.awt.headless=true",
                                   "-Dzookeeper.jmx.log4j.disable=true",
                                   "-cp",
                                   classpath,
                                   "org.apache.zookeeper.server.ZooKeeperServerMain",
                                   config};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) return fail(std::error_code(errno, std::system_category()), "open " + log);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(out);
    return fail(std::error_code(error, std::system_category()), "fork");
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out);
  pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return fail(Errc::unavailable, fmt::format("zookeeper server exited (status {}) on port {}: {}", status,
                                                 port_, tail_of(log)));
    }
    if (four_letter_word(port_, "ruok") == "imok") return {};
    std::this_thread::sleep_for(100ms);
  }
  stop();
  return fail(Errc::timed_out, fmt::format("zookeeper server did not answer ruok on port {} within {} ms: {}",
                                           port_, timeout.count(), tail_of(log)));
}

void ZooKeeperServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(50ms);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Result<void> ZooKeeperServer::restart(std::chrono::milliseconds timeout) {
  stop();
  return launch(timeout);
}

ZooKeeperServer::~ZooKeeperServer() {
  stop();
  std::error_code ignored;
  fs::remove_all(directory_, ignored);
}

std::string ZooKeeperServer::connect_string() const { return fmt::format("127.0.0.1:{}", port_); }

}  // namespace dcos::testing
