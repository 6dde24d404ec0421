// What the daemon says while things fail, and after: a sink PostgreSQL stopped, the broker
// paused (SIGSTOP) and, meanwhile, the replication slot invalidated by max_slot_wal_keep_size.
// Each outage must show in the lag, the state, /readyz, a log line and the metrics, and clear
// (errors gone, a "recovered" line) once it is over (issue 9).

#include <signal.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include "modsync/testing/child_process.hpp"
#include "modsync/testing/dev_broker_process.hpp"
#include "modsync/testing/eventually.hpp"
#include "modsync/testing/modsync_binary.hpp"
#include "modsync/testing/pg_cluster.hpp"
#include "modsync/testing/temp_dir.hpp"

using namespace std::chrono_literals;
using Catch::Contains;
using modsync::testing::ChildProcess;
using modsync::testing::eventually;
using modsync::testing::PgCluster;

namespace {

const std::string kCapture = "pair=\"outage\",module=\"shop\"";
const std::string kApply = "pair=\"outage\",projection=\"public.items_copy\"";

struct Http {
  int port;

  /// (status, body); status 0 when the daemon did not answer.
  std::pair<int, std::string> get(const std::string& path) const {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(5, 0);
    auto res = client.Get(path.c_str());
    if (!res) return {0, ""};
    return {res->status, res->body};
  }

  /// The value of one metric series, e.g. series("modsync_apply_caught_up{" + kApply + "}").
  std::optional<double> series(const std::string& name_and_labels) const {
    const std::string text = get("/metrics").second;
    const std::string prefix = name_and_labels + " ";
    for (size_t at = 0; at < text.size();) {
      const size_t end = text.find('\n', at);
      const std::string line = text.substr(at, end - at);
      if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(prefix.size()));
      if (end == std::string::npos) break;
      at = end + 1;
    }
    return std::nullopt;
  }

  /// The /status object of the capture (projection == "") or of a projection.
  rapidjson::Document pipeline(const std::string& projection = "") const {
    rapidjson::Document all;
    all.Parse(get("/status").second.c_str());
    rapidjson::Document out;
    out.SetObject();
    if (all.HasParseError() || !all.IsObject() || !all.HasMember("pairs")) return out;
    for (auto& p : all["pairs"].GetArray()) {
      const bool is_capture = p.HasMember("module");
      const bool match = projection.empty()
                             ? is_capture
                             : !is_capture && p["projection"].GetString() == projection;
      if (match) out.CopyFrom(p, out.GetAllocator());
    }
    return out;
  }
};

std::string str(const rapidjson::Value& o, const char* key) {
  return o.IsObject() && o.HasMember(key) && o[key].IsString() ? o[key].GetString() : "";
}
int64_t num(const rapidjson::Value& o, const char* key) {
  return o.IsObject() && o.HasMember(key) && o[key].IsInt64() ? o[key].GetInt64() : -999;
}
bool flag(const rapidjson::Value& o, const char* key) {
  return o.IsObject() && o.HasMember(key) && o[key].IsBool() && o[key].GetBool();
}

int status_exit(const std::string& config) {
  return modsync::testing::run_command(
             {modsync::testing::modsync_binary(), "status", "--config", config}, {}, 30s)
      .status;
}

}  // namespace

TEST_CASE("an outage shows in lag, state, readiness, logs and metrics, and clears after",
          "[integration][outage]") {
  modsync::testing::TempDir dir("modsync-outage");
  // Little WAL may be kept for a lagging slot, so a stalled capture loses its slot quickly.
  PgCluster src(PgCluster::Options{{{"max_slot_wal_keep_size", "32MB"}, {"wal_keep_size", "0"}}});
  PgCluster sink;
  src.create_database("shop");
  sink.create_database("ship");
  src.exec("shop",
           "CREATE TABLE items (id int PRIMARY KEY, v text);"
           "CREATE TABLE filler (id int, pad text);"  // not published: WAL only
           "INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 10) g");
  modsync::testing::DevBrokerProcess::Options broker_options;
  broker_options.binary = modsync::testing::modsync_binary();
  modsync::testing::DevBrokerProcess broker(broker_options);

  const Http http{modsync::testing::free_port()};
  const auto config = dir / "outage.yaml";
  std::ofstream(config) << fmt::format(
      "daemon:\n"
      "  id: outage\n"
      "  state_dir: \"{}\"\n"
      "  http: {{ listen: \"127.0.0.1:{}\" }}\n"
      "  shutdown_timeout: 10s\n"
      "kafka:\n"
      "  brokers: \"{}\"\n"
      "  stall_timeout: 3s\n"
      "source:\n"
      "  module: shop\n"
      "  dsn: \"{}\"\n"
      "  tables: [items]\n"
      "  heartbeat_interval: 1s\n"
      "sink:\n"
      "  module: ship\n"
      "  dsn: \"{}\"\n"
      "  projections:\n"
      "    - from: shop.public.items\n"
      "      to: public.items_copy\n"
      "      create_table: true\n",
      (dir / "state").string(), http.port, broker.bootstrap(), src.dsn("shop"), sink.dsn("ship"));
  ChildProcess daemon({modsync::testing::modsync_binary(), "run", "--config", config.string()});
  // The daemon's log, printed when a REQUIRE or the last check failed (INFO would capture it
  // here, empty).
  struct PrintLogOnFailure {
    ChildProcess& daemon;
    ~PrintLogOnFailure() {
      if (std::uncaught_exceptions() == 0 && Catch::getResultCapture().lastAssertionPassed())
        return;
      std::fprintf(stderr, "daemon log:\n%s\n", daemon.stderr_text().c_str());
    }
  } print_log{daemon};

  auto copy_count = [&] {
    try {
      return sink.query_value("ship", "SELECT count(*) FROM items_copy");
    } catch (const std::exception&) {
      return std::string("?");
    }
  };
  auto caught_up = [&] {
    const auto p = http.pipeline("public.items_copy");
    return flag(p, "caught_up") && num(p, "lag_ms") == 0 && num(p, "lag_events") == 0;
  };
  REQUIRE(eventually([&] { return copy_count() == "10"; }, 60s));
  REQUIRE(eventually(caught_up, 20s));
  REQUIRE(http.get("/readyz").first == 200);
  // Each pair's walsender is named after it.
  CHECK(src.query_value("postgres",
                        "SELECT string_agg(application_name, ',') FROM "
                        "pg_stat_replication") == "modsync-outage");
  CHECK(status_exit(config.string()) == 0);
  // With nothing written, heartbeats (every second here) still move the capture's source time.
  const std::string commit_ts = "modsync_last_commit_timestamp_seconds{" + kCapture + "}";
  const double idle_ts = http.series(commit_ts).value_or(0);
  CHECK(eventually([&] { return http.series(commit_ts).value_or(0) > idle_ts + 1; }, 10s));

  // ---- the sink is down: the projection falls behind, visibly, and catches up after -------
  sink.stop();
  src.exec("shop",
           "INSERT INTO items SELECT g, 'during the sink outage' FROM "
           "generate_series(11, 15) g");
  REQUIRE(eventually([&] { return str(http.pipeline("public.items_copy"), "state") == "retrying"; },
                     30s));
  REQUIRE(eventually([&] { return num(http.pipeline("public.items_copy"), "lag_ms") > 0; }, 10s));
  const int64_t lag_before = num(http.pipeline("public.items_copy"), "lag_ms");
  std::this_thread::sleep_for(2500ms);
  {
    const auto p = http.pipeline("public.items_copy");
    CHECK(num(p, "lag_ms") >= lag_before + 1500);  // the lag grows through the outage
    CHECK(num(p, "lag_events") == 5);
    CHECK_FALSE(flag(p, "caught_up"));
    CHECK_THAT(str(p, "last_error"), Contains("sink ship"));
    CHECK(num(p, "last_error_unix_ms") > 0);
  }
  {
    const auto [code, body] = http.get("/readyz");
    CHECK(code == 503);
    CHECK_THAT(body, Contains("pair outage projection public.items_copy: retrying"));
  }
  CHECK(http.series("modsync_apply_state{" + kApply + ",state=\"retrying\"}") == 1);
  CHECK(http.series("modsync_apply_caught_up{" + kApply + "}") == 0);
  CHECK(http.series("modsync_apply_lag_events{" + kApply + "}") == 5);
  CHECK(http.series("modsync_apply_lag_seconds{" + kApply + "}").value_or(0) > 1.5);
  CHECK(http.series("modsync_apply_last_error_timestamp_seconds{" + kApply + "}").value_or(0) > 0);
  CHECK(daemon.wait_for_output("apply retrying (transient", 1s));
  // Which pipeline said it is in fields, not only in the prose.
  CHECK_THAT(daemon.stderr_text(),
             Contains("pair=outage module=ship table=public.items_copy topic=shop.public.items"));
  CHECK(status_exit(config.string()) == 4);

  auto count = [&](const std::string& what) {
    const std::string text = daemon.stderr_text();
    size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  const size_t apply_recoveries = count("apply recovered after");
  sink.start();
  REQUIRE(eventually([&] { return count("apply recovered after") > apply_recoveries; }, 60s));
  REQUIRE(eventually([&] { return copy_count() == "15"; }, 30s));
  REQUIRE(eventually(caught_up, 20s));
  CHECK(str(http.pipeline("public.items_copy"), "last_error").empty());
  CHECK(http.series("modsync_apply_last_error_timestamp_seconds{" + kApply + "}") == 0);
  REQUIRE(eventually([&] { return http.get("/readyz").first == 200; }, 10s));

  // ---- the broker stalls, and meanwhile the slot is lost -----------------------------------
  broker.process().signal(SIGSTOP);
  src.exec("shop", "INSERT INTO items VALUES (16, 'while the broker is paused')");
  REQUIRE(eventually([&] { return flag(http.pipeline(), "stalled"); }, 20s));
  REQUIRE(eventually([&] { return flag(http.pipeline("public.items_copy"), "stalled"); }, 20s));
  {
    const auto c = http.pipeline();
    CHECK(str(c, "state") == "stalled");
    CHECK(num(c, "delivery_stall_ms") >= 3000);
    const auto [code, body] = http.get("/readyz");
    CHECK(code == 503);
    CHECK_THAT(body, Contains("pair outage: capture stalled: "));
    CHECK_THAT(body, Contains("pair outage projection public.items_copy: stalled: Kafka has not "
                              "answered"));
  }
  CHECK(http.series("modsync_kafka_delivery_stalled{" + kCapture + "}") == 1);
  CHECK(http.series("modsync_capture_state{" + kCapture + ",state=\"stalled\"}") == 1);
  CHECK(http.series("modsync_kafka_fetch_stalled{" + kApply + "}") == 1);
  CHECK(http.series("modsync_apply_state{" + kApply + ",state=\"stalled\"}") == 1);
  CHECK(daemon.wait_for_output("event(s) have waited", 5s));
  CHECK(daemon.wait_for_output("the projection cannot fetch new events", 5s));
  const int64_t stalled_lag = num(http.pipeline("public.items_copy"), "lag_ms");
  CHECK(stalled_lag > 0);
  CHECK(status_exit(config.string()) == 4);

  // The unacknowledged event holds the slot back while WAL grows past max_slot_wal_keep_size.
  for (int round = 0; round < 6 && src.query_value("postgres",
                                                   "SELECT wal_status FROM pg_replication_slots "
                                                   "WHERE slot_name = 'modsync_outage'") != "lost";
       ++round) {
    src.exec(
        "shop",
        "INSERT INTO filler SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, 40000) g;"
        "SELECT pg_switch_wal(); CHECKPOINT;");
  }
  REQUIRE(src.query_value("postgres",
                          "SELECT wal_status FROM pg_replication_slots WHERE "
                          "slot_name = 'modsync_outage'") == "lost");
  REQUIRE(eventually(
      [&] {
        return http.series("modsync_slot_wal_status{" + kCapture + ",wal_status=\"lost\"}") == 1;
      },
      15s));
  CHECK(http.series("modsync_slot_wal_status{" + kCapture + ",wal_status=\"reserved\"}") == 0);
  CHECK(http.series("modsync_source_lag_bytes{" + kCapture + "}").value_or(0) > 32.0 * 1024 * 1024);
  {
    const auto c = http.pipeline();
    CHECK(str(c, "wal_status") == "lost");
    CHECK(str(c, "confirmed_lsn") != "0/0");
    CHECK(num(c, "lag_bytes") > 32 * 1024 * 1024);
  }
  CHECK(daemon.wait_for_output("replication slot modsync_outage is lost", 10s));
  CHECK_THAT(daemon.stderr_text(), Contains("pair=outage module=shop slot=modsync_outage lsn=0/"));
  CHECK(num(http.pipeline("public.items_copy"), "lag_ms") > stalled_lag);  // still growing

  broker.process().signal(SIGCONT);
  // The capture cannot resume on a lost slot: failed, with the fix; the projection fetches again.
  REQUIRE(eventually([&] { return str(http.pipeline(), "state") == "failed"; }, 60s));
  CHECK_THAT(str(http.pipeline(), "last_error"), Contains("modsync slots drop"));
  REQUIRE(eventually([&] { return !flag(http.pipeline("public.items_copy"), "stalled"); }, 20s));
  CHECK(daemon.wait_for_output("Kafka stall over: topic shop.public.items answers again", 5s));
  CHECK(http.series("modsync_kafka_fetch_stalled{" + kApply + "}") == 0);
  CHECK(status_exit(config.string()) == 4);
  {
    // Offline `status` must not call a lost slot's WAL "unlimited".
    const auto slots =
        modsync::testing::run_command({modsync::testing::modsync_binary(), "status", "--config",
                                       config.string(), "--url", "http://127.0.0.1:1"},
                                      {}, 30s);
    CHECK_THAT(slots.out, Contains("wal_status lost"));
    CHECK_THAT(slots.out, !Contains("safe_wal_size unlimited"));
  }

  // The runbook's fix: drop the slot; the capture makes a new one and snapshots again.
  const size_t capture_recoveries = count("capture recovered after");
  const auto drop =
      modsync::testing::run_command({modsync::testing::modsync_binary(), "slots", "drop",
                                     "--config", config.string(), "modsync_outage", "--yes"},
                                    {}, 30s);
  REQUIRE(drop.status == 0);
  REQUIRE(eventually([&] { return count("capture recovered after") > capture_recoveries; }, 90s));
  REQUIRE(eventually([&] { return copy_count() == "16"; }, 30s));
  REQUIRE(eventually(caught_up, 20s));
  REQUIRE(eventually([&] { return http.get("/readyz").first == 200; }, 20s));
  REQUIRE(eventually(
      [&] {
        return http.series("modsync_slot_wal_status{" + kCapture + ",wal_status=\"reserved\"}") ==
               1;
      },
      15s));
  const auto c = http.pipeline();
  CHECK(str(c, "state") == "streaming");
  CHECK(str(c, "last_error").empty());
  CHECK_FALSE(flag(c, "stalled"));
  CHECK(http.series("modsync_kafka_delivery_stalled{" + kCapture + "}") == 0);
  CHECK(http.series("modsync_capture_last_error_timestamp_seconds{" + kCapture + "}") == 0);
  CHECK(status_exit(config.string()) == 0);

  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
}
