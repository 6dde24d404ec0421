#pragma once
// The change event envelope: Debezium-compatible JSON (docs/events.md).

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "modsync/common/json_string.hpp"
#include "modsync/common/lsn.hpp"
#include "modsync/event/row.hpp"
#include "modsync/event/table_schema.hpp"

namespace modsync::event {

enum class SnapshotMarker { kFalse, kTrue, kLast };

/// Where an event comes from, for the envelope's "source" block.
struct SourceInfo {
  Position position;           ///< commit LSN and index within the transaction
  uint32_t xid = 0;            ///< source transaction id (0 for snapshot rows; written as null)
  int64_t commit_time_ms = 0;  ///< commit time, Unix epoch milliseconds
  SnapshotMarker snapshot = SnapshotMarker::kFalse;
  /// Snapshot rows only (snapshot != kFalse): the table's ordinal within the snapshot and the
  /// row's ordinal within the table. With position.commit_lsn (the consistent point) they
  /// make the row's event id (snapshot_event_id).
  uint32_t snapshot_table = 0;
  uint64_t snapshot_row = 0;
};

/// How events sit in a Kafka record (docs/events.md, "Envelope forms").
enum class EnvelopeForm {
  kPlain,          ///< the key and value JSON as they are
  kSchemaPayload,  ///< {"schema": <Kafka Connect schema>, "payload": <the plain JSON>}
};

/// How column values are written (docs/events.md, "Value modes").
enum class ValueMode {
  kModsync,   ///< modsync's forms: ISO-8601 strings, numeric as a string of its text
  kDebezium,  ///< Debezium's defaults: adaptive time precision, precise decimals
};

struct EncoderOptions {
  EnvelopeForm envelope = EnvelopeForm::kPlain;
  ValueMode values = ValueMode::kModsync;
};

/// Encodes keys and envelopes into caller-owned buffers (cleared first, capacity reused, so the
/// hot path does not allocate per row). Keeps the Connect schemas of the schema_payload
/// envelope per table topic, rebuilt when the table's schema version changes; not
/// thread-safe: one instance per producing thread.
class EnvelopeEncoder {
 public:
  EnvelopeEncoder() = default;
  explicit EnvelopeEncoder(EncoderOptions options) : options_(options) {}

  const EncoderOptions& options() const { return options_; }

  /// Writes the Kafka key: a JSON object of the key columns, e.g. {"id":42}. Returns false
  /// (and leaves `out` empty) when the table has no key columns: such events get a null key.
  /// `row` may be a key-only image (Delete with old_kind 'K'): non-key columns are ignored.
  /// For an Update that carries an old key image, pass that: a TOASTed key column left
  /// unchanged is absent from the new image. Throws Error (kFatal) when a key column is
  /// unchanged-TOAST in `row` or `row` does not have the table's column count.
  bool encode_key(const TableSchema& table, RowImage row, std::string& out) const;

  /// Writes the value of a row change. `before`/`after` may be empty (absent → null).
  /// Unchanged TOASTed columns of `after` are left out of it and listed in "unchanged".
  /// Throws Error (kFatal) when an image does not have the table's column count: the
  /// relation cache is out of step with the stream.
  void encode_change(const TableSchema& table, Op op, RowImage before, RowImage after,
                     const SourceInfo& source, int64_t now_ms, std::string& out) const;

  /// Writes the value of a truncate event of one table (op "t", before/after null).
  void encode_truncate(const TableSchema& table, const SourceInfo& source, int64_t now_ms,
                       std::string& out) const;

  /// Writes the value of a logical decoding message (op "m"): content as a JSON string when
  /// it is valid UTF-8, else base64 with "content_encoding":"base64" beside it.
  void encode_message(std::string_view module, std::string_view database, std::string_view prefix,
                      std::string_view content, bool transactional, const SourceInfo& source,
                      int64_t now_ms, std::string& out) const;

 private:
  struct ConnectSchemas {
    uint32_t version = 0;
    std::size_t columns = 0;
    std::string key, value;
  };
  const ConnectSchemas& connect_schemas(const TableSchema& table) const;

  EncoderOptions options_;
  mutable std::unordered_map<std::string, ConnectSchemas> schemas_;  ///< by topic
  mutable std::string message_schema_;
  mutable std::string key_scratch_;  ///< canonical_key_text's buffer
};

/// The deterministic, k-sortable event id of the event at `position`: 24 hex digits, the
/// commit LSN then the index within the transaction, so ids sort in commit order and a replay
/// carries the same id. Snapshot rows use their own id space (see snapshot_event_id).
std::string event_id(const Position& position);

/// Appends event_id(position) to `out`, without a temporary.
void append_event_id(const Position& position, std::string& out);

/// The deterministic, sortable event id of a snapshot row: the consistent point as 16 hex
/// digits, "-S", the table ordinal as 8 and the row ordinal as 16 hex digits (42 characters).
/// '-' sorts below every hex digit, so snapshot rows sort after every change committed
/// before the consistent point and before every change committed at or after it.
std::string snapshot_event_id(Lsn consistent_point, uint32_t table_ordinal, uint64_t row_ordinal);

/// Appends snapshot_event_id(...) to `out`, without a temporary.
void append_snapshot_event_id(Lsn consistent_point, uint32_t table_ordinal, uint64_t row_ordinal,
                              std::string& out);

/// Appends the event id of the event `source` describes: snapshot_event_id for snapshot rows
/// (source.snapshot != kFalse), event_id(source.position) otherwise.
void append_event_id(const SourceInfo& source, std::string& out);

/// A key value's text in the one form every equal value shares, for the key types whose
/// equality is looser than their text: an unconstrained numeric without trailing fractional
/// zeros (5.0 and 5.00 give 5), a float's -0 as 0, a citext in lower case. Other values come
/// back as they are. The Kafka key, and so the partition, of equal keys is then the same: a
/// change that rewrites only the text of a row's key stays on the partition of the row's
/// history, in order (docs/events.md, "The key"). `scratch` holds the result where it must.
std::string_view canonical_key_text(const Column& column, std::string_view text,
                                    std::string& scratch);

/// Appends one value, given in PostgreSQL's text output form, as the JSON documented for its
/// type (docs/events.md, "Type mapping"). Never loses information: what JSON cannot carry
/// exactly (numeric, money, special floats, infinity timestamps) becomes a string; int8 is a
/// JSON number, exact in the text (readers limited to doubles should read it as a string).
/// Text not in the shape its type promises is written as a JSON string of that text.
/// json and jsonb are JSON strings holding their text (Debezium's io.debezium.data.Json).
void append_json_value(uint32_t type_oid, std::string_view text, std::string& out);

/// Appends `text` as a JSON string literal, escaped (the one escaper, in modsync_common).
using ::modsync::append_json_string;

/// The way back, for the values whose JSON form PostgreSQL does not read as it is
/// (docs/events.md, "Reading values back"). Each appends PostgreSQL input text to `out` and
/// returns true, or returns false with `out` untouched when `value` needs no conversion or is
/// not in the form modsync writes (the caller then hands `value` over unchanged).

/// A date or timestamp string with an astronomical year before 1 AD ("0000-01-01",
/// "-4712-01-01T00:00:00Z") in PostgreSQL's era form ("0001-01-01 BC",
/// "4713-01-01 00:00:00Z BC"). False for years from 1 AD on, which PostgreSQL reads as ISO.
bool append_pg_datetime_input(std::string_view value, std::string& out);

/// A base64 bytea (standard alphabet, padded) in bytea's hex input form, \x0a1b…; false when
/// `value` is not base64. For array elements: a scalar is decoded by decode(…, 'base64').
bool append_bytea_hex_input(std::string_view value, std::string& out);

}  // namespace modsync::event
