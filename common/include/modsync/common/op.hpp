#pragma once

namespace modsync {

/// Change operations, with Debezium's letters: what an event carries in `op`, and what a
/// projection's `ops:` lists (all but kMessage, which no projection applies).
enum class Op : char {
  kCreate = 'c',
  kUpdate = 'u',
  kDelete = 'd',
  kRead = 'r',  ///< a row from the initial snapshot
  kTruncate = 't',
  kMessage = 'm',  ///< a logical decoding message (pg_logical_emit_message)
};

}  // namespace modsync
