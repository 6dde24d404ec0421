#include "value_decoder.hpp"

#include <iterator>

#include <fmt/format.h>

#include "modsync/event/envelope.hpp"
#include "modsync/event/pg_types.hpp"
#include "modsync/pgsink/projection_writer.hpp"

namespace modsync::apply {

namespace {

namespace pg = event::pg;
using T = simdjson::dom::element_type;

bool is_datetime(uint32_t type_oid) {
  return type_oid == pg::kDateOid || type_oid == pg::kTimestampOid ||
         type_oid == pg::kTimestampTzOid;
}

void append_number(simdjson::dom::element e, std::string& out) {
  switch (e.type()) {
    case T::INT64: fmt::format_to(std::back_inserter(out), "{}", e.get_int64().value()); return;
    case T::UINT64: fmt::format_to(std::back_inserter(out), "{}", e.get_uint64().value()); return;
    // Shortest text that reads back to the same double: the digits PostgreSQL printed.
    default: fmt::format_to(std::back_inserter(out), "{}", e.get_double().value()); return;
  }
}

/// The PostgreSQL input text of a string value of type `type_oid`; a view of `text` itself
/// when it needs no conversion, else of `buf`.
std::string_view input_text(std::string_view text, uint32_t type_oid, std::string& buf) {
  buf.clear();
  if (is_datetime(type_oid) && event::append_pg_datetime_input(text, buf)) return buf;
  if (type_oid == pg::kByteaOid && event::append_bytea_hex_input(text, buf)) return buf;
  return text;
}

void append_quoted(std::string_view text, std::string& out) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

/// PostgreSQL array literal of a JSON array: {1,2,NULL}, {"a b","c\"d"}, {{1,2},{3,4}}.
void append_array_literal(simdjson::dom::array a, uint32_t element_oid, std::string& element,
                          std::string& out) {
  const char delimiter = pg::array_delimiter(element_oid);
  out += '{';
  bool first = true;
  for (simdjson::dom::element e : a) {
    if (!first) out += delimiter;
    first = false;
    switch (e.type()) {
      case T::NULL_VALUE: out += "NULL"; break;
      case T::ARRAY: append_array_literal(e.get_array().value(), element_oid, element, out); break;
      // Always quoted: an unquoted string may be the word NULL, or hold the delimiter.
      case T::STRING:
        append_quoted(input_text(e.get_string().value(), element_oid, element), out);
        break;
      case T::OBJECT: append_quoted(simdjson::minify(e), out); break;
      case T::BOOL: out += e.get_bool().value() ? "true" : "false"; break;
      case T::INT64:
      case T::UINT64:
      case T::DOUBLE: append_number(e, out); break;
    }
  }
  out += '}';
}

}  // namespace

void append_copy_value(simdjson::dom::element value, const pgsink::TargetColumn& column,
                       std::string& scratch, std::string& out) {
  switch (value.type()) {
    case T::NULL_VALUE: out += "\\N"; return;
    case T::STRING: {
      const std::string_view text = value.get_string().value();
      // bytea scalars are decoded from base64 by the writer's decode(…, 'base64').
      scratch.clear();
      if (is_datetime(column.type_oid) && event::append_pg_datetime_input(text, scratch)) {
        pgsink::ProjectionWriter::append_copy_escaped(scratch, out);
      } else {
        pgsink::ProjectionWriter::append_copy_escaped(text, out);
      }
      return;
    }
    case T::BOOL: out += value.get_bool().value() ? "true" : "false"; return;
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE: append_number(value, out); return;
    case T::ARRAY: {
      scratch.clear();
      if (column.category == 'A') {
        thread_local std::string element;
        append_array_literal(value.get_array().value(), pg::array_element_oid(column.type_oid),
                             element, scratch);
      } else {
        scratch = simdjson::minify(value);
      }
      pgsink::ProjectionWriter::append_copy_escaped(scratch, out);
      return;
    }
    case T::OBJECT: pgsink::ProjectionWriter::append_copy_escaped(simdjson::minify(value), out); return;
  }
}

}  // namespace modsync::apply
