#pragma once
// The row model shared by the source decoder, the event encoder and the sink.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/common/op.hpp"

namespace modsync::event {

/// One column of a row image, as pgoutput sends it. `data` is a view into a buffer owned by
/// whoever produced the row (the decoder's input); it is valid until that buffer is reused.
struct ColumnValue {
  enum class Kind : char {
    kNull = 'n',
    kUnchanged = 'u',  ///< an unchanged TOASTed value: PostgreSQL did not send it
    kText = 't',       ///< PostgreSQL's text output form
    kBinary = 'b',     ///< binary send form (only with the binary option; modsync asks for text)
  };
  Kind kind = Kind::kNull;
  std::string_view data;
};

using RowImage = std::span<const ColumnValue>;

/// A column of a table as the source describes it (pgoutput Relation message).
struct Column {
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
  bool key = false;  ///< part of the replica identity (the primary key by default)
  /// format_type() on the source ("integer", "numeric(10,2)", "public.mood"): what a
  /// subscriber creates the column with, since a user type's OID means nothing there.
  /// "" when not looked up.
  std::string type_name;

  friend bool operator==(const Column&, const Column&) = default;
};

using modsync::Op;

}  // namespace modsync::event
