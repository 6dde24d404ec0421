#pragma once
// The way back of the change event envelope (docs/events.md): reads what EnvelopeEncoder
// writes, in either envelope form and either value mode, for the apply side.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "modsync/common/lsn.hpp"

namespace modsync::event {

/// The text of an envelope's "source.position": "<commit LSN>#<index>", e.g. "16/B374D848#3"
/// (Position::to_string()). nullopt when `text` is not of that form.
std::optional<Position> parse_position(std::string_view text);

/// The columns an update left unchanged (unchanged TOASTed values, the envelope's top-level
/// "unchanged" array). A view into the parsed event.
class UnchangedColumns {
 public:
  UnchangedColumns() = default;
  explicit UnchangedColumns(simdjson::dom::array names) : names_(names), present_(true) {}

  bool contains(std::string_view column) const;

 private:
  simdjson::dom::array names_;
  bool present_ = false;
};

/// One change event as read from its Kafka value. The fields are read when asked for, so a
/// caller deciding in steps (op, then position, then the row) reads no more than it needs.
/// Holds views into the reader's parsed document: valid until the reader's next read().
class ChangeEvent {
 public:
  /// "op": c, u, d, r, t or m.
  char op() const { return op_; }

  /// "source.position"; nullopt when absent or malformed.
  std::optional<Position> position() const;
  /// "source.schema_version", the version of the table's column set; nullopt when absent (a
  /// message event, or an event not written by modsync).
  std::optional<uint32_t> schema_version() const;
  /// "source.ts_ms", the source commit time (Unix ms); 0 when absent.
  int64_t source_ts_ms() const;
  /// Whether "source.snapshot" is present and not "false" (a snapshot row or a snapshot's
  /// truncate, docs/events.md "Snapshot restarts").
  bool snapshot() const;
  /// Whether the values are in Debezium's value mode (source.value_mode "debezium").
  bool debezium_values() const;

  /// The row image: "before" for `before`, else "after"; nullopt when it is null or absent.
  std::optional<simdjson::dom::object> row(bool before) const;
  /// The "unchanged" array (empty when absent).
  UnchangedColumns unchanged() const;

  /// The Kafka Connect schema of a schema_payload envelope; nullopt for a plain one.
  std::optional<simdjson::dom::element> connect_schema() const { return connect_schema_; }

 private:
  friend class EnvelopeReader;

  simdjson::dom::element doc_;  ///< the change event (the payload of a schema_payload envelope)
  std::optional<simdjson::dom::element> connect_schema_;
  std::optional<simdjson::dom::object> source_;  ///< "source", looked up once
  char op_ = 0;
};

/// Reads change event values. Not thread-safe: one instance per consuming thread; reuses its
/// parser's memory from event to event.
class EnvelopeReader {
 public:
  enum class Status {
    kOk,
    kNotAnEvent,  ///< not a JSON object
    kNoOp,        ///< no one-letter "op" field
  };

  /// Parses `value` into `out`. A number simdjson cannot hold (beyond 64 bits, in a json value
  /// of an event written before json became a string) is read as a string of its exact text
  /// (quote_unreadable_row_values). `out` is valid until the next read().
  Status read(std::string_view value, ChangeEvent& out);

  /// The reason for a non-kOk status, as a dead letter's modsync.dlq.error says it.
  static const char* describe(Status status);

 private:
  simdjson::dom::parser parser_;
};

/// For a change event that simdjson refuses because a number does not fit 64 bits: a copy in
/// which each row-image field (`before`/`after` member) holding such a number is replaced by a
/// JSON string of its exact text. Events written before json/jsonb became strings embedded
/// them, and only those columns can hold such numbers; as a string, the value is exactly what
/// the column needs. nullopt when no field needed it or `event` is not a JSON object. Pure.
std::optional<std::string> quote_unreadable_row_values(std::string_view event);

}  // namespace modsync::event
