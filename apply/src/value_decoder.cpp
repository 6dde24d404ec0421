#include "value_decoder.hpp"

#include <charconv>
#include <iterator>

#include <fmt/format.h>

#include "modsync/event/envelope.hpp"
#include "modsync/event/pg_types.hpp"
#include "modsync/pgsink/stage_lines.hpp"

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
    // std::to_chars: fmt's format-string machinery cost more than the digits.
    case T::INT64: {
      char buf[24];
      out.append(buf, std::to_chars(buf, buf + sizeof buf, e.get_int64().value()).ptr);
      return;
    }
    case T::UINT64: {
      char buf[24];
      out.append(buf, std::to_chars(buf, buf + sizeof buf, e.get_uint64().value()).ptr);
      return;
    }
    // Shortest text that reads back to the same double: the digits PostgreSQL printed.
    default:
      fmt::format_to(std::back_inserter(out), "{}", e.get_double().value());
      return;
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
      case T::NULL_VALUE:
        out += "NULL";
        break;
      case T::ARRAY:
        append_array_literal(e.get_array().value(), element_oid, element, out);
        break;
      // Always quoted: an unquoted string may be the word NULL, or hold the delimiter.
      case T::STRING:
        append_quoted(input_text(e.get_string().value(), element_oid, element), out);
        break;
      case T::OBJECT:
        append_quoted(simdjson::minify(e), out);
        break;
      case T::BOOL:
        out += e.get_bool().value() ? "true" : "false";
        break;
      case T::INT64:
      case T::UINT64:
      case T::DOUBLE:
        append_number(e, out);
        break;
    }
  }
  out += '}';
}

}  // namespace

bool append_copy_value(simdjson::dom::element value, const pgsink::TargetColumn& column,
                       std::string& scratch, std::string& out, std::string& error) {
  if (column.type_oid == pg::kByteaOid && value.type() != T::STRING &&
      value.type() != T::NULL_VALUE) {
    error = "a bytea value that is not a string (events carry bytea as padded base64)";
    return false;
  }
  switch (value.type()) {
    case T::NULL_VALUE:
      out += "\\N";
      return true;
    case T::STRING: {
      const std::string_view text = value.get_string().value();
      scratch.clear();
      if (column.type_oid == pg::kByteaOid) {
        // bytea travels as base64; the stage and the bulk path's COPY read its hex input form.
        if (!event::append_bytea_hex_input(text, scratch)) {
          error = "a bytea value that is not base64 (events carry bytea as padded base64)";
          return false;
        }
        pgsink::append_copy_escaped(scratch, out);
      } else if (is_datetime(column.type_oid) && event::append_pg_datetime_input(text, scratch)) {
        pgsink::append_copy_escaped(scratch, out);
      } else {
        pgsink::append_copy_escaped(text, out);
      }
      return true;
    }
    case T::BOOL:
      out += value.get_bool().value() ? "true" : "false";
      return true;
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE:
      append_number(value, out);
      return true;
    case T::ARRAY: {
      scratch.clear();
      if (column.category == 'A') {
        thread_local std::string element;
        append_array_literal(value.get_array().value(), pg::array_element_oid(column.type_oid),
                             element, scratch);
      } else {
        scratch = simdjson::minify(value);
      }
      pgsink::append_copy_escaped(scratch, out);
      return true;
    }
    case T::OBJECT:
      pgsink::append_copy_escaped(simdjson::minify(value), out);
      return true;
  }
  return true;
}

namespace {

namespace dbz = event::debezium;

/// The first number in parentheses of a format_type() text: "timestamp(3) without time zone"
/// → 3, "numeric(12,2)" → 12 (and `second` = 2).
bool type_parameters(std::string_view type, int32_t& first, std::optional<int32_t>& second) {
  const auto open = type.find('(');
  if (open == std::string_view::npos) return false;
  const auto close = type.find(')', open);
  if (close == std::string_view::npos) return false;
  const std::string_view inside = type.substr(open + 1, close - open - 1);
  const auto comma = inside.find(',');
  const std::string_view a = inside.substr(0, comma);
  if (std::from_chars(a.data(), a.data() + a.size(), first).ec != std::errc()) return false;
  if (comma != std::string_view::npos) {
    int32_t b = 0;
    const std::string_view rest = inside.substr(comma + 1);
    if (std::from_chars(rest.data(), rest.data() + rest.size(), b).ec != std::errc()) return false;
    second = b;
  }
  return true;
}

}  // namespace

DebeziumField debezium_field_of(const pgsink::TargetColumn& column) {
  DebeziumField f;
  int32_t precision = -1;
  std::optional<int32_t> scale;
  const bool has_parameters = type_parameters(column.type, precision, scale);
  switch (column.type_oid) {
    case pg::kDateOid:
      f.form = dbz::Form::kDate;
      break;
    case pg::kTimeOid:
      f.form = has_parameters && precision <= 3 ? dbz::Form::kTimeMillis : dbz::Form::kTimeMicros;
      break;
    case pg::kTimestampOid:
      f.form = has_parameters && precision <= 3 ? dbz::Form::kTimestampMillis
                                                : dbz::Form::kTimestampMicros;
      break;
    case pg::kNumericOid:
      // A VariableScaleDecimal is an object and carries its scale; a Decimal takes the
      // column's. Which one an event holds is told by its JSON type.
      f.form = dbz::Form::kDecimal;
      if (has_parameters) f.scale = scale.value_or(0);
      break;
    default:
      break;
  }
  return f;
}

void ConnectRowSchema::load(simdjson::dom::element envelope_schema) {
  fields_.clear();
  simdjson::dom::array fields;
  if (envelope_schema["fields"].get(fields) != simdjson::SUCCESS) return;
  // before and after share one struct schema; either will do.
  simdjson::dom::array row;
  bool found = false;
  for (simdjson::dom::element f : fields) {
    std::string_view name;
    if (f["field"].get(name) != simdjson::SUCCESS || (name != "after" && name != "before"))
      continue;
    if (f["fields"].get(row) == simdjson::SUCCESS) {
      found = true;
      break;
    }
  }
  if (!found) return;
  for (simdjson::dom::element f : row) {
    std::string_view field, semantic;
    if (f["field"].get(field) != simdjson::SUCCESS) continue;
    DebeziumField d;
    if (f["name"].get(semantic) == simdjson::SUCCESS) d.form = dbz::form_of_schema_name(semantic);
    std::string_view scale;
    int32_t s = 0;
    if (d.form == dbz::Form::kDecimal && f["parameters"]["scale"].get(scale) == simdjson::SUCCESS &&
        std::from_chars(scale.data(), scale.data() + scale.size(), s).ec == std::errc())
      d.scale = s;
    fields_.emplace_back(field, d);
  }
}

const DebeziumField* ConnectRowSchema::find(std::string_view name) const {
  for (const auto& [n, f] : fields_)
    if (n == name) return &f;
  return nullptr;
}

bool append_debezium_pg_text(simdjson::dom::element value, const DebeziumField& field,
                             std::string& out, std::string& error) {
  const auto bad = [&](std::string_view what) {
    error = fmt::format("a Debezium {} value ({}) cannot be read back: {}",
                        value.is_object() ? "VariableScaleDecimal" : "decimal or temporal",
                        simdjson::minify(value), what);
    return false;
  };
  error.clear();
  int64_t n = 0;
  const bool integer = value.get(n) == simdjson::SUCCESS;
  const std::size_t rollback = out.size();
  bool ok = true;
  switch (field.form) {
    case dbz::Form::kAsModsync:
      return false;
    case dbz::Form::kDate:
      if (!integer) return false;
      ok = dbz::append_date_input(n, out);
      break;
    case dbz::Form::kTimeMillis:
    case dbz::Form::kTimeMicros:
      if (!integer) return false;
      ok = dbz::append_time_input(n, field.form == dbz::Form::kTimeMillis ? 1000 : 1000000, out);
      break;
    case dbz::Form::kTimestampMillis:
    case dbz::Form::kTimestampMicros:
      if (!integer) return false;
      ok = dbz::append_timestamp_input(
          n, field.form == dbz::Form::kTimestampMillis ? 1000 : 1000000, out);
      break;
    case dbz::Form::kDecimal:
    case dbz::Form::kVariableScaleDecimal: {
      std::string_view base64;
      int64_t scale = 0;
      if (value.is_object()) {
        if (value["scale"].get(scale) != simdjson::SUCCESS ||
            value["value"].get(base64) != simdjson::SUCCESS)
          return bad("it needs an integer \"scale\" and a base64 \"value\"");
      } else if (field.form == dbz::Form::kVariableScaleDecimal) {
        return false;
      } else if (value.get(base64) != simdjson::SUCCESS) {
        return false;
      } else if (base64 == "NaN" || base64 == "Infinity" || base64 == "-Infinity") {
        // No Decimal form: strings of their text ("Infinity" is also valid base64).
        return false;
      } else if (!field.scale) {
        return bad(
            "its scale is in the event's Connect schema, which it does not carry; use "
            "kafka.envelope: schema_payload, or a numeric(p,s) target column");
      } else {
        scale = *field.scale;
      }
      ok = dbz::append_decimal_input(base64, static_cast<int32_t>(scale), out);
      if (!ok) return bad("not base64 of a two's-complement integer");
      return true;
    }
  }
  if (!ok) {
    out.resize(rollback);
    return bad("out of the PostgreSQL type's range");
  }
  return true;
}

bool append_debezium_modsync_text(simdjson::dom::element value, const DebeziumField& field,
                                  std::string& out, std::string& error) {
  thread_local std::string pg_text;
  pg_text.clear();
  if (!append_debezium_pg_text(value, field, pg_text, error)) return false;
  uint32_t type_oid = pg::kNumericOid;
  switch (field.form) {
    case dbz::Form::kDate:
      type_oid = pg::kDateOid;
      break;
    case dbz::Form::kTimeMillis:
    case dbz::Form::kTimeMicros:
      type_oid = pg::kTimeOid;
      break;
    case dbz::Form::kTimestampMillis:
    case dbz::Form::kTimestampMicros:
      type_oid = pg::kTimestampOid;
      break;
    case dbz::Form::kAsModsync:
    case dbz::Form::kDecimal:
    case dbz::Form::kVariableScaleDecimal:
      out += pg_text;
      return true;
  }
  // A JSON string with nothing to escape (digits, '-', ':', '.', 'T'): its content.
  const std::size_t at = out.size();
  event::append_json_value(type_oid, pg_text, out);
  if (out.size() >= at + 2 && out[at] == '"') {
    out.erase(at, 1);
    out.pop_back();
  }
  return true;
}

bool append_debezium_copy_value(simdjson::dom::element value, const pgsink::TargetColumn& column,
                                const DebeziumField& field, std::string& scratch, std::string& out,
                                std::string& error) {
  scratch.clear();
  if (append_debezium_pg_text(value, field, scratch, error)) {
    pgsink::append_copy_escaped(scratch, out);
    return true;
  }
  if (!error.empty()) return false;
  return append_copy_value(value, column, scratch, out, error);
}

}  // namespace modsync::apply
