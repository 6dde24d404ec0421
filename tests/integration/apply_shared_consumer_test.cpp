// The fixed cost of a pair on the apply side: the projections of the pairs of one process read
// through shared Kafka consumer clients (one per worker index, each worker from its own queue),
// so the client count does not grow with the pairs, and each projection still gets exactly its
// own topic's changes.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "apply_harness.hpp"
#include "modsync/testing/child_process.hpp"

using namespace std::chrono_literals;
using modsync::itest::ApplyHarness;
using modsync::testing::ChildProcess;

namespace {

/// Threads of `daemon` named `name` (librdkafka names its own rdk:main, rdk:broker…).
size_t threads_named(const ChildProcess& daemon, std::string_view name) {
  size_t n = 0;
  const auto tasks = std::filesystem::path("/proc") / std::to_string(daemon.pid()) / "task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::string got;
    std::getline(std::ifstream(task.path() / "comm"), got);
    n += got == name;
  }
  return n;
}

}  // namespace

TEST_CASE(
    "four sink pairs of two workers each in one process share two consumer clients (one per "
    "worker index), and each projection gets its own table's changes",
    "[integration][apply][clients]") {
  constexpr int kPairs = 4;
  ApplyHarness h({.topics = {{"shop.public.t1", 2},
                             {"shop.public.t2", 2},
                             {"shop.public.t3", 2},
                             {"shop.public.t4", 2}}});
  std::string tables;
  for (int i = 1; i <= kPairs; ++i) {
    h.src(fmt::format("CREATE TABLE t{} (id int PRIMARY KEY, v int NOT NULL)", i));
    h.sub(
        fmt::format("CREATE TABLE t{} (id int PRIMARY KEY, v int, _modsync_lsn pg_lsn, "
                    "_modsync_seq integer)",
                    i));
    tables += fmt::format("{}t{}", i > 1 ? ", " : "", i);
  }
  const auto capture =
      h.write_config("cap", fmt::format("tables: [{}]\nsnapshot: never", tables), "");
  const auto conf = h.dir().path() / "sinks";
  std::filesystem::create_directories(conf);
  for (int i = 1; i <= kPairs; ++i) {
    const auto file =
        h.write_config(fmt::format("s{}", i), "",
                       fmt::format("- from: shop.public.t{}\n  to: t{}", i, i), "workers: 2");
    std::filesystem::rename(file, conf / file.filename());
  }
  auto cap = h.start(capture, {"streaming from slot"});
  ChildProcess sinks = h.start(conf, {"applying into public.t1", "applying into public.t2",
                                      "applying into public.t3", "applying into public.t4"});
  for (int i = 1; i <= kPairs; ++i) {
    // Table i gets 100·i rows, in both partitions, so a change given to the wrong projection
    // shows as a wrong count or sum.
    h.src(fmt::format("INSERT INTO t{} SELECT g, g * {} FROM generate_series(1, {}) g", i, i,
                      100 * i));
    h.src(fmt::format("UPDATE t{} SET v = v + 1 WHERE id % 3 = 0", i));
  }
  for (int i = 1; i <= kPairs; ++i) {
    const std::string q = fmt::format(
        "SELECT count(*), sum(v), md5(string_agg(id || ':' || v, ',' ORDER BY id)) "
        "FROM t{}",
        i);
    h.check_converge({{fmt::format("t{}", i), q, q}}, sinks.describe());
  }
  // Eight consumers (four pairs, two workers each) had eight clients, each with a main thread
  // (nine and more in all); now the workers 0 share one client and the workers 1 another. The
  // others: the sinks' shared producer (dead letters, metadata), and once the lag probes polled,
  // their metadata client and, if a probe found lag while the rows arrived, the probes' shared
  // consumer.
  const size_t mains = threads_named(sinks, "rdk:main");
  INFO(sinks.describe());
  CHECK(mains >= 3);
  CHECK(mains <= 5);
  ApplyHarness::stop(sinks);
  ApplyHarness::stop(cap);
}
