#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "modsync/pgsource/pgoutput.hpp"

namespace modsync::pgsource {

/// Decodes pgoutput messages: bytes in, typed messages out. Pure: no I/O, no logging.
/// Not thread-safe; one decoder per replication stream.
class PgOutputDecoder {
 public:
  /// Decodes one message (the payload of one XLogData frame). Views in the result
  /// (string_views, row images, relation id spans) point into `bytes` and into this decoder's
  /// reusable buffers: they are valid until the next call to decode() or until `bytes` dies.
  /// Relation messages are returned by value (owned strings) so a cache may keep them.
  /// Throws DecodeError naming the message type, field and byte offset on malformed input.
  Message decode(std::string_view bytes);

 private:
  std::vector<event::ColumnValue> old_row_;
  std::vector<event::ColumnValue> new_row_;
  std::vector<uint32_t> relation_ids_;
};

}  // namespace modsync::pgsource
