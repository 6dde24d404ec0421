#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "modsync/pgsink/target_table.hpp"

namespace modsync::apply {

/// Appends `value`, a field of a change event's row image, to a COPY text line as the text
/// PostgreSQL's input function for `column`'s type reads back to the source's value: the way
/// back from docs/events.md's type mapping. null is \N; strings are the type's text, except
/// astronomical-year dates and timestamps (written in PostgreSQL's BC form); arrays are
/// rebuilt as array literals for array columns, with the element type's delimiter, bytea
/// elements from base64 and the same date conversion per element; objects (events written
/// before json became a string) are minified. `scratch` is reused between calls. Pure: no I/O.
void append_copy_value(simdjson::dom::element value, const pgsink::TargetColumn& column,
                       std::string& scratch, std::string& out);

/// For a change event that simdjson refuses because a number does not fit 64 bits: a copy in
/// which each row-image field (`before`/`after` member) holding such a number is replaced by a
/// JSON string of its exact text. Events written before json/jsonb became strings embedded
/// them, and only those columns can hold such numbers; as a string, the value is exactly what
/// the column needs. nullopt when no field needed it or `event` is not a JSON object. Pure.
std::optional<std::string> quote_unreadable_row_values(std::string_view event);

}  // namespace modsync::apply
