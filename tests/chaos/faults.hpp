#pragma once
// The chaos test's fault schedule: what happens when, drawn from the seed (docs/testing.md).

#include <string>
#include <vector>

#include <fmt/format.h>

#include "chaos_run.hpp"
#include "scenario.hpp"

namespace modsync::chaos {

struct Fault {
  int at_ms = 0;
  std::string kind;
  int param = 0;      ///< a duration in ms, a count, or a mode
  std::string extra;  ///< control command for broker-errors
  /// With several processes, the daemon a kill, term or hup hits: 0 the capture, 1… a replica.
  /// Without, 0: the only daemon.
  int target = 0;
  std::string who;  ///< the target's name with several processes ("" otherwise)
  std::string describe() const {
    std::string out = fmt::format("{:6.1f}s {}", at_ms / 1000.0, kind);
    if (!who.empty()) out += " " + who;
    if (!extra.empty())
      out += " (" + extra + ")";
    else if (param)
      out += fmt::format(" ({})", param);
    return out;
  }
};

/// The faults of one run, sorted by time: `kills` kills and about two thirds as many others of
/// the enabled kinds, at uniform moments; with `snapshot-kill` the first kill comes early. With
/// `replicas` apply processes (Scenario::apply_replicas) each kill, term and hup hits the capture
/// or one replica, and half the replica kills keep it down past its session timeout (7–11 s,
/// restarted meanwhile by the run) so the others take its partitions over.
std::vector<Fault> schedule(const RunOptions& o, int replicas, Rng& rng);

/// The session timeout of the replicas' consumers (kafka.properties), below their long downs.
inline constexpr int kReplicaSessionTimeoutMs = 6000;

}  // namespace modsync::chaos
