#include "modsync/apply/apply_pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "apply_positions.hpp"
#include "batch_applier.hpp"
#include "batch_applier_thread.hpp"
#include "batch_budget.hpp"
#include "event_projector.hpp"
#include "modsync/event/event_headers.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/producer.hpp"
#include "modsync/kafka/settings.hpp"
#include "modsync/observability/logging.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/pgsink/projection_writer.hpp"
#include "modsync/pgsink/stage_lines.hpp"
#include "partition_claims.hpp"
#include "projection_plan.hpp"
#include "thread_name.hpp"

namespace modsync::apply {

namespace {

using Clock = std::chrono::steady_clock;
using pgsink::ProjectionWriter;

}  // namespace

std::string ApplyPipeline::projection_id(const config::PairConfig& pair,
                                         const config::Projection& projection) {
  return pair.daemon.id + "/" + projection.to.qualified();
}

size_t apply_worker_count(uint64_t configured, int partitions, size_t projections) {
  const size_t most = static_cast<size_t>(std::max(partitions, 1));
  if (configured > 0) return std::min<size_t>(configured, most);
  // The sink's projections share the cores: four projections of pgbench with two workers
  // each on 2 cores ran at 0.67 of one worker each (make bench), their merges and decoders
  // only taking turns.
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t share = std::max<size_t>(1, cores / std::max<size_t>(1, projections));
  return std::min({most, share, size_t{4}});
}

namespace {

/// One worker of a projection (sink.workers): its own subscriber connection, writer, batch
/// applier and consumer, for its share of the topic's partitions. The loop wiring the parts:
/// consumer → EventProjector (per event) → BatchApplier (per batch, on its own thread while the
/// next batch is polled and projected). Each batch's transaction commits the offsets of its
/// own partitions only, so workers never write the same offset rows.
struct Worker {
  Worker(const config::PairConfig& p, const config::Projection& pr, checkpoint::CheckpointStore& s,
         ApplyStats& st, size_t i)
      : pair(p), sink(*p.sink), proj(pr), store(s), stats(st), index(i) {}
  // The consumer before the members its rebalance hooks use, but after the messages it gave
  // out, those of the batch being applied included: rd_kafka_destroy waits until every message
  // is released (it hung there twice: the merge of the applier thread and the group hooks
  // reset the consumer while the thread still held its last batch).
  ~Worker() {
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
  const size_t index;  ///< among the projection's workers
  std::string context, id, topic;

  std::optional<pg::PgConnection> conn;
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
  /// The partitions of the batch handed to `applying`, which its thread checks the claims of.
  /// Changed only while no batch is in flight: rebuilt while the previous batch applied, the
  /// list its check read was the next batch's (a pipeline restart, "claims … are missing", or
  /// the wrong batch's partitions checked).
  std::vector<int32_t> applying_partitions;
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

  /// The hooks claim and release on the worker's connection, which the batch in flight uses
  /// on the applier thread: they ran a claim there while a batch's statements were in flight
  /// (libpq connections are for one thread), and changed the epochs its check read. They run
  /// once no batch is in flight; a batch's error is rethrown by the next poll.
  void wait_for_batch_in_flight() {
    if (applying) applying->drain();
  }

  void on_assigned(std::vector<kafka::TopicPartitionOffset>& assigned) {
    wait_for_batch_in_flight();
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
    wait_for_batch_in_flight();
    const auto partitions = partitions_of(revoked);
    abandon(partitions);
    claims->release(partitions);
    std::vector<kafka::Partition> typed;
    for (int32_t p : partitions) typed.push_back(kafka::Partition{p});
    stats.drop_next_offsets(typed);
    spdlog::info("{}: consumer group took partition(s) {} away", context,
                 fmt::join(partitions, ","));
  }

  /// Connects to the subscriber database and makes sure modsync's own tables exist.
  void connect() {
    id = ApplyPipeline::projection_id(pair, proj);
    topic = config::projection_topic(pair, proj);
    context =
        fmt::format("sink {} projection {} (topic {})", sink.module, proj.to.qualified(), topic);
    conn.emplace(
        pg::PgConnection::connect(sink.effective_dsn, pg::PgConnection::Mode::kRegular, context));
    ProjectionWriter::ensure_offsets_table(*conn);
    PartitionClaims::ensure_table(*conn);
    // The owner recorded is the process (host:pid), whichever of its workers claims: the
    // claim's epoch is what tells two workers' claims apart.
    claims = std::make_unique<PartitionClaims>(*conn, id, topic, context);
  }

  /// The writer and the applier for `plan` (prepared once for all workers, on worker 0's
  /// connection: two workers creating the target at once would collide).
  void build(const ProjectionPlan& plan) {
    projector = std::make_unique<EventProjector>(plan);
    writer = std::make_unique<ProjectionWriter>(*conn, plan.target(), plan.writer_options(id));
    const kafka::KafkaSettings settings = kafka::settings_from(pair.kafka);
    applier = std::make_unique<BatchApplier>(
        BatchApplierOptions{context, id, pair.kafka.topic_prefix + ".dlq." + pair.daemon.id,
                            proj.on_delete == config::OnDelete::kSoft,
                            [this] { claims->check(applying_partitions); }},
        settings, *writer, store, stats);
    applying =
        std::make_unique<BatchApplierThread>(*applier, fmt::format("apply-w{}-merge", index));
  }

  int partition_count() {
    try {
      return applier->producer().partition_count(topic, std::chrono::seconds(10));
    } catch (const Error& e) {
      fail_retriable("{}: waiting for topic {}: {}", context, topic, e.what());
    }
  }

  /// Starts the consumer. Default mode: worker `index` of `workers` assigns itself the
  /// partitions p with p % workers == index, after claiming them, on the process's shared
  /// consumer client. Group mode: each worker is one more member of the consumer group, on a
  /// client of its own.
  void start(int partitions, size_t workers) {
    const kafka::KafkaSettings settings = kafka::settings_from(pair.kafka);
    kafka::ConsumerOptions options;
    options.client_id = "modsync-" + pair.daemon.id;
    options.session_timeout_ms = 10000;
    const std::string share =
        workers > 1 ? fmt::format(", worker {} of {}", index, workers) : std::string();
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
          "group {}{})",
          context, proj.to.qualified(), partitions, options.group_id, share);
      return;
    }
    // The projections of the process read through shared clients (each worker its partitions'
    // messages only, from a queue of its own): one fetch loop and one set of broker threads for
    // the workers of one index of every projection, so a projection's workers fetch in parallel.
    consumer = std::make_unique<kafka::Consumer>(kafka::Consumer::shared(settings, index));
    std::vector<int32_t> mine;
    for (int p = 0; p < partitions; ++p)
      if (static_cast<size_t>(p) % workers == index) mine.push_back(p);
    const auto positions = claim(mine);
    consumer->assign(positions);
    publish_positions(stats, positions);
    spdlog::info("{}: applying into {} ({} partitions{}{})", context, proj.to.qualified(),
                 partitions, share,
                 workers > 1 ? fmt::format(": partitions {}", fmt::join(mine, ",")) : "");
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
    stats.state = ApplyStats::State::kApplying;
    BatchBudget budget(sink.batch_rows, sink.batch_bytes);
    const auto batch_time = std::chrono::milliseconds(sink.batch_time);
    while (!stop.load(std::memory_order_relaxed)) {
      batch.clear();
      entries.clear();
      lines.clear();
      budget.count(0, 0);
      poll(budget.room(), 100);
      applying->check();
      if (batch.empty()) continue;
      budget.count(batch.size(), batch_bytes(batch));
      const auto deadline = Clock::now() + batch_time;
      while (!budget.full() && !stop.load(std::memory_order_relaxed)) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) break;
        poll(budget.room(), static_cast<int>(left.count()));
        budget.count(batch.size(), batch_bytes(batch));
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
      applying->drain();  // the batch before is applied: its partitions may be replaced
      applying_partitions.swap(batch_partitions);
      applying->submit(batch, entries, lines);
    }
    applying->drain();
    consumer->close();
  }
};

}  // namespace

/// A projection's workers (sink.workers), each on its own thread; one worker runs on the
/// caller's thread.
struct ApplyPipeline::Impl {
  Impl(const config::PairConfig& p, const config::Projection& pr, checkpoint::CheckpointStore& s,
       ApplyStats& st)
      : pair(p), proj(pr), store(s), stats(st) {}
  // The workers before the plan their projectors read.
  ~Impl() { workers.clear(); }

  const config::PairConfig& pair;
  const config::Projection& proj;
  checkpoint::CheckpointStore& store;
  ApplyStats& stats;
  std::unique_ptr<ProjectionPlan> plan;
  std::vector<std::unique_ptr<Worker>> workers;

  /// Worker 0 prepares the target (creating it with create_table) before any other worker
  /// connects, and learns the partition count the worker count depends on.
  void setup() {
    auto& first = *workers.emplace_back(std::make_unique<Worker>(pair, proj, store, stats, 0));
    first.connect();
    plan = ProjectionPlan::prepare(pair, proj, *first.conn, first.context);
    first.build(*plan);
    if (first.writer->append_only() && !first.writer->positioned()) {
      spdlog::warn(
          "{}: {} has no primary key and no _modsync_lsn/_modsync_seq columns: events "
          "the capture re-sends after a crash can be inserted twice. Fix: ALTER TABLE {} "
          "ADD COLUMN _modsync_lsn pg_lsn, ADD COLUMN _modsync_seq integer; and an "
          "index on them",
          first.context, proj.to.qualified(), proj.to.qualified());
    }
    const int partitions = first.partition_count();
    // In a consumer group the default is one member per daemon: the group balances members,
    // not daemons, so daemons with more members than others would get more partitions.
    const uint64_t configured =
        pair.sink->workers > 0 || pair.sink->group.empty() ? pair.sink->workers : 1;
    const size_t n = apply_worker_count(configured, partitions, pair.sink->projections.size());
    if (pair.sink->workers > n) {
      spdlog::info("{}: sink.workers is {}, but the topic has {} partition(s): {} worker(s) run",
                   first.context, pair.sink->workers, partitions, n);
    }
    for (size_t i = 1; i < n; ++i) {
      auto& w = *workers.emplace_back(std::make_unique<Worker>(pair, proj, store, stats, i));
      w.connect();
      w.build(*plan);
    }
    for (auto& w : workers) w->start(partitions, n);
  }

  void run(const std::atomic<bool>& stop) {
    setup();
    if (workers.size() == 1) {
      workers[0]->run(stop);
      return;
    }
    // Any worker's failure stops them all: the supervisor starts the projection over, and
    // every worker resumes from its partitions' stored offsets.
    std::atomic<bool> halt{false};
    std::mutex mutex;
    std::condition_variable finished_cv;
    size_t finished = 0;
    std::exception_ptr error;
    const std::string topic = workers[0]->topic;
    std::vector<std::thread> threads;
    for (size_t i = 0; i < workers.size(); ++i) {
      threads.emplace_back([&, i] {
        set_thread_name(fmt::format("apply-w{}", i));
        observability::ScopedLogContext ctx("pair", pair.daemon.id);
        observability::ScopedLogContext module("module", pair.sink->module);
        observability::ScopedLogContext table("table", proj.to.qualified());
        observability::ScopedLogContext topic_field("topic", topic);
        observability::ScopedLogContext worker("worker", std::to_string(i));
        std::exception_ptr failed;
        try {
          workers[i]->run(halt);
        } catch (...) {
          failed = std::current_exception();
        }
        std::lock_guard lock(mutex);
        if (failed && !error) error = failed;
        if (failed) halt = true;
        ++finished;
        finished_cv.notify_all();
      });
    }
    {
      std::unique_lock lock(mutex);
      while (finished < threads.size()) {
        if (stop.load(std::memory_order_relaxed)) halt = true;
        finished_cv.wait_for(lock, std::chrono::milliseconds(100));
      }
    }
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);
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
