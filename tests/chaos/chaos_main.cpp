// `chaos_test`: the randomized differential test with crash and fault injection
// (docs/testing.md). Runs one or more seeds against the real modsync binary and exits 1 when
// any run found a difference.
//
//   chaos_test [--seed N] [--runs K | --minutes M] [--duration S] [--kills K]
//              [--features LIST|all|none] [--faults LIST|all] [--keep DIR] [--verbose]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "chaos_run.hpp"
#include "modsync/testing/modsync_binary.hpp"

int main(int argc, char** argv) {
  using namespace modsync::chaos;
  RunOptions o;
  o.features = Features::parse("all");
  o.faults = {fault_names().begin(), fault_names().end()};
  std::optional<uint64_t> seed;
  int runs = 1;
  double minutes = 0;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error("flag " + flag + " needs a value");
        return argv[++i];
      };
      if (flag == "--seed") {
        const std::string v = value();
        if (!v.empty()) seed = std::stoull(v);
      } else if (flag == "--runs") {
        runs = std::stoi(value());
      } else if (flag == "--minutes") {
        const std::string v = value();
        minutes = v.empty() ? 0 : std::stod(v);
      } else if (flag == "--duration") {
        o.duration_s = std::stoi(value());
      } else if (flag == "--kills") {
        o.kills = std::stoi(value());
      } else if (flag == "--converge") {
        o.converge_s = std::stoi(value());
      } else if (flag == "--features") {
        o.features = Features::parse(value());
      } else if (flag == "--faults") {
        const std::string v = value();
        o.faults.clear();
        if (v == "all") {
          o.faults = {fault_names().begin(), fault_names().end()};
        } else {
          std::stringstream in(v);
          for (std::string f; std::getline(in, f, ',');) {
            if (f.empty()) continue;
            if (std::find(fault_names().begin(), fault_names().end(), f) == fault_names().end()) {
              std::string known;
              for (const auto& n : fault_names()) known += (known.empty() ? "" : ", ") + n;
              throw std::runtime_error("unknown fault '" + f +
                                       "'. Fix: use all or a list of: " + known);
            }
            o.faults.insert(f);
          }
        }
      } else if (flag == "--keep") {
        o.keep_dir = value();
      } else if (flag == "--verbose") {
        o.verbose = true;
      } else {
        throw std::runtime_error("unknown flag " + flag +
                                 ". Fix: see the usage at the top of tests/chaos/chaos_main.cpp "
                                 "or docs/testing.md");
      }
    }
    if (o.duration_s < 5) throw std::runtime_error("--duration must be at least 5 seconds");
    o.binary = modsync::testing::modsync_binary();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chaos_test: %s\n", e.what());
    return 2;
  }
  if (!seed) seed = std::random_device{}() % 1000000;
  const auto start = std::chrono::steady_clock::now();
  std::vector<RunResult> results;
  for (int run = 0;; ++run) {
    if (minutes > 0) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
      // A run takes about duration + a minute of set-up and catching up.
      if (run > 0 && elapsed + (o.duration_s + 60) / 60.0 > minutes) break;
    } else if (run >= runs) {
      break;
    }
    o.seed = *seed + static_cast<uint64_t>(run);
    try {
      results.push_back(run_chaos(o));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "chaos_test: seed %llu: the fixture failed: %s\n",
                   static_cast<unsigned long long>(o.seed), e.what());
      RunResult r;
      r.seed = o.seed;
      r.problems.push_back(e.what());
      results.push_back(r);
    }
  }
  int failed = 0, kills = 0, faults = 0, outages = 0;
  int64_t rows = 0, missing = 0, extra = 0, duplicated = 0, different = 0;
  fmt::print("\n=== chaos: {} run(s), features {} ===\n", results.size(), o.features.to_string());
  for (const auto& r : results) {
    fmt::print("{}\n", r.summary());
    failed += !r.ok;
    kills += r.kills;
    faults += r.faults;
    outages += r.outages_checked;
    rows += r.rows_compared;
    missing += r.missing;
    extra += r.extra;
    duplicated += r.duplicated;
    different += r.different;
  }
  fmt::print(
      "total: runs={} failed={} kills={} faults={} outages_shown={} rows_compared={} missing={} "
      "extra={} different={} duplicated={}\n",
      results.size(), failed, kills, faults, outages, rows, missing, extra, different, duplicated);
  return failed ? 1 : 0;
}
