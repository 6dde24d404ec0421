#include "modsync/apply/apply_pipeline.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "apply_positions.hpp"
#include "batch_applier.hpp"
#include "batch_applier_thread.hpp"
#include "event_projector.hpp"
#include "modsync/event/event_headers.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/producer.hpp"
#include "modsync/kafka/settings.hpp"
#include "modsync/pgsink/projection_writer.hpp"
#include "modsync/pgsink/stage_lines.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "projection_plan.hpp"

namespace modsync::apply {

namespace {

using Clock = std::chrono::steady_clock;
using pgsink::ProjectionWriter;

}  // namespace

std::string ApplyPipeline::projection_id(const config::PairConfig& pair,
                                         const config::Projection& projection) {
  return pair.daemon.id + "/" + projection.to.qualified();
}

/// The loop wiring the parts: consumer → EventProjector (per event) → BatchApplier (per batch,
/// on its own thread while the next batch is polled and projected).
struct ApplyPipeline::Impl {
  Impl(const config::PairConfig& p, const config::Projection& pr, checkpoint::CheckpointStore& s,
       ApplyStats& st)
      : pair(p), sink(*p.sink), proj(pr), store(s), stats(st) {}

  const config::PairConfig& pair;
  const config::SinkConfig& sink;
  const config::Projection& proj;
  checkpoint::CheckpointStore& store;
  ApplyStats& stats;
  std::string context, id, topic;

  std::optional<pg::PgConnection> conn;
  std::unique_ptr<ProjectionPlan> plan;
  std::unique_ptr<ProjectionWriter> writer;
  std::unique_ptr<BatchApplier> applier;
  std::unique_ptr<EventProjector> projector;
  std::unique_ptr<kafka::Consumer> consumer;
  // Destroyed before the applier it runs and the consumer whose messages it holds (destroying
  // a librdkafka consumer waits until its last message is freed).
  std::unique_ptr<BatchApplierThread> applying;

  std::vector<kafka::Message> batch;
  std::vector<ProjectedEvent> entries;
  pgsink::StageLines lines;

  void setup() {
    id = projection_id(pair, proj);
    topic = config::projection_topic(pair, proj);
    context =
        fmt::format("sink {} projection {} (topic {})", sink.module, proj.to.qualified(), topic);
    conn.emplace(
        pg::PgConnection::connect(sink.effective_dsn, pg::PgConnection::Mode::kRegular, context));
    ProjectionWriter::ensure_offsets_table(*conn);
    plan = ProjectionPlan::prepare(pair, proj, *conn, context);
    projector = std::make_unique<EventProjector>(*plan);
    writer = std::make_unique<ProjectionWriter>(*conn, plan->target(), plan->writer_options(id));
    if (writer->append_only() && !writer->positioned()) {
      spdlog::warn(
          "{}: {} has no primary key and no _modsync_lsn/_modsync_seq columns: events "
          "the capture re-sends after a crash can be inserted twice. Fix: ALTER TABLE {} "
          "ADD COLUMN _modsync_lsn pg_lsn, ADD COLUMN _modsync_seq integer; and an "
          "index on them",
          context, proj.to.qualified(), proj.to.qualified());
    }

    const kafka::KafkaSettings settings = kafka::settings_from(pair.kafka);
    applier = std::make_unique<BatchApplier>(
        BatchApplierOptions{context, id, pair.kafka.topic_prefix + ".dlq." + pair.daemon.id,
                            "modsync-" + pair.daemon.id + "-dlq",
                            proj.on_delete == config::OnDelete::kSoft},
        settings, *writer, store, stats);
    applying = std::make_unique<BatchApplierThread>(*applier);
    kafka::Producer& metadata = applier->producer();
    int partitions = 0;
    try {
      partitions = metadata.partition_count(topic, std::chrono::seconds(10));
    } catch (const Error& e) {
      fail_retriable("{}: waiting for topic {}: {}", context, topic, e.what());
    }
    kafka::ConsumerOptions options;
    options.group_id = "modsync-" + pair.daemon.id + "-" + sink.module;
    options.client_id = "modsync-" + pair.daemon.id;
    options.session_timeout_ms = 10000;
    consumer = std::make_unique<kafka::Consumer>(settings, options);
    const auto stored = ProjectionWriter::load_offsets(*conn, id);
    std::vector<kafka::TopicPartitionOffset> positions;
    for (int p = 0; p < partitions; ++p) {
      std::optional<kafka::Offset> offset;
      for (const auto& s : stored)
        if (s.topic == topic && s.partition == kafka::Partition{p}) offset = s.next_offset;
      if (!offset) {
        // A projection starts from the table's whole history: the snapshot rows come first.
        // Once retention deleted the start of it, starting at what is left would miss rows.
        const auto marks = metadata.watermarks(topic, kafka::Partition{p}, std::chrono::seconds(10));
        if (marks.low.value > 0) {
          fail(
              "{}: partition {} of {} starts at offset {}: Kafka's retention deleted the older "
              "events, so this new projection would miss rows. It is not started. Fix: fill it "
              "from a new snapshot with `modsync resnapshot --config <file> {} {}`",
              context, p, topic, marks.low, pair.daemon.id,
              proj.from ? proj.from->table.qualified() : proj.to.qualified());
        }
        offset = marks.low;
      }
      positions.push_back({topic, kafka::Partition{p}, *offset});
    }
    consumer->assign(positions);
    publish_positions(stats, positions);
    spdlog::info("{}: applying into {} ({} partitions, {} with stored offsets)", context,
                 proj.to.qualified(), partitions, stored.size());
  }

  /// Projects the batch's events; throws at an event of an unknown schema version under
  /// unknown_version: pause, before any of the batch is applied.
  void project_batch() {
    for (const auto& m : batch) {
      ProjectedEvent e = projector->project(
          m.has_value() ? std::optional(m.value()) : std::nullopt,
          [&m] { return m.header(event::kSchemaVersionHeader); }, lines);
      if (e.kind == ProjectedEvent::Kind::kFiltered) {
        stats.rows_skipped.fetch_add(1, std::memory_order_relaxed);
      } else if (e.kind == ProjectedEvent::Kind::kPause) {
        stats.state = ApplyStats::State::kPaused;
        fail(
            "{}: paused at {} [{}] offset {}: {}. Fix: add a `versions: {{{}: {{rename: …, "
            "defaults: …}}}}` rule or change `columns`, then restart (events wait on Kafka)",
            context, m.topic(), m.partition(), m.offset(), e.error, e.schema_version);
      }
      entries.push_back(std::move(e));
    }
  }

  void poll(size_t max, int timeout_ms) {
    try {
      consumer->poll_batch(max, timeout_ms, batch);
    } catch (const kafka::KafkaError& e) {
      if (e.position_lost()) {
        const std::string what = e.what();
        fail(
            "{}: {}. The recorded position is no longer on Kafka (retention, or the topic was "
            "recreated), so events are missing; the projection is stopped rather than skip "
            "them. Fix: rebuild it with `modsync resnapshot {} {}`",
            context, what, pair.daemon.id, proj.to.qualified());
      }
      throw;
    }
  }

  void run(const std::atomic<bool>& stop) {
    setup();
    stats.state = ApplyStats::State::kApplying;
    const size_t max_rows = std::max<uint64_t>(1, sink.batch_rows);
    const auto batch_time = std::chrono::milliseconds(sink.batch_time);
    while (!stop.load(std::memory_order_relaxed)) {
      batch.clear();
      entries.clear();
      lines.clear();
      poll(max_rows, 100);
      applying->check();
      if (batch.empty()) continue;
      const auto deadline = Clock::now() + batch_time;
      while (batch.size() < max_rows && !stop.load(std::memory_order_relaxed)) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) break;
        poll(max_rows - batch.size(), static_cast<int>(left.count()));
      }
      project_batch();
      applying->submit(batch, entries, lines);
    }
    applying->drain();
    consumer->close();
  }
};

ApplyPipeline::ApplyPipeline(const config::PairConfig& pair, const config::Projection& projection,
                             checkpoint::CheckpointStore& store, ApplyStats& stats)
    : impl_(std::make_unique<Impl>(pair, projection, store, stats)) {}

ApplyPipeline::~ApplyPipeline() = default;

void ApplyPipeline::run(const std::atomic<bool>& stop) {
  impl_->run(stop);
}

const char* to_string(ApplyStats::State state) {
  switch (state) {
    case ApplyStats::State::kStarting:
      return "starting";
    case ApplyStats::State::kApplying:
      return "applying";
    case ApplyStats::State::kPaused:
      return "paused";
    case ApplyStats::State::kRetrying:
      return "retrying";
    case ApplyStats::State::kFailed:
      return "failed";
    case ApplyStats::State::kStopped:
      return "stopped";
  }
  return "unknown";
}

}  // namespace modsync::apply
