#include "modsync/apply/apply_pipeline.hpp"

#include <algorithm>
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
#include "modsync/pg/pg_connection.hpp"
#include "modsync/pgsink/projection_writer.hpp"
#include "modsync/pgsink/stage_lines.hpp"
#include "partition_claims.hpp"
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
  // The consumer before the members its rebalance hooks use, but after the messages it gave
  // out, those of the batch being applied included: rd_kafka_destroy waits until every message
  // is released (it hung there twice: the merge of the applier thread and the group hooks
  // reset the consumer while the thread still held its last batch).
  ~Impl() {
    applying.reset();
    entries.clear();
    batch.clear();
    consumer.reset();
  }

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
  std::unique_ptr<PartitionClaims> claims;
  std::unique_ptr<kafka::Consumer> consumer;
  // Destroyed before the applier it runs and the consumer whose messages it holds (destroying
  // a librdkafka consumer waits until its last message is freed).
  std::unique_ptr<BatchApplierThread> applying;

  std::vector<kafka::Message> batch;
  std::vector<int32_t> batch_partitions;  ///< the partitions `batch` holds events of
  std::vector<ProjectedEvent> entries;
  pgsink::StageLines lines;

  /// Claims `partitions` (PartitionClaims) and returns where each starts: its stored next
  /// offset, or the topic's first offset for a partition this projection never read.
  std::vector<kafka::TopicPartitionOffset> claim(const std::vector<int32_t>& partitions) {
    const auto stored = claims->claim(partitions);
    std::vector<kafka::TopicPartitionOffset> positions;
    for (size_t i = 0; i < partitions.size(); ++i) {
      const int32_t p = partitions[i];
      std::optional<int64_t> offset = stored[i];
      if (!offset) {
        // A projection starts from the table's whole history: the snapshot rows come first.
        // Once retention deleted the start of it, starting at what is left would miss rows.
        const auto marks =
            applier->producer().watermarks(topic, kafka::Partition{p}, std::chrono::seconds(10));
        if (marks.low.value > 0) {
          fail(
              "{}: partition {} of {} starts at offset {}: Kafka's retention deleted the older "
              "events, so this new projection would miss rows. It is not started. Fix: fill it "
              "from a new snapshot with `modsync resnapshot --config <file> {} {}`",
              context, p, topic, marks.low, pair.daemon.id,
              proj.from ? proj.from->table.qualified() : proj.to.qualified());
        }
        offset = marks.low.value;
      }
      positions.push_back({topic, kafka::Partition{p}, kafka::Offset{*offset}});
    }
    return positions;
  }

  /// The partitions of `list` that are this projection's topic's.
  std::vector<int32_t> partitions_of(const std::vector<kafka::TopicPartitionOffset>& list) const {
    std::vector<int32_t> out;
    for (const auto& p : list)
      if (p.topic == topic) out.push_back(p.partition.value);
    return out;
  }

  /// Drops the events of `partitions` from the batch being filled: they were read under an
  /// assignment that is ending, and whoever owns them next reads them again from the stored
  /// offset. (Hooks run only inside poll, so only while a batch fills, never while one applies.)
  void abandon(const std::vector<int32_t>& partitions) {
    const size_t before = batch.size();
    std::erase_if(batch, [&](const kafka::Message& m) {
      return std::find(partitions.begin(), partitions.end(), m.partition().value) !=
             partitions.end();
    });
    if (batch.size() != before) {
      spdlog::info("{}: {} event(s) of partitions {} not applied here: the partitions move",
                   context, before - batch.size(), fmt::join(partitions, ","));
    }
  }

  void on_assigned(std::vector<kafka::TopicPartitionOffset>& assigned) {
    const auto partitions = partitions_of(assigned);
    abandon(partitions);
    const auto positions = claim(partitions);
    for (auto& a : assigned) {
      for (const auto& p : positions)
        if (a.topic == p.topic && a.partition == p.partition) a.offset = p.offset;
    }
    publish_positions(stats, positions);
    std::vector<std::string> described;
    for (const auto& p : positions)
      described.push_back(fmt::format("{}@{}", p.partition, p.offset));
    spdlog::info("{}: consumer group assigned partition(s) {} (partition@next offset)", context,
                 fmt::join(described, ", "));
  }

  void on_revoked(const std::vector<kafka::TopicPartitionOffset>& revoked) {
    const auto partitions = partitions_of(revoked);
    abandon(partitions);
    claims->release(partitions);
    std::vector<kafka::Partition> typed;
    for (int32_t p : partitions) typed.push_back(kafka::Partition{p});
    stats.drop_next_offsets(typed);
    spdlog::info("{}: consumer group took partition(s) {} away", context,
                 fmt::join(partitions, ","));
  }

  void setup() {
    id = projection_id(pair, proj);
    topic = config::projection_topic(pair, proj);
    context =
        fmt::format("sink {} projection {} (topic {})", sink.module, proj.to.qualified(), topic);
    conn.emplace(
        pg::PgConnection::connect(sink.effective_dsn, pg::PgConnection::Mode::kRegular, context));
    ProjectionWriter::ensure_offsets_table(*conn);
    PartitionClaims::ensure_table(*conn);
    claims = std::make_unique<PartitionClaims>(*conn, id, topic, context);
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
                            proj.on_delete == config::OnDelete::kSoft,
                            [this] { claims->check(batch_partitions); }},
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
    options.client_id = "modsync-" + pair.daemon.id;
    options.session_timeout_ms = 10000;
    if (!sink.group.empty()) {
      // Scale-out (docs/scaling.md): the group spreads the partitions over the daemons running
      // this file, and the hooks claim and release them.
      options.group_id = sink.group + "." + proj.to.qualified();
      options.assignment_strategy = "cooperative-sticky";
      options.hooks.on_assigned = [this](auto& assigned) { on_assigned(assigned); };
      options.hooks.on_revoked = [this](const auto& revoked) { on_revoked(revoked); };
      consumer = std::make_unique<kafka::Consumer>(settings, options);
      consumer->subscribe({topic});
      spdlog::info(
          "{}: applying into {} ({} partitions, shared with the other members of consumer "
          "group {})",
          context, proj.to.qualified(), partitions, options.group_id);
      return;
    }
    options.group_id = "modsync-" + pair.daemon.id + "-" + sink.module;
    consumer = std::make_unique<kafka::Consumer>(settings, options);
    std::vector<int32_t> all(static_cast<size_t>(partitions));
    for (int p = 0; p < partitions; ++p) all[static_cast<size_t>(p)] = p;
    const auto positions = claim(all);
    consumer->assign(positions);
    publish_positions(stats, positions);
    spdlog::info("{}: applying into {} ({} partitions)", context, proj.to.qualified(), partitions);
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
      if (batch.empty()) continue;  // its partitions moved while it filled
      batch_partitions.clear();
      for (const auto& m : batch) {
        const int32_t p = m.partition().value;
        if (!batch_partitions.empty() && batch_partitions.back() == p) continue;
        if (std::find(batch_partitions.begin(), batch_partitions.end(), p) ==
            batch_partitions.end()) {
          batch_partitions.push_back(p);
        }
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
