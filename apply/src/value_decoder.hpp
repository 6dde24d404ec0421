#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "modsync/event/debezium.hpp"
#include "modsync/pgsink/target_table.hpp"

namespace modsync::apply {

/// Appends `value`, a field of a change event's row image, to a COPY text line as the text
/// PostgreSQL's input function for `column`'s type reads back to the source's value: the way
/// back from docs/events.md's type mapping. null is \N; strings are the type's text, except
/// astronomical-year dates and timestamps (written in PostgreSQL's BC form); arrays are
/// rebuilt as array literals for array columns, with the element type's delimiter, bytea
/// elements from base64 and the same date conversion per element; objects (events written
/// before json became a string) are minified; a bytea from base64 into its \x hex form.
/// Returns false, with `error` set, for a bytea value that is not a base64 string.
/// `scratch` is reused between calls. Pure: no I/O.
bool append_copy_value(simdjson::dom::element value, const pgsink::TargetColumn& column,
                       std::string& scratch, std::string& out, std::string& error);

/// How a field of an event in Debezium value mode (source.value_mode: debezium) is read back:
/// its Debezium form and, for kDecimal, the scale.
struct DebeziumField {
  event::debezium::Form form = event::debezium::Form::kAsModsync;
  std::optional<int32_t> scale;
};

/// The form of a column's values when the event carries no Connect schema (plain envelope),
/// from the target column's type: date, time(p), timestamp(p), numeric(p,s), numeric.
DebeziumField debezium_field_of(const pgsink::TargetColumn& column);

/// The field schemas of an event's row struct, from its Connect schema (schema_payload
/// envelope): the form and scale of each field, by name. Holds views into the parsed event;
/// reload per event.
class ConnectRowSchema {
 public:
  /// Reads the "after" (else "before") struct of `envelope_schema`; empty when it has none.
  void load(simdjson::dom::element envelope_schema);
  void clear() { fields_.clear(); }
  bool empty() const { return fields_.empty(); }
  const DebeziumField* find(std::string_view name) const;

 private:
  std::vector<std::pair<std::string_view, DebeziumField>> fields_;
};

/// Debezium value mode: the PostgreSQL input text of `value`, a field of form `field`, into
/// `out` (not COPY-escaped). Returns true when converted; false with `out` untouched when the
/// value is to be read as modsync's form (a string for infinity or NaN, or a field of no
/// Debezium form). Sets `error` (and returns false) when the value has the form's JSON type
/// but cannot be read: out of range, bad base64, a decimal whose scale is unknown.
bool append_debezium_pg_text(simdjson::dom::element value, const DebeziumField& field,
                             std::string& out, std::string& error);

/// As append_debezium_pg_text, but the text of the value's form in modsync's value mode (ISO
/// dates with astronomical years, numeric text): what filters compare, so a `where` means the
/// same in both modes.
bool append_debezium_modsync_text(simdjson::dom::element value, const DebeziumField& field,
                                  std::string& out, std::string& error);

/// append_copy_value for an event in Debezium value mode: converted values COPY-escaped,
/// others as append_copy_value. False (with `error` set) as append_debezium_pg_text.
bool append_debezium_copy_value(simdjson::dom::element value, const pgsink::TargetColumn& column,
                                const DebeziumField& field, std::string& scratch, std::string& out,
                                std::string& error);

}  // namespace modsync::apply
