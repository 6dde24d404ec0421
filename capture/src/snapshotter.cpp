#include "snapshotter.hpp"

#include <algorithm>
#include <deque>

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "modsync/common/time.hpp"
#include "modsync/pgsource/snapshot_reader.hpp"
#include "snapshotter_workers.hpp"

namespace modsync::capture {

namespace {

using Clock = std::chrono::steady_clock;

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

namespace {

/// Ranges of the tables ahead of the workers: enough to keep them busy, few enough that a
/// stop leaves little read for nothing.
constexpr size_t kRangesAhead = 2;
/// Key bounds asked for at once (one query over the key index).
constexpr uint64_t kBoundsPerQuery = 16;
/// Encoded events the workers may hold ahead of the one being emitted.
constexpr size_t kWorkerBufferBytes = size_t{16} << 20;

}  // namespace

/// The per-table state of a run: where planning stands, and the progress recorded so far.
struct Snapshotter::TableRun {
  uint32_t ordinal = 0;
  const pgsource::TableInfo* table = nullptr;
  const event::TableSchema* schema = nullptr;
  checkpoint::SnapshotProgress progress;
  /// Planning: the key after which the next range starts, the next ordinal and block, done.
  std::vector<std::string> next_after;
  uint64_t next_row = 0;
  uint64_t next_block = 0, blocks_per_range = 1, blocks = 0, block_size = 8192;
  uint64_t estimated_rows = 0;
  bool planned = false;
  Clock::time_point last_log{};
};

bool Snapshotter::run(const std::string& snapshot_name, Lsn consistent_point, bool all_sent_before,
                      ChangeMapper::Host& events, Host& host, const std::atomic<bool>& stop) {
  stats_.state = CaptureStats::State::kSnapshotting;
  pg::PgConnection conn =
      pg::PgConnection::connect(src_.effective_dsn, pg::PgConnection::Mode::kRegular, context_);
  pgsource::SnapshotReader reader(conn, snapshot_name);
  const size_t workers = snapshot_worker_count(src_.snapshot_workers);
  SnapshotWorkerPool pool(workers, src_.effective_dsn, context_, snapshot_name, mapper_,
                          kWorkerBufferBytes);
  // Every worker imports the exported snapshot before anything else is asked of the slot.
  pool.start();
  std::vector<ChunkDone> chunks;
  uint64_t next_token = 1;
  uint32_t last_pending = 0;
  for (uint32_t ordinal = 0; ordinal < tables_.size(); ++ordinal) {
    const auto& t = tables_[ordinal];
    auto p = store_.load_snapshot_progress(t.name.schema, t.name.table);
    if (!p || !p->done) last_pending = ordinal;
  }
  const uint64_t chunk_rows = src_.snapshot_chunk_rows;
  const int64_t ts = now_unix_ms();
  std::vector<TableRun> runs;
  runs.reserve(tables_.size());
  // Per submitted range, in order: its table run, its last key (keyed), whether it is the last.
  struct Planned {
    size_t run = 0;
    std::vector<std::string> upto;
    bool final = false;
  };
  std::deque<Planned> planned;
  uint64_t next_seq = 1;
  uint32_t next_table = 0;

  // Sets a table's run up: its schema, its restart, its start record.
  auto begin_table = [&](uint32_t ordinal) -> bool {
    const auto& table = tables_[ordinal];
    auto progress =
        store_.load_snapshot_progress(table.name.schema, table.name.table)
            .value_or(checkpoint::SnapshotProgress{table.name.schema, table.name.table});
    if (progress.done) return false;
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
    TableRun run;
    run.ordinal = ordinal;
    run.table = &table;
    run.schema = &schema;
    run.next_after = decode_key_list(progress.last_key_json);
    run.next_row = progress.rows;
    const pgsource::TableEstimate estimate = reader.estimate(table);
    run.estimated_rows = std::max(estimate.rows, progress.rows);
    run.blocks = estimate.blocks;
    run.block_size = estimate.block_size;
    // Keyless ranges are block ranges of about chunk_rows rows, as the catalog counts them.
    const uint64_t rows_per_block = estimate.rows > 0 && estimate.blocks > 0
                                        ? std::max<uint64_t>(estimate.rows / estimate.blocks, 1)
                                        : 50;
    run.blocks_per_range = std::max<uint64_t>(chunk_rows / rows_per_block, 1);
    // Ordinals from ctids must fit the projections' position (_modsync_seq, an integer): a
    // keyless table too big for that is read in one range, its rows counted.
    if (run.blocks * pgsource::max_tuples_per_block(run.block_size) > INT32_MAX)
      run.blocks_per_range = std::max<uint64_t>(run.blocks, 1);
    run.progress = std::move(progress);
    spdlog::info("{}: snapshot of {} from row {} at {} (about {} rows, {} workers)", context_,
                 table.name.to_string(), run.progress.rows, consistent_point, run.estimated_rows,
                 workers);
    stats_.set_snapshot_table(
        {table.name.to_string(), run.progress.rows, run.estimated_rows, false});
    runs.push_back(std::move(run));
    return true;
  };

  auto submit = [&](size_t run_index, pgsource::SnapshotRange range, std::vector<std::string> upto,
                    bool final) {
    TableRun& run = runs[run_index];
    SnapshotTask task;
    task.seq = next_seq++;
    task.table = run.table;
    task.schema = run.schema;
    task.table_ordinal = run.ordinal;
    task.row_base = run.next_row;
    task.block_size = run.block_size;
    // A keyless table read in one range has countable rows (a partitioned table has no blocks
    // of its own, and its partitions' ctids repeat each other).
    task.dense_ordinals =
        !run.table->key_columns.empty() || (range.first_block == 0 && range.end_block == 0);
    task.last_of_snapshot = final && run.ordinal == last_pending;
    task.range = std::move(range);
    task.point = consistent_point;
    task.ts_ms = ts;
    pool.submit(std::move(task));
    planned.push_back(Planned{run_index, std::move(upto), final});
  };

  // Plans more ranges of the table being planned (or begins the next): false when none is left.
  auto plan_more = [&]() -> bool {
    while (runs.empty() || runs.back().planned) {
      if (next_table >= tables_.size()) return false;
      begin_table(next_table++);
    }
    const size_t index = runs.size() - 1;
    TableRun& run = runs[index];
    if (run.table->key_columns.empty()) {
      pgsource::SnapshotRange range;
      range.first_block = run.next_block;
      const bool final = run.next_block + run.blocks_per_range >= run.blocks;
      // The final range is open: blocks added since the estimate hold no row of the snapshot,
      // but reading them costs nothing.
      range.end_block = final ? 0 : run.next_block + run.blocks_per_range;
      run.next_block += run.blocks_per_range;
      run.planned = final;
      submit(index, std::move(range), {}, final);
      return true;
    }
    const pgsource::KeyBounds bounds =
        reader.key_bounds(*run.table, run.next_after, chunk_rows, kBoundsPerQuery);
    for (const auto& upto : bounds.upto) {
      pgsource::SnapshotRange range;
      range.after_key = run.next_after;
      range.upto_key = upto;
      submit(index, std::move(range), upto, false);
      run.next_after = upto;
      run.next_row += chunk_rows;
    }
    if (!bounds.more) {
      pgsource::SnapshotRange range;
      range.after_key = run.next_after;
      submit(index, std::move(range), {}, true);
      run.planned = true;
    }
    return true;
  };

  std::vector<event::EventHeaders::Header> headers(event::EventHeaders::kMaxHeaders);
  auto emit_pieces = [&](const TableRun& run, std::vector<EncodedPiece*>& pieces) {
    MappedEvent e;
    e.kind = MappedEvent::Kind::kChange;
    e.op = event::Op::kRead;
    e.table = run.schema;
    e.topic = run.schema->topic;
    for (const EncodedPiece* piece : pieces) {
      for (const auto& ev : piece->events) {
        for (uint32_t h = 0; h < ev.header_count; ++h) {
          const auto& ph = piece->headers[ev.header_at + h];
          headers[h].name = ph.name;
          headers[h].value.assign(piece->view(ph.at, ph.size));
        }
        e.has_key = ev.has_key;
        e.key = piece->view(ev.key_at, ev.key_size);
        e.value = piece->view(ev.value_at, ev.value_size);
        e.headers = std::span<const event::EventHeaders::Header>(headers.data(), ev.header_count);
        events.emit(e);
      }
    }
  };

  bool stopped = false;
  while (!stopped) {
    while (pool.outstanding() < workers * kRangesAhead && plan_more()) {
    }
    if (planned.empty()) break;
    SnapshotWorkerPool::Taken taken = pool.take(10);
    TableRun& run = runs[planned.front().run];
    emit_pieces(run, taken.pieces);
    pool.recycle(taken.pieces);
    host.poll(0);
    save_completed(chunks);
    if (!taken.done) continue;
    const Planned range = std::move(planned.front());
    planned.pop_front();
    checkpoint::SnapshotProgress& progress = run.progress;
    progress.rows += taken.rows;
    stats_.snapshot_rows.fetch_add(taken.rows, std::memory_order_relaxed);
    if (!range.upto.empty()) progress.last_key_json = encode_key_list(range.upto);
    progress.done = range.final;
    chunks.push_back(ChunkDone{ChunkToken{next_token}, progress});
    tracker_.end_chunk(ChunkToken{next_token++});
    run.estimated_rows = std::max(run.estimated_rows, progress.rows);
    stats_.set_snapshot_table(
        {run.table->name.to_string(), progress.rows, run.estimated_rows, progress.done});
    const auto now = Clock::now();
    if (progress.done) {
      spdlog::info("{}: snapshot of {} read {} rows", context_, run.table->name.to_string(),
                   progress.rows);
    } else if (now - run.last_log >= std::chrono::seconds(10)) {
      if (run.last_log != Clock::time_point{}) {
        spdlog::info("{}: snapshot of {}: {} of about {} rows", context_,
                     run.table->name.to_string(), progress.rows, run.estimated_rows);
      }
      run.last_log = now;
    }
    // A stop takes effect between ranges.
    if (stop.load(std::memory_order_relaxed)) stopped = true;
  }
  pool.stop();
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
