#include "modsync/pgsource/pgoutput_decoder.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <unordered_map>
#include <variant>

#include "fixture.hpp"

namespace modsync::pgsource {
namespace {

using Kind = event::ColumnValue::Kind;

// Indexes into pgoutput_v1.hex, in the order capture.sh's workload produced them.
constexpr size_t kBeginFirst = 0;
constexpr size_t kTypeMood = 1;
constexpr size_t kRelationKinds = 2;
constexpr size_t kInsertKindsFull = 3;
constexpr size_t kCommitFirst = 4;
constexpr size_t kInsertKindsNulls = 6;
constexpr size_t kUpdateKindsNoOld = 9;
constexpr size_t kUpdateKindsKeyChange = 12;
constexpr size_t kDeleteKindsKey = 15;
constexpr size_t kRelationFullRow = 18;
constexpr size_t kUpdateFullRow = 22;
constexpr size_t kDeleteFullRow = 25;
constexpr size_t kRelationComposite = 28;
constexpr size_t kInsertComposite3 = 31;
constexpr size_t kMessageTransactional = 32;
constexpr size_t kCommitMultiRow = 34;
constexpr size_t kMessageNonTransactional = 35;
constexpr size_t kInsertBig = 38;
constexpr size_t kUpdateBigToast = 41;
constexpr size_t kRelationFullRowAgain = 45;
constexpr size_t kTruncate = 46;
constexpr size_t kOrigin = 49;
constexpr size_t kMessageCount = 53;

const std::vector<std::string>& fixture() {
  static const std::vector<std::string> messages = test::load_fixture("pgoutput_v1.hex");
  return messages;
}

template <typename T>
T decode_as(PgOutputDecoder& decoder, size_t index) {
  REQUIRE(index < fixture().size());
  Message message = decoder.decode(fixture()[index]);
  REQUIRE(std::holds_alternative<T>(message));
  return std::get<T>(std::move(message));
}

std::string text(const event::ColumnValue& value) {
  REQUIRE(value.kind == Kind::kText);
  return std::string(value.data);
}

TEST_CASE("fixture has the messages of capture.sh's workload", "[pgoutput]") {
  REQUIRE(fixture().size() == kMessageCount);
}

TEST_CASE("Begin and Commit carry matching LSNs, xid and time", "[pgoutput]") {
  PgOutputDecoder decoder;
  Begin begin = decode_as<Begin>(decoder, kBeginFirst);
  Commit commit = decode_as<Commit>(decoder, kCommitFirst);
  CHECK(begin.final_lsn == commit.commit_lsn);
  CHECK(commit.end_lsn > commit.commit_lsn);
  CHECK(begin.commit_time == commit.commit_time);
  CHECK(commit.flags == 0);
  CHECK(begin.xid != 0);
  // Captured in the 2020s: PostgreSQL's epoch is 2000-01-01, so 20+ years of microseconds.
  CHECK(begin.commit_time > int64_t{20} * 365 * 24 * 3600 * 1000000);
  CHECK(begin.final_lsn.to_string() == "0/153F970");
  CHECK(begin.xid == 733);
}

TEST_CASE("Type message describes the user-defined enum", "[pgoutput]") {
  PgOutputDecoder decoder;
  Type type = decode_as<Type>(decoder, kTypeMood);
  CHECK(type.nspname == "public");
  CHECK(type.name == "mood");
  CHECK(type.oid >= 16384);  // FirstNormalObjectId: a user type

  Relation kinds = decode_as<Relation>(decoder, kRelationKinds);
  CHECK(kinds.columns.back().name == "feeling");
  CHECK(kinds.columns.back().type_oid == type.oid);
}

TEST_CASE("Relation message gives names, types, modifiers and key flags", "[pgoutput]") {
  PgOutputDecoder decoder;
  Relation kinds = decode_as<Relation>(decoder, kRelationKinds);
  CHECK(kinds.nspname == "public");
  CHECK(kinds.relname == "kinds");
  CHECK(kinds.replica_identity == 'd');
  struct Expected {
    const char* name;
    uint32_t oid;
    int32_t modifier;
    bool key;
  };
  const Expected expected[] = {
      {"id", 23, -1, true},          {"small", 21, -1, false},
      {"big", 20, -1, false},        {"price", 1700, (10 << 16 | 2) + 4, false},
      {"name", 1043, 20 + 4, false}, {"note", 25, -1, false},
      {"flag", 16, -1, false},       {"ratio", 701, -1, false},
      {"at", 1184, -1, false},       {"day", 1082, -1, false},
      {"uid", 2950, -1, false},      {"doc", 3802, -1, false},
      {"raw", 17, -1, false},        {"tags", 1007, -1, false},
  };
  REQUIRE(kinds.columns.size() == std::size(expected) + 1);
  for (size_t i = 0; i < std::size(expected); ++i) {
    INFO("column " << i);
    CHECK(kinds.columns[i].name == expected[i].name);
    CHECK(kinds.columns[i].type_oid == expected[i].oid);
    CHECK(kinds.columns[i].type_modifier == expected[i].modifier);
    CHECK(kinds.columns[i].key == expected[i].key);
  }

  Relation composite = decode_as<Relation>(decoder, kRelationComposite);
  CHECK(composite.relname == "composite");
  REQUIRE(composite.columns.size() == 3);
  CHECK(composite.columns[0].key);
  CHECK(composite.columns[1].key);
  CHECK_FALSE(composite.columns[2].key);

  // REPLICA IDENTITY FULL: every column is part of the identity.
  Relation full = decode_as<Relation>(decoder, kRelationFullRow);
  CHECK(full.relname == "full_row");
  CHECK(full.replica_identity == 'f');
  REQUIRE(full.columns.size() == 2);
  CHECK(full.columns[0].key);
  CHECK(full.columns[1].key);
  CHECK(full.columns[1].type_oid == 25);
}

TEST_CASE("Insert carries every value in text form, and nulls", "[pgoutput]") {
  PgOutputDecoder decoder;
  Relation kinds = decode_as<Relation>(decoder, kRelationKinds);
  Insert insert = decode_as<Insert>(decoder, kInsertKindsFull);
  CHECK(insert.relation_id == kinds.id);
  REQUIRE(insert.new_row.size() == 15);
  const auto& row = insert.new_row;
  CHECK(text(row[0]) == "1");
  CHECK(text(row[1]) == "-7");
  CHECK(text(row[2]) == "9007199254740993");
  CHECK(text(row[3]) == "12345.67");
  CHECK(text(row[4]) == "h\xc3\xa9llo");
  CHECK(text(row[5]) == "line\nbreak");
  CHECK(text(row[6]) == "t");
  CHECK(text(row[7]) == "1.5e-07");
  CHECK(text(row[8]).starts_with("2024-02-29 12:34:56.789"));
  CHECK(text(row[9]) == "2024-02-29");
  CHECK(text(row[10]) == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  CHECK(text(row[11]) == R"({"k": [1, 2]})");
  CHECK(text(row[12]) == "\\x00ff10");
  CHECK(text(row[13]) == "{1,2,3}");
  CHECK(text(row[14]) == "happy");

  Insert nulls = decode_as<Insert>(decoder, kInsertKindsNulls);
  REQUIRE(nulls.new_row.size() == 15);
  CHECK(text(nulls.new_row[0]) == "2");
  for (size_t i = 1; i < nulls.new_row.size(); ++i) {
    INFO("column " << i);
    CHECK(nulls.new_row[i].kind == Kind::kNull);
    CHECK(nulls.new_row[i].data.empty());
  }
}

TEST_CASE("Update without a key change sends no old tuple", "[pgoutput]") {
  PgOutputDecoder decoder;
  Update update = decode_as<Update>(decoder, kUpdateKindsNoOld);
  CHECK(update.old_kind == 0);
  CHECK(update.old_row.empty());
  REQUIRE(update.new_row.size() == 15);
  CHECK(text(update.new_row[0]) == "1");
  CHECK(text(update.new_row[5]) == "changed");
}

TEST_CASE("Update changing the key sends the old key ('K')", "[pgoutput]") {
  PgOutputDecoder decoder;
  Update update = decode_as<Update>(decoder, kUpdateKindsKeyChange);
  CHECK(update.old_kind == 'K');
  REQUIRE(update.old_row.size() == 15);
  CHECK(text(update.old_row[0]) == "2");
  // Non-key columns of a key image are sent as nulls.
  CHECK(update.old_row[1].kind == Kind::kNull);
  REQUIRE(update.new_row.size() == 15);
  CHECK(text(update.new_row[0]) == "3");
}

TEST_CASE("Delete under the default identity sends the old key ('K')", "[pgoutput]") {
  PgOutputDecoder decoder;
  Delete del = decode_as<Delete>(decoder, kDeleteKindsKey);
  CHECK(del.old_kind == 'K');
  REQUIRE(del.old_row.size() == 15);
  CHECK(text(del.old_row[0]) == "3");
}

TEST_CASE("REPLICA IDENTITY FULL sends the whole old row ('O')", "[pgoutput]") {
  PgOutputDecoder decoder;
  Update update = decode_as<Update>(decoder, kUpdateFullRow);
  CHECK(update.old_kind == 'O');
  REQUIRE(update.old_row.size() == 2);
  CHECK(text(update.old_row[0]) == "10");
  CHECK(text(update.old_row[1]) == "ten");
  REQUIRE(update.new_row.size() == 2);
  CHECK(text(update.new_row[1]) == "TEN");

  Delete del = decode_as<Delete>(decoder, kDeleteFullRow);
  CHECK(del.old_kind == 'O');
  REQUIRE(del.old_row.size() == 2);
  CHECK(text(del.old_row[0]) == "10");
  CHECK(text(del.old_row[1]) == "TEN");
}

TEST_CASE("An unchanged TOASTed value arrives as kind 'u' without data", "[pgoutput]") {
  PgOutputDecoder decoder;
  Insert insert = decode_as<Insert>(decoder, kInsertBig);
  REQUIRE(insert.new_row.size() == 3);
  CHECK(text(insert.new_row[2]).size() == 200 * 32);

  Update update = decode_as<Update>(decoder, kUpdateBigToast);
  CHECK(update.old_kind == 0);
  REQUIRE(update.new_row.size() == 3);
  CHECK(text(update.new_row[0]) == "1");
  CHECK(text(update.new_row[1]) == "1");
  CHECK(update.new_row[2].kind == Kind::kUnchanged);
  CHECK(update.new_row[2].data.empty());
}

TEST_CASE("Truncate lists its relations and options", "[pgoutput]") {
  PgOutputDecoder decoder;
  Relation composite = decode_as<Relation>(decoder, kRelationComposite);
  Relation full = decode_as<Relation>(decoder, kRelationFullRowAgain);
  Truncate truncate = decode_as<Truncate>(decoder, kTruncate);
  CHECK(truncate.options == (Truncate::kCascade | Truncate::kRestartIdentity));
  REQUIRE(truncate.relation_ids.size() == 2);
  CHECK(truncate.relation_ids[0] == composite.id);
  CHECK(truncate.relation_ids[1] == full.id);
}

TEST_CASE("Logical messages: transactional and not, text and binary content", "[pgoutput]") {
  PgOutputDecoder decoder;
  LogicalMessage in_tx = decode_as<LogicalMessage>(decoder, kMessageTransactional);
  CHECK(in_tx.transactional);
  CHECK(in_tx.prefix == "modsync");
  CHECK(in_tx.content == "in-tx");
  Commit commit = decode_as<Commit>(decoder, kCommitMultiRow);
  CHECK(in_tx.lsn < commit.commit_lsn);

  LogicalMessage outside = decode_as<LogicalMessage>(decoder, kMessageNonTransactional);
  CHECK_FALSE(outside.transactional);
  CHECK(outside.prefix == "modsync.bin");
  CHECK(outside.content == std::string_view("\x00\xff\n", 3));
  CHECK(outside.lsn > commit.commit_lsn);
}

TEST_CASE("Origin names the replication origin and its commit LSN", "[pgoutput]") {
  PgOutputDecoder decoder;
  Origin origin = decode_as<Origin>(decoder, kOrigin);
  CHECK(origin.name == "fixture_origin");
  CHECK(origin.commit_lsn.to_string() == "0/ABCDEF");
}

TEST_CASE("Whole stream: transactions pair up, LSNs advance, relations precede rows",
          "[pgoutput]") {
  PgOutputDecoder decoder;
  std::unordered_map<uint32_t, Relation> relations;  // by relation id
  std::optional<Begin> open;
  Lsn last_commit;
  size_t transactions = 0;
  size_t rows = 0;
  auto require_known = [&](uint32_t id) {
    INFO("relation id " << id);
    REQUIRE(relations.count(id) == 1);
  };
  for (size_t i = 0; i < fixture().size(); ++i) {
    INFO("message " << i);
    Message message = decoder.decode(fixture()[i]);
    std::visit(
        [&](auto& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, Begin>) {
            REQUIRE_FALSE(open);
            open = m;
          } else if constexpr (std::is_same_v<T, Commit>) {
            REQUIRE(open);
            CHECK(open->final_lsn == m.commit_lsn);
            CHECK(m.commit_lsn > last_commit);
            last_commit = m.commit_lsn;
            open.reset();
            ++transactions;
          } else if constexpr (std::is_same_v<T, Relation>) {
            relations[m.id] = std::move(m);
          } else if constexpr (std::is_same_v<T, Insert>) {
            require_known(m.relation_id);
            CHECK(m.new_row.size() == relations.at(m.relation_id).columns.size());
            ++rows;
          } else if constexpr (std::is_same_v<T, Update>) {
            require_known(m.relation_id);
            CHECK(m.new_row.size() == relations.at(m.relation_id).columns.size());
            ++rows;
          } else if constexpr (std::is_same_v<T, Delete>) {
            require_known(m.relation_id);
            CHECK(m.old_row.size() == relations.at(m.relation_id).columns.size());
            ++rows;
          } else if constexpr (std::is_same_v<T, Truncate>) {
            for (uint32_t id : m.relation_ids) require_known(id);
          } else if constexpr (std::is_same_v<T, LogicalMessage>) {
            CHECK(m.transactional == open.has_value());
          } else if constexpr (std::is_same_v<T, Origin> || std::is_same_v<T, Type>) {
            CHECK(open.has_value());
          }
        },
        message);
  }
  CHECK_FALSE(open);
  CHECK(transactions == 13);
  CHECK(rows == 15);
  CHECK(relations.size() == 4);
}

TEST_CASE("With the binary option, values arrive in send form as kind 'b'", "[pgoutput]") {
  static const std::vector<std::string> binary = test::load_fixture("pgoutput_v1_binary.hex");
  REQUIRE(binary.size() == kMessageCount);
  PgOutputDecoder decoder;
  Message message = decoder.decode(binary[kInsertKindsFull]);
  REQUIRE(std::holds_alternative<Insert>(message));
  const auto& row = std::get<Insert>(message).new_row;
  REQUIRE(row.size() == 15);
  for (const auto& value : row) CHECK(value.kind == Kind::kBinary);
  using namespace std::string_view_literals;
  CHECK(row[0].data == "\x00\x00\x00\x01"sv);                  // int4, big-endian
  CHECK(row[1].data == "\xff\xf9"sv);                          // int2 -7
  CHECK(row[2].data == "\x00\x20\x00\x00\x00\x00\x00\x01"sv);  // int8 2^53 + 1
  CHECK(row[4].data == "h\xc3\xa9llo");
  CHECK(row[6].data == "\x01"sv);  // bool true
  CHECK(row[10].data == "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11"sv);
  CHECK(row[12].data == "\x00\xff\x10"sv);  // bytea: the raw bytes
  CHECK(row[14].data == "happy");           // enum: its label

  message = decoder.decode(binary[kUpdateBigToast]);
  REQUIRE(std::holds_alternative<Update>(message));
  const auto& toast = std::get<Update>(message).new_row;
  REQUIRE(toast.size() == 3);
  CHECK(toast[1].kind == Kind::kBinary);
  CHECK(toast[2].kind == Kind::kUnchanged);

  message = decoder.decode(binary[kInsertKindsNulls]);
  REQUIRE(std::holds_alternative<Insert>(message));
  CHECK(std::get<Insert>(message).new_row[1].kind == Kind::kNull);
}

TEST_CASE("Row buffers are reused, not reallocated per row", "[pgoutput]") {
  PgOutputDecoder decoder;
  Insert first = decode_as<Insert>(decoder, kInsertKindsFull);
  const event::ColumnValue* buffer = first.new_row.data();
  Insert second = decode_as<Insert>(decoder, kInsertKindsNulls);
  CHECK(second.new_row.data() == buffer);
  Insert smaller = decode_as<Insert>(decoder, kInsertComposite3);
  CHECK(smaller.new_row.data() == buffer);
  CHECK(smaller.new_row.size() == 3);
}

}  // namespace
}  // namespace modsync::pgsource
