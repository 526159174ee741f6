#pragma once
// The master's registry: what a master must not forget across a failover (Mesos's
// `src/master/registry.proto`), and the operations that change it. Pure data and functions; the
// `Registrar` (registrar.hpp) keeps it in a `State<Registry>` variable and applies operations in
// batches. Format and batching: docs/design/state.md, "The master's registry".
//
// Invariant: an agent id is in at most one of `agents`, `unreachable` and `gone`. `apply` keeps
// it: every operation either changes the registry as described or refuses with an error and
// changes nothing.
//
// Frameworks and tasks are not here: a new master rebuilds them from re-registering agents and
// re-subscribing schedulers, as Mesos does.

#include <map>
#include <set>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "dcos/allocator/allocator.hpp"
#include "dcos/common/clock.hpp"
#include "dcos/common/ids.hpp"
#include "dcos/common/result.hpp"

namespace dcos::master {

struct Registry {
  nlohmann::json master_info = nlohmann::json::object();  // Of the master that recovered it last.
  std::map<AgentId, nlohmann::json> agents;               // Admitted: v1 `AgentInfo` by id.
  std::map<AgentId, TimePoint> unreachable;               // Marked unreachable, and when.
  std::map<AgentId, TimePoint> gone;                      // Marked gone (for good), and when.
  std::map<std::string, double> weights;                  // Role -> weight; absent roles weigh 1.
  std::map<std::string, Quota> quota;                     // Role -> quota; never empty quotas.
  // TODO(#5): maintenance schedules and machine modes; kept verbatim until the master has them.
  nlohmann::json maintenance = nlohmann::json::object();

  bool operator==(const Registry&) const = default;
};

// Stored as JSON (`{"format":1,"master":...,"agents":[...],...}`); `from_json` throws
// `nlohmann::json::exception` on anything else, which `State` reports as `Errc::corruption`.
void to_json(nlohmann::json& j, const Registry& registry);
void from_json(const nlohmann::json& j, Registry& registry);

// ---- Operations (Mesos's `RegistryOperation`s) ----

// Admits a new agent. Refused when the id is admitted, unreachable or gone already.
struct AdmitAgent {
  AgentId id;
  nlohmann::json info;  // v1 `AgentInfo`.
};
// Moves an admitted agent to `unreachable`. Refused when the agent is not admitted.
struct MarkUnreachable {
  AgentId id;
  TimePoint time;
};
// An unreachable agent came back: moves it to `agents` with its current info. No change when it
// is admitted already; refused when it is gone or was never admitted.
struct MarkReachable {
  AgentId id;
  nlohmann::json info;
};
// Moves an admitted or unreachable agent to `gone`. No change when it is gone already; refused
// when the id is unknown.
struct MarkGone {
  AgentId id;
  TimePoint time;
};
// Forgets unreachable and gone agents (garbage collection of the lists). Ids not in the
// respective list are ignored.
struct Prune {
  std::set<AgentId> unreachable;
  std::set<AgentId> gone;
};
// Sets roles' weights; a weight of 1 removes the entry (1 is the default). Refused when a
// weight is not positive and finite.
struct UpdateWeights {
  std::map<std::string, double> weights;
};
// Replaces roles' quotas; an empty quota removes the role's entry.
struct UpdateQuota {
  std::map<std::string, Quota> quotas;
};

using RegistryOperation =
    std::variant<AdmitAgent, MarkUnreachable, MarkReachable, MarkGone, Prune, UpdateWeights, UpdateQuota>;

// Registry garbage collection (Mesos's `--registry_max_agent_age` and
// `--registry_max_agent_count`): the unreachable and gone agents marked longer than `max_age`
// before `now`, and beyond that the oldest marks until at most `max_count` of each list remain.
Prune prune_plan(const Registry& registry, TimePoint now, Duration max_age, std::size_t max_count);

// Applies `operation` to `registry`: true when it changed it, false when there was nothing to
// change; an error (`Errc::conflict`, `Errc::not_found` or `Errc::invalid_argument`), leaving
// `registry` as it was, when the operation is refused.
Result<bool> apply(Registry& registry, const RegistryOperation& operation);

// "admit agent=S1" and the like, for logs and error messages.
std::string describe(const RegistryOperation& operation);

}  // namespace dcos::master
