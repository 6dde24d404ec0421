#pragma once
// pgoutput logical replication messages (protocol version 1), decoded by PgOutputDecoder.
// Byte layouts: https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html
// (each message's layout is written above its parser in pgoutput_decoder.cpp).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "modsync/common/error.hpp"
#include "modsync/common/lsn.hpp"
#include "modsync/event/row.hpp"

namespace modsync::pgsource {

/// Microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's epoch), as sent on the wire.
using PgTimestamp = int64_t;

/// PostgreSQL epoch microseconds to Unix epoch milliseconds.
constexpr int64_t pg_time_to_unix_ms(PgTimestamp pg_us) {
  return (pg_us + 946'684'800'000'000LL) / 1000;
}
/// Unix epoch microseconds to PostgreSQL epoch microseconds.
constexpr PgTimestamp unix_us_to_pg_time(int64_t unix_us) {
  return unix_us - 946'684'800'000'000LL;
}

struct Begin {
  Lsn final_lsn;  ///< LSN of the transaction's commit record
  PgTimestamp commit_time = 0;
  uint32_t xid = 0;
};

struct Commit {
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;  ///< end of the commit record: the LSN to confirm once the transaction is safe
  PgTimestamp commit_time = 0;
};

struct Origin {
  Lsn commit_lsn;
  std::string_view name;
};

struct Relation {
  uint32_t id = 0;
  std::string nspname;
  std::string relname;
  char replica_identity = 'd';  ///< d default (primary key), n nothing, f full, i index
  std::vector<event::Column> columns;
};

struct Type {
  uint32_t oid = 0;
  std::string_view nspname;
  std::string_view name;
};

struct Insert {
  uint32_t relation_id = 0;
  event::RowImage new_row;
};

struct Update {
  uint32_t relation_id = 0;
  /// 'K' old key columns only, 'O' the whole old row (REPLICA IDENTITY FULL), 0 none sent.
  char old_kind = 0;
  event::RowImage old_row;
  event::RowImage new_row;
};

struct Delete {
  uint32_t relation_id = 0;
  char old_kind = 0;  ///< 'K' or 'O', as for Update
  event::RowImage old_row;
};

struct Truncate {
  static constexpr uint8_t kCascade = 1;
  static constexpr uint8_t kRestartIdentity = 2;
  uint8_t options = 0;
  std::span<const uint32_t> relation_ids;
};

/// pg_logical_emit_message(); non-transactional ones arrive outside Begin/Commit.
struct LogicalMessage {
  bool transactional = false;
  Lsn lsn;
  std::string_view prefix;
  std::string_view content;
};

using Message =
    std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate, LogicalMessage>;

/// Thrown on malformed input. Always fatal: the stream cannot be trusted past it.
/// The message names the message type, the field, the offset and what was expected.
class DecodeError : public Error {
 public:
  explicit DecodeError(std::string message) : Error(ErrorKind::kFatal, std::move(message)) {}
};

}  // namespace modsync::pgsource
