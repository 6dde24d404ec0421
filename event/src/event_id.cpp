#include "json_append.hpp"
#include "modsync/event/envelope.hpp"

namespace modsync::event {

// Fixed-width uppercase hex keeps byte-wise string order equal to numeric order.

void append_event_id(const Position& position, std::string& out) {
  detail::append_hex_fixed(position.commit_lsn.value(), 16, out);
  detail::append_hex_fixed(position.index, 8, out);
}

std::string event_id(const Position& position) {
  std::string id;
  id.reserve(24);
  append_event_id(position, id);
  return id;
}

void append_snapshot_event_id(Lsn consistent_point, uint32_t table_ordinal, uint64_t row_ordinal,
                              std::string& out) {
  detail::append_hex_fixed(consistent_point.value(), 16, out);
  out.append("-S");
  detail::append_hex_fixed(table_ordinal, 8, out);
  detail::append_hex_fixed(row_ordinal, 16, out);
}

std::string snapshot_event_id(Lsn consistent_point, uint32_t table_ordinal, uint64_t row_ordinal) {
  std::string id;
  id.reserve(42);
  append_snapshot_event_id(consistent_point, table_ordinal, row_ordinal, id);
  return id;
}

void append_event_id(const SourceInfo& source, std::string& out) {
  if (source.snapshot == SnapshotMarker::kFalse) {
    append_event_id(source.position, out);
  } else {
    append_snapshot_event_id(source.position.commit_lsn, source.snapshot_table, source.snapshot_row,
                             out);
  }
}

}  // namespace modsync::event
