#include "change_mapper.hpp"

#include <algorithm>
#include <iterator>
#include <variant>

#include <fmt/format.h>

#include "modsync/common/error.hpp"
#include "modsync/common/time.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/pgsource/source_catalog.hpp"

namespace modsync::capture {

namespace {

using event::ColumnValue;
using event::Op;
using Kind = MappedEvent::Kind;

bool key_changed(const event::TableSchema& t, event::RowImage old_row, event::RowImage new_row) {
  if (old_row.size() != new_row.size()) return true;
  for (size_t i = 0; i < t.columns.size() && i < old_row.size(); ++i) {
    if (!t.columns[i].key) continue;
    if (new_row[i].kind == ColumnValue::Kind::kUnchanged) continue;
    if (old_row[i].kind != new_row[i].kind || old_row[i].data != new_row[i].data) return true;
  }
  return false;
}

}  // namespace

ChangeMapper::ChangeMapper(Options options)
    : options_(std::move(options)), encoder_(options_.encoder) {
  json_headers_.push_back({"content-type", "application/json"});
}

void ChangeMapper::set_source(std::string database,
                              std::unordered_map<uint32_t, std::vector<std::string>> primary_keys) {
  database_ = std::move(database);
  primary_keys_ = std::move(primary_keys);
  in_tx_ = false;
}

void ChangeMapper::start_stream(std::optional<Position> resume_after,
                                std::unordered_map<uint32_t, Lsn> snapshot_covers) {
  resume_after_ = resume_after;
  snapshot_covers_ = std::move(snapshot_covers);
  in_tx_ = false;
}

void ChangeMapper::map(const pgsource::Message& message, Lsn received, Host& host) {
  std::visit([&](const auto& m) { on(m, received, host); }, message);
}

MappedEvent ChangeMapper::change_event(Kind kind, Op op, const event::TableSchema& t, bool has_key,
                                       std::optional<Position> position) const {
  MappedEvent e;
  e.kind = kind;
  e.op = op;
  e.table = &t;
  e.topic = t.topic;
  e.has_key = has_key;
  e.key = key_;
  e.value = value_;
  e.headers = headers_.headers();
  e.position = position;
  return e;
}

bool ChangeMapper::next_position(event::SourceInfo& source) {
  source.position = Position{tx_.final_lsn, tx_index_++};
  source.xid = tx_.xid;
  source.commit_time_ms = pgsource::pg_time_to_unix_ms(tx_.commit_time);
  return !already_sent(source.position);
}

bool ChangeMapper::covered(uint32_t relation_id) const {
  const auto it = snapshot_covers_.find(relation_id);
  return it != snapshot_covers_.end() && tx_.final_lsn < it->second;
}

const event::TableSchema& ChangeMapper::table_for(uint32_t relation_id, const char* what,
                                                  Lsn received, Host& host) const {
  const auto* t = host.find_table(relation_id);
  if (!t) {
    fail(
        "{}: received {} for relation {} before its Relation message at {}; the stream is "
        "inconsistent. Fix: report this as a bug with the server log.",
        options_.context, what, relation_id, received);
  }
  return *t;
}

void ChangeMapper::emit_change(const event::TableSchema& t, Op op, event::RowImage key_row,
                               event::RowImage before, event::RowImage after, bool skip,
                               Host& host) {
  event::SourceInfo source;
  if (!next_position(source) || skip) return;
  const bool has_key = encoder_.encode_key(t, key_row, key_);
  encoder_.encode_change(t, op, before, after, source, now_unix_ms(), value_);
  headers_.fill_change(t, op, source);
  const bool tombstone = op == Op::kDelete && has_key && options_.tombstones_on_delete;
  // With a tombstone, the position rides on it: the delete alone acknowledged must not let a
  // restart skip the pair, or the tombstone would be lost.
  host.emit(change_event(Kind::kChange, op, t, has_key,
                         tombstone ? std::nullopt : std::optional(source.position)));
  ++tx_events_;
  if (tombstone) {
    MappedEvent e = change_event(Kind::kTombstone, Op::kDelete, t, true, source.position);
    e.value = std::string_view{};
    e.headers = {};
    host.emit(e);
  }
}

void ChangeMapper::emit_transaction(bool begin, Host& host) {
  if (options_.transaction_topic.empty()) return;
  key_.clear();
  fmt::format_to(std::back_inserter(key_), "{{\"id\":\"{}:{}\"}}", tx_.xid, tx_.final_lsn);
  value_.clear();
  fmt::format_to(std::back_inserter(value_),
                 "{{\"status\":\"{}\",\"id\":\"{}:{}\",\"event_count\":{},\"ts_ms\":{}}}",
                 begin ? "BEGIN" : "END", tx_.xid, tx_.final_lsn,
                 begin ? std::string("null") : std::to_string(tx_events_),
                 pgsource::pg_time_to_unix_ms(tx_.commit_time));
  MappedEvent e;
  e.kind = Kind::kTransaction;
  e.topic = options_.transaction_topic;
  e.has_key = true;
  e.key = key_;
  e.value = value_;
  e.headers = json_headers_;
  host.emit(e);
}

bool ChangeMapper::wants_message(std::string_view prefix) const {
  if (!options_.message_prefixes) return true;
  for (const auto& p : *options_.message_prefixes)
    if (p == prefix) return true;
  return false;
}

void ChangeMapper::on(const pgsource::Begin& m, Lsn, Host& host) {
  in_tx_ = true;
  tx_ = m;
  tx_index_ = 0;
  tx_events_ = 0;
  if (!already_sent(Position{m.final_lsn, 0})) emit_transaction(true, host);
}

void ChangeMapper::on(const pgsource::Commit& m, Lsn, Host& host) {
  if (!already_sent(Position{tx_.final_lsn, UINT32_MAX})) emit_transaction(false, host);
  host.end_unit(m.end_lsn);
  in_tx_ = false;
}

void ChangeMapper::on(const pgsource::Relation& m, Lsn received, Host& host) {
  std::vector<event::Column> columns = m.columns;
  if (m.replica_identity == 'f') {
    // pgoutput flags every column of a REPLICA IDENTITY FULL table as identity. The row's key
    // (Kafka key, partition, key-change detection) stays its primary key, as in the snapshot;
    // else an unchanged TOASTed column would make the key unknowable.
    const auto it = primary_keys_.find(m.id);
    for (auto& c : columns) {
      c.key = it != primary_keys_.end() &&
              std::find(it->second.begin(), it->second.end(), c.name) != it->second.end();
    }
  }
  host.register_relation(m.id, m.nspname, m.relname, std::move(columns),
                         in_tx_ ? tx_.final_lsn : received);
}

void ChangeMapper::on(const pgsource::Insert& m, Lsn received, Host& host) {
  const auto& t = table_for(m.relation_id, "an Insert", received, host);
  emit_change(t, Op::kCreate, m.new_row, {}, m.new_row, covered(m.relation_id), host);
}

void ChangeMapper::on(const pgsource::Update& m, Lsn received, Host& host) {
  const auto& t = table_for(m.relation_id, "an Update", received, host);
  const bool skip = covered(m.relation_id);
  const bool full = m.old_kind == 'O';
  event::RowImage after = m.new_row;
  if (full && m.old_row.size() == m.new_row.size()) {
    // The full old row carries the TOASTed values the new image leaves out: every event of a
    // REPLICA IDENTITY FULL table has every value (docs/events.md).
    full_row_.assign(m.new_row.begin(), m.new_row.end());
    for (size_t i = 0; i < full_row_.size(); ++i)
      if (full_row_[i].kind == ColumnValue::Kind::kUnchanged) full_row_[i] = m.old_row[i];
    after = full_row_;
  } else if (!full && !skip) {
    after = host.fill_unchanged(t, tx_, after);
  }
  if (m.old_kind != 0 && key_changed(t, m.old_row, after) && t.has_key()) {
    // A key change is a delete of the old key and a create of the new one, so each key's
    // partition sees a complete history.
    emit_change(t, Op::kDelete, m.old_row, m.old_row, {}, skip, host);
    emit_change(t, Op::kCreate, after, {}, after, skip, host);
    return;
  }
  emit_change(t, Op::kUpdate, after, full ? m.old_row : event::RowImage{}, after, skip, host);
}

void ChangeMapper::on(const pgsource::Delete& m, Lsn received, Host& host) {
  const auto& t = table_for(m.relation_id, "a Delete", received, host);
  emit_change(t, Op::kDelete, m.old_row, m.old_row, {}, covered(m.relation_id), host);
}

void ChangeMapper::on(const pgsource::Truncate& m, Lsn received, Host& host) {
  for (uint32_t id : m.relation_ids) {
    const auto& t = table_for(id, "a Truncate", received, host);
    event::SourceInfo source;
    if (!next_position(source) || covered(id)) continue;
    key_.clear();
    encoder_.encode_truncate(t, source, now_unix_ms(), value_);
    headers_.fill_change(t, Op::kTruncate, source);
    host.emit(change_event(Kind::kTruncate, Op::kTruncate, t, false, source.position));
    ++tx_events_;
  }
}

void ChangeMapper::on(const pgsource::LogicalMessage& m, Lsn, Host& host) {
  const bool heartbeat = m.prefix == pgsource::SourceCatalog::kHeartbeatPrefix;
  if (!m.transactional) {
    // Non-transactional messages arrive in WAL order between transactions: a unit of their own.
    if (!heartbeat && wants_message(m.prefix) && !already_sent(Position{m.lsn, 0})) {
      event::SourceInfo source;
      source.position = Position{m.lsn, 0};
      source.commit_time_ms = now_unix_ms();
      emit_message(m, source, host);
    }
    host.end_unit(m.lsn);
    return;
  }
  if (heartbeat || !wants_message(m.prefix)) return;
  event::SourceInfo source;
  if (!next_position(source)) return;
  emit_message(m, source, host);
  ++tx_events_;
}

void ChangeMapper::emit_message(const pgsource::LogicalMessage& m, const event::SourceInfo& source,
                                Host& host) {
  encoder_.encode_message(options_.module, database_, m.prefix, m.content, m.transactional, source,
                          now_unix_ms(), value_);
  key_.clear();
  event::append_json_string(m.prefix, key_);
  headers_.fill_message(options_.module, source);
  MappedEvent e;
  e.kind = Kind::kMessage;
  e.op = Op::kMessage;
  e.topic = options_.message_topic;
  e.has_key = true;
  e.key = key_;
  e.value = value_;
  e.headers = headers_.headers();
  e.position = source.position;
  host.emit(e);
}

void ChangeMapper::snapshot_row(const event::TableSchema& table, event::RowImage row,
                                const event::SourceInfo& source, int64_t ts_ms, Host& host) {
  const bool has_key = encoder_.encode_key(table, row, key_);
  encoder_.encode_change(table, Op::kRead, {}, row, source, ts_ms, value_);
  headers_.fill_change(table, Op::kRead, source);
  host.emit(change_event(Kind::kChange, Op::kRead, table, has_key, std::nullopt));
}

void ChangeMapper::snapshot_truncate(const event::TableSchema& table,
                                     const event::SourceInfo& source, Host& host) {
  key_.clear();
  encoder_.encode_truncate(table, source, source.commit_time_ms, value_);
  headers_.fill_change(table, Op::kTruncate, source);
  host.emit(change_event(Kind::kTruncate, Op::kTruncate, table, false, std::nullopt));
}

}  // namespace modsync::capture
