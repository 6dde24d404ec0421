#include "modsync/pgsink/projection_writer.hpp"

#include <cstdlib>
#include <cstring>
#include <functional>

#include <fmt/format.h>

#include "modsync/common/error.hpp"
#include "modsync/pgsink/stage_lines.hpp"

namespace modsync::pgsink {

namespace {

/// The lines of a stage, per op.
struct StageOpCounts {
  size_t deletes = 0, patches = 0, updates = 0, inserts = 0, other = 0;
  size_t& of(char op) {
    switch (static_cast<StageOp>(op)) {
      case StageOp::kUpsert:
        return updates;
      case StageOp::kInsert:
        return inserts;
      case StageOp::kPartial:
        return patches;
      case StageOp::kDelete:
        return deletes;
    }
    return other;
  }
};

}  // namespace

ProjectionWriter::ProjectionWriter(pg::PgConnection& conn, TargetTable table, WriterOptions options)
    : conn_(conn), table_(std::move(table)), options_(std::move(options)) {
  stage_types_ = choose_stage_types();
  // Named after its layout too: a writer made anew on the same session (the target's columns
  // changed) must not find the old stage (CREATE … IF NOT EXISTS) and COPY into it.
  std::string layout = options_.projection_id;
  for (const auto& t : stage_types_) layout += '\0' + t;
  stage_ = fmt::format("modsync_stage_{:x}", std::hash<std::string>{}(layout));
  build_sql();
  conn_.exec(fmt::format("SET idle_in_transaction_session_timeout = {}; {}",
                         options_.idle_transaction_timeout.count(), create_stage_sql_));
  takes_new_rows_ = check_takes_new_rows();
}

std::vector<std::string> ProjectionWriter::choose_stage_types() {
  // A value staged as its column's type is read by the type's input function once, in the
  // stage COPY; staged as text, the merge's cast read it again (text out, input function in):
  // ~0.75 CPU-µs per wide row (jsonb, numeric, arrays, timestamps). Without the type modifier,
  // which the merge's cast applies as before (an explicit cast: a varchar(n) still truncates).
  // Text stays for the type the merge reads otherwise (regclass), for
  // domains (a NOT NULL one would reject the \N of a delete line's other columns) and for the
  // types whose name without a modifier means one (character is character(1), bit is bit(1)).
  pg::PgResult r = conn_.exec_params(
      "SELECT a.attname, format_type(a.atttypid, NULL), t.typtype IN ('b', 'e', 'r', 'm', 'c') "
      "  AND format_type(a.atttypid, NULL) NOT IN ('regclass', 'character', 'bit', "
      "  'character[]', 'bit[]') "
      "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
      "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
      {conn_.quote_ident(table_.name.schema) + "." + conn_.quote_ident(table_.name.table)});
  std::vector<std::string> types(options_.fed_columns.size(), "text");
  for (int row = 0; row < r.rows(); ++row) {
    if (r.value(row, 2) != "t") continue;
    for (size_t i = 0; i < types.size(); ++i)
      if (options_.fed_columns[i] == r.value(row, 0)) types[i] = std::string(r.value(row, 1));
  }
  return types;
}

bool ProjectionWriter::check_takes_new_rows() {
  for (const auto& name : options_.fed_columns) {
    const TargetColumn* c = table_.find(name);
    if (c->type == "regclass") return false;  // cast() differs from COPY
  }
  const std::string target =
      conn_.quote_ident(table_.name.schema) + "." + conn_.quote_ident(table_.name.table);
  // COPY ignores rules and cannot write into a view; a keyless log recognises a re-sent event
  // by a unique violation only with a unique index on exactly its two position columns.
  pg::PgResult r = conn_.exec_params(
      "SELECT c.relkind IN ('r', 'p') AND NOT c.relhasrules, EXISTS (SELECT 1 FROM pg_index i "
      "  WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL "
      "  AND i.indnkeyatts = 2 AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM "
      "  pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = ANY(i.indkey)) = "
      "  ARRAY['_modsync_lsn', '_modsync_seq']) "
      "FROM pg_class c WHERE c.oid = to_regclass($1)",
      {target});
  if (r.rows() != 1 || r.value(0, 0) != "t") return false;
  if (!append_only()) return true;
  return !positioned() || r.value(0, 1) == "t";
}

void ProjectionWriter::ensure_offsets_table(pg::PgConnection& conn) {
  // IF NOT EXISTS does not make concurrent creation safe: the projections of a first start run
  // this at once, and all but one failed on the unique index of pg_namespace (or pg_type). A
  // transaction-level advisory lock makes them take turns; the statements of one query string
  // run as one transaction, so the lock is released when they have committed.
  const std::string lock = fmt::format("SELECT pg_advisory_xact_lock({}); ", kSchemaLockKey);
  conn.exec(lock +
            "CREATE SCHEMA IF NOT EXISTS modsync; "
            "CREATE TABLE IF NOT EXISTS modsync.offsets ("
            "  projection text NOT NULL, topic text NOT NULL, partition int NOT NULL,"
            "  next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),"
            "  PRIMARY KEY (projection, topic, partition)); "
            "CREATE TABLE IF NOT EXISTS modsync.truncates ("
            "  projection text PRIMARY KEY, lsn pg_lsn NOT NULL, seq int NOT NULL,"
            "  updated_at timestamptz NOT NULL DEFAULT now())");
}

std::vector<StoredOffset> ProjectionWriter::load_offsets(pg::PgConnection& conn,
                                                         const std::string& projection_id) {
  pg::PgResult r = conn.exec_params(
      "SELECT topic, partition, next_offset FROM modsync.offsets WHERE projection = $1 "
      "ORDER BY topic, partition",
      {projection_id});
  std::vector<StoredOffset> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(StoredOffset{std::string(r.value(i, 0)),
                               kafka::Partition{std::stoi(std::string(r.value(i, 1)))},
                               kafka::Offset{std::stoll(std::string(r.value(i, 2)))}});
  }
  return out;
}

void ProjectionWriter::reset(pg::PgConnection& conn, const pg::QualifiedName& target,
                             const std::string& projection_id,
                             const std::vector<StoredOffset>& start) {
  conn.exec("BEGIN");
  conn.exec("TRUNCATE " + conn.quote_ident(target.schema) + "." + conn.quote_ident(target.table));
  conn.exec_params("DELETE FROM modsync.offsets WHERE projection = $1", {projection_id});
  for (const auto& o : start) {
    conn.exec_params(
        "INSERT INTO modsync.offsets (projection, topic, partition, next_offset) VALUES "
        "($1, $2, $3, $4)",
        {projection_id, o.topic, std::to_string(o.partition.value),
         std::to_string(o.next_offset.value)});
  }
  conn.exec("COMMIT");
}

std::string ProjectionWriter::cast(size_t i, const char* alias) const {
  const TargetColumn* c = table_.find(options_.fed_columns[i]);
  // bytea's base64 (docs/events.md) is in its hex input form already (the daemon's decoder).
  // The text → regclass cast looks the name up and rejects "-" (no relation), which the
  // type's input function, the one that printed it, reads as OID 0.
  if (c->type == "regclass") return fmt::format("regclassin({}.c{}::cstring)", alias, i);
  return fmt::format("{}.c{}::{}", alias, i, c->type);
}

void ProjectionWriter::build_sql() {
  const std::string target =
      conn_.quote_ident(table_.name.schema) + "." + conn_.quote_ident(table_.name.table);
  create_stage_sql_ = StageLines::create_table_sql(stage_, stage_types_);
  copy_sql_ = fmt::format("COPY {} FROM STDIN", stage_);
  std::string fed;
  for (const auto& c : options_.fed_columns) fed += conn_.quote_ident(c) + ", ";
  insert_new_sql_ = positioned() ? fmt::format("COPY {} ({}{}, {}) FROM STDIN", target, fed,
                                               kLsnColumn, kSeqColumn)
                                 : fmt::format("COPY {} ({}) FROM STDIN", target,
                                               fed.substr(0, fed.size() - 2));
  truncate_sql_ = fmt::format("TRUNCATE {}", target);

  std::string cols, casts;
  for (size_t i = 0; i < options_.fed_columns.size(); ++i) {
    if (i > 0) {
      cols += ", ";
      casts += ", ";
    }
    cols += conn_.quote_ident(options_.fed_columns[i]);
    casts += cast(i);
  }
  // Events older than the projection's last truncate are already wiped out: a truncate event
  // travels on one partition, so rows written before it may still arrive on the others.
  const std::string projection = conn_.quote_literal(options_.projection_id);
  // Keyed targets: the mark is read once per statement (an InitPlan); as NOT EXISTS, the
  // planner probed modsync.truncates' index once per stage line.
  const std::string after_truncate =
      append_only() ? fmt::format(
                          "NOT EXISTS (SELECT 1 FROM modsync.truncates b WHERE b.projection = {} "
                          "AND (b.lsn, b.seq) >= (s.lsn, s.seq))",
                          projection)
                    : fmt::format(
                          "coalesce((l.lsn, l.seq) > (SELECT b.lsn, b.seq FROM modsync.truncates b "
                          "WHERE b.projection = {}), true)",
                          projection);
  if (append_only()) {
    if (!positioned()) {
      merge_sql_ = fmt::format(
          "INSERT INTO {} ({}) SELECT {} FROM {} l WHERE l.op = 'u' ORDER BY l.lsn, l.seq", target,
          cols, casts, stage_);
      return;
    }
    // Without a key, the stored position is what recognises an event re-sent by the capture
    // after a crash: each source row change is inserted once. A keyless event has no key to
    // pick its partition, so a re-sent copy may travel on another partition than the first,
    // applied by another connection (sink.workers, sink.group) at the same time: neither
    // insert saw the other's uncommitted row, and both stayed. The projection's append lock,
    // held until commit, makes such merges take turns; the INSERT, a statement of its own, then
    // sees the row the other committed.
    append_lock_sql_ = fmt::format("SELECT pg_advisory_xact_lock({}, hashtext({}))",
                                   kAppendLockClass, projection);
    merge_sql_ = append_lock_sql_ + "; " + fmt::format(
        "INSERT INTO {0} ({1}, _modsync_lsn, _modsync_seq) SELECT {2}, l.lsn, l.seq FROM "
        "(SELECT DISTINCT ON (lsn, seq) * FROM {3} s WHERE s.op = 'u' AND {4} ORDER BY lsn, seq) l "
        "WHERE NOT EXISTS (SELECT 1 FROM {0} t WHERE t._modsync_lsn = l.lsn AND t._modsync_seq = "
        "l.seq) ORDER BY l.lsn, l.seq",
        target, cols, casts, stage_, after_truncate);
    truncate_sql_ = fmt::format("DELETE FROM {} t WHERE (t._modsync_lsn, t._modsync_seq) < ($1::pg_lsn, $2::int)", target);
    return;
  }
  for (const char* own : {kLsnColumn, kSeqColumn}) {
    if (!table_.find(own)) {
      fail("target table {} lacks column {}: modsync stores each row's source position there so "
           "replayed events never overwrite newer rows. Fix: ALTER TABLE {} ADD COLUMN "
           "_modsync_lsn pg_lsn, ADD COLUMN _modsync_seq integer; (or set create_table: true "
           "for a new table)",
           table_.name.to_string(), own, target);
    }
  }
  std::string key_match, same_key;
  keys_text_is_value_ = true;
  for (size_t i = 0; i < options_.fed_columns.size(); ++i) {
    const TargetColumn* c = table_.find(options_.fed_columns[i]);
    if (!c->key) continue;
    keys_text_is_value_ = keys_text_is_value_ && c->text_is_value;
    if (!key_match.empty()) key_match += " AND ";
    key_match += fmt::format("t.{} = {}", conn_.quote_ident(c->name), cast(i));
    if (c->text_is_value) {
      same_key += fmt::format("n.c{0} = s.c{0} AND ", i);
    } else {
      // As the target compares them: the stage holds a domain's and a bpchar's values as text,
      // and text under the default collation ('b' = 'b  ', 'Key' = 'KEY' under COLLATE ci).
      const std::string collate = c->collation.empty() ? "" : " COLLATE " + c->collation;
      same_key += fmt::format("{}{} = {}{} AND ", cast(i, "n"), collate, cast(i, "s"), collate);
    }
  }
  std::vector<std::string> keys;
  for (const auto& c : table_.columns)
    if (c.key) keys.push_back(conn_.quote_ident(c.name));
  std::string conflict;
  for (size_t i = 0; i < keys.size(); ++i) conflict += (i ? ", " : "") + keys[i];

  // A row loaded before modsync took over (NULL position) is older than any event.
  const std::string stored = "(coalesce(t._modsync_lsn, '0/0'), coalesce(t._modsync_seq, -1))";
  const std::string guard = stored + " < (l.lsn, l.seq)";
  std::string set_excluded, set_patch, set_cast;
  for (size_t i = 0; i < options_.fed_columns.size(); ++i) {
    const std::string col = conn_.quote_ident(options_.fed_columns[i]);
    set_excluded += fmt::format("{} = EXCLUDED.{}, ", col, col);
    set_patch += fmt::format("{} = CASE WHEN strpos(l.unchanged, {}) > 0 THEN t.{} ELSE {} END, ",
                             col, conn_.quote_literal("," + options_.fed_columns[i] + ","), col,
                             cast(i));
    set_cast += fmt::format("{} = {}, ", col, cast(i));
  }
  // A statement per op (apply() runs those present), each reading the stage itself: kUpsert
  // lines, mostly updates of rows that are there, take a plain UPDATE, and the rows it did not
  // find an INSERT after it. One INSERT … ON CONFLICT of them all, the merge before, cost
  // ~10.5 CPU-µs per updated wide row in the sink backend against ~8: its speculative
  // insertion locked each row (a WAL record) before updating it, and its CTE copied the stage
  // into a tuplestore that four scans read.
  const std::string from_stage =
      fmt::format("{} l WHERE {} AND {} AND {} AND", stage_, after_truncate, key_match, guard);
  std::string undelete;
  if (options_.soft_delete_column.empty()) {
    split_sql_[kSplitDelete] =
        fmt::format("DELETE FROM {} t USING {} l.op = 'd'", target, from_stage);
  } else {
    const std::string soft = conn_.quote_ident(options_.soft_delete_column);
    split_sql_[kSplitDelete] = fmt::format(
        "UPDATE {} t SET {} = now(), _modsync_lsn = l.lsn, _modsync_seq = l.seq FROM {} l.op = "
        "'d'",
        target, soft, from_stage);
    undelete = fmt::format("{} = NULL, ", soft);
  }
  split_sql_[kSplitPatch] = fmt::format(
      "UPDATE {} t SET {}{}_modsync_lsn = l.lsn, _modsync_seq = l.seq FROM {} l.op = 'p'", target,
      set_patch, undelete, from_stage);
  split_sql_[kSplitUpdate] = fmt::format(
      "UPDATE {} t SET {}{}_modsync_lsn = l.lsn, _modsync_seq = l.seq FROM {} l.op = 'u'", target,
      set_cast, undelete, from_stage);
  // The key's absence is checked in the statement's snapshot, which sees the UPDATE before it;
  // ON CONFLICT, with the guard, still settles a row another connection inserted meanwhile.
  const auto insert = [&](const std::string& which) {
    return fmt::format(
        "INSERT INTO {0} AS t ({1}, _modsync_lsn, _modsync_seq) SELECT {2}, l.lsn, l.seq FROM {3} "
        "l WHERE {4} AND ({5}) ON CONFLICT ({6}) DO UPDATE SET {7}{8}_modsync_lsn = "
        "EXCLUDED._modsync_lsn, _modsync_seq = EXCLUDED._modsync_seq WHERE {9} < "
        "(EXCLUDED._modsync_lsn, EXCLUDED._modsync_seq)",
        target, cols, casts, stage_, after_truncate, which, conflict, set_excluded, undelete,
        stored);
  };
  split_sql_[kSplitInsert] = insert("l.op = 'i'");
  split_sql_[kSplitInsertMissing] = insert(fmt::format(
      "l.op = 'i' OR l.op = 'u' AND NOT EXISTS (SELECT 1 FROM {} t WHERE {})", target, key_match));
  // A stage with repeated keys (a backlog holds a row's insert, update and delete in one
  // batch) loses its older lines first, so that each statement touches a row once (ON
  // CONFLICT DO UPDATE fails on a second): a hash join of the stage with itself, where the
  // merge before sorted it (DISTINCT ON). Of two lines at one position (an event consumed
  // twice) the later one stays.
  dedupe_sql_ = fmt::format(
      "DELETE FROM {0} s USING {0} n WHERE {1}(n.lsn, n.seq, n.ctid) > (s.lsn, s.seq, s.ctid) "
      "RETURNING s.op",
      stage_, same_key);
  truncate_sql_ = fmt::format(
      "DELETE FROM {} t WHERE (t._modsync_lsn, t._modsync_seq) < ($1::pg_lsn, $2::int)", target);
}

std::vector<size_t> ProjectionWriter::key_values() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < options_.fed_columns.size(); ++i)
    if (table_.find(options_.fed_columns[i])->key) out.push_back(i);
  return out;
}

bool ProjectionWriter::positioned() const {
  return table_.find(kLsnColumn) && table_.find(kSeqColumn);
}

void ProjectionWriter::begin() {
  // Not waiting for the WAL flush took XLogFlush (the backend zero-filling new WAL segments
  // itself) off the path: ~10% of the sink backend's CPU on wide rows. One round trip.
  conn_.exec("BEGIN; SET LOCAL synchronous_commit = off");
  in_tx_ = true;
  stage_used_ = false;
}

void ProjectionWriter::apply(std::string_view copy_data, bool distinct_keys) {
  if (copy_data.empty()) return;
  // The stage empties itself at commit (ON COMMIT DELETE ROWS); only a second segment in the
  // same transaction (around a truncate, a partial update) needs it emptied here.
  if (stage_used_) conn_.exec(fmt::format("TRUNCATE {}", stage_));
  conn_.copy_in(copy_sql_, copy_data);
  stage_used_ = true;
  if (split_sql_[kSplitUpdate].empty()) {
    conn_.exec(merge_sql_);
    return;
  }
  StageOpCounts lines;
  for (size_t at = 0; at < copy_data.size();) {
    ++lines.of(copy_data[at]);
    const void* end = std::memchr(copy_data.data() + at, '\n', copy_data.size() - at);
    if (!end) break;
    at = static_cast<size_t>(static_cast<const char*>(end) - copy_data.data()) + 1;
  }
  // Lines whose keys differ as text can still be one row (5.0 and 5.00 as numeric, 'A' and
  // 'a' as citext): only the target's own equality, in the stage's self-join, finds them.
  if (!distinct_keys || !keys_text_is_value_) {
    pg::PgResult dropped = conn_.exec(dedupe_sql_);
    for (int i = 0; i < dropped.rows(); ++i) --lines.of(dropped.value(i, 0)[0]);
  }
  // One round trip for the statements of the ops present, two when kUpsert lines are: the
  // INSERT after their UPDATE looks for missing keys only when it updated fewer rows than
  // there are lines (a row that moved into the filter, a replay the guard turned away).
  std::string sql;
  const auto add = [&](SplitStatement which) {
    if (!sql.empty()) sql += "; ";
    sql += split_sql_[which];
  };
  if (lines.deletes) add(kSplitDelete);
  if (lines.patches) add(kSplitPatch);
  bool missing = false;
  if (lines.updates) {
    add(kSplitUpdate);
    pg::PgResult r = conn_.exec(sql);
    sql.clear();
    missing = std::strtoull(PQcmdTuples(r.get()), nullptr, 10) < lines.updates;
  }
  if (missing) {
    add(kSplitInsertMissing);
  } else if (lines.inserts) {
    add(kSplitInsert);
  }
  if (!sql.empty()) conn_.exec(sql);
}

void ProjectionWriter::lock_for_truncate() {
  // SHARE ROW EXCLUSIVE waits for the merges in flight (ROW EXCLUSIVE) to commit, holds later
  // ones until this batch commits (their statements then see its mark), and serialises
  // truncates with each other.
  // The append lock first, as the merges take it before their table lock: the same order
  // everywhere, so the two never deadlock.
  conn_.exec(fmt::format("{}LOCK TABLE {}.{} IN SHARE ROW EXCLUSIVE MODE",
                         append_lock_sql_.empty() ? "" : append_lock_sql_ + "; ",
                         conn_.quote_ident(table_.name.schema), conn_.quote_ident(table_.name.table)));
}

bool ProjectionWriter::insert_new(std::string_view target_lines, const Position& oldest) {
  if (!takes_new_rows_) return false;
  if (target_lines.empty()) return true;
  // One round trip: the savepoint, and whether the projection's last truncate is at or after
  // the oldest line. The merge drops such lines; this path cannot, so it leaves them to it.
  std::string sql = "SAVEPOINT modsync_new_rows";
  if (positioned()) {
    // The target's lock before the truncate check, in its own statement: a truncate of
    // another connection (sink.workers, sink.group) holds it until its mark commits, and the
    // check, whose snapshot is taken after the lock, then sees the mark. Checked first and
    // locked by the COPY only, a line older than that truncate was inserted after it. The
    // append lock comes first, in the order lock_for_truncate and the merges take them.
    if (!append_lock_sql_.empty()) sql += "; " + append_lock_sql_;
    sql += fmt::format("; LOCK TABLE {}.{} IN ROW EXCLUSIVE MODE",
                       conn_.quote_ident(table_.name.schema), conn_.quote_ident(table_.name.table));
    sql += fmt::format(
        "; SELECT EXISTS (SELECT 1 FROM modsync.truncates WHERE projection = {} AND (lsn, seq) "
        ">= ('{}'::pg_lsn, {}))",
        conn_.quote_literal(options_.projection_id), oldest.commit_lsn.to_string(),
        oldest.index);
  }
  if (conn_.query_value(sql) == "t") {
    conn_.exec("RELEASE SAVEPOINT modsync_new_rows");
    return false;
  }
  try {
    conn_.copy_in(insert_new_sql_, target_lines);
    // Released, so that the merges and savepoints of later segments do not nest ever deeper.
    conn_.exec("RELEASE SAVEPOINT modsync_new_rows");
    return true;
  } catch (const pg::SqlError& e) {
    // A unique violation is the expected one: a key already applied (a resumed snapshot's
    // re-sent rows, a change streamed before its snapshot row). Rolling back to the savepoint
    // throws in turn when the connection is gone.
    conn_.exec("ROLLBACK TO SAVEPOINT modsync_new_rows");
    if (!e.is_data_error()) takes_new_rows_ = false;
    return false;
  }
}

void ProjectionWriter::truncate(const Position& position) {
  if (!positioned()) {
    conn_.exec(truncate_sql_);
    return;
  }
  const std::string lsn = position.commit_lsn.to_string();
  const std::string seq = std::to_string(position.index);
  conn_.exec_params(truncate_sql_, {lsn, seq});
  conn_.exec_params(
      "INSERT INTO modsync.truncates (projection, lsn, seq) VALUES ($1, $2::pg_lsn, $3::int) "
      "ON CONFLICT (projection) DO UPDATE SET lsn = EXCLUDED.lsn, seq = EXCLUDED.seq, "
      "updated_at = now() WHERE (modsync.truncates.lsn, modsync.truncates.seq) < "
      "(EXCLUDED.lsn, EXCLUDED.seq)",
      {options_.projection_id, lsn, seq});
}

void ProjectionWriter::save_offsets(const std::vector<StoredOffset>& offsets) {
  if (offsets.empty()) return;
  std::string sql =
      "INSERT INTO modsync.offsets (projection, topic, partition, next_offset) VALUES ";
  const std::string projection = conn_.quote_literal(options_.projection_id);
  for (size_t i = 0; i < offsets.size(); ++i) {
    sql += fmt::format("{}({}, {}, {}, {})", i ? ", " : "", projection,
                       conn_.quote_literal(offsets[i].topic), offsets[i].partition,
                       offsets[i].next_offset);
  }
  sql += " ON CONFLICT (projection, topic, partition) DO UPDATE SET next_offset = "
         "EXCLUDED.next_offset, updated_at = now()";
  conn_.exec(sql);
}

void ProjectionWriter::commit() {
  conn_.exec("COMMIT");
  in_tx_ = false;
}

void ProjectionWriter::rollback() noexcept {
  if (!in_tx_) return;
  in_tx_ = false;
  pg::PgResult r(PQexec(conn_.get(), "ROLLBACK"));
}

}  // namespace modsync::pgsink
