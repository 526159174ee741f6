#include "dcos/master/master.hpp"

#include <arpa/inet.h>

#include <boost/asio/post.hpp>

#include "dcos/common/log.hpp"
#include "dcos/common/uuid.hpp"
#include "dcos/http/recordio.hpp"
#include "dcos/master/registrar.hpp"
#include "dcos/replicated_log/log.hpp"
#include "dcos/state/replicated_log_adapter.hpp"
#include "dcos/v1/json_fields.hpp"

namespace dcos::master {

namespace {

// `MasterInfo.ip`: the IPv4 address in network byte order, read as a host integer.
std::uint32_t packed_ip(const std::string& ip) {
  in_addr address{};
  if (inet_pton(AF_INET, ip.c_str(), &address) != 1) return 0;
  return address.s_addr;
}

}  // namespace

Master::Master(boost::asio::any_io_executor executor, Clock& clock, MasterConfig config)
    : executor_(std::move(executor)),
      clock_(clock),
      config_(std::move(config)),
      core_(random_uuid_string(), nlohmann::json::object(), config_.options, make_drf_allocator()),
      start_time_(clock.now()) {
  if (config_.hostname.empty()) config_.hostname = config_.ip;
}

Master::~Master() {
  *alive_ = false;
  stop();
  close_registry();
}

Result<std::uint16_t> Master::start() {
  if (auto opened = open_registry(); !opened) return tl::unexpected(opened.error());
  auto router = std::make_shared<http::Router>();
  auto bind = [this](auto method) {
    return [this, method](const http::Request& request) { return (this->*method)(request); };
  };
  for (const char* prefix : {"", "/master"}) {
    const std::string p = prefix;
    router->add(p + "/api/v1/scheduler", bind(&Master::scheduler_api));
    router->add(p + "/api/v1/agent", bind(&Master::agent_api));
    router->add(p + "/api/v1", bind(&Master::operator_api));
    router->add(p + "/state", bind(&Master::state_endpoint));
    router->add(p + "/state.json", bind(&Master::state_endpoint));
    router->add(p + "/frameworks", bind(&Master::frameworks_endpoint));
    router->add(p + "/slaves", bind(&Master::slaves_endpoint));
    router->add(p + "/tasks", bind(&Master::tasks_endpoint));
    router->add(p + "/flags", bind(&Master::flags_endpoint));
    router->add(p + "/weights", bind(&Master::weights_endpoint));
    router->add(p + "/quota", bind(&Master::quota_endpoint));
    router->add(p + "/roles", bind(&Master::roles_endpoint));
    router->add(p + "/health", [](const http::Request& request) { return http::make_response(request, http::Status::ok); });
  }
  router->add("/version", bind(&Master::version_endpoint));
  router->add("/metrics/snapshot", bind(&Master::metrics_endpoint));

  server_ = std::make_unique<http::Server>(executor_, router, config_.limits);
  auto port = server_->listen(config_.ip, config_.port);
  if (!port) return port;
  const std::string address_ip = config_.ip == "0.0.0.0" ? "127.0.0.1" : config_.ip;
  core_.set_master_info({{"id", core_.id()},
                         {"ip", packed_ip(address_ip)},
                         {"port", *port},
                         {"pid", fmt::format("master@{}:{}", address_ip, *port)},
                         {"hostname", config_.hostname},
                         {"version", DCOS_VERSION},
                         {"address", {{"hostname", config_.hostname}, {"ip", address_ip}, {"port", *port}}}});
  log::get("master")->info("master started id={} address={}:{}", core_.id(), config_.ip, *port);
  tick_timer_ = clock_.schedule(config_.allocation_interval, [this] { on_tick(); });
  recover_registry();
  return port;
}

void Master::stop() {
  tick_timer_.reset();
  if (server_) server_->stop();
}

void Master::on_tick() {
  core_.tick(clock_.now());
  mark_silent_agents_unreachable();
  deliver();
  tick_timer_ = clock_.schedule(config_.allocation_interval, [this] { on_tick(); });
}

void Master::schedule_allocation() {
  if (allocation_scheduled_ || !core_.allocation_pending()) return;
  allocation_scheduled_ = true;
  // Batched: every change made by the requests already queued is seen by one cycle.
  boost::asio::post(executor_, [this, alive = alive_] {
    if (!*alive) return;
    allocation_scheduled_ = false;
    core_.allocate(clock_.now());
    deliver();
  });
}

void Master::deliver() {
  Effects effects = core_.take_effects();
  if (effects.empty()) return;
  for (Effect& effect : effects) {
    switch (effect.kind) {
      case Effect::Kind::framework_event: {
        auto it = framework_streams_.find(effect.target);
        if (it != framework_streams_.end()) it->second->send(http::recordio_encode(v1::dump(effect.event)));
        break;
      }
      case Effect::Kind::agent_event: {
        auto it = agent_streams_.find(effect.target);
        if (it != agent_streams_.end()) it->second->send(http::recordio_encode(v1::dump(effect.event)));
        break;
      }
      case Effect::Kind::open_framework:
      case Effect::Kind::open_agent: {
        auto& streams = effect.kind == Effect::Kind::open_framework ? framework_streams_ : agent_streams_;
        auto pending = pending_streams_.find(effect.stream);
        if (pending != pending_streams_.end()) {
          streams[effect.target] = pending->second;
          pending_streams_.erase(pending);
        }
        break;
      }
      case Effect::Kind::close_framework:
      case Effect::Kind::close_agent: {
        auto& streams = effect.kind == Effect::Kind::close_framework ? framework_streams_ : agent_streams_;
        auto it = streams.find(effect.target);
        if (it != streams.end()) {
          auto stream = std::move(it->second);
          streams.erase(it);
          stream->close();
        }
        break;
      }
    }
  }
  schedule_allocation();
}

}  // namespace dcos::master
