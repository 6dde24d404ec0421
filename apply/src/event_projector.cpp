#include "event_projector.hpp"

#include <fmt/format.h>

#include "modsync/event/event_headers.hpp"
#include "modsync/event/pg_types.hpp"

namespace modsync::apply {

namespace {

using pgsink::StageOp;

/// FNV-1a over `bytes`, continuing from `seed`; a key's columns are hashed one after another.
uint64_t hash_bytes(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed ? seed : 14695981039346656037ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return (h ^ '\t') * 1099511628211ull;
}

/// The event's field for `current_name`, under its name in `rule`'s version.
simdjson::simdjson_result<simdjson::dom::element> field(simdjson::dom::object row,
                                                        const std::string& current_name,
                                                        const config::VersionRule* rule) {
  if (rule) {
    for (const auto& [old_name, new_name] : rule->rename)
      if (new_name == current_name) return row[old_name];
  }
  return row[current_name];
}

}  // namespace

ProjectedEvent ProjectedEvent::dead_letter(std::string why) {
  ProjectedEvent e;
  e.kind = Kind::kDeadLetter;
  e.error = std::move(why);
  return e;
}

EventProjector::EventProjector(const ProjectionPlan& plan)
    : plan_(plan),
      filter_values_(plan.filter_columns().size()),
      filter_text_(plan.filter_columns().size()) {}

DebeziumField EventProjector::debezium_field(const std::string& source) const {
  if (const DebeziumField* f = row_schema_.find(source)) return *f;
  for (const auto& f : plan_.fed())
    if (f.source == source) return debezium_field_of(*f.column);
  return {};
}

bool EventProjector::matches(simdjson::dom::object row, const config::VersionRule* rule,
                             bool debezium) {
  const auto& columns = plan_.filter_columns();
  for (size_t i = 0; i < columns.size(); ++i) {
    auto v = field(row, columns[i], rule);
    filter_values_[i] = v.error() == simdjson::SUCCESS ? projection::Value::from_json(v.value())
                                                       : projection::Value{};
    if (debezium && v.error() == simdjson::SUCCESS) {
      // The filter sees the value as in modsync's value mode (docs/filters.md).
      filter_text_[i].clear();
      const DebeziumField df = debezium_field(columns[i]);
      if (append_debezium_modsync_text(v.value(), df, filter_text_[i], value_error_)) {
        const bool number = df.form == event::debezium::Form::kDecimal ||
                            df.form == event::debezium::Form::kVariableScaleDecimal;
        filter_values_[i] = projection::Value::from_pg_text(
            number ? event::pg::kNumericOid : event::pg::kTextOid, filter_text_[i]);
      }
    }
  }
  return plan_.filter().matches(filter_values_);
}

ProjectedEvent EventProjector::project(std::optional<std::string_view> value,
                                       const SchemaVersionHeader& schema_version_header,
                                       pgsink::StageLines& lines) {
  ProjectedEvent entry;
  if (!value) return entry;
  const auto status = reader_.read(*value, event_);
  if (status != event::EnvelopeReader::Status::kOk) {
    return ProjectedEvent::dead_letter(event::EnvelopeReader::describe(status));
  }
  const config::Projection& proj = plan_.projection();
  const char op = event_.op();
  if (op == 'm') return entry;
  // A truncate marked as a snapshot event restarts a keyless table's snapshot: the rows of
  // the earlier attempt must go whatever `ops` says, or they would be there twice.
  const bool snapshot_truncate = op == 't' && event_.snapshot();
  if (!plan_.wants(op) && !snapshot_truncate) return entry;
  if (op == 'd' && proj.on_delete == config::OnDelete::kIgnore) return entry;
  const std::optional<Position> position = event_.position();
  if (!position) return ProjectedEvent::dead_letter("the event has no valid source.position");
  if (op == 't') {
    entry.kind = ProjectedEvent::Kind::kTruncate;
    entry.position = *position;
    return entry;
  }
  entry.source_ts_ms = event_.source_ts_ms();
  const bool debezium = event_.debezium_values();
  row_schema_.clear();
  if (debezium && event_.connect_schema()) row_schema_.load(*event_.connect_schema());

  const std::optional<uint32_t> envelope_version = event_.schema_version();
  const uint32_t version =
      envelope_version ? *envelope_version : event::schema_version_of(schema_version_header());
  const auto rule_it = proj.versions.find(version);
  const config::VersionRule* rule = rule_it == proj.versions.end() ? nullptr : &rule_it->second;

  const std::optional<simdjson::dom::object> row = event_.row(op == 'd');
  if (!row) {
    return ProjectedEvent::dead_letter(
        fmt::format("the {} event has no \"{}\" row image", op, op == 'd' ? "before" : "after"));
  }
  const event::UnchangedColumns unchanged = event_.unchanged();

  // An event whose row lacks a field the projection uses is of a shape this projection does
  // not know: never guess (docs/projections.md, "Versions").
  if (op != 'd') {
    for (const auto& f : plan_.fed()) {
      if (field(*row, f.source, rule).error() == simdjson::SUCCESS ||
          unchanged.contains(f.source) || (rule && rule->defaults.count(f.source)))
        continue;
      std::string why =
          fmt::format("schema version {} has no column {} that the projection maps to {}", version,
                      f.source, f.target);
      if (proj.unknown_version == config::UnknownVersion::kDeadLetter) {
        return ProjectedEvent::dead_letter(std::move(why));
      }
      entry.kind = ProjectedEvent::Kind::kPause;
      entry.schema_version = version;
      entry.error = std::move(why);
      return entry;
    }
  }

  StageOp line_op = op == 'd' ? StageOp::kDelete : StageOp::kUpsert;
  if (op != 'd' && plan_.has_filter() && !matches(*row, rule, debezium)) {
    // A row that stops matching leaves the projection; one that never matched is skipped.
    if (op != 'u' || !plan_.wants('d') || proj.on_delete == config::OnDelete::kIgnore) {
      entry.kind = ProjectedEvent::Kind::kFiltered;
      return entry;
    }
    line_op = StageOp::kDelete;
  }

  lines.begin_line(*position);
  for (const auto& f : plan_.fed()) {
    if (line_op == StageOp::kDelete && !f.column->key) {
      lines.null_value();
      continue;
    }
    auto v = field(*row, f.source, rule);
    if (v.error() == simdjson::SUCCESS) {
      std::string& out = lines.next_value();
      const size_t at = out.size();
      const bool read =
          debezium ? append_debezium_copy_value(v.value(), *f.column, debezium_field(f.source),
                                                scratch_, out, value_error_)
                   : append_copy_value(v.value(), *f.column, scratch_, out, value_error_);
      if (!read) {
        lines.abandon_line();
        return ProjectedEvent::dead_letter(fmt::format("column {}: {}", f.source, value_error_));
      }
      if (f.column->key) {
        entry.key_hash = hash_bytes(std::string_view(out).substr(at), entry.key_hash);
      }
    } else if (rule && rule->defaults.count(f.source)) {
      pgsink::append_copy_escaped(rule->defaults.at(f.source), lines.next_value());
    } else if (unchanged.contains(f.source)) {
      lines.unchanged_value(f.target);
    } else {
      lines.null_value();
    }
  }
  entry.kind = ProjectedEvent::Kind::kLine;
  entry.line = lines.end_line(line_op);
  entry.position = *position;
  entry.new_row = (op == 'c' || op == 'r') && entry.line.op == StageOp::kUpsert;
  return entry;
}

}  // namespace modsync::apply
