#include "sink_parser.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include <fmt/format.h>

#include "field_rules.hpp"
#include "modsync/common/json_string.hpp"

namespace modsync::config::detail {

namespace {

constexpr std::array<std::string_view, 9> kSinkKeys = {
    "module",     "dsn",   "password_file", "batch_rows", "batch_bytes",
    "batch_time", "group", "workers",       "projections"};
/// Each worker is one more subscriber connection, consumer and pair of threads.
constexpr uint64_t kMaxWorkers = 64;
/// A batch holds at least one event whatever its size; below 64 KiB batches of small events
/// get too short to pay for their round trips to the sink.
constexpr uint64_t kMinBatchBytes = 64 * kKiB;
constexpr uint64_t kMaxBatchBytes = 1 * kGiB;
constexpr std::array<std::string_view, 11> kProjectionKeys = {"from",         "topic",
                                                              "to",           "columns",
                                                              "where",        "ops",
                                                              "on_delete",    "soft_delete_column",
                                                              "create_table", "unknown_version",
                                                              "versions"};
constexpr std::array<std::string_view, 2> kVersionKeys = {"rename", "defaults"};

}  // namespace

SinkConfig SinkParser::parse(const Field& field) {
  SinkConfig s;
  auto map = open_map(r_, field, kSinkKeys);
  if (!map) return s;
  if (auto v = module_name(*map, "shipping")) s.module = *v;
  parse_connection(*map, s.dsn, s.password_file, s.effective_dsn);
  if (auto f = map->get("batch_rows")) {
    if (auto v = r_.positive_integer(*f)) s.batch_rows = *v;
  }
  if (auto f = map->get("batch_bytes")) {
    if (auto v = r_.byte_size(*f, kMinBatchBytes, kMaxBatchBytes)) s.batch_bytes = *v;
  }
  if (auto f = map->get("batch_time")) {
    if (auto v = r_.duration(*f, false)) s.batch_time = *v;
  }
  if (auto f = map->get("group")) {
    if (auto v = r_.string(*f)) {
      check(v->empty() || is_topic_name(*v), *f, "a consumer group name of [A-Za-z0-9._-]",
            json_quoted(*v), "use only letters, digits, '.', '_' and '-'");
      s.group = *v;
    }
  }
  if (auto f = map->get("workers")) {
    if (auto v = r_.positive_integer(*f, kMaxWorkers)) s.workers = *v;
  }
  if (auto f = map->require("projections", "a non-empty list of projections",
                            "[{ from: orders.public.orders, to: public.orders }]")) {
    if (auto items = r_.sequence(*f)) {
      if (items->empty()) {
        r_.expected(f->mark, f->path, "a non-empty list of projections", "[]",
                    "add at least one projection with from: and to:");
      }
      // A projection is identified by daemon.id and its target table (its offsets and its
      // truncate marks are keyed so): two projections into one table would share them.
      std::map<TableName, Location> targets;
      for (const Field& item : *items) {
        Projection p = parse_projection(item);
        if (!p.to.table.empty()) {
          auto [it, inserted] = targets.emplace(p.to, p.location);
          if (!inserted) {
            const Location& first = it->second;
            r_.expected(item.mark, item.path + ".to", "each target table once in a sink",
                        fmt::format("{} again (already the target of the projection at {}:{}:{})",
                                    p.to.qualified(), first.file, first.line, first.column),
                        "give each projection its own target table: two projections of one "
                        "daemon into one table share its offsets and truncate marks (keyed by "
                        "daemon.id and table), so one skips events the other applied; a view "
                        "can union several tables");
          }
        }
        s.projections.push_back(std::move(p));
      }
    }
  }
  return s;
}

Projection SinkParser::parse_projection(const Field& field) {
  Projection p;
  p.location = location_of(r_, field);
  auto map = open_map(r_, field, kProjectionKeys);
  if (!map) return p;
  auto from = map->get("from");
  auto topic = map->get("topic");
  if (topic) {
    if (auto v = r_.string(*topic)) {
      if (!v->empty()) {
        check(is_topic_name(*v), *topic, "a Kafka topic name of [A-Za-z0-9._-]", json_quoted(*v),
              "use only letters, digits, '.', '_' and '-'");
      }
      p.topic = *v;
    }
  }
  if (from) {
    if (auto v = r_.string(*from)) {
      const auto parts = split(*v, '.');
      if (parts.size() == 3 && is_module_name(parts[0]) && is_identifier(parts[1]) &&
          is_identifier(parts[2])) {
        p.from = SourceTable{std::string(parts[0]),
                             TableName{std::string(parts[1]), std::string(parts[2])}};
      } else {
        r_.expected(from->mark, from->path, "module.schema.table", json_quoted(*v),
                    "write e.g. orders.public.orders");
      }
    }
  }
  const bool has_from = from.has_value();
  const bool has_topic = !p.topic.empty();
  if (has_from && has_topic) {
    r_.expected(topic->mark, topic->path, "either from or topic", "both",
                "keep from: to read the table's topic, or topic: to name it, not both");
  } else if (!has_from && !has_topic) {
    r_.expected(field.mark, map->child_path("from"),
                "from: module.schema.table or topic:", "neither",
                "add \"from: <module>.<schema>.<table>\"");
  }

  if (auto f = map->require("to", "a target table as schema.table", "public.orders")) {
    if (auto v = r_.string(*f)) {
      if (auto name = table_name(*f, *v)) p.to = *name;
    }
  }
  if (auto f = map->get("columns")) parse_columns(*f, p);
  if (auto f = map->get("where")) {
    if (auto v = r_.string(*f)) p.where = *v;
  }
  if (auto f = map->get("ops")) {
    if (auto items = r_.sequence(*f)) {
      std::vector<Op> ops;
      for (const Field& item : *items) {
        const auto op = enum_choice(r_, item, kOpNames);
        if (!op) continue;
        if (std::find(ops.begin(), ops.end(), *op) != ops.end()) {
          r_.expected(item.mark, item.path, "each operation once", json_quoted(to_string(*op)),
                      "remove the duplicate");
          continue;
        }
        ops.push_back(*op);
      }
      if (items->empty()) {
        r_.expected(f->mark, f->path, "at least one of c, u, d, r, t", "[]",
                    "list the operations to apply, or remove ops to apply all");
      }
      p.ops = std::move(ops);
    }
  }
  std::optional<Field> on_delete = map->get("on_delete");
  if (on_delete) {
    if (auto v = enum_choice(r_, *on_delete, kOnDeleteNames)) p.on_delete = *v;
  }
  if (auto f = map->get("soft_delete_column")) {
    if (auto name = column_name(*f)) {
      p.soft_delete_column = *name;
      check(p.on_delete == OnDelete::kSoft, *f, "soft_delete_column only with on_delete: soft",
            fmt::format("on_delete: {}", to_string(p.on_delete)),
            "set on_delete: soft, or remove soft_delete_column");
    }
  } else if (p.on_delete == OnDelete::kSoft) {
    r_.expected(on_delete->mark, map->child_path("soft_delete_column"),
                "a soft_delete_column with on_delete: soft", "nothing",
                "add \"soft_delete_column: deleted_at\" (a timestamp column of the target)");
  }
  if (auto f = map->get("create_table")) {
    if (auto v = r_.boolean(*f)) p.create_table = *v;
  }
  if (auto f = map->get("unknown_version")) {
    if (auto v = enum_choice(r_, *f, kUnknownVersionNames)) p.unknown_version = *v;
  }
  if (auto f = map->get("versions")) parse_versions(*f, p);
  return p;
}

void SinkParser::parse_columns(const Field& f, Projection& p) {
  std::vector<ColumnMapping> columns;
  std::set<std::string> sources, targets;
  auto add = [&](const Field& at, const std::string& source, const std::string& target) {
    if (!sources.insert(source).second) {
      r_.expected(at.mark, at.path, "each source column once", json_quoted(source),
                  "remove the duplicate");
    } else if (!targets.insert(target).second) {
      r_.expected(at.mark, at.path, "each target column once",
                  fmt::format("{} as a target again", json_quoted(target)),
                  "map each target column from one source column only");
    } else {
      columns.push_back({source, target});
    }
  };
  if (f.value.IsSequence()) {
    auto items = r_.sequence(f);
    for (const Field& item : *items) {
      if (auto name = column_name(item)) add(item, *name, *name);
    }
  } else if (f.value.IsMap()) {
    auto entries = r_.mapping(f, {});
    for (const auto& [source, target] : *entries) {
      if (!is_column_name(source)) {
        r_.expected(target.mark, target.path, "a source column name", json_quoted(source),
                    "write the name as the catalog spells it (case and spaces included, no "
                    "quotes), 1 to 63 bytes, without ','");
        continue;
      }
      if (target.value.IsNull()) {
        r_.expected(target.mark, target.path, "a target column name", "nothing",
                    fmt::format("write \"{0}: {0}\" to keep the name", source));
        continue;
      }
      if (auto name = column_name(target)) add(target, source, *name);
    }
  } else {
    r_.expected(f.mark, f.path, "a mapping source: target or a list of columns",
                describe_node(f.value),
                "write { id: order_id } to rename or [id, total] to keep names");
    return;
  }
  if (columns.empty() && sources.empty()) {
    r_.expected(f.mark, f.path, "at least one column", "none",
                "list the columns, or remove columns to copy all of them");
  }
  p.columns = std::move(columns);
}

void SinkParser::parse_versions(const Field& f, Projection& p) {
  auto entries = r_.mapping(f, {});
  if (!entries) return;
  for (const auto& [key, g] : *entries) {
    uint32_t version = 0;
    const auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), version);
    if (ec != std::errc{} || ptr != key.data() + key.size() || version == 0) {
      r_.expected(g.mark, g.path, "a schema version number (1, 2, …) as key", json_quoted(key),
                  "key each entry by the event schema version it applies to");
      continue;
    }
    auto rule_map = open_map(r_, g, kVersionKeys);
    if (!rule_map) continue;
    VersionRule rule;
    if (auto h = rule_map->get("rename")) {
      if (auto renames = r_.mapping(*h, {})) {
        for (const auto& [from, to] : *renames) {
          if (auto name = column_name(to)) rule.rename[from] = *name;
        }
      }
    }
    if (auto h = rule_map->get("defaults")) {
      if (auto defaults = r_.mapping(*h, {})) {
        for (const auto& [column, value] : *defaults) {
          if (auto v = r_.string(value)) rule.defaults[column] = *v;
        }
      }
    }
    p.versions[version] = std::move(rule);
  }
}

}  // namespace modsync::config::detail
