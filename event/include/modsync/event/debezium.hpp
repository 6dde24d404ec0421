#pragma once
// Debezium's value forms (time.precision.mode=adaptive, decimal.handling.mode=precise) and the
// Kafka Connect schema names that describe them (docs/events.md, "Value modes" and "Envelope
// forms"). Both directions live here, so the capture's encoder and the apply side's decoder
// cannot drift: append_debezium_value writes a value, the append_*_input functions read it back
// into PostgreSQL input text.

#include <cstdint>
#include <string>
#include <string_view>

#include "modsync/event/row.hpp"

namespace modsync::event::debezium {

// Semantic names of Kafka Connect schemas (the schema's "name").
inline constexpr std::string_view kDate = "io.debezium.time.Date";            ///< int32 days
inline constexpr std::string_view kTime = "io.debezium.time.Time";            ///< int32 ms
inline constexpr std::string_view kMicroTime = "io.debezium.time.MicroTime";  ///< int64 µs
inline constexpr std::string_view kTimestamp = "io.debezium.time.Timestamp";  ///< int64 ms
inline constexpr std::string_view kMicroTimestamp = "io.debezium.time.MicroTimestamp";  ///< µs
inline constexpr std::string_view kZonedTimestamp = "io.debezium.time.ZonedTimestamp";
inline constexpr std::string_view kZonedTime = "io.debezium.time.ZonedTime";
inline constexpr std::string_view kJson = "io.debezium.data.Json";
inline constexpr std::string_view kUuid = "io.debezium.data.Uuid";
inline constexpr std::string_view kDecimal = "org.apache.kafka.connect.data.Decimal";
inline constexpr std::string_view kVariableScaleDecimal = "io.debezium.data.VariableScaleDecimal";
inline constexpr std::string_view kSourceSchema = "io.debezium.connector.postgresql.Source";
/// The source block's field naming the value mode; present (as "debezium") only in that mode.
inline constexpr std::string_view kValueModeField = "value_mode";

/// The Debezium form of a temporal or numeric column, chosen from its type and modifier.
enum class Form {
  kAsModsync,             ///< no Debezium-specific form: the modsync JSON value
  kDate,                  ///< int32 epoch days
  kTimeMillis,            ///< time(0..3): int32 milliseconds past midnight
  kTimeMicros,            ///< time, time(4..6): int64 microseconds past midnight
  kTimestampMillis,       ///< timestamp(0..3): int64 epoch milliseconds
  kTimestampMicros,       ///< timestamp, timestamp(4..6): int64 epoch microseconds
  kDecimal,               ///< numeric(p,s): base64 unscaled two's complement, scale in schema
  kVariableScaleDecimal,  ///< numeric: {"scale": s, "value": base64 unscaled}
};

/// The form `column` takes in Debezium value mode.
Form form_of(const Column& column);

/// numeric(p,s)'s precision and scale from its type modifier; false when unconstrained.
bool numeric_precision_scale(int32_t type_modifier, int32_t& precision, int32_t& scale);

/// Appends one value given in PostgreSQL's text output form in Debezium value mode: the form
/// form_of(column) names, or append_json_value's when there is none or the text has no such
/// form (infinity, NaN): those stay strings of their text so nothing is lost.
void append_debezium_value(const Column& column, std::string_view text, std::string& out);

/// The Form a Connect schema `name` describes (kAsModsync for other names).
Form form_of_schema_name(std::string_view name);

// The way back: each appends PostgreSQL input text and returns true, or returns false with
// `out` untouched when the value is out of the type's range or malformed.

/// Epoch days → "YYYY-MM-DD" or "YYYY-MM-DD BC".
bool append_date_input(int64_t epoch_days, std::string& out);
/// Epoch time in `units_per_second` (1000 or 1000000) → "YYYY-MM-DD HH:MM:SS[.ffffff][ BC]".
bool append_timestamp_input(int64_t epoch, int64_t units_per_second, std::string& out);
/// Time past midnight in `units_per_second` → "HH:MM:SS[.ffffff]" (86400 s is 24:00:00).
bool append_time_input(int64_t value, int64_t units_per_second, std::string& out);
/// Base64 of an unscaled big-endian two's-complement integer and its scale → numeric text.
bool append_decimal_input(std::string_view base64, int32_t scale, std::string& out);

}  // namespace modsync::event::debezium
