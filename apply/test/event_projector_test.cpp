// EventProjector on constructed change events (as EnvelopeEncoder writes them), without
// servers: the rules of docs/projections.md, "From event to row", "Schema versions" and the
// append-only table, down to the stage lines the merge reads.

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "event_projector.hpp"
#include "modsync/common/error.hpp"
#include "modsync/event/pg_types.hpp"
#include "projection_plan.hpp"

namespace pg = modsync::event::pg;
namespace config = modsync::config;
using modsync::apply::EventProjector;
using modsync::apply::ProjectedEvent;
using modsync::apply::ProjectionPlan;
using modsync::pgsink::StageLines;
using modsync::pgsink::StageOp;
using modsync::pgsink::TargetColumn;
using modsync::pgsink::TargetTable;
using Kind = ProjectedEvent::Kind;

namespace {

/// public.items(id int4 key, status text, total numeric, body text, _modsync_lsn, _modsync_seq);
/// without `keyed`, an append-only log of the same columns.
TargetTable items(bool keyed = true) {
  TargetTable t;
  t.name = {"public", "items"};
  t.columns = {{"id", "integer", pg::kInt4Oid, 'N', keyed},
               {"status", "text", pg::kTextOid, 'S', false},
               {"total", "numeric", pg::kNumericOid, 'N', false},
               {"body", "text", pg::kTextOid, 'S', false},
               {"_modsync_lsn", "pg_lsn", 3220, 'U', false},
               {"_modsync_seq", "integer", pg::kInt4Oid, 'N', false}};
  return t;
}

config::Projection projection(std::string where = "") {
  config::Projection p;
  p.from = config::SourceTable{"shop", {"public", "items"}};
  p.to = {"public", "items"};
  p.where = std::move(where);
  p.location = {"shop.yaml", 12, 5};
  return p;
}

/// A change event's value as the capture writes it (plain envelope, modsync values).
std::string event(char op, std::string_view before, std::string_view after,
                  std::string_view position = "0/1000#2", std::string_view extra = "") {
  return fmt::format(
      R"({{"before":{},"after":{},"source":{{"version":"0.1.0","connector":"modsync",)"
      R"("name":"shop","ts_ms":1704164645500,"snapshot":"false","db":"shop","schema":"public",)"
      R"("table":"items","txId":771,"lsn":4096,"module":"shop","position":"{}",)"
      R"("schema_version":1}},"op":"{}","ts_ms":1704164645612{}}})",
      before.empty() ? "null" : before, after.empty() ? "null" : after, position, op, extra);
}

/// `event` with source.schema_version `version` (the event() helper writes 1); with nullopt,
/// without the field, as an event that is not modsync's.
std::string versioned(std::string event, std::optional<uint32_t> version) {
  const std::string_view field = R"(,"schema_version":1)";
  const auto at = event.find(field);
  REQUIRE(at != std::string::npos);
  event.replace(at, field.size(),
                version ? fmt::format(R"(,"schema_version":{})", *version) : std::string());
  return event;
}

/// A plan and a projector over it, and the stage lines they write.
struct Fixture {
  explicit Fixture(config::Projection p, TargetTable t = items())
      : proj(std::move(p)), plan(proj, std::move(t)), projector(plan) {}

  /// Projects `value` as a record with the schema version header `header`, counting how
  /// often the projector reads it.
  ProjectedEvent project(const std::string& value,
                         std::optional<std::string_view> header = std::nullopt) {
    return projector.project(
        value,
        [&] {
          ++header_reads;
          return header;
        },
        lines);
  }
  std::string line(const ProjectedEvent& e) const {
    REQUIRE(e.kind == Kind::kLine);
    return std::string(lines.slice(e.line));
  }

  config::Projection proj;
  ProjectionPlan plan;
  EventProjector projector;
  StageLines lines;
  int header_reads = 0;
};

constexpr std::string_view kOpen = R"({"id":7,"status":"open","total":"12.50","body":"b"})";
constexpr std::string_view kShut = R"({"id":7,"status":"shut","total":"12.50","body":"b"})";

}  // namespace

TEST_CASE("projector: creates, snapshot rows and updates become upsert lines",
          "[unit][apply][projector]") {
  Fixture f(projection());
  for (char op : {'c', 'r', 'u'}) {
    const auto e = f.project(event(op, op == 'u' ? kShut : "", kOpen, "16/B374D848#3"));
    CHECK(f.line(e) == "u\t16/B374D848\t3\t\\N\t7\topen\t12.50\tb\n");
    CHECK(e.line.op == StageOp::kUpsert);
    CHECK(e.source_ts_ms == 1704164645500);
  }
}

TEST_CASE("projector: ops not listed, messages and tombstones are skipped",
          "[unit][apply][projector]") {
  auto p = projection();
  p.ops = {config::Op::kCreate, config::Op::kRead};
  Fixture f(p);
  CHECK(f.project(event('u', kShut, kOpen)).kind == Kind::kSkip);
  CHECK(f.project(event('d', kOpen, "")).kind == Kind::kSkip);
  CHECK(f.project(event('t', "", "")).kind == Kind::kSkip);
  CHECK(f.project(event('c', "", kOpen)).kind == Kind::kLine);
  CHECK(f.project(R"({"op":"m","message":{"prefix":"a","content":"b"}})").kind == Kind::kSkip);
  CHECK(f.projector
            .project(
                std::nullopt, [] { return std::optional<std::string_view>(); }, f.lines)
            .kind == Kind::kSkip);
}

TEST_CASE("projector: a snapshot truncate applies whatever `ops` says",
          "[unit][apply][projector]") {
  auto p = projection();
  p.ops = {config::Op::kCreate, config::Op::kRead};
  Fixture f(p);
  std::string snapshot_truncate = event('t', "", "", "0/2000#0");
  snapshot_truncate.replace(snapshot_truncate.find(R"("snapshot":"false")"), 18,
                            R"("snapshot":"true")");
  const auto e = f.project(snapshot_truncate);
  REQUIRE(e.kind == Kind::kTruncate);
  CHECK(e.position == modsync::Position{modsync::Lsn{0x2000}, 0});
  CHECK(f.lines.text().empty());

  Fixture all(projection());
  CHECK(all.project(event('t', "", "", "0/3000#1")).kind == Kind::kTruncate);
}

TEST_CASE("projector: `where` rows entering and leaving", "[unit][apply][projector]") {
  Fixture f(projection("status = 'open'"));
  // A create that does not match is skipped (and counted as such), keeping its commit time.
  const auto skipped = f.project(event('c', "", kShut));
  CHECK(skipped.kind == Kind::kFiltered);
  CHECK(skipped.source_ts_ms == 1704164645500);
  // An update entering the filter is an upsert.
  CHECK(f.line(f.project(event('u', kShut, kOpen))) == "u\t0/1000\t2\t\\N\t7\topen\t12.50\tb\n");
  // An update leaving it is a delete by key.
  const auto leaving = f.project(event('u', kOpen, kShut, "0/1000#3"));
  CHECK(f.line(leaving) == "d\t0/1000\t3\t\\N\t7\t\\N\t\\N\t\\N\n");
  // A delete needs no filter: the row may be in the projection.
  CHECK(f.line(f.project(event('d', kShut, "", "0/1000#4"))) ==
        "d\t0/1000\t4\t\\N\t7\t\\N\t\\N\t\\N\n");

  SECTION("without `d` in ops a leaving row stays") {
    auto p = projection("status = 'open'");
    p.ops = {config::Op::kCreate, config::Op::kUpdate};
    Fixture g(p);
    CHECK(g.project(event('u', kOpen, kShut)).kind == Kind::kFiltered);
  }
}

TEST_CASE("projector: on_delete modes", "[unit][apply][projector]") {
  SECTION("delete and soft delete stage a delete line by key") {
    for (const auto mode : {config::OnDelete::kDelete, config::OnDelete::kSoft}) {
      auto p = projection("status = 'open'");
      p.on_delete = mode;
      TargetTable t = items();
      if (mode == config::OnDelete::kSoft) {
        p.soft_delete_column = "deleted_at";
        t.columns.push_back({"deleted_at", "timestamptz", pg::kTimestampTzOid, 'D', false});
      }
      Fixture f(p, t);
      CHECK(f.line(f.project(event('d', kOpen, ""))) == "d\t0/1000\t2\t\\N\t7\t\\N\t\\N\t\\N\n");
      CHECK(f.project(event('u', kOpen, kShut)).line.op == StageOp::kDelete);
      // The soft-delete column is modsync's own: not fed from events.
      CHECK(f.plan.fed().size() == 4);
    }
  }
  SECTION("ignore keeps deleted rows, and rows that leave the filter") {
    auto p = projection("status = 'open'");
    p.on_delete = config::OnDelete::kIgnore;
    Fixture f(p);
    CHECK(f.project(event('d', kOpen, "")).kind == Kind::kSkip);
    CHECK(f.project(event('u', kOpen, kShut)).kind == Kind::kFiltered);
  }
}

TEST_CASE("projector: an append-only target gets every version as an upsert line",
          "[unit][apply][projector]") {
  // No key: the writer inserts the 'u' lines and nothing else (docs/projections.md).
  Fixture f(projection("status = 'open'"), items(false));
  CHECK(f.plan.target().has_key() == false);
  const auto a = f.project(event('c', "", kOpen, "0/1000#0"));
  const auto b = f.project(event('u', kOpen, kOpen, "0/1000#1"));
  CHECK(f.line(a) == "u\t0/1000\t0\t\\N\t7\topen\t12.50\tb\n");
  CHECK(f.line(b) == "u\t0/1000\t1\t\\N\t7\topen\t12.50\tb\n");
  CHECK(a.key_hash == 0);  // nothing to merge by
  // Leaving the filter and deletes stage 'd' lines, which an append-only merge never inserts.
  CHECK(f.project(event('u', kOpen, kShut)).line.op == StageOp::kDelete);
  CHECK(f.project(event('d', kOpen, "")).line.op == StageOp::kDelete);
  CHECK(f.project(event('c', "", kShut)).kind == Kind::kFiltered);
}

TEST_CASE("projector: unchanged TOAST values make partial updates", "[unit][apply][projector]") {
  auto p = projection();
  p.columns = std::vector<config::ColumnMapping>{
      {"id", "id"}, {"status", "status"}, {"total", "total"}, {"note", "body"}};
  Fixture f(p);
  const auto e = f.project(event('u', "", R"({"id":7,"status":"open","total":"1"})", "0/1000#2",
                                 R"(,"unchanged":["note"])"));
  // The target name is listed; the value is not overwritten.
  CHECK(f.line(e) == "p\t0/1000\t2\t,body,\t7\topen\t1\t\\N\n");
  CHECK(e.line.op == StageOp::kPartial);
  // A column missing without being unchanged is a shape the projection does not know.
  CHECK(f.project(event('u', "", R"({"id":7,"status":"open","total":"1"})")).kind == Kind::kPause);
}

TEST_CASE("projector: schema versions, renames and defaults", "[unit][apply][projector]") {
  auto p = projection();
  p.columns = std::vector<config::ColumnMapping>{
      {"id", "id"}, {"status", "status"}, {"total", "total"}, {"body", "body"}};
  p.versions[1] = config::VersionRule{{{"amount_cents", "total"}}, {{"body", "(none)"}}};
  Fixture f(p);
  const std::string v1 = event('c', "", R"({"id":7,"status":"open","amount_cents":1250})");
  CHECK(f.line(f.project(v1)) == "u\t0/1000\t2\t\\N\t7\topen\t1250\t(none)\n");
  // Version 2 has no rule: its own names.
  const std::string v2 = versioned(event('c', "", kOpen), 2);
  CHECK(f.line(f.project(v2)) == "u\t0/1000\t2\t\\N\t7\topen\t12.50\tb\n");
  // The envelope's version is the event's: the header is not even read (librdkafka parses
  // every header of a message at the first lookup).
  CHECK(f.line(f.project(v2, "1")) == "u\t0/1000\t2\t\\N\t7\topen\t12.50\tb\n");
  CHECK(f.header_reads == 0);
  // Without source.schema_version the header tells; without either, version 1.
  CHECK(f.line(f.project(versioned(event('c', "", kOpen), std::nullopt), "2")) ==
        "u\t0/1000\t2\t\\N\t7\topen\t12.50\tb\n");
  CHECK(f.header_reads == 1);
  CHECK(f.line(f.project(versioned(v1, std::nullopt))) ==
        "u\t0/1000\t2\t\\N\t7\topen\t1250\t(none)\n");

  SECTION("an unknown shape pauses, or is dead-lettered") {
    const auto paused = f.project(versioned(v1, 2));
    REQUIRE(paused.kind == Kind::kPause);
    CHECK(paused.schema_version == 2);
    CHECK(paused.error == "schema version 2 has no column total that the projection maps to total");
    f.proj.unknown_version = config::UnknownVersion::kDeadLetter;
    const auto dead = f.project(versioned(v1, 2));
    CHECK(dead.kind == Kind::kDeadLetter);
    CHECK(dead.error == paused.error);
  }
  SECTION("the filter reads renamed columns under their current name") {
    auto q = p;
    q.where = "total > 1000";
    Fixture g(q);
    CHECK(g.project(v1).kind == Kind::kLine);
    CHECK(g.project(event('c', "", R"({"id":7,"status":"open","amount_cents":5})")).kind ==
          Kind::kFiltered);
  }
}

TEST_CASE("projector: poison events become dead letters", "[unit][apply][projector]") {
  Fixture f(projection());
  CHECK(f.project("not json").error ==
        "the value is not a JSON object (not a modsync/Debezium change event)");
  CHECK(f.project(R"({"after":{"id":1}})").error == "the event has no \"op\" field");
  auto no_position = event('c', "", kOpen, "nowhere");
  CHECK(f.project(no_position).error == "the event has no valid source.position");
  const auto no_row = f.project(event('c', "", ""));
  CHECK(no_row.kind == Kind::kDeadLetter);
  CHECK(no_row.error == "the c event has no \"after\" row image");
  CHECK(f.project(event('d', "", "")).error == "the d event has no \"before\" row image");
  CHECK(f.lines.text().empty());
}

TEST_CASE("projector: key hashes tell keys apart", "[unit][apply][projector]") {
  Fixture f(projection());
  const auto a = f.project(event('c', "", kOpen));
  const auto b = f.project(event('u', "", kShut));
  const auto c = f.project(event('c', "", R"({"id":8,"status":"open","total":"1","body":"b"})"));
  CHECK(a.key_hash != 0);
  CHECK(a.key_hash == b.key_hash);
  CHECK(a.key_hash != c.key_hash);
}

TEST_CASE("projector: Debezium value mode is read back, and filtered in modsync's forms",
          "[unit][apply][projector]") {
  TargetTable t = items();
  t.columns[2] = {"total", "numeric(10,2)", pg::kNumericOid, 'N', false};
  Fixture f(projection("total > 10"), t);
  // numeric(10,2) as a Debezium Decimal: base64 of the unscaled 1250 (0x04E2).
  const std::string value =
      event('c', "", R"({"id":7,"status":"open","total":"BOI=","body":"b"})", "0/1000#2", "");
  std::string debezium = value;
  debezium.replace(debezium.find(R"("schema_version":1)"), 18,
                   R"("schema_version":1,"value_mode":"debezium")");
  CHECK(f.line(f.project(debezium)) == "u\t0/1000\t2\t\\N\t7\topen\t12.50\tb\n");
  // The same text in modsync's value mode is a string the filter compares as it is.
  CHECK(f.project(value).kind == Kind::kFiltered);
  std::string small = debezium;
  small.replace(small.find("BOI="), 4, "Dw==");  // 15 → 0.15
  CHECK(f.project(small).kind == Kind::kFiltered);
}

TEST_CASE("projection plan: mapping problems name the file, line and fix", "[unit][apply][plan]") {
  auto p = projection();
  p.columns = std::vector<config::ColumnMapping>{{"id", "id"}, {"x", "nope"}};
  CHECK_THROWS_WITH(ProjectionPlan(p, items()),
                    Catch::Contains("shop.yaml:12: projection to public.items: column nope "
                                    "(mapped from x) does not exist in public.items; it has: id, "
                                    "status, total, body"));
  p.columns = std::vector<config::ColumnMapping>{{"status", "status"}};
  CHECK_THROWS_WITH(ProjectionPlan(p, items()),
                    Catch::Contains("the primary key column id of public.items is not fed"));
  auto q = projection("status = ");
  CHECK_THROWS_WITH(ProjectionPlan(q, items()), Catch::Contains("correct the `where` expression"));
  TargetTable unguarded = items();
  unguarded.columns.pop_back();
  CHECK_THROWS_WITH(ProjectionPlan(projection(), unguarded),
                    Catch::Contains("lacks column _modsync_seq"));
  auto soft = projection();
  soft.on_delete = config::OnDelete::kSoft;
  soft.soft_delete_column = "deleted_at";
  CHECK_THROWS_WITH(ProjectionPlan(soft, items()),
                    Catch::Contains("soft_delete_column deleted_at does not exist"));
}
