#pragma once
// Kafka Connect schemas (JsonConverter's JSON form) of modsync's events, for the
// schema_payload envelope. Private to the module: built once per table schema version by
// EnvelopeEncoder and kept.

#include <string>

#include "modsync/event/envelope.hpp"

namespace modsync::event::detail {

/// The schema of a table's Kafka key: a struct "<topic>.Key" of the key columns.
std::string connect_key_schema(const TableSchema& table, ValueMode mode);

/// The schema of a table's change event value: "<topic>.Envelope" with before/after as
/// "<topic>.Value", the source block and op, ts_ms, unchanged.
std::string connect_envelope_schema(const TableSchema& table, ValueMode mode);

/// The schema of a logical decoding message event.
std::string connect_message_schema();

}  // namespace modsync::event::detail
