#include "modsync/capture/capture_pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "modsync/capture/ack_tracker.hpp"
#include "modsync/capture/schema_registry.hpp"
#include "modsync/common/time.hpp"
#include "modsync/event/envelope.hpp"
#include "modsync/event/event_headers.hpp"
#include "modsync/kafka/producer.hpp"
#include "modsync/kafka/settings.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/postgres/pgoutput_decoder.hpp"
#include "modsync/postgres/replication_stream.hpp"
#include "modsync/postgres/snapshot_reader.hpp"
#include "modsync/postgres/source_catalog.hpp"

namespace modsync::capture {

namespace {

using Clock = std::chrono::steady_clock;
using event::ColumnValue;
using event::Op;

constexpr auto kCheckpointInterval = std::chrono::milliseconds(100);
constexpr auto kSlotCheckInterval = std::chrono::seconds(5);
constexpr int kPollEveryFrames = 256;

bool key_changed(const event::TableSchema& t, event::RowImage old_row, event::RowImage new_row) {
  if (old_row.size() != new_row.size()) return true;
  for (size_t i = 0; i < t.columns.size() && i < old_row.size(); ++i) {
    if (!t.columns[i].key) continue;
    if (new_row[i].kind == ColumnValue::Kind::kUnchanged) continue;
    if (old_row[i].kind != new_row[i].kind || old_row[i].data != new_row[i].data) return true;
  }
  return false;
}

std::string encode_key_list(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    event::append_json_string(values[i], out);
  }
  return out + "]";
}

std::vector<std::string> decode_key_list(const std::string& json) {
  std::vector<std::string> out;
  if (json.empty()) return out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS || !doc.is_array()) {
    fail("snapshot progress holds a malformed resume key {}. Fix: run `modsync resnapshot`.", json);
  }
  for (auto v : doc.get_array()) out.emplace_back(std::string_view(v.get_string().value()));
  return out;
}

}  // namespace

struct CapturePipeline::Impl {
  Impl(const config::PairConfig& p, checkpoint::CheckpointStore& s, CaptureStats& st)
      : pair(p), src(*p.source), store(s), stats(st), registry(s), encoder(encoder_options(p)) {}

  static event::EncoderOptions encoder_options(const config::PairConfig& p) {
    event::EncoderOptions o;
    if (p.kafka.envelope == config::KafkaEnvelope::kSchemaPayload)
      o.envelope = event::EnvelopeForm::kSchemaPayload;
    if (p.source->value_mode == config::ValueMode::kDebezium)
      o.values = event::ValueMode::kDebezium;
    return o;
  }

  const config::PairConfig& pair;
  const config::SourceConfig& src;
  checkpoint::CheckpointStore& store;
  CaptureStats& stats;
  std::string context;

  // One run's resources.
  std::optional<pg::PgConnection> sql;
  std::optional<pg::ReplicationStream> repl;
  std::unique_ptr<kafka::Producer> producer;
  AckTracker tracker;
  SchemaRegistry registry;
  pg::PgOutputDecoder decoder;
  event::EnvelopeEncoder encoder;
  std::vector<pg::TableInfo> tables;
  std::string database;
  std::string schema_topic, message_topic, transaction_topic;
  std::optional<Error> delivery_error;
  size_t max_message_bytes = 1000000;  ///< librdkafka's message.max.bytes

  // Reused buffers: the hot path does not allocate per row.
  std::string key_buf, value_buf, version_buf;
  std::vector<ColumnValue> full_row;
  std::vector<ColumnValue> fetched_row;
  pg::PgResult fetched;  ///< holds the values fetched_row points into until the event is encoded
  event::EventHeaders event_headers;
  kafka::Headers headers;

  // Stream state.
  bool in_tx = false;
  pg::Begin tx;
  uint32_t tx_index = 0;
  uint32_t tx_events = 0;
  std::optional<Position> resume_after;  ///< events at or before this are already in Kafka
  /// Per relation: streamed changes committed before this LSN are already in the table's
  /// snapshot (it read the whole table there), so they are not sent again.
  std::unordered_map<uint32_t, Lsn> snapshot_covers;
  bool skip_current = false;  ///< the change being mapped is covered by its table's snapshot
  /// Per table: its publication membership (SourceCatalog::membership) before this run set
  /// the publication up, and as last read since.
  std::unordered_map<uint32_t, std::string> membership_at_start, membership;
  Lsn received;
  Lsn idle_lsn;   ///< a keepalive's WAL end seen while nothing was in flight
  Lsn confirmed;  ///< recorded in RocksDB and sent to PostgreSQL
  std::optional<Position> saved_acked;
  Lsn sent_confirm;
  Clock::time_point last_status{}, last_checkpoint{}, last_heartbeat{}, last_slot_check{};

  void reset_run() {
    repl.reset();
    sql.reset();
    producer.reset();
    tracker.reset();
    delivery_error.reset();
    in_tx = false;
  }

  // ---- set-up ------------------------------------------------------------------------------

  void connect() {
    context = fmt::format("source {} (pair {})", src.module, pair.daemon.id);
    sql.emplace(
        pg::PgConnection::connect(src.effective_dsn, pg::PgConnection::Mode::kRegular, context));
    pg::SourceCatalog catalog(*sql);
    catalog.check_server();
    database = sql->query_value("SELECT current_database()");
    std::vector<pg::QualifiedName> names;
    for (const auto& t : src.tables) names.push_back({t.schema, t.table});
    tables = catalog.describe_tables(names);
    for (const auto& t : tables) {
      if (!t.publishes_updates()) {
        spdlog::warn(
            "{}: table {} has neither a primary key nor a replica identity: its inserts are "
            "captured, but PostgreSQL will refuse its UPDATEs and DELETEs while it is published. "
            "Fix: ALTER TABLE {} REPLICA IDENTITY FULL; or add a primary key.",
            context, t.name.to_string(), t.name.to_string());
      }
    }
    for (const auto& t : tables)
      membership_at_start[t.oid] = catalog.membership(src.publication, t);
    catalog.ensure_publication(src.publication, tables);
    // Read before any snapshot's consistent point: a change in between shows as a change
    // later and costs a second snapshot, never a missed row.
    for (const auto& t : tables) membership[t.oid] = catalog.membership(src.publication, t);

    const std::string& prefix = pair.kafka.topic_prefix;
    schema_topic = prefix + ".schemas";
    message_topic = config::message_topic_for(src, prefix);
    transaction_topic = config::transaction_topic_for(src, prefix);

    const kafka::KafkaSettings settings = kafka::settings_from(pair.kafka);
    if (auto it = pair.kafka.properties.find("message.max.bytes");
        it != pair.kafka.properties.end()) {
      if (auto v = std::strtoull(it->second.c_str(), nullptr, 10); v > 0) max_message_bytes = v;
    }
    producer = std::make_unique<kafka::Producer>(
        settings, "modsync-" + pair.daemon.id,
        [this](uint64_t opaque, const kafka::DeliveryResult& r) { on_delivery(opaque, r); });
    producer->watch_deliveries(&stats.deliveries);
    producer->check_connectivity(std::chrono::seconds(10));

    repl.emplace(pg::PgConnection::connect(src.effective_dsn, pg::PgConnection::Mode::kReplication,
                                           context));
  }

  void on_delivery(uint64_t opaque, const kafka::DeliveryResult& r) {
    if (r.ok()) {
      tracker.acked(opaque);
      return;
    }
    if (!delivery_error) {
      delivery_error.emplace(
          kafka::error_kind(r.error),
          fmt::format(
              "{}: Kafka did not acknowledge an event for topic {} partition {}: {}. "
              "Nothing is confirmed past it; the pipeline resumes from its last checkpoint.",
              context, r.topic, r.partition, r.error_text));
    }
  }

  void poll_producer(int timeout_ms) {
    producer->poll(timeout_ms);
    if (delivery_error) throw *delivery_error;
  }

  // ---- producing ---------------------------------------------------------------------------

  void fill_headers(const event::TableSchema* table, Op op, const event::SourceInfo& source) {
    if (table) {
      event_headers.fill_change(*table, op, source);
    } else {
      event_headers.fill_message(src.module, source);
    }
    headers.clear();
    for (const auto& h : event_headers.headers()) headers.add(h.name, h.value);
  }

  void produce(const std::string& topic, bool has_key, std::optional<Position> position) {
    const uint64_t seq = tracker.add(position);
    producer->produce(topic, has_key ? key_buf.data() : nullptr, key_buf.size(), value_buf, headers,
                      seq);
    stats.bytes_produced.fetch_add(value_buf.size() + key_buf.size(), std::memory_order_relaxed);
  }

  void count(Op op) {
    auto& c = op == Op::kCreate     ? stats.events_created
              : op == Op::kUpdate   ? stats.events_updated
              : op == Op::kDelete   ? stats.events_deleted
              : op == Op::kRead     ? stats.events_read
              : op == Op::kTruncate ? stats.events_truncated
                                    : stats.events_messages;
    c.fetch_add(1, std::memory_order_relaxed);
  }

  /// Next position in the current transaction; false when Kafka already holds that event.
  bool next_position(event::SourceInfo& source) {
    source.position = Position{tx.final_lsn, tx_index++};
    source.xid = tx.xid;
    source.commit_time_ms = pg::pg_time_to_unix_ms(tx.commit_time);
    return !(resume_after && source.position <= *resume_after);
  }

  /// An event Kafka would refuse stops the pipeline here, before anything after it is sent,
  /// with what the operator needs: table, key, size, and the setting to raise. Confirmation
  /// stays before it, so nothing is lost while it waits (docs/operations.md, "Oversized rows").
  void check_size(const event::TableSchema& t) {
    // librdkafka counts the record's framing too; 128 bytes cover it with room to spare.
    size_t size = key_buf.size() + value_buf.size() + 128;
    for (const auto& h : event_headers.headers()) size += h.name.size() + h.value.size();
    if (size <= max_message_bytes) return;
    stats.oversized_events.fetch_add(1, std::memory_order_relaxed);
    std::string key = key_buf.substr(0, 200);
    if (key_buf.size() > 200) key += "…";
    fail(
        "{}: the change event of {}.{} with key {} is {} bytes, more than Kafka's message limit "
        "of {} bytes (message.max.bytes), at WAL position {}. Nothing after it is confirmed to "
        "PostgreSQL until it is sent. Fix: raise message.max.bytes in kafka.properties (and the "
        "topic's max.message.bytes on the brokers) above {} bytes, then restart or reload",
        context, t.schema, t.table, key, size, max_message_bytes, received, size);
  }

  /// Fills the unchanged TOASTed values of `after` (an update of a table without REPLICA
  /// IDENTITY FULL, where pgoutput leaves them out) from the source's current row, found by
  /// its key. The value read may be newer than the event; any later change of it has its own
  /// event, and projections apply by position, so they converge on the source. Without it a
  /// projection could not build a row that enters its filter, or changes its key, through
  /// such an update. Returns `after` unchanged when the row is gone (a later event deletes it).
  ///
  /// Never older: a commit is decoded before it is visible to other sessions, so the read is
  /// only taken from a snapshot that sees the event's transaction (its 32-bit xid widened
  /// with the snapshot's epoch), else tried again.
  event::RowImage fill_unchanged(const event::TableSchema& t, event::RowImage after) {
    std::string select;
    for (size_t i = 0; i < after.size() && i < t.columns.size(); ++i) {
      if (after[i].kind != ColumnValue::Kind::kUnchanged) continue;
      select += ", t.";
      select += sql->quote_ident(t.columns[i].name);
    }
    if (select.empty() || !t.has_key()) return after;
    std::string on;
    std::vector<std::optional<std::string>> params{std::to_string(tx.xid)};
    for (size_t i = 0; i < after.size() && i < t.columns.size(); ++i) {
      if (!t.columns[i].key) continue;
      if (after[i].kind != ColumnValue::Kind::kText) return after;
      if (!on.empty()) on += " AND ";
      params.emplace_back(std::string(after[i].data));
      on += fmt::format("t.{} = ${}", sql->quote_ident(t.columns[i].name), params.size());
    }
    const std::string query = fmt::format(
        "SELECT pg_visible_in_snapshot((SELECT (CASE WHEN f > m THEN f - 4294967296 ELSE f END)"
        "::text::xid8 FROM (SELECT ((m >> 32) << 32) | $1::bigint AS f, m FROM (SELECT "
        "pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS m) a) b), "
        "pg_current_snapshot()), t.ctid IS NOT NULL{} FROM (SELECT 1) one LEFT JOIN {}.{} t "
        "ON {}",
        select, sql->quote_ident(t.schema), sql->quote_ident(t.table), on);
    // A synchronous-replication wait holds a decoded commit invisible for as long as it lasts.
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    for (;;) {
      try {
        fetched = sql->exec_params(query, params);
      } catch (const pg::SqlError& e) {
        // Dropped or renamed since (42703 undefined column, 42P01 undefined table): there is
        // no current value to read. The event keeps the columns unchanged, as pgoutput sent
        // it; later events carry the new shape, which projections check (docs/projections.md,
        // "Schema versions").
        if (e.sqlstate() != "42703" && e.sqlstate() != "42P01") throw;
        spdlog::warn(
            "{}: the unchanged TOASTed values of an update of {}.{} (transaction {}) "
            "cannot be read again: {}. The event marks them unchanged",
            context, t.schema, t.table, tx.xid, e.what());
        return after;
      }
      stats.toast_fetches.fetch_add(1, std::memory_order_relaxed);
      if (fetched.rows() == 1 && fetched.value(0, 0) == "t") break;
      if (Clock::now() > deadline) {
        fail_retriable(
            "{}: transaction {} (commit {}) is decoded but still not visible to "
            "other sessions after 60 s (a synchronous replication wait?); the "
            "capture starts again from its checkpoint",
            context, tx.xid, tx.final_lsn);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (fetched.value(0, 1) != "t") return after;  // the row is gone
    fetched_row.assign(after.begin(), after.end());
    int c = 2;
    for (auto& v : fetched_row) {
      if (v.kind != ColumnValue::Kind::kUnchanged) continue;
      v = fetched.is_null(0, c) ? ColumnValue{ColumnValue::Kind::kNull, {}}
                                : ColumnValue{ColumnValue::Kind::kText, fetched.value(0, c)};
      ++c;
    }
    return fetched_row;
  }

  void emit_change(const event::TableSchema& t, Op op, event::RowImage key_row,
                   event::RowImage before, event::RowImage after) {
    event::SourceInfo source;
    if (!next_position(source) || skip_current) return;
    const bool has_key = encoder.encode_key(t, key_row, key_buf);
    encoder.encode_change(t, op, before, after, source, now_unix_ms(), value_buf);
    fill_headers(&t, op, source);
    check_size(t);
    const bool tombstone = op == Op::kDelete && has_key && src.tombstones_on_delete;
    // With a tombstone, the position rides on it: the delete alone acknowledged must not let a
    // restart skip the pair, or the tombstone would be lost.
    produce(t.topic, has_key, tombstone ? std::nullopt : std::optional(source.position));
    ++tx_events;
    count(op);
    if (tombstone) {
      headers.clear();
      const uint64_t seq = tracker.add(source.position);
      producer->produce(t.topic, key_buf.data(), key_buf.size(), std::string_view{}, headers, seq);
      stats.bytes_produced.fetch_add(key_buf.size(), std::memory_order_relaxed);
    }
  }

  void publish_schema(const event::TableSchema& t, Lsn since) {
    key_buf.clear();
    key_buf += t.schema;
    key_buf += '.';
    key_buf += t.table;
    value_buf = SchemaRegistry::schema_event_json(t, since);
    headers.clear();
    version_buf = std::to_string(t.version);
    headers.add("modsync.schema_version", version_buf);
    headers.add("content-type", "application/json");
    produce(schema_topic, true, std::nullopt);
    spdlog::info("{}: table {}.{} is at schema version {} (topic {})", context, t.schema, t.table,
                 t.version, t.topic);
  }

  /// Fills each column's type_name from the source catalog, for subscribers that create
  /// their tables from the published schema. One query per Relation message (rare).
  void name_types(std::vector<event::Column>& cols) {
    std::string oids = "{", modifiers = "{";
    for (size_t i = 0; i < cols.size(); ++i) {
      oids += fmt::format("{}{}", i ? "," : "", cols[i].type_oid);
      modifiers += fmt::format("{}{}", i ? "," : "", cols[i].type_modifier);
    }
    pg::PgResult r = sql->exec_params(
        "SELECT format_type(t.o, t.m) FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY "
        "t(o, m, n) ORDER BY t.n",
        {oids + "}", modifiers + "}"});
    for (int i = 0; i < r.rows() && static_cast<size_t>(i) < cols.size(); ++i) {
      cols[static_cast<size_t>(i)].type_name = std::string(r.value(i, 0));
    }
  }

  const event::TableSchema& register_table(uint32_t relation_id, std::string_view nsp,
                                           std::string_view rel, std::vector<event::Column> cols,
                                           Lsn at) {
    name_types(cols);
    event::TableSchema schema;
    schema.module = src.module;
    schema.database = database;
    schema.schema = std::string(nsp);
    schema.table = std::string(rel);
    schema.columns = std::move(cols);
    schema.topic = config::topic_for(src, pair.kafka.topic_prefix, nsp, rel);
    auto update = registry.on_relation(relation_id, std::move(schema), at);
    if (update.publish) publish_schema(*update.schema, at);
    return *update.schema;
  }

  const event::TableSchema& table_for(uint32_t relation_id, const char* what) {
    const auto* t = registry.find(relation_id);
    if (!t) {
      fail(
          "{}: received {} for relation {} before its Relation message at {}; the stream is "
          "inconsistent. Fix: report this as a bug with the server log.",
          context, what, relation_id, received);
    }
    return *t;
  }

  void emit_transaction_event(bool begin) {
    if (transaction_topic.empty()) return;
    key_buf.clear();
    fmt::format_to(std::back_inserter(key_buf), "{{\"id\":\"{}:{}\"}}", tx.xid, tx.final_lsn);
    value_buf.clear();
    fmt::format_to(std::back_inserter(value_buf),
                   "{{\"status\":\"{}\",\"id\":\"{}:{}\",\"event_count\":{},\"ts_ms\":{}}}",
                   begin ? "BEGIN" : "END", tx.xid, tx.final_lsn,
                   begin ? std::string("null") : std::to_string(tx_events),
                   pg::pg_time_to_unix_ms(tx.commit_time));
    headers.clear();
    headers.add("content-type", "application/json");
    produce(transaction_topic, true, std::nullopt);
  }

  bool wants_message(std::string_view prefix) const {
    if (!src.message_prefixes) return true;
    for (const auto& p : *src.message_prefixes)
      if (p == prefix) return true;
    return false;
  }

  // ---- the stream --------------------------------------------------------------------------

  void handle(const pg::Message& message) {
    std::visit([this](const auto& m) { on(m); }, message);
  }

  void on(const pg::Begin& m) {
    in_tx = true;
    tx = m;
    tx_index = 0;
    tx_events = 0;
    if (!(resume_after && Position{m.final_lsn, 0} <= *resume_after)) emit_transaction_event(true);
  }

  void on(const pg::Commit& m) {
    if (!(resume_after && Position{tx.final_lsn, UINT32_MAX} <= *resume_after)) {
      emit_transaction_event(false);
    }
    tracker.mark(m.end_lsn.value());
    in_tx = false;
    stats.transactions.fetch_add(1, std::memory_order_relaxed);
    stats.last_commit_unix_ms.store(pg::pg_time_to_unix_ms(m.commit_time),
                                    std::memory_order_relaxed);
  }

  void on(const pg::Origin&) {}
  void on(const pg::Type&) {}

  void on(const pg::Relation& m) {
    std::vector<event::Column> columns = m.columns;
    if (m.replica_identity == 'f') {
      // pgoutput flags every column of a REPLICA IDENTITY FULL table as identity. The row's key
      // (Kafka key, partition, key-change detection) stays its primary key, as in the snapshot;
      // else an unchanged TOASTed column would make the key unknowable.
      const pg::TableInfo* info = nullptr;
      for (const auto& t : tables)
        if (t.oid == m.id) info = &t;
      for (auto& c : columns) {
        c.key = info && std::find(info->key_columns.begin(), info->key_columns.end(), c.name) !=
                            info->key_columns.end();
      }
    }
    register_table(m.id, m.nspname, m.relname, std::move(columns), in_tx ? tx.final_lsn : received);
  }

  bool covered(uint32_t relation_id) const {
    const auto it = snapshot_covers.find(relation_id);
    return it != snapshot_covers.end() && tx.final_lsn < it->second;
  }

  void on(const pg::Insert& m) {
    const auto& t = table_for(m.relation_id, "an Insert");
    skip_current = covered(m.relation_id);
    emit_change(t, Op::kCreate, m.new_row, {}, m.new_row);
  }

  void on(const pg::Update& m) {
    const auto& t = table_for(m.relation_id, "an Update");
    skip_current = covered(m.relation_id);
    const bool full = m.old_kind == 'O';
    event::RowImage after = m.new_row;
    if (full && m.old_row.size() == m.new_row.size()) {
      // The full old row carries the TOASTed values the new image leaves out: every event of a
      // REPLICA IDENTITY FULL table has every value (docs/events.md).
      full_row.assign(m.new_row.begin(), m.new_row.end());
      for (size_t i = 0; i < full_row.size(); ++i)
        if (full_row[i].kind == ColumnValue::Kind::kUnchanged) full_row[i] = m.old_row[i];
      after = full_row;
    } else if (!full && !skip_current) {
      after = fill_unchanged(t, after);
    }
    if (m.old_kind != 0 && key_changed(t, m.old_row, after) && t.has_key()) {
      // A key change is a delete of the old key and a create of the new one, so each key's
      // partition sees a complete history.
      emit_change(t, Op::kDelete, m.old_row, m.old_row, {});
      emit_change(t, Op::kCreate, after, {}, after);
      return;
    }
    emit_change(t, Op::kUpdate, after, full ? m.old_row : event::RowImage{}, after);
  }

  void on(const pg::Delete& m) {
    const auto& t = table_for(m.relation_id, "a Delete");
    skip_current = covered(m.relation_id);
    emit_change(t, Op::kDelete, m.old_row, m.old_row, {});
  }

  void on(const pg::Truncate& m) {
    for (uint32_t id : m.relation_ids) {
      const auto& t = table_for(id, "a Truncate");
      event::SourceInfo source;
      if (!next_position(source) || covered(id)) continue;
      key_buf.clear();
      encoder.encode_truncate(t, source, now_unix_ms(), value_buf);
      fill_headers(&t, Op::kTruncate, source);
      produce(t.topic, false, source.position);
      ++tx_events;
      count(Op::kTruncate);
    }
  }

  void on(const pg::LogicalMessage& m) {
    const bool heartbeat = m.prefix == pg::SourceCatalog::kHeartbeatPrefix;
    if (heartbeat) stats.last_heartbeat_unix_ms.store(now_unix_ms(), std::memory_order_relaxed);
    if (!m.transactional) {
      // Non-transactional messages arrive in WAL order between transactions: a unit of their own.
      if (!heartbeat && wants_message(m.prefix) &&
          !(resume_after && Position{m.lsn, 0} <= *resume_after)) {
        event::SourceInfo source;
        source.position = Position{m.lsn, 0};
        source.commit_time_ms = now_unix_ms();
        emit_message(m, source);
      }
      tracker.mark(m.lsn.value());
      return;
    }
    if (heartbeat || !wants_message(m.prefix)) return;
    event::SourceInfo source;
    if (!next_position(source)) return;
    emit_message(m, source);
    ++tx_events;
  }

  void emit_message(const pg::LogicalMessage& m, const event::SourceInfo& source) {
    encoder.encode_message(src.module, database, m.prefix, m.content, m.transactional, source,
                           now_unix_ms(), value_buf);
    key_buf.clear();
    event::append_json_string(m.prefix, key_buf);
    fill_headers(nullptr, Op::kMessage, source);
    produce(message_topic, true, source.position);
    count(Op::kMessage);
  }

  // ---- checkpoints and confirmation --------------------------------------------------------

  /// Records what Kafka acknowledged, then confirms to PostgreSQL only what is recorded.
  void checkpoint(bool force_status) {
    const auto acked = tracker.acked_position();
    Lsn confirm = confirmed;
    if (auto token = tracker.completed_token()) confirm = std::max(confirm, Lsn{*token});
    if (!in_tx && tracker.pending() == 0) confirm = std::max(confirm, idle_lsn);
    const auto acked_to_save = acked ? acked : saved_acked;
    if (acked_to_save != saved_acked || confirm != confirmed) {
      store.save_source(
          checkpoint::SourceCheckpoint{acked_to_save.value_or(Position{}), confirm, now_unix_ms()});
      saved_acked = acked_to_save;
      confirmed = confirm;
      stats.confirmed_lsn.store(confirmed.value(), std::memory_order_relaxed);
    }
    const auto now = Clock::now();
    if (force_status || confirmed != sent_confirm ||
        now - last_status >= std::chrono::milliseconds(src.status_interval)) {
      repl->send_status(received, confirmed);
      sent_confirm = confirmed;
      last_status = now;
    }
    last_checkpoint = now;
  }

  /// The server's WAL position and the slot's wal_status, for the lag and WAL-retention metrics
  /// (one short query; the pipeline keeps no transaction open on this connection).
  void record_slot_state(pg::SourceCatalog& catalog) {
    if (auto slot = catalog.slot(src.slot)) stats.set_wal_status(slot->wal_status);
    if (auto lsn = Lsn::parse(sql->query_value("SELECT pg_current_wal_lsn()"))) {
      stats.server_wal_lsn.store(lsn->value(), std::memory_order_relaxed);
    }
  }

  /// Compares each table's publication membership with the one recorded: in its snapshot
  /// progress when `from_checkpoint` (at start, before this run set the publication up), else
  /// with the one read last. A table whose membership changed is marked for a new snapshot
  /// behind a snapshot truncate, and the result is true.
  bool membership_changed(pg::SourceCatalog& catalog, bool from_checkpoint) {
    if (src.snapshot != config::SnapshotMode::kInitial) {
      // Without snapshots nothing can be read again: say so, and publish the table again.
      if (from_checkpoint) return false;
      bool changed = false;
      for (const auto& t : tables) {
        const std::string now = catalog.membership(src.publication, t);
        if (now == membership[t.oid]) continue;
        spdlog::error(
            "{}: the publication membership of {} changed ({} -> {}): changes "
            "committed while it was not published are lost, and with snapshot: never "
            "they cannot be read again. The publication is set up again. Fix: set "
            "source.snapshot: initial and rebuild the table's projections with "
            "`modsync resnapshot --config <file> {} {}`",
            context, t.name.to_string(), membership[t.oid], now, pair.daemon.id,
            t.name.to_string());
        changed = true;
      }
      if (changed) {
        catalog.ensure_publication(src.publication, tables);
        for (const auto& t : tables) membership[t.oid] = catalog.membership(src.publication, t);
      }
      return false;
    }
    bool changed = false;
    for (const auto& t : tables) {
      auto progress = store.load_snapshot_progress(t.name.schema, t.name.table);
      if (!progress || !progress->done) continue;
      std::string before, now;
      if (from_checkpoint) {
        if (progress->membership.empty()) {
          // Recorded by a modsync that did not record it: nothing to compare with yet.
          progress->membership = membership[t.oid];
          store.save_snapshot_progress(*progress);
          continue;
        }
        before = progress->membership;
        now = membership_at_start[t.oid];
      } else {
        before = membership[t.oid];
        now = catalog.membership(src.publication, t);
      }
      if (now == before) continue;
      spdlog::warn(
          "{}: the publication membership of {} changed ({} -> {}): changes may not "
          "have been published, or partitions were attached or detached, so its "
          "snapshot is taken again, behind a snapshot truncate",
          context, t.name.to_string(), before, now);
      checkpoint::SnapshotProgress again;
      again.schema = t.name.schema;
      again.table = t.name.table;
      again.truncate_first = true;
      store.save_snapshot_progress(again);
      changed = true;
    }
    return changed;
  }

  /// Streams until `stop`; returns true when it ended early to take a snapshot again.
  bool stream(const std::atomic<bool>& stop) {
    pg::SourceCatalog catalog(*sql);
    const auto saved = store.load_source();
    Lsn start;
    if (saved) {
      start = saved->confirmed;
      confirmed = saved->confirmed;
      saved_acked = saved->acked;
      if (!saved->acked.commit_lsn.is_zero()) resume_after = saved->acked;
    }
    snapshot_covers.clear();
    for (const auto& t : tables) {
      auto p = store.load_snapshot_progress(t.name.schema, t.name.table);
      if (p && p->done && !p->whole_at.is_zero() && start < p->whole_at) {
        snapshot_covers[t.oid] = p->whole_at;
      }
    }
    repl->start(src.slot, start, src.publication);
    stats.state = CaptureStats::State::kStreaming;
    spdlog::info("{}: streaming from slot {} at {} (resuming after {})", context, src.slot, start,
                 resume_after ? resume_after->to_string() : std::string("nothing"));
    last_heartbeat = Clock::now();
    int frames_since_poll = 0;
    int timeout_ms = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const auto frame = repl->read(timeout_ms);
      using Kind = pg::ReplicationStream::Frame::Kind;
      if (frame.kind == Kind::kData) {
        received = std::max(received, frame.wal_start);
        handle(decoder.decode(frame.payload));
        timeout_ms = 0;
      } else if (frame.kind == Kind::kKeepalive) {
        received = std::max(received, frame.wal_end);
        if (!in_tx && tracker.pending() == 0) idle_lsn = std::max(idle_lsn, frame.wal_end);
        if (frame.reply_requested) checkpoint(true);
      } else {
        timeout_ms = 20;
      }
      if (++frames_since_poll >= kPollEveryFrames || frame.kind != Kind::kData) {
        frames_since_poll = 0;
        poll_producer(0);
        stats.received_lsn.store(received.value(), std::memory_order_relaxed);
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
          if (!in_tx && membership_changed(catalog, false)) break;
        }
        stats.producer_queue.store(producer->in_flight(), std::memory_order_relaxed);
      }
    }
    // Stop: let Kafka acknowledge what is in flight, record it, confirm it.
    const auto deadline_ms =
        static_cast<int>(std::chrono::milliseconds(pair.daemon.shutdown_timeout).count());
    if (!producer->flush(std::max(1000, deadline_ms / 2))) {
      spdlog::warn(
          "{}: {} events still unacknowledged at shutdown; they are re-sent on the next "
          "start (same event ids)",
          context, producer->in_flight());
    }
    if (delivery_error) throw *delivery_error;
    checkpoint(true);
    return !stop.load(std::memory_order_relaxed);
  }

  // ---- the snapshot ------------------------------------------------------------------------

  struct ChunkDone {
    uint64_t token;
    checkpoint::SnapshotProgress progress;
  };

  void save_completed_chunks(std::vector<ChunkDone>& chunks) {
    const auto token = tracker.completed_token();
    if (!token) return;
    size_t done = 0;
    while (done < chunks.size() && chunks[done].token <= *token) ++done;
    if (done == 0) return;
    // Every finished chunk's record, in one write: chunks of several tables can complete in
    // one poll, and each table's newest record (later puts win) must survive.
    checkpoint::Batch batch;
    for (size_t i = 0; i < done; ++i) batch.put_snapshot_progress(chunks[i].progress);
    store.commit(batch);
    chunks.erase(chunks.begin(), chunks.begin() + static_cast<long>(done));
  }

  /// A table's snapshot that starts over from its first row (after a crash, or on a new slot)
  /// first sends a truncate event marked as a snapshot event, just below the new consistent
  /// point: the rows an earlier attempt sent can be told from the new ones only by their older
  /// position, so a keyless projection would hold them twice, and a keyed one would keep rows
  /// deleted before the new point (streaming skips what that point holds). So does the snapshot of
  /// a table whose publication membership changed (changes went unpublished, or partitions were
  /// attached or detached: rows came or went without events).
  /// Projections apply it whatever their `ops` (docs/events.md, "Snapshot restarts").
  void emit_snapshot_restart(const event::TableSchema& schema, uint32_t ordinal, Lsn point) {
    event::SourceInfo source;
    source.position = Position{Lsn{point.value() - 1}, 0};
    source.commit_time_ms = now_unix_ms();
    source.snapshot = event::SnapshotMarker::kTrue;
    source.snapshot_table = ordinal;
    key_buf.clear();
    encoder.encode_truncate(schema, source, source.commit_time_ms, value_buf);
    fill_headers(&schema, Op::kTruncate, source);
    produce(schema.topic, false, std::nullopt);
    count(Op::kTruncate);
    spdlog::info(
        "{}: snapshot of {}.{} starts over at {}: sent a snapshot truncate at {} so "
        "rows of the earlier attempt leave keyless projections",
        context, schema.schema, schema.table, point, source.position.to_string());
  }

  /// Emits every row of the tables whose snapshot is not done, as op "r" events at the
  /// snapshot's consistent point. Progress is recorded per chunk once Kafka acknowledged it.
  /// `restart`: earlier attempts may have sent rows of these tables (see
  /// emit_snapshot_restart). Returns false when `stop` interrupted it (progress so far saved).
  bool snapshot(const std::string& snapshot_name, Lsn consistent_point, bool restart,
                const std::atomic<bool>& stop) {
    stats.state = CaptureStats::State::kSnapshotting;
    pg::PgConnection conn =
        pg::PgConnection::connect(src.effective_dsn, pg::PgConnection::Mode::kRegular, context);
    pg::SnapshotReader reader(conn, snapshot_name);
    std::vector<ChunkDone> chunks;
    uint64_t next_token = 1;
    std::vector<ColumnValue> row;
    uint32_t last_pending = 0;
    for (uint32_t ordinal = 0; ordinal < tables.size(); ++ordinal) {
      const auto& t = tables[ordinal];
      auto p = store.load_snapshot_progress(t.name.schema, t.name.table);
      if (!p || !p->done) last_pending = ordinal;
    }
    for (uint32_t ordinal = 0; ordinal < tables.size(); ++ordinal) {
      const auto& table = tables[ordinal];
      auto progress =
          store.load_snapshot_progress(table.name.schema, table.name.table)
              .value_or(checkpoint::SnapshotProgress{table.name.schema, table.name.table});
      if (progress.done) continue;
      if (table.key_columns.empty() || progress.consistent_point.is_zero()) {
        // Keyless tables cannot resume mid-table: they start over.
        progress.rows = 0;
        progress.last_key_json.clear();
      }
      // Only a table read whole at one point lets streaming skip what that point holds.
      progress.whole_at = progress.rows == 0 ? consistent_point : Lsn{};
      progress.consistent_point = consistent_point;
      progress.snapshot_name = snapshot_name;
      const auto& schema = register_table(table.oid, table.name.schema, table.name.table,
                                          reader.columns(table), consistent_point);
      progress.membership = membership[table.oid];
      // Read whole at this point after earlier attempts (whose rows Kafka may hold, progress
      // unrecorded): streaming skips the changes this point holds, deletes among them, so the
      // rows of the earlier attempts must go first, keyed tables too.
      if ((restart && progress.rows == 0) || progress.truncate_first) {
        emit_snapshot_restart(schema, ordinal, consistent_point);
        progress.truncate_first = false;
      }
      std::vector<std::string> last_key = decode_key_list(progress.last_key_json);
      std::vector<int> key_index;
      for (const auto& k : table.key_columns) {
        for (size_t i = 0; i < schema.columns.size(); ++i)
          if (schema.columns[i].name == k) key_index.push_back(static_cast<int>(i));
      }
      spdlog::info("{}: snapshot of {} from row {} at {}", context, table.name.to_string(),
                   progress.rows, consistent_point);
      const int limit = static_cast<int>(src.snapshot_chunk_rows);
      const int64_t ts = now_unix_ms();
      for (;;) {
        // Keyed tables read one row more than they emit: it tells whether this chunk is the
        // table's last, so the snapshot's final row can carry snapshot "last".
        const bool keyed = !key_index.empty();
        pg::PgResult chunk =
            reader.read_chunk(table, schema.columns, last_key, keyed ? limit + 1 : limit);
        const int n = std::min(chunk.rows(), limit);
        const bool final_chunk = keyed ? chunk.rows() <= limit : n < limit;
        row.resize(schema.columns.size());
        for (int r = 0; r < n; ++r) {
          for (int c = 0; c < static_cast<int>(row.size()); ++c) {
            row[c] = chunk.is_null(r, c) ? ColumnValue{ColumnValue::Kind::kNull, {}}
                                         : ColumnValue{ColumnValue::Kind::kText, chunk.value(r, c)};
          }
          event::SourceInfo source;
          // Each snapshot row has its own position, so a keyless projection can tell a row
          // re-sent after a crash from a new one.
          const uint64_t row_ordinal = progress.rows + static_cast<uint64_t>(r);
          source.position = Position{
              consistent_point, static_cast<uint32_t>(std::min<uint64_t>(row_ordinal, UINT32_MAX))};
          source.commit_time_ms = ts;
          source.snapshot = final_chunk && ordinal == last_pending && r == n - 1
                                ? event::SnapshotMarker::kLast
                                : event::SnapshotMarker::kTrue;
          source.snapshot_table = ordinal;
          source.snapshot_row = row_ordinal;
          const bool has_key = encoder.encode_key(schema, row, key_buf);
          encoder.encode_change(schema, Op::kRead, {}, row, source, ts, value_buf);
          fill_headers(&schema, Op::kRead, source);
          check_size(schema);
          produce(schema.topic, has_key, std::nullopt);
          count(Op::kRead);
        }
        progress.rows += static_cast<uint64_t>(n);
        stats.snapshot_rows.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
        if (n > 0 && !key_index.empty()) {
          last_key.clear();
          for (int k : key_index) last_key.emplace_back(chunk.value(n - 1, k));
          progress.last_key_json = encode_key_list(last_key);
        }
        progress.done = final_chunk;
        chunks.push_back(ChunkDone{next_token, progress});
        tracker.mark(next_token++);
        poll_producer(0);
        save_completed_chunks(chunks);
        if (progress.done) break;
        if (stop.load(std::memory_order_relaxed)) break;
      }
      if (!progress.done) break;
      spdlog::info("{}: snapshot of {} read {} rows", context, table.name.to_string(),
                   progress.rows);
    }
    reader.finish();
    // On stop, wait for Kafka only as long as the shutdown allows; what is not acknowledged
    // is read again on the next start.
    const auto deadline =
        Clock::now() + std::chrono::milliseconds(pair.daemon.shutdown_timeout) / 2;
    while (!chunks.empty() && (!stop.load(std::memory_order_relaxed) || Clock::now() < deadline)) {
      poll_producer(100);
      save_completed_chunks(chunks);
    }
    tracker.reset();
    return !stop.load(std::memory_order_relaxed);
  }

  /// Creates the slot if missing (exporting a snapshot when one is due) and runs the snapshot
  /// for every table that has not finished one. Returns false when `stop` interrupted the
  /// snapshot.
  bool prepare_slot(const std::atomic<bool>& stop) {
    pg::SourceCatalog catalog(*sql);
    // Before this run's snapshots record anything: what changed while modsync was away.
    membership_changed(catalog, true);
    const auto slot = catalog.slot(src.slot);
    const bool want_snapshot = src.snapshot == config::SnapshotMode::kInitial;
    if (slot && slot->plugin != "pgoutput") {
      fail(
          "{}: replication slot {} exists but uses plugin {}, not pgoutput. Fix: drop it "
          "(modsync slots drop --config <file> {}) or set source.slot to another name.",
          context, src.slot, slot->plugin, src.slot);
    }
    if (slot && slot->wal_status == "lost") {
      fail(
          "{}: replication slot {} is invalidated (wal_status lost): PostgreSQL removed WAL it "
          "still needed, so changes were lost. Fix: drop the slot (modsync slots drop --config "
          "<file> {}); "
          "modsync then creates a new one and snapshots again by itself; rebuild projections that "
          "must lose rows deleted meanwhile (modsync resnapshot). See docs/runbook.md, \"A slot "
          "was lost or invalidated\".",
          context, src.slot, src.slot);
    }
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
      if (want_snapshot) return snapshot(info.snapshot_name, info.consistent_point, had_slot, stop);
      return true;
    }
    if (!want_snapshot) return true;
    bool pending = false;
    for (const auto& t : tables) {
      auto p = store.load_snapshot_progress(t.name.schema, t.name.table);
      pending = pending || !p || !p->done;
    }
    if (!pending) return true;
    // The slot's own exported snapshot is gone (crash mid-snapshot, or a table was added):
    // a temporary slot exports a fresh one. Rows read from it carry its later consistent
    // point; streaming from the permanent slot re-sends older changes, which consumers
    // applying by position ignore (docs/architecture.md, "Snapshots").
    pg::ReplicationStream temp(pg::PgConnection::connect(
        src.effective_dsn, pg::PgConnection::Mode::kReplication, context));
    // A slot name has at most 63 characters (NAMEDATALEN - 1).
    auto info = temp.create_slot(src.slot.substr(0, 58) + "_snap", true, true);
    spdlog::info("{}: resuming the snapshot with a fresh exported snapshot at {}", context,
                 info.consistent_point);
    return snapshot(info.snapshot_name, info.consistent_point, true, stop);
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
    : impl_(std::make_unique<Impl>(pair, store, stats)) {
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
