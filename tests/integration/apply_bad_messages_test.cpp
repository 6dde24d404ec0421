// The message cases of the bad-input catalogue (docs/troubleshooting.md): records on a
// projection's topic that are truncated, NUL-bearing or oversized, a string the sink cannot
// store, and a projection whose topic nothing writes. Each bad record is dead-lettered once with
// the reason, every good one is applied, and the daemon keeps going.

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <string>

#include <fmt/format.h>

#include "apply_harness.hpp"
#include "modsync/testing/child_process.hpp"

using namespace std::chrono_literals;
using Catch::Contains;
using modsync::itest::ApplyHarness;
using modsync::itest::header;

namespace {

/// Produces `value` (any bytes) as one record with `key` on partition 0 of `topic`.
void produce(ApplyHarness& h, const std::string& topic, const std::string& key,
             const std::string& value) {
  static int n = 0;
  const auto file = h.dir() / fmt::format("record-{}", n++);
  std::ofstream(file, std::ios::binary) << value;
  const auto result = modsync::testing::run_command(
      {"kcat", "-P", "-b", h.broker().bootstrap(), "-t", topic, "-p", "0", "-k", key,
       "-X", "message.max.bytes=10000000", file.string()});
  INFO(result.err);
  REQUIRE(result.status == 0);
}

/// `event` with the first occurrence of `from` replaced by `to`.
std::string replaced(std::string event, const std::string& from, const std::string& to) {
  const auto at = event.find(from);
  REQUIRE(at != std::string::npos);
  return event.replace(at, from.size(), to);
}

constexpr const char* kSame = "SELECT id, name FROM items WHERE id <= 20 ORDER BY id";

/// items (id, name) on both sides and a capture of it, holding rows 1 to 10.
modsync::testing::ChildProcess start_capture(ApplyHarness& h) {
  h.src("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)");
  h.sub("CREATE TABLE items (id int PRIMARY KEY, name text, _modsync_lsn pg_lsn, "
        "_modsync_seq integer)");
  auto capture = h.start(h.write_config("cap", "tables: [items]\nsnapshot: never", ""),
                         {"streaming from slot"});
  h.src("INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 10) g");
  return capture;
}

/// The value of the create event of row 5, as capture wrote it: a template for made-up events.
std::string event_of_row_5(ApplyHarness& h) {
  const auto events =
      modsync::testing::kcat_consume(h.broker().bootstrap(), "shop.public.items", 10);
  REQUIRE(events.size() == 10);
  for (const auto& e : events) {
    if (e.key == "{\"id\":5}") return e.value;
  }
  FAIL("no event for row 5");
  return {};
}

}  // namespace

TEST_CASE("truncated, NUL-bearing and oversized records: bad ones dead-lettered, the rest apply",
          "[integration][apply][dlq][bad-input]") {
  ApplyHarness h;
  auto capture = start_capture(h);
  const std::string sample = event_of_row_5(h);

  const std::string topic = "shop.public.items";
  produce(h, topic, "truncated", sample.substr(0, sample.size() / 2));
  produce(h, topic, "nul", std::string("{\"op\":\"c\",\0\"after\":{}}", 22));
  // 3 MiB in one valid event for a new row: larger than Kafka's default message size, and
  // nothing in modsync limits it, so it must be applied, not lost.
  const std::string big(3 << 20, 'x');
  produce(h, topic, "{\"id\":50}",
          replaced(replaced(sample, "\"id\":5,", "\"id\":50,"), "\"n5\"", "\"" + big + "\""));
  h.src("INSERT INTO items SELECT g, 'n' || g FROM generate_series(11, 20) g");

  auto sink = h.start(h.write_config("app", "", "- from: shop.public.items\n  to: items"),
                      {"applying into"});
  bool same = h.converges(kSame, kSame);
  INFO(h.last_difference() << sink.describe());
  CHECK(same);
  CHECK(h.sub_value("SELECT length(name) FROM items WHERE id = 50") == std::to_string(big.size()));

  const auto letters = h.dead_letters("app", 2);
  std::map<std::string, std::string> error_by_key;
  for (const auto& m : letters) {
    error_by_key[m.key.value_or("<null>")] += header(m, "modsync.dlq.error").value_or("<none>");
  }
  CHECK(letters.size() == 2);
  CHECK_THAT(error_by_key["truncated"], Contains("not a JSON object"));
  CHECK_THAT(error_by_key["nul"], Contains("not a JSON object"));

  // Later changes still apply.
  h.src("UPDATE items SET name = 'again' WHERE id = 3");
  same = h.converges(kSame, kSame);
  INFO(h.last_difference());
  CHECK(same);
  ApplyHarness::stop(sink);
  ApplyHarness::stop(capture);
}

// Issue 7, defect 12: a JSON string holding \u0000 becomes a NUL byte in the COPY data, which
// PostgreSQL rejects (22021); the batch is narrowed down to that one event, dead-lettered.
TEST_CASE("a string holding U+0000 is dead-lettered alone and the rest apply",
          "[integration][apply][dlq][bad-input]") {
  ApplyHarness h;
  auto capture = start_capture(h);
  const std::string sample = event_of_row_5(h);
  produce(h, "shop.public.items", "{\"id\":60}",
          replaced(replaced(sample, "\"id\":5,", "\"id\":60,"), "\"n5\"", "\"a\\u0000b\""));
  h.src("INSERT INTO items SELECT g, 'n' || g FROM generate_series(11, 20) g");

  auto sink = h.start(h.write_config("app", "", "- from: shop.public.items\n  to: items"),
                      {"applying into"});
  const bool same = h.converges(kSame, kSame, 10s);
  INFO(h.last_difference() << sink.describe());
  CHECK(same);
  const auto letters = h.dead_letters("app", 1, 3s);
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].key == "{\"id\":60}");
  sink.kill();
  capture.kill();
}

TEST_CASE("a projection whose topic does not exist yet says so and applies once it appears",
          "[integration][apply][bad-input]") {
  ApplyHarness h;
  h.src("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)");
  h.sub("CREATE TABLE items (id int PRIMARY KEY, name text, _modsync_lsn pg_lsn, "
        "_modsync_seq integer)");
  // The sink starts first: nothing has written shop.public.items or its schema yet. (The dev
  // broker creates a topic on first mention; a broker without auto-creation makes the sink
  // retry "waiting for topic …" instead.)
  auto sink = h.start(h.write_config("app", "", "- from: shop.public.items\n  to: items"));
  const bool said = sink.wait_for_output(
      "the schema of shop.public.items is not on modsync.schemas yet", 20s);
  INFO(sink.describe());
  CHECK(said);
  h.src("INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 20) g");
  auto capture = h.start(h.write_config("cap", "tables: [items]", ""), {"streaming from slot"});
  h.src("INSERT INTO items SELECT g, 'n' || g FROM generate_series(21, 40) g");
  const bool same = h.converges("SELECT id, name FROM items ORDER BY id",
                                "SELECT id, name FROM items ORDER BY id");
  INFO(h.last_difference() << sink.describe());
  CHECK(same);
  ApplyHarness::stop(sink);
  ApplyHarness::stop(capture);
}
