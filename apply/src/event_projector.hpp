#pragma once
// The pure core of a projection: one change event in, what to apply out (docs/projections.md,
// "From event to row" and "Schema versions").

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/common/lsn.hpp"
#include "modsync/event/envelope_reader.hpp"
#include "modsync/pgsink/stage_lines.hpp"
#include "modsync/projection/value.hpp"
#include "projection_plan.hpp"
#include "value_decoder.hpp"

namespace modsync::apply {

/// What one event of a batch comes to.
struct ProjectedEvent {
  enum class Kind {
    kSkip,        ///< nothing to apply (a message, an op not in `ops`, an ignored delete)
    kFiltered,    ///< a row the filter does not take: nothing to apply, counted as skipped
    kLine,        ///< a stage line (`line`)
    kTruncate,    ///< empty the projection as of `position`
    kDeadLetter,  ///< a poison event: to the dead-letter topic, for `error`
    kPause,       ///< an unknown schema version under unknown_version: pause; `error` says why
  };
  Kind kind = Kind::kSkip;
  pgsink::StageLines::Line line;  ///< kLine
  Position position;              ///< kTruncate: where the source truncated; kLine: the event's
  /// kLine of a 'c' or 'r' event staged as kUpsert: a row whose key the target usually does not
  /// hold yet, which may take the bulk path (MergeSegment::new_rows).
  bool new_row = false;
  uint64_t key_hash = 0;          ///< kLine: hash of the key columns' COPY text
  int64_t source_ts_ms = 0;       ///< source commit time; 0 when unknown
  uint32_t schema_version = 0;    ///< kPause: the event's version
  std::string error;              ///< kDeadLetter, kPause

  static ProjectedEvent dead_letter(std::string why);
};

/// Turns change events into stage lines for one projection: reads the envelope, applies the
/// version rule of the event's schema version (renames, defaults), the ops and the `where`
/// filter (a row that stops matching leaves the projection), the on_delete mode, and maps the
/// fields to the plan's target columns (unchanged TOAST values kept, Debezium value mode read
/// back). Pure: no I/O, no clock; the caller counts and applies. Not thread-safe; `plan` must
/// outlive the projector.
class EventProjector {
 public:
  explicit EventProjector(const ProjectionPlan& plan);

  /// The record's event::kSchemaVersionHeader header, asked for only when the envelope lacks
  /// source.schema_version: reading a header makes librdkafka parse (and allocate) all of a
  /// message's headers, which cost a sixth of the apply's CPU on wide rows.
  using SchemaVersionHeader = std::function<std::optional<std::string_view>()>;

  /// Projects a Kafka record: `value` (nullopt for a tombstone), whose schema version is its
  /// envelope's source.schema_version, else its header (absent: version 1). A kLine event's
  /// line is appended to `lines`.
  ProjectedEvent project(std::optional<std::string_view> value,
                         const SchemaVersionHeader& schema_version_header,
                         pgsink::StageLines& lines);

 private:
  /// How a field of an event in Debezium value mode is read: by the event's Connect schema
  /// when it carries one, else by the type of the target column fed from it.
  DebeziumField debezium_field(const std::string& source) const;
  /// Whether the filter takes the row; fills filter_values_.
  bool matches(simdjson::dom::object row, const config::VersionRule* rule, bool debezium);

  const ProjectionPlan& plan_;
  event::EnvelopeReader reader_;
  event::ChangeEvent event_;
  /// Events in Debezium value mode: the Connect schema of the current event's row, the filter
  /// columns' values as PostgreSQL text, and why a value could not be read.
  ConnectRowSchema row_schema_;
  std::vector<projection::Value> filter_values_;
  std::vector<std::string> filter_text_;
  std::string value_error_;
  std::string scratch_;
};

}  // namespace modsync::apply
