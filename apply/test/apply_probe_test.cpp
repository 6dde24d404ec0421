#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "modsync/apply/apply_probe.hpp"

using modsync::now_unix_ms;
using modsync::apply::ApplyLag;
using modsync::apply::ApplyLagView;
using modsync::apply::ApplyProbe;
using modsync::apply::ApplyStats;
using modsync::apply::PartitionLag;
using modsync::kafka::Offset;
using modsync::kafka::Partition;
using modsync::observability::MetricsWriter;
using State = ApplyStats::State;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

const std::string kLabels = "pair=\"p\",projection=\"public.t\"";

std::string metrics(const ApplyProbe& probe) {
  MetricsWriter out;
  probe.write_metrics(out);
  return out.render();
}

/// A partition's lag as the lag probe records it.
PartitionLag partition_lag(int32_t partition, int64_t next, int64_t high, int64_t lag) {
  return {Partition{partition}, Offset{next}, Offset{high}, lag};
}

}  // namespace

TEST_CASE("apply lag is the age of the oldest unapplied change, not a batch's latency") {
  ApplyStats stats;
  const ApplyProbe probe("p", "public.t", stats);
  stats.state = State::kApplying;
  stats.last_apply_lag_ms = 126;
  ApplyLag lag;
  lag.partitions = {partition_lag(0, 10, 15, 5), partition_lag(1, 7, 7, 0)};
  lag.lag_events = 5;
  lag.since_unix_ms = now_unix_ms() - 30000;  // the oldest unapplied change, 30 s ago
  stats.set_lag(lag);
  stats.kafka_answered_steady_ms = modsync::steady_now_ms();
  const std::string text = metrics(probe);
  CHECK(probe.lag_view().lag_ms >= 30000);
  CHECK(probe.lag_view().lag_ms < 35000);
  CHECK(text.find("modsync_apply_lag_seconds{" + kLabels + "} 3") != std::string::npos);
  CHECK(has_line(text, "modsync_apply_batch_latency_seconds{" + kLabels + "} 0.126"));
  CHECK(has_line(text, "modsync_apply_lag_events{" + kLabels + "} 5"));
  CHECK(has_line(text, "modsync_apply_partition_lag_events{" + kLabels + ",partition=\"0\"} 5"));
  CHECK(has_line(text, "modsync_apply_partition_lag_events{" + kLabels + ",partition=\"1\"} 0"));
  CHECK(has_line(text, "modsync_apply_caught_up{" + kLabels + "} 0"));
  CHECK_THAT(probe.status_json(),
             Catch::Contains(R"("lag_events":5,"caught_up":false,"partitions":)"
                             R"([{"partition":0,"next_offset":10,"high_watermark":15,"lag":5},)"
                             R"({"partition":1,"next_offset":7,"high_watermark":7,"lag":0}],)"
                             R"("batch_latency_ms":126)"));

  lag.caught_up = true;
  lag.lag_events = 0;
  lag.partitions[0] = partition_lag(0, 15, 15, 0);
  lag.since_unix_ms = now_unix_ms();
  stats.set_lag(lag);
  CHECK(has_line(metrics(probe), "modsync_apply_caught_up{" + kLabels + "} 1"));
  CHECK(has_line(metrics(probe), "modsync_apply_lag_seconds{" + kLabels + "} 0"));
  CHECK_FALSE(probe.not_ready_reason().has_value());
}

TEST_CASE("apply lag reads -1 events before the probe measured anything") {
  ApplyStats stats;
  const ApplyProbe probe("p", "public.t", stats);
  CHECK(has_line(metrics(probe), "modsync_apply_lag_events{" + kLabels + "} -1"));
  CHECK_THAT(probe.status_json(),
             Catch::Contains(R"("lag_ms":0,"lag_events":-1,"caught_up":false,"partitions":[])"));
}

namespace {

/// An applying projection of one partition, last seen caught up and last answered by Kafka
/// `silent_ms` ago, stalled after `threshold_ms` of silence.
void go_silent(ApplyStats& stats, int64_t threshold_ms, int64_t silent_ms) {
  stats.state = State::kApplying;
  stats.stall_threshold_ms = threshold_ms;
  ApplyLag lag;
  lag.partitions = {partition_lag(0, 15, 15, 0)};
  lag.caught_up = true;
  lag.since_unix_ms = now_unix_ms() - silent_ms;
  stats.set_lag(lag);
  stats.kafka_answered_steady_ms = modsync::steady_now_ms() - silent_ms;
}

}  // namespace

TEST_CASE("a projection whose broker stopped answering is stalled and its lag grows") {
  ApplyStats stats;
  const ApplyProbe probe("p", "public.t", stats);
  go_silent(stats, 3000, 12000);
  const ApplyLagView view = probe.lag_view();
  CHECK_FALSE(view.known);
  CHECK_FALSE(view.caught_up);  // unknown is not caught up
  CHECK(view.lag_ms >= 12000);
  CHECK(view.fetch_stall_ms >= 12000);
  CHECK(view.fetch_stalled);
  CHECK(probe.state_name() == "stalled");
  const auto reason = probe.not_ready_reason();
  REQUIRE(reason.has_value());
  CHECK_THAT(*reason, Catch::StartsWith("pair p projection public.t: stalled: Kafka has not "
                                        "answered for 12"));
  const std::string text = metrics(probe);
  CHECK(has_line(text, "modsync_kafka_fetch_stalled{" + kLabels + "} 1"));
  CHECK(has_line(text, "modsync_apply_state{" + kLabels + ",state=\"stalled\"} 1"));
  CHECK(has_line(text, "modsync_apply_state{" + kLabels + ",state=\"applying\"} 0"));
  CHECK(has_line(text, "modsync_apply_lag_events{" + kLabels + "} -1"));
  CHECK(has_line(text, "modsync_apply_partition_lag_events{" + kLabels + ",partition=\"0\"} -1"));
  CHECK_THAT(probe.status_json(), Catch::Contains(R"("state":"stalled")"));

  // A short silence (one slow answer) is neither unknown nor a stall.
  stats.kafka_answered_steady_ms = modsync::steady_now_ms() - 1000;
  CHECK(probe.lag_view().known);
  CHECK_FALSE(probe.lag_view().fetch_stalled);
  CHECK(probe.state_name() == "applying");
}

TEST_CASE("a stall shorter than 3 s (kafka.stall_timeout: 1s) says how long Kafka was silent") {
  ApplyStats stats;
  const ApplyProbe probe("p", "public.t", stats);
  go_silent(stats, 1000, 2000);
  const ApplyLagView view = probe.lag_view();
  CHECK(view.fetch_stalled);
  CHECK(view.fetch_stall_ms >= 2000);
  const auto reason = probe.not_ready_reason();
  REQUIRE(reason.has_value());
  CHECK_THAT(*reason, Catch::Contains("Kafka has not answered for 2"));
}

TEST_CASE("apply errors carry a timestamp and clear") {
  ApplyStats stats;
  const ApplyProbe probe("p", "public.t", stats);
  stats.state = State::kRetrying;
  stats.set_error("sink ship: cannot connect");
  CHECK(stats.last_error_unix_ms() > 1764176400000);
  CHECK_THAT(probe.status_json(),
             Catch::Contains(R"("last_error":"sink ship: cannot connect","last_error_unix_ms":)" +
                             std::to_string(stats.last_error_unix_ms())));
  CHECK(has_line(metrics(probe), "modsync_apply_state{" + kLabels + ",state=\"retrying\"} 1"));
  stats.clear_error();
  CHECK(stats.last_error().empty());
  CHECK_THAT(probe.status_json(), Catch::Contains(R"("last_error":"","last_error_unix_ms":0})"));
}

TEST_CASE("next offsets merge per partition") {
  ApplyStats stats;
  stats.set_next_offsets({{Partition{0}, Offset{0}}, {Partition{1}, Offset{0}}});
  stats.set_next_offsets({{Partition{1}, Offset{40}}});
  CHECK(stats.next_offsets() == std::vector<std::pair<Partition, Offset>>{
                                    {Partition{0}, Offset{0}}, {Partition{1}, Offset{40}}});
}

TEST_CASE("the probe registers its series with the registry and removes them") {
  ApplyStats stats;
  stats.batches = 3;
  modsync::observability::MetricsRegistry registry;
  {
    ApplyProbe probe("p", "public.t", stats);
    probe.setup_metrics(registry);
    CHECK(has_line(registry.render(), "modsync_apply_batches_total{" + kLabels + "} 3"));
    probe.remove_metrics();
    CHECK(registry.render().empty());
    probe.setup_metrics(registry);
  }
  CHECK(registry.render().empty());  // gone with the probe
}
