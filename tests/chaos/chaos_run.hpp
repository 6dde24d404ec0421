#pragma once
// One chaos run: two PostgreSQL 15 clusters (source, subscriber), the dev broker with its
// control port, the real `modsync` binary, a seeded workload and fault schedule, then the
// oracle. docs/testing.md describes it.

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "oracle.hpp"
#include "scenario.hpp"

namespace modsync::chaos {

struct RunOptions {
  uint64_t seed = 1;
  Features features;
  std::set<std::string> faults;    ///< fault kinds enabled (fault_names())
  int duration_s = 45;             ///< how long the workload and the faults run
  int kills = 9;                   ///< SIGKILLs of the daemon in the schedule
  int converge_s = 180;            ///< how long modsync may take to catch up afterwards
  std::string binary;              ///< the modsync executable
  std::filesystem::path keep_dir;  ///< where a failed run's logs are copied
  bool verbose = false;
};

struct RunResult {
  uint64_t seed = 0;
  int kills = 0;
  int faults = 0;           ///< every fault, kills included
  int outages_checked = 0;  ///< server outages /readyz and /metrics were checked to show
  int64_t rows_compared = 0, missing = 0, extra = 0, different = 0, duplicated = 0;
  int64_t kafka_changes = 0, kafka_missing = 0, kafka_extra = 0, kafka_resent = 0;
  int64_t kafka_unverifiable = 0;     ///< changes retention may have dropped (not failed)
  std::vector<std::string> problems;  ///< daemon crashes, unclean stops, …
  bool ok = false;
  std::string summary() const;
};

/// Fault kinds, for --faults.
const std::vector<std::string>& fault_names();

/// Runs one seed; prints progress and, on failure, the seed, the fault schedule and what
/// differed to stdout. Throws only when the fixture itself cannot start.
RunResult run_chaos(const RunOptions& options);

}  // namespace modsync::chaos
