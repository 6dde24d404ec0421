#include "modsync/capture/capture_pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "change_mapper.hpp"
#include "durability_tracker.hpp"
#include "event_producer.hpp"
#include "modsync/capture/schema_registry.hpp"
#include "modsync/common/time.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/pgsource/pgoutput_decoder.hpp"
#include "modsync/pgsource/replication_stream.hpp"
#include "modsync/pgsource/source_catalog.hpp"
#include "snapshotter.hpp"
#include "unchanged_value_reader.hpp"

namespace modsync::capture {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kCheckpointInterval = std::chrono::milliseconds(100);
constexpr auto kSlotCheckInterval = std::chrono::seconds(5);
constexpr int kPollEveryFrames = 256;
/// How long a read waits for WAL (data wakes it at once: it polls the socket). While events
/// await Kafka's acknowledgement, or their checkpoint is due, it wakes often to serve their
/// reports and record them; once settled an idle pair wakes 4 times a second instead of 50
/// (docs/benchmarks.md, idle_pairs).
constexpr int kBusyReadWaitMs = 20;
constexpr int kIdleReadWaitMs = 250;

ChangeMapper::Options mapper_options(const config::PairConfig& p, const std::string& context) {
  ChangeMapper::Options o;
  const config::SourceConfig& src = *p.source;
  o.context = context;
  o.module = src.module;
  o.message_topic = config::message_topic_for(src, p.kafka.topic_prefix);
  o.transaction_topic = config::transaction_topic_for(src, p.kafka.topic_prefix);
  o.tombstones_on_delete = src.tombstones_on_delete;
  o.message_prefixes = src.message_prefixes;
  if (p.kafka.envelope == config::KafkaEnvelope::kSchemaPayload)
    o.encoder.envelope = event::EnvelopeForm::kSchemaPayload;
  if (src.value_mode == config::ValueMode::kDebezium)
    o.encoder.values = event::ValueMode::kDebezium;
  return o;
}

}  // namespace

/// The loop: replication frames → decoder → mapper → producer, with the durability tracker
/// deciding what is recorded and confirmed. Implements the hosts of the mapper (tables, TOAST
/// reads, producing) and of the snapshotter.
struct CapturePipeline::Impl final : ChangeMapper::Host, Snapshotter::Host {
  Impl(const config::PairConfig& p, checkpoint::CheckpointStore& s, CaptureStats& st)
      : pair(p),
        src(*p.source),
        store(s),
        stats(st),
        context(fmt::format("source {} (pair {})", src.module, p.daemon.id)),
        producer(p, context, tracker, st),
        registry(s),
        mapper(mapper_options(p, context)),
        snapshotter(p, s, st, mapper, tracker) {}

  const config::PairConfig& pair;
  const config::SourceConfig& src;
  checkpoint::CheckpointStore& store;
  CaptureStats& stats;
  const std::string context;

  DurabilityTracker tracker;
  EventProducer producer;
  SchemaRegistry registry;
  ChangeMapper mapper;
  Snapshotter snapshotter;
  UnchangedValueReader unchanged;
  pgsource::PgOutputDecoder decoder;

  // One run's connections.
  std::optional<pg::PgConnection> sql;
  std::optional<pgsource::ReplicationStream> repl;

  Lsn sent_confirm;
  Clock::time_point last_status{}, last_checkpoint{}, last_heartbeat{}, last_slot_check{};

  void reset_run() {
    repl.reset();
    sql.reset();
    producer.stop();
    tracker.forget_in_flight();
  }

  void connect() {
    sql.emplace(
        pg::PgConnection::connect(src.effective_dsn, pg::PgConnection::Mode::kRegular, context));
    pgsource::SourceCatalog catalog(*sql);
    catalog.check_server();
    std::vector<pg::QualifiedName> names;
    for (const auto& t : src.tables) names.push_back({t.schema, t.table});
    const std::vector<pgsource::TableInfo> tables = catalog.describe_tables(names);
    std::unordered_map<uint32_t, std::vector<std::string>> keys;
    for (const auto& t : tables) {
      keys[t.oid] = t.key_columns;
      if (!t.publishes_updates()) {
        spdlog::warn(
            "{}: table {} has neither a primary key nor a replica identity: its inserts are "
            "captured, but PostgreSQL will refuse its UPDATEs and DELETEs while it is published. "
            "Fix: ALTER TABLE {} REPLICA IDENTITY FULL; or add a primary key.",
            context, t.name.to_string(), t.name.to_string());
      }
    }
    mapper.set_source(sql->query_value("SELECT current_database()"), std::move(keys));
    snapshotter.set_tables(context, tables);
    snapshotter.read_membership_at_start(catalog);
    catalog.ensure_publication(src.publication, tables);
    // Read before any snapshot's consistent point: a change in between shows as a change
    // later and costs a second snapshot, never a missed row.
    snapshotter.read_membership(catalog);
    producer.start();
    repl.emplace(pg::PgConnection::connect(src.effective_dsn, pg::PgConnection::Mode::kReplication,
                                           context));
  }

  // ---- the hosts ---------------------------------------------------------------------------

  void emit(const MappedEvent& e) override { producer.emit(e, tracker.received_lsn()); }
  void end_unit(Lsn confirm_at) override { tracker.end_unit(confirm_at); }
  void poll(int timeout_ms) override { producer.poll(timeout_ms); }

  const event::TableSchema* find_table(uint32_t relation_id) override {
    return registry.find(relation_id);
  }

  const event::TableSchema& register_relation(uint32_t relation_id, std::string_view nsp,
                                              std::string_view rel, std::vector<event::Column> cols,
                                              Lsn at) override {
    // One query per Relation message (rare).
    pgsource::SourceCatalog(*sql).name_types(cols);
    event::TableSchema schema;
    schema.module = src.module;
    schema.database = mapper.database();
    schema.schema = std::string(nsp);
    schema.table = std::string(rel);
    schema.columns = std::move(cols);
    schema.topic = config::topic_for(src, pair.kafka.topic_prefix, nsp, rel);
    auto update = registry.on_relation(relation_id, std::move(schema), at);
    if (update.publish) producer.publish_schema(*update.schema, at);
    return *update.schema;
  }

  const event::TableSchema& register_table(const pgsource::TableInfo& table,
                                           std::vector<event::Column> columns, Lsn at) override {
    return register_relation(table.oid, table.name.schema, table.name.table, std::move(columns),
                             at);
  }

  event::RowImage fill_unchanged(const event::TableSchema& t, const pgsource::Begin& tx,
                                 event::RowImage after) override {
    return unchanged.fill(*sql, t, tx, after, context, stats.toast_fetches);
  }

  // ---- the stream --------------------------------------------------------------------------

  void handle(const pgsource::Message& message) {
    mapper.map(message, tracker.received_lsn(), *this);
    if (const auto* c = std::get_if<pgsource::Commit>(&message)) {
      stats.transactions.fetch_add(1, std::memory_order_relaxed);
      stats.last_commit_unix_ms.store(pgsource::pg_time_to_unix_ms(c->commit_time),
                                      std::memory_order_relaxed);
    } else if (const auto* m = std::get_if<pgsource::LogicalMessage>(&message);
               m && m->prefix == pgsource::SourceCatalog::kHeartbeatPrefix) {
      stats.last_heartbeat_unix_ms.store(now_unix_ms(), std::memory_order_relaxed);
    }
  }

  /// Records what Kafka acknowledged, then confirms to PostgreSQL only what is recorded.
  void checkpoint(bool force_status) {
    if (auto due = tracker.checkpoint_due(mapper.in_transaction(), now_unix_ms())) {
      store.save_source(*due);
      tracker.recorded(*due);
      stats.confirmed_lsn.store(tracker.confirmed().value(), std::memory_order_relaxed);
    }
    const auto now = Clock::now();
    if (force_status || tracker.confirmed() != sent_confirm ||
        now - last_status >= std::chrono::milliseconds(src.status_interval)) {
      repl->send_status(tracker.received_lsn(), tracker.confirmed());
      sent_confirm = tracker.confirmed();
      last_status = now;
    }
    last_checkpoint = now;
  }

  /// The server's WAL position and the slot's wal_status, for the lag and WAL-retention metrics
  /// (one short query; the pipeline keeps no transaction open on this connection).
  void record_slot_state(pgsource::SourceCatalog& catalog) {
    if (auto slot = catalog.slot(src.slot)) stats.set_wal_status(slot->wal_status);
    if (auto lsn = Lsn::parse(sql->query_value("SELECT pg_current_wal_lsn()"))) {
      stats.server_wal_lsn.store(lsn->value(), std::memory_order_relaxed);
    }
  }

  /// Streams until `stop`; returns true when it ended early to take a snapshot again.
  bool stream(const std::atomic<bool>& stop) {
    pgsource::SourceCatalog catalog(*sql);
    const auto saved = store.load_source();
    tracker.resume(saved);
    const Lsn start = saved ? saved->confirmed : Lsn{};
    const auto resume_after = tracker.resume_after();
    mapper.start_stream(resume_after, snapshotter.covers(start));
    repl->start(src.slot, start, src.publication);
    stats.state = CaptureStats::State::kStreaming;
    spdlog::info("{}: streaming from slot {} at {} (resuming after {})", context, src.slot, start,
                 resume_after ? resume_after->to_string() : std::string("nothing"));
    last_heartbeat = Clock::now();
    int frames_since_poll = 0;
    int timeout_ms = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const auto frame = repl->read(timeout_ms);
      using Kind = pgsource::ReplicationStream::Frame::Kind;
      if (frame.kind == Kind::kData) {
        tracker.received(frame.wal_start);
        handle(decoder.decode(frame.payload));
        timeout_ms = 0;
      } else if (frame.kind == Kind::kKeepalive) {
        tracker.keepalive(frame.wal_end, mapper.in_transaction());
        if (frame.reply_requested) checkpoint(true);
      } else {
        // Settled: Kafka acknowledged everything and RocksDB records it (a checkpoint left
        // due would wait for the long read, and a crash meanwhile re-sends its events).
        const bool settled =
            producer.in_flight() == 0 &&
            !tracker.checkpoint_due(mapper.in_transaction(), now_unix_ms()).has_value();
        timeout_ms = settled ? kIdleReadWaitMs : kBusyReadWaitMs;
      }
      if (++frames_since_poll >= kPollEveryFrames || frame.kind != Kind::kData) {
        frames_since_poll = 0;
        producer.poll(0);
        stats.received_lsn.store(tracker.received_lsn().value(), std::memory_order_relaxed);
        const auto now = Clock::now();
        if (now - last_checkpoint >= kCheckpointInterval) checkpoint(false);
        if (src.heartbeat_interval.count() > 0 &&
            now - last_heartbeat >= std::chrono::milliseconds(src.heartbeat_interval)) {
          catalog.emit_heartbeat();
          last_heartbeat = now;
        }
        if (now - last_slot_check >= kSlotCheckInterval) {
          record_slot_state(catalog);
          last_slot_check = now;
          if (!mapper.in_transaction() && snapshotter.membership_changed(catalog, false)) break;
        }
        stats.producer_queue.store(producer.in_flight(), std::memory_order_relaxed);
      }
    }
    // Stop: let Kafka acknowledge what is in flight, record it, confirm it.
    const auto deadline_ms =
        static_cast<int>(std::chrono::milliseconds(pair.daemon.shutdown_timeout).count());
    if (!producer.flush(std::max(1000, deadline_ms / 2))) {
      spdlog::warn(
          "{}: {} events still unacknowledged at shutdown; they are re-sent on the next "
          "start (same event ids)",
          context, producer.in_flight());
    }
    producer.rethrow_delivery_error();
    checkpoint(true);
    return !stop.load(std::memory_order_relaxed);
  }

  // ---- the slot and the snapshot -----------------------------------------------------------

  /// Creates the slot if missing (exporting a snapshot when one is due) and runs the snapshot
  /// for every table that has not finished one. Returns false when `stop` interrupted the
  /// snapshot.
  bool prepare_slot(const std::atomic<bool>& stop) {
    pgsource::SourceCatalog catalog(*sql);
    // Before this run's snapshots record anything: what changed while modsync was away.
    snapshotter.membership_changed(catalog, true);
    const auto slot = catalog.usable_slot(src.slot, context);
    const bool want_snapshot = src.snapshot == config::SnapshotMode::kInitial;
    if (!slot) {
      const bool had_slot = store.load_source().has_value();
      if (had_slot) {
        spdlog::error(
            "{}: replication slot {} is gone although modsync had checkpoints for it; "
            "changes made while it was missing are not captured. A new slot is created{}",
            context, src.slot, want_snapshot ? " and the snapshot taken again" : "");
        store.save_source(checkpoint::SourceCheckpoint{});
      }
      store.clear_snapshot_progress();
      auto info = repl->create_slot(src.slot, false, want_snapshot);
      spdlog::info("{}: created replication slot {} at {}", context, src.slot,
                   info.consistent_point);
      if (!want_snapshot) return true;
      return snapshotter.run(info.snapshot_name, info.consistent_point, had_slot, *this, *this,
                             stop);
    }
    if (!want_snapshot || !snapshotter.pending()) return true;
    // The slot's own exported snapshot is gone (crash mid-snapshot, or a table was added):
    // a temporary slot exports a fresh one. Rows read from it carry its later consistent
    // point; streaming from the permanent slot re-sends older changes, which consumers
    // applying by position ignore (docs/architecture.md, "Snapshots").
    pgsource::ReplicationStream temp(pg::PgConnection::connect(
        src.effective_dsn, pg::PgConnection::Mode::kReplication, context));
    // A slot name has at most 63 characters (NAMEDATALEN - 1).
    auto info = temp.create_slot(src.slot.substr(0, 58) + "_snap", true, true);
    spdlog::info("{}: resuming the snapshot with a fresh exported snapshot at {}", context,
                 info.consistent_point);
    return snapshotter.run(info.snapshot_name, info.consistent_point, false, *this, *this, stop);
  }

  void run(const std::atomic<bool>& stop) {
    reset_run();
    stats.state = CaptureStats::State::kStarting;
    for (;;) {
      connect();
      if (!prepare_slot(stop) || !stream(stop)) break;
      reset_run();
    }
    reset_run();
  }
};

CapturePipeline::CapturePipeline(const config::PairConfig& pair, checkpoint::CheckpointStore& store,
                                 CaptureStats& stats)
    : impl_(pair.source ? std::make_unique<Impl>(pair, store, stats) : nullptr) {
  if (!pair.source) fail("pair {}: no source configured", pair.daemon.id);
}

CapturePipeline::~CapturePipeline() = default;

void CapturePipeline::run(const std::atomic<bool>& stop) {
  impl_->run(stop);
}

const char* to_string(CaptureStats::State state) {
  switch (state) {
    case CaptureStats::State::kStarting:
      return "starting";
    case CaptureStats::State::kSnapshotting:
      return "snapshotting";
    case CaptureStats::State::kStreaming:
      return "streaming";
    case CaptureStats::State::kRetrying:
      return "retrying";
    case CaptureStats::State::kFailed:
      return "failed";
    case CaptureStats::State::kStopped:
      return "stopped";
  }
  return "unknown";
}

}  // namespace modsync::capture
