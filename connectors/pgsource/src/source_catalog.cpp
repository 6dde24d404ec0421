#include "modsync/pgsource/source_catalog.hpp"

#include <fmt/ranges.h>

#include "modsync/common/error.hpp"

namespace modsync::pgsource {

namespace {

/// SQLSTATE 42501, e.g. "must be owner of table orders".
constexpr std::string_view kInsufficientPrivilege = "42501";

}  // namespace

void SourceCatalog::check_server() {
  const std::string wal_level = conn_.query_value("SHOW wal_level");
  if (wal_level != "logical") {
    fail(
        "{}: wal_level is '{}', but logical replication needs wal_level = logical. Fix: run "
        "ALTER SYSTEM SET wal_level = logical; as a superuser and restart PostgreSQL.",
        conn_.context(), wal_level);
  }
  const std::string can_replicate = conn_.query_value(
      "SELECT (rolreplication OR rolsuper)::text FROM pg_roles WHERE rolname = current_user");
  if (can_replicate != "true") {
    const std::string user = conn_.query_value("SELECT current_user");
    fail(
        "{}: role {} lacks the REPLICATION attribute. Fix: ALTER ROLE {} REPLICATION; as a "
        "superuser.",
        conn_.context(), user, conn_.quote_ident(user));
  }
}

std::vector<TableInfo> SourceCatalog::describe_tables(const std::vector<pg::QualifiedName>& tables) {
  std::vector<TableInfo> out;
  std::vector<std::string> missing;
  for (const auto& t : tables) {
    const std::string qualified = conn_.quote_ident(t.schema) + "." + conn_.quote_ident(t.table);
    pg::PgResult r = conn_.exec_params(
        "SELECT c.oid, c.relreplident, c.relkind FROM pg_class c WHERE c.oid = to_regclass($1)",
        {qualified});
    if (r.rows() == 0) {
      missing.push_back(t.to_string());
      continue;
    }
    const char relkind = r.value(0, 2).empty() ? 'r' : r.value(0, 2)[0];
    if (relkind != 'r' && relkind != 'p') {
      fail(
          "{}: {} is not a table (relkind '{}'). Fix: list only ordinary or partitioned tables "
          "in source.tables.",
          conn_.context(), t.to_string(), relkind);
    }
    TableInfo info;
    info.name = t;
    info.oid = static_cast<uint32_t>(std::stoul(std::string(r.value(0, 0))));
    info.replica_identity = r.value(0, 1).empty() ? 'd' : r.value(0, 1)[0];
    info.partitioned = relkind == 'p';
    // The key that pgoutput sends: the replica identity index, else the primary key.
    const char* index_flag = info.replica_identity == 'i' ? "indisreplident" : "indisprimary";
    pg::PgResult k = conn_.exec_params(
        fmt::format("SELECT a.attname FROM pg_index i "
                    "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS u(attnum, ord) "
                    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.attnum "
                    "WHERE i.indrelid = $1::oid AND i.{} ORDER BY u.ord",
                    index_flag),
        {std::to_string(info.oid)});
    for (int row = 0; row < k.rows(); ++row) info.key_columns.emplace_back(k.value(row, 0));
    if (info.replica_identity == 'n') info.key_columns.clear();
    out.push_back(std::move(info));
  }
  if (!missing.empty()) {
    const std::string db = conn_.query_value("SELECT current_database()");
    fail(
        "{}: table{} {} do{} not exist in database {}. Fix: create {}, or remove {} from "
        "source.tables.",
        conn_.context(), missing.size() > 1 ? "s" : "", fmt::join(missing, ", "),
        missing.size() > 1 ? "" : "es", db, missing.size() > 1 ? "them" : "it",
        missing.size() > 1 ? "them" : "it");
  }
  return out;
}

void SourceCatalog::ensure_publication(const std::string& name,
                                       const std::vector<TableInfo>& tables) {
  std::string list;
  for (const auto& t : tables) {
    if (!list.empty()) list += ", ";
    list += conn_.quote_ident(t.name.schema) + "." + conn_.quote_ident(t.name.table);
  }
  pg::PgResult r = conn_.exec_params("SELECT 1 FROM pg_publication WHERE pubname = $1", {name});
  // publish_via_partition_root: a partitioned table's changes are published as its own (one
  // topic, one schema), not as the leaf partition's, which no configuration names.
  const std::string verb =
      r.rows() == 0
          ? "CREATE PUBLICATION {0} FOR TABLE {1} WITH (publish_via_partition_root = true)"
          : "ALTER PUBLICATION {0} SET TABLE {1}; "
            "ALTER PUBLICATION {0} SET (publish_via_partition_root = true)";
  try {
    conn_.exec(fmt::format(fmt::runtime(verb), conn_.quote_ident(name), list));
  } catch (const pg::SqlError& e) {
    // Only a refused privilege is the owner's business; anything else (a lock timeout, a
    // cancel) keeps its own message and kind. A lost connection is no pg::SqlError at all: it
    // stays retriable.
    if (e.sqlstate() != kInsufficientPrivilege) throw;
    fail(
        "{}. Fix: run it as the tables' owner or a superuser (`{}`), or grant this role "
        "ownership of the tables.",
        e.what(), fmt::format(fmt::runtime(verb), conn_.quote_ident(name), list));
  }
}

std::optional<SlotState> SourceCatalog::slot(const std::string& name) {
  pg::PgResult r = conn_.exec_params(
      "SELECT plugin, database, active, active_pid, confirmed_flush_lsn, wal_status "
      "FROM pg_replication_slots WHERE slot_name = $1",
      {name});
  if (r.rows() == 0) return std::nullopt;
  SlotState s;
  s.plugin = std::string(r.value(0, 0));
  s.database = std::string(r.value(0, 1));
  s.active = r.value(0, 2) == "t";
  if (!r.is_null(0, 3)) s.active_pid = std::stoi(std::string(r.value(0, 3)));
  if (!r.is_null(0, 4)) s.confirmed_flush = Lsn::parse(r.value(0, 4)).value_or(Lsn{});
  s.wal_status = std::string(r.value(0, 5));
  return s;
}

std::vector<SlotRow> SourceCatalog::modsync_slots(const std::string& configured) {
  // On a standby there is no current WAL position; the last received one measures the same lag.
  pg::PgResult r = conn_.exec_params(
      "SELECT slot_name::text, COALESCE(plugin::text, ''), COALESCE(database::text, ''), active, "
      "       active_pid, confirmed_flush_lsn::text, "
      "       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() "
      "                            ELSE pg_current_wal_lsn() END, confirmed_flush_lsn)::bigint, "
      "       COALESCE(wal_status, ''), safe_wal_size, temporary "
      "FROM pg_replication_slots "
      "WHERE slot_name = $1 "
      "   OR (database = current_database() AND starts_with(slot_name::text, 'modsync_')) "
      "ORDER BY slot_name <> $1, slot_name",
      {configured});
  std::vector<SlotRow> rows;
  for (int i = 0; i < r.rows(); ++i) {
    SlotRow s;
    s.name = std::string(r.value(i, 0));
    s.plugin = std::string(r.value(i, 1));
    s.database = std::string(r.value(i, 2));
    s.active = r.value(i, 3) == "t";
    if (!r.is_null(i, 4)) s.active_pid = std::stoi(std::string(r.value(i, 4)));
    if (!r.is_null(i, 5)) s.confirmed_flush_lsn = std::string(r.value(i, 5));
    if (!r.is_null(i, 6)) s.lag_bytes = std::stoll(std::string(r.value(i, 6)));
    s.wal_status = std::string(r.value(i, 7));
    if (!r.is_null(i, 8)) s.safe_wal_size = std::stoll(std::string(r.value(i, 8)));
    s.temporary = r.value(i, 9) == "t";
    rows.push_back(std::move(s));
  }
  return rows;
}

std::string SourceCatalog::database() {
  return conn_.query_value("SELECT current_database()");
}

std::optional<SlotState> SourceCatalog::usable_slot(const std::string& name,
                                                    std::string_view context) {
  auto s = slot(name);
  if (s && s->plugin != "pgoutput") {
    fail("{}: replication slot {} exists but uses plugin {}, not pgoutput. Fix: drop it "
         "(modsync slots drop --config <file> {}) or set source.slot to another name.",
         context, name, s->plugin, name);
  }
  if (s && s->wal_status == "lost") {
    fail("{}: replication slot {} is invalidated (wal_status lost): PostgreSQL removed WAL it "
         "still needed, so changes were lost. Fix: drop the slot (modsync slots drop --config "
         "<file> {}); modsync then creates a new one and snapshots again by itself; rebuild "
         "projections that must lose rows deleted meanwhile (modsync resnapshot). See "
         "docs/runbook.md, \"A slot was lost or invalidated\".",
         context, name, name);
  }
  return s;
}

void SourceCatalog::drop_slot(const std::string& name) {
  conn_.exec_params("SELECT pg_drop_replication_slot($1)", {name});
}

std::string SourceCatalog::membership(const std::string& publication, const TableInfo& table) {
  pg::PgResult r = conn_.exec_params(
      "SELECT coalesce((SELECT p.oid::text || ' ' || p.pubinsert::text || p.pubupdate::text || "
      "p.pubdelete::text || p.pubtruncate::text || p.pubviaroot::text || ' entry ' || "
      "coalesce((SELECT r.oid::text FROM pg_publication_rel r WHERE r.prpubid = p.oid AND "
      "r.prrelid = $2::oid), 'none') FROM pg_publication p WHERE p.pubname = $1), 'none') "
      "|| CASE WHEN $3 THEN ' leaves ' || (SELECT coalesce(string_agg(relid::oid::text, ',' "
      "ORDER BY relid::oid), '') FROM pg_partition_tree($2::oid) WHERE isleaf) ELSE '' END",
      {publication, std::to_string(table.oid), table.partitioned ? "true" : "false"});
  return std::string(r.value(0, 0));
}

void SourceCatalog::name_types(std::vector<event::Column>& cols) {
  std::string oids = "{", modifiers = "{";
  for (size_t i = 0; i < cols.size(); ++i) {
    oids += fmt::format("{}{}", i ? "," : "", cols[i].type_oid);
    modifiers += fmt::format("{}{}", i ? "," : "", cols[i].type_modifier);
  }
  pg::PgResult r = conn_.exec_params(
      "SELECT format_type(t.o, t.m) FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY "
      "t(o, m, n) ORDER BY t.n",
      {oids + "}", modifiers + "}"});
  for (int i = 0; i < r.rows() && static_cast<size_t>(i) < cols.size(); ++i) {
    cols[static_cast<size_t>(i)].type_name = std::string(r.value(i, 0));
  }
}

void SourceCatalog::emit_heartbeat() {
  conn_.exec_params("SELECT pg_logical_emit_message(false, $1, '')", {kHeartbeatPrefix});
}

}  // namespace modsync::pgsource
