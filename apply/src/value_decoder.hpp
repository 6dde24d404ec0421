#pragma once

#include <string>

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

}  // namespace modsync::apply
