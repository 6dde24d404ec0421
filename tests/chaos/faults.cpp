#include "faults.hpp"

#include <algorithm>
#include <utility>

namespace modsync::chaos {
namespace {

const std::vector<std::string> kFaults = {"kill",         "term",          "hup",
                                          "broker-pause", "broker-errors", "broker-down",
                                          "sub-restart",  "src-restart",   "conn-cut"};

}  // namespace

const std::vector<std::string>& fault_names() {
  return kFaults;
}

std::vector<Fault> schedule(const RunOptions& o, int replicas, Rng& rng) {
  std::vector<std::string> others;
  for (const auto& f : kFaults)
    if (f != "kill" && o.faults.count(f)) others.push_back(f);
  const int kills = o.faults.count("kill") ? o.kills : 0;
  const int n_other = others.empty() ? 0 : std::max(3, o.kills * 2 / 3);
  std::vector<Fault> out;
  const int end = o.duration_s * 1000;
  for (int i = 0; i < kills + n_other; ++i) {
    Fault f;
    f.at_ms = uniform(rng, 500, end - 500);
    f.kind =
        i < kills
            ? "kill"
            : others[static_cast<size_t>(uniform(rng, 0, static_cast<int>(others.size()) - 1))];
    if (f.kind == "kill") f.param = uniform(rng, 0, 1000);  // ms until the restart
    if (f.kind == "broker-pause" || f.kind == "broker-down") f.param = uniform(rng, 500, 3000);
    if (f.kind == "sub-restart" || f.kind == "src-restart")
      f.param = uniform(rng, 0, 1);  // immediate?
    if (f.kind == "broker-errors") {
      static const std::vector<std::pair<std::string, std::vector<std::string>>> kErrors = {
          {"Produce", {"NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS"}},
          {"Fetch", {"NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT"}},
          {"OffsetCommit",
           {"REQUEST_TIMED_OUT", "NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS"}},
          {"FindCoordinator", {"COORDINATOR_NOT_AVAILABLE"}},
      };
      const auto& [api, errors] = kErrors[static_cast<size_t>(uniform(rng, 0, 3))];
      f.extra = "request-errors " + api;
      const int n = uniform(rng, 1, 10);
      for (int e = 0; e < n; ++e)
        f.extra +=
            " " + errors[static_cast<size_t>(uniform(rng, 0, static_cast<int>(errors.size()) - 1))];
    }
    out.push_back(f);
  }
  if (o.features.has("snapshot-kill") && kills > 0) {
    // One kill early, while the initial snapshot still runs.
    out[0].at_ms = uniform(rng, 100, 1200);
  }
  std::sort(out.begin(), out.end(),
            [](const Fault& a, const Fault& b) { return a.at_ms < b.at_ms; });
  // Drawn last, so a seed's schedule without several processes stays as it was.
  if (replicas > 0) {
    for (auto& f : out) {
      if (f.kind != "kill" && f.kind != "term" && f.kind != "hup") continue;
      f.target = uniform(rng, 0, replicas);
      if (f.kind == "term" && !o.features.has("replica-term")) f.target = 0;
      f.who = f.target == 0 ? "capture" : fmt::format("apply-{}", f.target);
      if (f.kind == "kill" && f.target > 0 && chance(rng, 0.5))
        f.param = uniform(rng, kReplicaSessionTimeoutMs + 1000, kReplicaSessionTimeoutMs + 5000);
    }
  }
  return out;
}

}  // namespace modsync::chaos
