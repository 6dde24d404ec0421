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
  std::string describe() const {
    std::string out = fmt::format("{:6.1f}s {}", at_ms / 1000.0, kind);
    if (!extra.empty())
      out += " (" + extra + ")";
    else if (param)
      out += fmt::format(" ({})", param);
    return out;
  }
};

/// The faults of one run, sorted by time: `kills` kills and about two thirds as many others of
/// the enabled kinds, at uniform moments; with `snapshot-kill` the first kill comes early.
std::vector<Fault> schedule(const RunOptions& o, Rng& rng);

}  // namespace modsync::chaos
