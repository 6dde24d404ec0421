#include "modsync/pgsource/pgoutput_decoder.hpp"

#include <string_view>

#include "wire_reader.hpp"

namespace modsync::pgsource {
namespace {

// Notation for the layouts below, as in PostgreSQL's "Logical Replication Message Formats":
// IntN is an N-bit big-endian integer, String is NUL-terminated, Byten is n raw bytes.

using Kind = event::ColumnValue::Kind;

// 'X' (0x58) for printable bytes, 0x07 otherwise.
std::string describe_byte(uint8_t byte) {
  if (byte >= 0x20 && byte < 0x7f)
    return fmt::format("'{}' (0x{:02x})", static_cast<char>(byte), byte);
  return fmt::format("0x{:02x}", byte);
}

Lsn read_lsn(WireReader& in, std::string_view field) {
  return Lsn(in.u64({field}));
}

// Begin
//   Byte1('B')
//   Int64   final LSN of the transaction (its commit record)
//   Int64   commit timestamp (microseconds since 2000-01-01)
//   Int32   xid
Begin parse_begin(WireReader& in) {
  Begin begin;
  begin.final_lsn = read_lsn(in, "final LSN");
  begin.commit_time = in.i64({"commit timestamp"});
  begin.xid = in.u32({"xid"});
  return begin;
}

// Commit
//   Byte1('C')
//   Int8    flags (unused, 0)
//   Int64   LSN of the commit record
//   Int64   end LSN of the transaction
//   Int64   commit timestamp
Commit parse_commit(WireReader& in) {
  Commit commit;
  commit.flags = in.u8({"flags"});
  commit.commit_lsn = read_lsn(in, "commit LSN");
  commit.end_lsn = read_lsn(in, "end LSN");
  commit.commit_time = in.i64({"commit timestamp"});
  return commit;
}

// Origin
//   Byte1('O')
//   Int64   commit LSN on the origin server
//   String  origin name
Origin parse_origin(WireReader& in) {
  Origin origin;
  origin.commit_lsn = read_lsn(in, "origin commit LSN");
  origin.name = in.cstring({"origin name"});
  return origin;
}

// Relation
//   Byte1('R')
//   Int32   relation id
//   String  namespace ("" for pg_catalog)
//   String  relation name
//   Int8    replica identity: 'd', 'n', 'f' or 'i'
//   Int16   column count, then per column:
//     Int8    flags (1 = part of the replica identity key)
//     String  column name
//     Int32   type oid
//     Int32   type modifier
Relation parse_relation(WireReader& in) {
  Relation relation;
  relation.id = in.u32({"relation id"});
  relation.nspname = in.cstring({"namespace"});
  relation.relname = in.cstring({"relation name"});
  relation.replica_identity = static_cast<char>(in.u8({"replica identity"}));
  switch (relation.replica_identity) {
    case 'd':
    case 'n':
    case 'f':
    case 'i':
      break;
    default:
      in.fail_invalid({"replica identity"},
                      fmt::format("is {}, not one of 'd', 'n', 'f', 'i'",
                                  describe_byte(static_cast<uint8_t>(relation.replica_identity))));
  }
  int16_t count = in.i16({"column count"});
  if (count < 0) in.fail_invalid({"column count"}, fmt::format("is negative ({})", count));
  relation.columns.resize(static_cast<size_t>(count));
  for (int16_t i = 0; i < count; ++i) {
    event::Column& column = relation.columns[static_cast<size_t>(i)];
    const int64_t n = i + 1;
    column.key = (in.u8({"column", n, "flags"}) & 1) != 0;
    column.name = in.cstring({"column", n, "name"});
    column.type_oid = in.u32({"column", n, "type oid"});
    column.type_modifier = in.i32({"column", n, "type modifier"});
  }
  return relation;
}

// Type
//   Byte1('Y')
//   Int32   type oid
//   String  namespace ("" for pg_catalog)
//   String  type name
Type parse_type(WireReader& in) {
  Type type;
  type.oid = in.u32({"type oid"});
  type.nspname = in.cstring({"namespace"});
  type.name = in.cstring({"type name"});
  return type;
}

// TupleData
//   Int16   column count, then per column one of:
//     Byte1('n')                      null
//     Byte1('u')                      unchanged TOASTed value (not sent)
//     Byte1('t') Int32 len, Byte_len  text output form
//     Byte1('b') Int32 len, Byte_len  binary send form
// `row` is cleared and refilled so its capacity is reused from message to message.
void parse_tuple(WireReader& in, std::string_view tuple, std::vector<event::ColumnValue>& row) {
  row.clear();
  int16_t count = in.i16({tuple, -1, "column count"});
  if (count < 0) {
    in.fail_invalid({tuple, -1, "column count"}, fmt::format("is negative ({})", count));
  }
  for (int16_t i = 0; i < count; ++i) {
    event::ColumnValue value;
    // Columns are numbered from 1 in errors, like PostgreSQL's attnum.
    const int64_t n = i + 1;
    uint8_t kind = in.u8({"column", n, "kind"});
    switch (kind) {
      case 'n':
        value.kind = Kind::kNull;
        break;
      case 'u':
        value.kind = Kind::kUnchanged;
        break;
      case 't':
      case 'b': {
        value.kind = kind == 't' ? Kind::kText : Kind::kBinary;
        int32_t length = in.i32({"column", n, "length"});
        if (length < 0) {
          in.fail_invalid({"column", n, "length"}, fmt::format("is negative ({})", length));
        }
        value.data = in.bytes(static_cast<size_t>(length), {"column", n, "value"});
        break;
      }
      default:
        in.fail_invalid({"column", n, "kind"},
                        fmt::format("is {}, not one of 'n', 'u', 't', 'b'", describe_byte(kind)));
    }
    row.push_back(value);
  }
}

// Insert
//   Byte1('I')
//   Int32   relation id
//   Byte1('N')  then TupleData: the new row
Insert parse_insert(WireReader& in, std::vector<event::ColumnValue>& new_row) {
  Insert insert;
  insert.relation_id = in.u32({"relation id"});
  uint8_t marker = in.u8({"new tuple marker"});
  if (marker != 'N') {
    in.fail_invalid({"new tuple marker"}, fmt::format("is {}, not 'N'", describe_byte(marker)));
  }
  parse_tuple(in, "new tuple", new_row);
  insert.new_row = new_row;
  return insert;
}

// Update
//   Byte1('U')
//   Int32   relation id
//   optional: Byte1('K') TupleData of the old key columns (the key changed), or
//             Byte1('O') TupleData of the whole old row (REPLICA IDENTITY FULL)
//   Byte1('N')  then TupleData: the new row
Update parse_update(WireReader& in, std::vector<event::ColumnValue>& old_row,
                    std::vector<event::ColumnValue>& new_row) {
  Update update;
  update.relation_id = in.u32({"relation id"});
  uint8_t marker = in.u8({"tuple marker"});
  if (marker == 'K' || marker == 'O') {
    update.old_kind = static_cast<char>(marker);
    parse_tuple(in, "old tuple", old_row);
    update.old_row = old_row;
    marker = in.u8({"new tuple marker"});
    if (marker != 'N') {
      in.fail_invalid({"new tuple marker"}, fmt::format("is {}, not 'N'", describe_byte(marker)));
    }
  } else if (marker != 'N') {
    in.fail_invalid({"tuple marker"},
                    fmt::format("is {}, not one of 'K', 'O', 'N'", describe_byte(marker)));
  }
  parse_tuple(in, "new tuple", new_row);
  update.new_row = new_row;
  return update;
}

// Delete
//   Byte1('D')
//   Int32   relation id
//   Byte1('K') or Byte1('O')  then TupleData: the old key columns or the whole old row
Delete parse_delete(WireReader& in, std::vector<event::ColumnValue>& old_row) {
  Delete del;
  del.relation_id = in.u32({"relation id"});
  uint8_t marker = in.u8({"old tuple marker"});
  if (marker != 'K' && marker != 'O') {
    in.fail_invalid({"old tuple marker"},
                    fmt::format("is {}, not one of 'K', 'O'", describe_byte(marker)));
  }
  del.old_kind = static_cast<char>(marker);
  parse_tuple(in, "old tuple", old_row);
  del.old_row = old_row;
  return del;
}

// Truncate
//   Byte1('T')
//   Int32   relation count
//   Int8    options: 1 CASCADE, 2 RESTART IDENTITY
//   Int32   relation id, relation count times
Truncate parse_truncate(WireReader& in, std::vector<uint32_t>& relation_ids) {
  Truncate truncate;
  const size_t count_offset = in.offset();
  uint32_t count = in.u32({"relation count"});
  truncate.options = in.u8({"options"});
  // Checked before reading ids so a corrupt count cannot make us allocate gigabytes.
  if (count > in.remaining() / 4) {
    in.fail_invalid_at(count_offset, {"relation count"},
                       fmt::format("is {} but only {} bytes are left, room for {} ids", count,
                                   in.remaining(), in.remaining() / 4));
  }
  relation_ids.clear();
  for (uint32_t i = 0; i < count; ++i) relation_ids.push_back(in.u32({"relation", i + 1, "id"}));
  truncate.relation_ids = relation_ids;
  return truncate;
}

// Message (protocol version 1 carries no xid)
//   Byte1('M')
//   Int8    flags: 1 = transactional
//   Int64   LSN of the message
//   String  prefix
//   Int32   content length, then Byte_length content
LogicalMessage parse_message(WireReader& in) {
  LogicalMessage message;
  message.transactional = (in.u8({"flags"}) & 1) != 0;
  message.lsn = read_lsn(in, "message LSN");
  message.prefix = in.cstring({"prefix"});
  int32_t length = in.i32({"content length"});
  if (length < 0) in.fail_invalid({"content length"}, fmt::format("is negative ({})", length));
  message.content = in.bytes(static_cast<size_t>(length), {"content"});
  return message;
}

}  // namespace

Message PgOutputDecoder::decode(std::string_view bytes) {
  WireReader in(bytes, "(unknown)");
  uint8_t type = in.u8({"message type"});
  Message message;
  switch (type) {
    case 'B':
      in.set_message("Begin");
      message = parse_begin(in);
      break;
    case 'C':
      in.set_message("Commit");
      message = parse_commit(in);
      break;
    case 'O':
      in.set_message("Origin");
      message = parse_origin(in);
      break;
    case 'R':
      in.set_message("Relation");
      message = parse_relation(in);
      break;
    case 'Y':
      in.set_message("Type");
      message = parse_type(in);
      break;
    case 'I':
      in.set_message("Insert");
      message = parse_insert(in, new_row_);
      break;
    case 'U':
      in.set_message("Update");
      message = parse_update(in, old_row_, new_row_);
      break;
    case 'D':
      in.set_message("Delete");
      message = parse_delete(in, old_row_);
      break;
    case 'T':
      in.set_message("Truncate");
      message = parse_truncate(in, relation_ids_);
      break;
    case 'M':
      in.set_message("Message");
      message = parse_message(in);
      break;
    default:
      // Stream*, Prepare and the other protocol version 2+ messages land here too: modsync
      // asks for proto_version 1, so the server should never send them.
      throw DecodeError(fmt::format(
          "pgoutput message: unknown message type {} at byte 0 (message is {} bytes); "
          "modsync decodes pgoutput protocol version 1 without streaming: check that the slot "
          "uses the pgoutput plugin and that proto_version is 1",
          describe_byte(type), bytes.size()));
  }
  in.expect_end();
  return message;
}

}  // namespace modsync::pgsource
