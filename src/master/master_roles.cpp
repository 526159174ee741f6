// MasterCore's operator calls on roles: UPDATE_WEIGHTS and UPDATE_QUOTA. Kept apart from
// master_core.cpp because they touch only the role config, the allocator and offers.
#include <fmt/format.h>

#include "dcos/common/log.hpp"
#include "dcos/master/master_core.hpp"

namespace dcos::master {

namespace {

// Resources' 3-digit precision, so sums of guarantees compare as the allocator counts them.
std::int64_t milli(double value) { return std::llround(value * 1000); }

std::vector<OfferId> offer_ids(const std::map<OfferId, Offer>& offers) {
  std::vector<OfferId> ids;
  for (const auto& [id, offer] : offers) ids.push_back(id);
  return ids;
}

}  // namespace

CallOutcome MasterCore::update_weights(const std::map<std::string, double>& weights) {
  for (const auto& [role, weight] : weights) {
    if (auto problem = weight_problem(role, weight); !problem.empty()) return CallOutcome::bad(problem);
  }
  if (weights.empty()) return CallOutcome::ok();
  auto applied = allocator().update_weights(weights);
  DCOS_ASSERT(applied);  // Validated above with the same rules.
  for (const auto& [role, weight] : weights) role_config_.weights[role] = weight;
  count("master/messages_update_weights");
  log::get("master")->info("weights updated roles={}", weights.size());

  // Offers made under the old weights would keep the old shares until declined.
  bool subscribed = false;
  for (const auto& [id, framework] : frameworks_) {
    for (const auto& role : framework.info.effective_roles()) subscribed = subscribed || weights.contains(role);
  }
  if (subscribed) {
    for (const OfferId& offer : offer_ids(offers_)) rescind_offer(offer, /*recover=*/true);
  }
  return CallOutcome::ok();
}

CallOutcome MasterCore::update_quota(const QuotaConfigs& configs, bool force) {
  std::map<std::string, Quota> next = role_config_.quotas;
  for (const auto& [role, quota] : configs) {
    if (auto problem = quota_problem(role, quota); !problem.empty()) return CallOutcome::bad(problem);
    if (quota.empty()) next.erase(role);
    else next[role] = quota;
  }
  if (!force) {
    // Mesos's capacity heuristic: all guarantees together must fit in what the agents have.
    std::map<std::string, std::int64_t> guaranteed;
    for (const auto& [role, quota] : next) {
      for (const auto& [name, value] : quota.guarantees) guaranteed[name] += milli(value);
    }
    Resources total;
    for (const auto& [id, agent] : agents_) total += agent.total;
    for (const auto& [name, amount] : guaranteed) {
      const std::int64_t capacity = milli(total.scalar(name));
      if (amount > capacity) {
        return CallOutcome::bad(fmt::format(
            "Invalid QuotaConfig: total quota guarantees '{}:{}' exceed cluster capacity '{}:{}' (set 'force' to "
            "override)",
            name, amount / 1000.0, name, capacity / 1000.0));
      }
    }
  }
  for (const auto& [role, quota] : configs) {
    auto applied = allocator().update_quota(role, quota);
    DCOS_ASSERT(applied);  // Validated above with the same rules.
  }
  role_config_.quotas = std::move(next);
  count("master/messages_update_quota");
  log::get("master")->info("quota updated roles={}", configs.size());
  // Offers out now may exceed a lowered limit or hold what a new guarantee needs: take them back
  // and let the next cycle allocate under the new quota.
  for (const OfferId& offer : offer_ids(offers_)) rescind_offer(offer, /*recover=*/true);
  return CallOutcome::ok();
}

void MasterCore::restore_role_config(const RoleConfig& config) {
  // Weights cannot be unset, only set back to 1: a fresh core (recovery) has none to unset.
  if (!config.weights.empty()) {
    auto applied = allocator().update_weights(config.weights);
    DCOS_ASSERT(applied);
  }
  for (const auto& [role, quota] : role_config_.quotas) {
    if (!config.quotas.contains(role)) DCOS_ASSERT(allocator().update_quota(role, Quota{}));
  }
  for (const auto& [role, quota] : config.quotas) DCOS_ASSERT(allocator().update_quota(role, quota));
  role_config_ = config;
}

}  // namespace dcos::master
