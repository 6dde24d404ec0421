#include "snapshotter.hpp"

#include <algorithm>

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "modsync/common/time.hpp"
#include "modsync/pgsource/snapshot_reader.hpp"

namespace modsync::capture {

namespace {

using Clock = std::chrono::steady_clock;
using event::ColumnValue;

}  // namespace

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
  for (auto v : doc.get_array()) {
    std::string_view s;
    if (v.get_string().get(s) != simdjson::SUCCESS) {
      fail("snapshot progress holds a malformed resume key {}. Fix: run `modsync resnapshot`.",
           json);
    }
    out.emplace_back(s);
  }
  return out;
}

Snapshotter::Snapshotter(const config::PairConfig& pair, checkpoint::CheckpointStore& store,
                         CaptureStats& stats, ChangeMapper& mapper, DurabilityTracker& tracker)
    : pair_(pair),
      src_(*pair.source),
      store_(store),
      stats_(stats),
      mapper_(mapper),
      tracker_(tracker) {}

void Snapshotter::set_tables(std::string context, std::vector<pgsource::TableInfo> tables) {
  context_ = std::move(context);
  tables_ = std::move(tables);
}

void Snapshotter::read_membership_at_start(pgsource::SourceCatalog& catalog) {
  for (const auto& t : tables_)
    membership_at_start_[t.oid] = catalog.membership(src_.publication, t);
}

void Snapshotter::read_membership(pgsource::SourceCatalog& catalog) {
  for (const auto& t : tables_) membership_[t.oid] = catalog.membership(src_.publication, t);
}

bool Snapshotter::membership_changed(pgsource::SourceCatalog& catalog, bool from_checkpoint) {
  if (src_.snapshot != config::SnapshotMode::kInitial) {
    // Without snapshots nothing can be read again: say so, and publish the table again.
    if (from_checkpoint) return false;
    bool changed = false;
    for (const auto& t : tables_) {
      const std::string now = catalog.membership(src_.publication, t);
      if (now == membership_[t.oid]) continue;
      spdlog::error(
          "{}: the publication membership of {} changed ({} -> {}): changes "
          "committed while it was not published are lost, and with snapshot: never "
          "they cannot be read again. The publication is set up again. Fix: set "
          "source.snapshot: initial and rebuild the table's projections with "
          "`modsync resnapshot --config <file> {} {}`",
          context_, t.name.to_string(), membership_[t.oid], now, pair_.daemon.id,
          t.name.to_string());
      changed = true;
    }
    if (changed) {
      catalog.ensure_publication(src_.publication, tables_);
      read_membership(catalog);
    }
    return false;
  }
  bool changed = false;
  for (const auto& t : tables_) {
    auto progress = store_.load_snapshot_progress(t.name.schema, t.name.table);
    if (!progress || !progress->done) continue;
    std::string before, now;
    if (from_checkpoint) {
      if (progress->membership.empty()) {
        // Recorded by a modsync that did not record it: nothing to compare with yet.
        progress->membership = membership_[t.oid];
        store_.save_snapshot_progress(*progress);
        continue;
      }
      before = progress->membership;
      now = membership_at_start_[t.oid];
    } else {
      before = membership_[t.oid];
      now = catalog.membership(src_.publication, t);
    }
    if (now == before) continue;
    spdlog::warn(
        "{}: the publication membership of {} changed ({} -> {}): changes may not "
        "have been published, or partitions were attached or detached, so its "
        "snapshot is taken again, behind a snapshot truncate",
        context_, t.name.to_string(), before, now);
    checkpoint::SnapshotProgress again;
    again.schema = t.name.schema;
    again.table = t.name.table;
    again.truncate_first = true;
    store_.save_snapshot_progress(again);
    changed = true;
  }
  return changed;
}

bool Snapshotter::pending() const {
  for (const auto& t : tables_) {
    auto p = store_.load_snapshot_progress(t.name.schema, t.name.table);
    if (!p || !p->done) return true;
  }
  return false;
}

std::unordered_map<uint32_t, Lsn> Snapshotter::covers(Lsn start) const {
  std::unordered_map<uint32_t, Lsn> out;
  for (const auto& t : tables_) {
    auto p = store_.load_snapshot_progress(t.name.schema, t.name.table);
    if (p && p->done && !p->whole_at.is_zero() && start < p->whole_at) out[t.oid] = p->whole_at;
  }
  return out;
}

void Snapshotter::save_completed(std::vector<ChunkDone>& chunks) {
  const auto token = tracker_.completed_chunk();
  if (!token) return;
  size_t done = 0;
  while (done < chunks.size() && chunks[done].token <= *token) ++done;
  if (done == 0) return;
  // Every finished chunk's record, in one write: chunks of several tables can complete in
  // one poll, and each table's newest record (later puts win) must survive.
  checkpoint::Batch batch;
  for (size_t i = 0; i < done; ++i) batch.put_snapshot_progress(chunks[i].progress);
  store_.commit(batch);
  chunks.erase(chunks.begin(), chunks.begin() + static_cast<long>(done));
}

/// A table's snapshot that starts over from its first row (after a crash, or on a new slot)
/// first sends a truncate event marked as a snapshot event, just below the new consistent
/// point: the rows an earlier attempt sent can be told from the new ones only by their older
/// position, so a keyless projection would hold them twice, and a keyed one would keep rows
/// deleted before the new point (streaming skips what that point holds). So does the snapshot of a
/// table whose publication membership changed (changes went unpublished, or partitions were
/// attached or detached: rows came or went without events).
/// Projections apply it whatever their `ops` (docs/events.md, "Snapshot restarts").
void Snapshotter::emit_restart(const event::TableSchema& schema, uint32_t ordinal, Lsn point,
                               ChangeMapper::Host& events) {
  event::SourceInfo source;
  source.position = Position{Lsn{point.value() - 1}, 0};
  source.commit_time_ms = now_unix_ms();
  source.snapshot = event::SnapshotMarker::kTrue;
  source.snapshot_table = ordinal;
  mapper_.snapshot_truncate(schema, source, events);
  spdlog::info(
      "{}: snapshot of {}.{} starts over at {}: sent a snapshot truncate at {} so "
      "rows of the earlier attempt leave its projections",
      context_, schema.schema, schema.table, point, source.position.to_string());
}

bool Snapshotter::run(const std::string& snapshot_name, Lsn consistent_point, bool all_sent_before,
                      ChangeMapper::Host& events, Host& host, const std::atomic<bool>& stop) {
  stats_.state = CaptureStats::State::kSnapshotting;
  pg::PgConnection conn =
      pg::PgConnection::connect(src_.effective_dsn, pg::PgConnection::Mode::kRegular, context_);
  pgsource::SnapshotReader reader(conn, snapshot_name);
  std::vector<ChunkDone> chunks;
  uint64_t next_token = 1;
  std::vector<ColumnValue> row;
  uint32_t last_pending = 0;
  for (uint32_t ordinal = 0; ordinal < tables_.size(); ++ordinal) {
    const auto& t = tables_[ordinal];
    auto p = store_.load_snapshot_progress(t.name.schema, t.name.table);
    if (!p || !p->done) last_pending = ordinal;
  }
  for (uint32_t ordinal = 0; ordinal < tables_.size(); ++ordinal) {
    const auto& table = tables_[ordinal];
    auto progress =
        store_.load_snapshot_progress(table.name.schema, table.name.table)
            .value_or(checkpoint::SnapshotProgress{table.name.schema, table.name.table});
    if (progress.done) continue;
    // An earlier attempt began this table (its start is recorded before its first row is sent).
    const bool attempted = !progress.consistent_point.is_zero();
    if (table.key_columns.empty() || progress.consistent_point.is_zero()) {
      // Keyless tables cannot resume mid-table: they start over.
      progress.rows = 0;
      progress.last_key_json.clear();
    }
    // Only a table read whole at one point lets streaming skip what that point holds.
    progress.whole_at = progress.rows == 0 ? consistent_point : Lsn{};
    progress.consistent_point = consistent_point;
    progress.snapshot_name = snapshot_name;
    const auto& schema = host.register_table(table, reader.columns(table), consistent_point);
    progress.membership = membership_[table.oid];
    // Read whole at this point after earlier attempts (whose rows Kafka may hold, progress
    // unrecorded): streaming skips the changes this point holds, deletes among them, so the
    // rows of the earlier attempts must go first, keyed tables too.
    if ((progress.rows == 0 && (attempted || all_sent_before)) || progress.truncate_first) {
      emit_restart(schema, ordinal, consistent_point, events);
      progress.truncate_first = false;
    }
    // The table's start, before any of its rows can reach Kafka: a later attempt knows that
    // rows of this one may be there (a table never begun needs no truncate).
    if (progress.rows == 0) store_.save_snapshot_progress(progress);
    std::vector<std::string> last_key = decode_key_list(progress.last_key_json);
    std::vector<int> key_index;
    for (const auto& k : table.key_columns) {
      for (size_t i = 0; i < schema.columns.size(); ++i)
        if (schema.columns[i].name == k) key_index.push_back(static_cast<int>(i));
    }
    spdlog::info("{}: snapshot of {} from row {} at {}", context_, table.name.to_string(),
                 progress.rows, consistent_point);
    const int limit = static_cast<int>(src_.snapshot_chunk_rows);
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
        mapper_.snapshot_row(schema, row, source, ts, events);
      }
      progress.rows += static_cast<uint64_t>(n);
      stats_.snapshot_rows.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      if (n > 0 && !key_index.empty()) {
        last_key.clear();
        for (int k : key_index) last_key.emplace_back(chunk.value(n - 1, k));
        progress.last_key_json = encode_key_list(last_key);
      }
      progress.done = final_chunk;
      chunks.push_back(ChunkDone{ChunkToken{next_token}, progress});
      tracker_.end_chunk(ChunkToken{next_token++});
      host.poll(0);
      save_completed(chunks);
      if (progress.done) break;
      if (stop.load(std::memory_order_relaxed)) break;
    }
    if (!progress.done) break;
    spdlog::info("{}: snapshot of {} read {} rows", context_, table.name.to_string(),
                 progress.rows);
  }
  reader.finish();
  // On stop, wait for Kafka only as long as the shutdown allows; what is not acknowledged
  // is read again on the next start.
  const auto deadline = Clock::now() + std::chrono::milliseconds(pair_.daemon.shutdown_timeout) / 2;
  while (!chunks.empty() && (!stop.load(std::memory_order_relaxed) || Clock::now() < deadline)) {
    host.poll(100);
    save_completed(chunks);
  }
  tracker_.forget_in_flight();
  return !stop.load(std::memory_order_relaxed);
}

}  // namespace modsync::capture
