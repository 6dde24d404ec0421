// libFuzzer target: a replication session's pgoutput messages through the decoder, the relation
// cache and the event encoder, as capture runs them.
//
// Input: frames of Int16 big-endian length then that many bytes, each one XLogData payload; a
// short tail is one last message. fuzz/corpus/pgoutput/ holds the captured fixture messages of
// connectors/pgsource/test/fixtures in this framing (fuzz/make_pgoutput_corpus.py).
//
// Oracles: the decoder throws DecodeError and nothing else; every view it returns points into
// the input; the encoder throws only modsync::Error; what it writes from valid UTF-8 text is
// valid JSON, json and jsonb included (they travel as JSON strings of their text).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include <simdjson.h>

#include "modsync/common/error.hpp"
#include "modsync/event/envelope.hpp"
#include "modsync/event/pg_types.hpp"
#include "modsync/pgsource/pgoutput_decoder.hpp"

namespace {

using modsync::event::ColumnValue;
using modsync::event::RowImage;
using modsync::event::TableSchema;
namespace pg = modsync::pg;

[[noreturn]] void finding(const char* what) {
  fprintf(stderr, "pgoutput_fuzzer: %s\n", what);
  abort();
}

bool inside(std::string_view view, std::string_view input) {
  if (view.empty()) return true;
  return view.data() >= input.data() && view.data() + view.size() <= input.data() + input.size();
}

void check_row(RowImage row, std::string_view input) {
  for (const auto& value : row) {
    if (!inside(value.data, input)) finding("a row value points outside the message");
  }
}

// Whether the encoder must write valid JSON for `row`: text that is valid UTF-8.
bool held_to_json(const TableSchema&, RowImage row) {
  for (const ColumnValue& value : row) {
    if (value.kind == ColumnValue::Kind::kBinary) return false;  // modsync asks for text
    if (!simdjson::validate_utf8(value.data.data(), value.data.size())) return false;
  }
  return true;
}

bool names_are_utf8(const TableSchema& table) {
  for (const auto& c : table.columns) {
    if (!simdjson::validate_utf8(c.name.data(), c.name.size())) return false;
  }
  return simdjson::validate_utf8(table.schema.data(), table.schema.size()) &&
         simdjson::validate_utf8(table.table.data(), table.table.size());
}

void check_json(const std::string& json, const char* what) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) {
    fprintf(stderr, "invalid JSON from %s: %s\n", what, json.c_str());
    finding("the encoder wrote invalid JSON");
  }
}

struct Session {
  pgsource::PgOutputDecoder decoder;
  std::unordered_map<uint32_t, pgsource::Relation> cache;  // by relation id
  std::vector<TableSchema> tables;  // by insertion; small
  modsync::event::EnvelopeEncoder encoder;
  std::string key, value;

  const TableSchema* table(uint32_t id) {
    const auto it = cache.find(id);
    if (it == cache.end()) return nullptr;
    const pgsource::Relation* r = &it->second;
    for (auto& t : tables) {
      if (t.table == r->relname && t.schema == r->nspname && t.columns == r->columns) return &t;
    }
    TableSchema t;
    t.module = "fuzz";
    t.database = "fuzz";
    t.schema = r->nspname;
    t.table = r->relname;
    t.columns = r->columns;
    t.topic = "fuzz." + t.schema + "." + t.table;
    tables.push_back(std::move(t));
    return &tables.back();
  }

  // Encodes a row change as capture does; the encoder may refuse an image that does not fit
  // the relation (a modsync::Error), never anything else.
  void encode(uint32_t relation_id, modsync::event::Op op, RowImage key_row, RowImage before,
              RowImage after) {
    const TableSchema* t = table(relation_id);
    if (!t) return;
    modsync::event::SourceInfo source;
    source.position = modsync::Position{modsync::Lsn(0x16B374D848), 3};
    source.xid = 7;
    try {
      const bool keyed = encoder.encode_key(*t, key_row, key);
      if (keyed && held_to_json(*t, key_row) && names_are_utf8(*t)) check_json(key, "encode_key");
    } catch (const modsync::Error&) {
    }
    try {
      encoder.encode_change(*t, op, before, after, source, 1700000000000, value);
      if (held_to_json(*t, before) && held_to_json(*t, after) && names_are_utf8(*t)) {
        check_json(value, "encode_change");
      }
    } catch (const modsync::Error&) {
    }
  }

  void message(std::string_view bytes) {
    pgsource::Message m;
    try {
      m = decoder.decode(bytes);
    } catch (const pgsource::DecodeError&) {
      return;
    }
    using modsync::event::Op;
    if (auto* r = std::get_if<pgsource::Relation>(&m)) {
      cache[r->id] = std::move(*r);
    } else if (auto* o = std::get_if<pgsource::Origin>(&m)) {
      if (!inside(o->name, bytes)) finding("origin name outside the message");
    } else if (auto* t = std::get_if<pgsource::Type>(&m)) {
      if (!inside(t->nspname, bytes) || !inside(t->name, bytes)) finding("type name outside");
    } else if (auto* i = std::get_if<pgsource::Insert>(&m)) {
      check_row(i->new_row, bytes);
      encode(i->relation_id, Op::kCreate, i->new_row, {}, i->new_row);
    } else if (auto* u = std::get_if<pgsource::Update>(&m)) {
      check_row(u->old_row, bytes);
      check_row(u->new_row, bytes);
      encode(u->relation_id, Op::kUpdate, u->old_kind ? u->old_row : u->new_row,
             u->old_kind == 'O' ? u->old_row : RowImage{}, u->new_row);
    } else if (auto* d = std::get_if<pgsource::Delete>(&m)) {
      check_row(d->old_row, bytes);
      encode(d->relation_id, Op::kDelete, d->old_row, d->old_row, {});
    } else if (auto* tr = std::get_if<pgsource::Truncate>(&m)) {
      for (uint32_t id : tr->relation_ids) {
        const TableSchema* table_of = table(id);
        if (!table_of) continue;
        modsync::event::SourceInfo source;
        encoder.encode_truncate(*table_of, source, 0, value);
        if (names_are_utf8(*table_of)) check_json(value, "encode_truncate");
      }
    } else if (auto* lm = std::get_if<pgsource::LogicalMessage>(&m)) {
      if (!inside(lm->prefix, bytes) || !inside(lm->content, bytes)) finding("message outside");
      modsync::event::SourceInfo source;
      encoder.encode_message("fuzz", "fuzz", lm->prefix, lm->content, lm->transactional, source,
                             0, value);
      if (simdjson::validate_utf8(lm->prefix.data(), lm->prefix.size())) {
        check_json(value, "encode_message");
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Session session;
  size_t at = 0;
  while (at < size) {
    size_t length = size - at;
    size_t start = at;
    if (size - at >= 2) {
      length = std::min<size_t>((size_t{data[at]} << 8) | data[at + 1], size - at - 2);
      start = at + 2;
    }
    // An exactly sized heap copy (a std::string would keep short ones inline), so ASan flags a
    // read past a message's end.
    std::vector<char> bytes(data + start, data + start + length);
    session.message(std::string_view(bytes.data(), bytes.size()));
    at = start + length;
  }
  return 0;
}
