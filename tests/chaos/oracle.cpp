#include "oracle.hpp"

#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <simdjson.h>

#include "modsync/common/lsn.hpp"

namespace modsync::chaos {
namespace {

constexpr size_t kSamples = 8;

std::string row_expr(const Table& t, const Projection& p, bool target, const std::string& alias) {
  std::string out = "concat_ws(' | '";
  for (const auto& [from, to] : p.columns) {
    const Column& c = *t.find(from);
    out +=
        ", coalesce(" + compare_expr(c, alias + "." + quote_ident(target ? to : from)) + ", '∅')";
  }
  return out + ")";
}

std::string key_expr(const Table& t, const Projection& p, bool target, const std::string& alias) {
  std::string out = "concat_ws(' | '";
  for (const auto& [from, to] : p.columns) {
    if (!t.find(from)->key) continue;
    out += ", " + alias + "." + quote_ident(target ? to : from) + "::text";
  }
  return out + ")";
}

std::string filter(const Projection& p) {
  return p.where_sql.empty() ? "" : " WHERE (" + p.where_sql + ") IS TRUE";
}

void sample(Difference& d, std::string line) {
  if (d.samples.size() < kSamples) d.samples.push_back(std::move(line));
}

std::map<std::string, std::string> keyed_rows(testing::PgConn& conn, const std::string& sql) {
  std::map<std::string, std::string> out;
  for (const auto& r : conn.query("SET TimeZone = 'UTC'; " + sql)) out[*r[0]] = *r[1];
  return out;
}

std::map<std::string, int64_t> counted_rows(testing::PgConn& conn, const std::string& sql) {
  std::map<std::string, int64_t> out;
  for (const auto& r : conn.query("SET TimeZone = 'UTC'; " + sql)) out[*r[0]] = std::stoll(*r[1]);
  return out;
}

std::string shorten(const std::string& s) {
  return s.size() > 300 ? s.substr(0, 300) + "…" : s;
}

}  // namespace

std::string audit_setup_sql(const Scenario& s) {
  std::string sql = R"(
CREATE SCHEMA chaos;
CREATE TABLE chaos.audit (id bigserial PRIMARY KEY, tbl text NOT NULL, op "char" NOT NULL,
                          xid bigint NOT NULL, key text NOT NULL);
CREATE FUNCTION chaos.row_key(r jsonb, cols text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(string_agg(k || '=' || coalesce(r ->> k, 'null'), ',' ORDER BY o), '')
  FROM unnest(string_to_array(nullif(cols, ''), ',')) WITH ORDINALITY AS u(k, o) $$;
CREATE FUNCTION chaos.audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  x bigint := txid_current() % 4294967296;
  k_old text;
  k_new text;
BEGIN
  IF TG_OP <> 'INSERT' THEN k_old := chaos.row_key(to_jsonb(OLD), TG_ARGV[1]); END IF;
  IF TG_OP <> 'DELETE' THEN k_new := chaos.row_key(to_jsonb(NEW), TG_ARGV[1]); END IF;
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND k_old IS DISTINCT FROM k_new) THEN
    INSERT INTO chaos.audit (tbl, op, xid, key) VALUES (TG_ARGV[0], 'd', x, k_old);
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND k_old IS DISTINCT FROM k_new) THEN
    INSERT INTO chaos.audit (tbl, op, xid, key) VALUES (TG_ARGV[0], 'c', x, k_new);
    EXECUTE format('INSERT INTO chaos.%I SELECT ($1).*', 'ins_' || TG_ARGV[0]) USING NEW;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO chaos.audit (tbl, op, xid, key) VALUES (TG_ARGV[0], 'u', x, k_new);
    EXECUTE format('INSERT INTO chaos.%I SELECT ($1).*', 'upd_' || TG_ARGV[0]) USING NEW;
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION chaos.audit_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO chaos.audit (tbl, op, xid, key)
    VALUES (TG_ARGV[0], 't', txid_current() % 4294967296, '');
  EXECUTE format('TRUNCATE chaos.%I, chaos.%I', 'ins_' || TG_ARGV[0], 'upd_' || TG_ARGV[0]);
  RETURN NULL;
END $$;
)";
  for (const auto& t : s.tables) {
    std::string keys;
    for (const Column* k : t.keys()) keys += (keys.empty() ? "" : ",") + k->name;
    sql += fmt::format(
        "CREATE TABLE chaos.{0} (LIKE public.{1});"
        "CREATE TABLE chaos.{4} (LIKE public.{1});"
        "CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE OR DELETE ON public.{1} FOR EACH ROW "
        "EXECUTE FUNCTION chaos.audit_row('{2}', '{3}');"
        "CREATE TRIGGER chaos_audit_truncate AFTER TRUNCATE ON public.{1} FOR EACH STATEMENT "
        "EXECUTE FUNCTION chaos.audit_truncate('{2}');",
        quote_ident("ins_" + t.name), quote_ident(t.name), t.name, keys,
        quote_ident("upd_" + t.name));
  }
  return sql;
}

Difference compare_projection(const Scenario& s, const Projection& p, testing::PgConn& src,
                              testing::PgConn& sub) {
  const Table& t = s.tables[static_cast<size_t>(p.table)];
  Difference d;
  d.what = p.target;
  const std::string target = "public." + quote_ident(p.target);
  if (p.check == Projection::Check::kMultiset) {
    // A log of row versions (docs/projections.md, "append-only"): each created or snapshot-read
    // row and, with `u` in ops, each updated row's new version that matches the filter; a
    // truncate empties both audit tables, as it deletes the target's older rows.
    std::string versions = "SELECT * FROM chaos." + quote_ident("ins_" + t.name);
    if (p.ops.find('u') != std::string::npos)
      versions += " UNION ALL SELECT * FROM chaos." + quote_ident("upd_" + t.name);
    const auto want =
        counted_rows(src, fmt::format("SELECT {}, count(*) FROM ({}) s{} GROUP BY 1",
                                      row_expr(t, p, false, "s"), versions, filter(p)));
    const auto got = counted_rows(sub, fmt::format("SELECT {}, count(*) FROM {} s GROUP BY 1",
                                                   row_expr(t, p, true, "s"), target));
    for (const auto& [row, n] : want) {
      d.compared += n;
      const auto it = got.find(row);
      const int64_t have = it == got.end() ? 0 : it->second;
      if (have < n) {
        d.missing += n - have;
        sample(d, fmt::format("missing ×{}: {}", n - have, shorten(row)));
      } else if (have > n) {
        d.duplicated += have - n;
        sample(d, fmt::format("duplicated ×{}: {}", have - n, shorten(row)));
      }
    }
    for (const auto& [row, n] : got) {
      if (want.count(row)) continue;
      d.extra += n;
      sample(d, fmt::format("extra ×{}: {}", n, shorten(row)));
    }
    return d;
  }
  const auto want =
      keyed_rows(src, fmt::format("SELECT {}, {} FROM public.{} s{}", key_expr(t, p, false, "s"),
                                  row_expr(t, p, false, "s"), quote_ident(t.name), filter(p)));
  const std::string live = p.check == Projection::Check::kLive ? " WHERE s.deleted_at IS NULL" : "";
  const auto got =
      keyed_rows(sub, fmt::format("SELECT {}, {} FROM {} s{}", key_expr(t, p, true, "s"),
                                  row_expr(t, p, true, "s"), target, live));
  for (const auto& [key, row] : want) {
    ++d.compared;
    const auto it = got.find(key);
    if (it == got.end()) {
      ++d.missing;
      sample(d, fmt::format("missing: {}", shorten(row)));
    } else if (it->second != row) {
      ++d.different;
      sample(d, fmt::format("different: source {} / projection {}", shorten(row),
                            shorten(it->second)));
    }
  }
  // With deletes not applied (on_delete: ignore, or no `d` in ops), rows the source no longer
  // has, or that left the filter, may stay: only what the source has must be there.
  if (p.check != Projection::Check::kCovers) {
    for (const auto& [key, row] : got) {
      if (want.count(key)) continue;
      ++d.extra;
      sample(d, fmt::format("extra: {}", shorten(row)));
    }
  }
  return d;
}

std::vector<Difference> check_kafka(const Scenario& s, const std::string& brokers,
                                    testing::PgConn& src) {
  std::vector<Difference> out;
  using Change = std::tuple<std::string, std::string, int64_t>;  // op, key, xid
  simdjson::dom::parser parser;
  // Each transaction's commit end LSN (test_decoding's COMMIT row), by 32-bit xid as audited.
  // A commit before a consistent point C ends at or before C (records never straddle it).
  std::map<int64_t, Lsn> commit_end;
  for (const auto& r : src.query(fmt::format(
           "SELECT xid::text, lsn::text FROM pg_logical_slot_peek_changes('{}', NULL, NULL, "
           "'skip-empty-xacts', '1') WHERE data LIKE 'COMMIT%'",
           kOracleSlot))) {
    if (auto l = Lsn::parse(*r[1])) commit_end[std::stoll(*r[0])] = *l;
  }
  for (const auto& t : s.tables) {
    Difference d;
    d.what = "kafka " + t.topic();
    std::map<Change, int64_t> audited;
    std::map<Change, int64_t> audit_order;  // the change's first audit id: commit order
    std::map<int64_t, int64_t> xid_order;   // a transaction's first audit id
    size_t expected = 0;
    for (const auto& r : src.query(
             fmt::format("SELECT op, key, xid, count(*), min(id) FROM chaos.audit WHERE tbl = '{}' "
                         "GROUP BY 1, 2, 3",
                         t.name))) {
      const Change c{*r[0], *r[1], std::stoll(*r[2])};
      audited[c] = std::stoll(*r[3]);
      audit_order[c] = std::stoll(*r[4]);
      auto [it, fresh] = xid_order.emplace(std::get<2>(c), audit_order[c]);
      if (!fresh) it->second = std::min(it->second, audit_order[c]);
      expected += static_cast<size_t>(std::stoll(*r[3]));
    }
    const auto messages =
        testing::kcat_consume(brokers, t.topic(), expected, std::chrono::seconds(60));
    std::map<Change, std::set<std::string>> positions;
    std::map<int64_t, std::vector<std::string>> by_xid;  // for the report of a missing change
    std::map<int, int64_t> first_offset;
    std::map<int, int64_t> earliest;  // per partition: the first audit id of its oldest change
    std::map<std::string, std::set<int>> key_partitions;
    // The latest consistent point of the table's snapshot: its rows' positions, or just above
    // a snapshot truncate. Streaming skips changes committed before it when the snapshot read
    // the whole table there: they reach Kafka as the state in its rows.
    Lsn snapshot_at;
    int64_t events = 0;
    for (const auto& m : messages) {
      if (!first_offset.count(m.partition)) first_offset[m.partition] = m.offset;
      // The key first: a parse reuses the parser's buffers, so the views into the value must
      // not outlive it.
      std::string key;
      simdjson::dom::object k;
      if (m.key && parser.parse(*m.key).get(k) == simdjson::SUCCESS) {
        for (auto [name, value] : k) {
          std::string v;
          std::string_view sv;
          int64_t iv = 0;
          if (value.get(sv) == simdjson::SUCCESS)
            v = std::string(sv);
          else if (value.get(iv) == simdjson::SUCCESS)
            v = std::to_string(iv);
          else
            v = simdjson::to_string(value);
          key += (key.empty() ? "" : ",") + std::string(name) + "=" + v;
        }
        key_partitions[key].insert(m.partition);
      }
      simdjson::dom::element doc;
      if (m.null_value || parser.parse(m.value).get(doc) != simdjson::SUCCESS) continue;
      std::string_view op, position;
      int64_t xid = 0;
      if (doc["op"].get(op) || doc["source"]["position"].get(position)) continue;
      std::string_view snapshot;
      const bool truncate =
          op == "t" && !doc["source"]["snapshot"].get(snapshot) && snapshot == "true";
      if (op == "r" || truncate) {
        // A snapshot truncate sits just below the new snapshot's consistent point.
        if (auto at = Lsn::parse(position.substr(0, position.find('#')))) {
          snapshot_at = std::max(snapshot_at, Lsn{at->value() + (truncate ? 1 : 0)});
        }
        continue;
      }
      if (op == "m") continue;
      if (doc["source"]["txId"].get(xid)) continue;
      ++events;
      if (const auto o = xid_order.find(xid); o != xid_order.end()) {
        auto [e, fresh] = earliest.emplace(m.partition, o->second);
        if (!fresh) e->second = std::min(e->second, o->second);
      }
      positions[{std::string(op), key, xid}].insert(std::string(position));
      by_xid[xid].push_back(fmt::format("{} [{}] at {} (partition {} offset {})", op, key, position,
                                        m.partition, m.offset));
    }
    for (const auto& [p, first] : first_offset) {
      if (first > 0) {
        sample(d, fmt::format("partition {} starts at offset {}: the dev broker dropped older "
                              "events (~5 MiB or 100k batches per partition); changes older "
                              "than what is left there are unverifiable",
                              p, first));
      }
    }
    // Whether retention may have dropped a change's event: its key's partition (known from the
    // key's other events; any trimmed one when none is left) was trimmed, and the change
    // committed before the oldest transaction still on that partition.
    auto trimmed_away = [&](const Change& change) {
      const auto kp = key_partitions.find(std::get<1>(change));
      for (const auto& [p, first] : first_offset) {
        if (first == 0) continue;
        if (kp != key_partitions.end() && !kp->second.count(p)) continue;
        const auto e = earliest.find(p);
        if (e == earliest.end() || audit_order.at(change) < e->second) return true;
      }
      return false;
    };
    int64_t distinct = 0;
    for (const auto& [change, n] : audited) {
      d.compared += n;
      const auto it = positions.find(change);
      const int64_t have = it == positions.end() ? 0 : static_cast<int64_t>(it->second.size());
      const auto end = commit_end.find(std::get<2>(change));
      if (have < n && end != commit_end.end() && end->second <= snapshot_at) {
        d.covered += n - have;
      } else if (have < n && trimmed_away(change)) {
        d.unverifiable += n - have;
      } else if (have < n) {
        d.missing += n - have;
        std::string seen;
        for (const auto& e : by_xid[std::get<2>(change)]) seen += (seen.empty() ? "" : "; ") + e;
        sample(d, fmt::format("no event for {} key [{}] in transaction {} ({} of {}); the "
                              "transaction's events on this topic: {}",
                              std::get<0>(change), std::get<1>(change), std::get<2>(change), have,
                              n, seen.empty() ? "none" : seen));
      } else if (have > n) {
        d.extra += have - n;
        sample(d, fmt::format("{} distinct events for {} {} key [{}] in transaction {}", have, n,
                              std::get<0>(change), std::get<1>(change), std::get<2>(change)));
      }
    }
    for (const auto& [change, set] : positions) {
      distinct += static_cast<int64_t>(set.size());
      if (!audited.count(change)) {
        d.extra += static_cast<int64_t>(set.size());
        sample(d, fmt::format("event {} key [{}] in transaction {} matches no audited change",
                              std::get<0>(change), std::get<1>(change), std::get<2>(change)));
      }
    }
    // Re-sent events (same position) are allowed on Kafka: reported, not failed.
    const int64_t resent = events - distinct;
    d.resent = resent;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace modsync::chaos
