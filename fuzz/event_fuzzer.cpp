// libFuzzer target: the pieces of the apply side's event decoding that run without servers.
//
// The decoding itself (ApplyPipeline::Impl::encode in apply/src/apply_pipeline.cpp) lives in the
// pipeline's private Impl, which is only built by a pipeline connected to a subscriber database
// and a broker, so this target runs the same steps on the same libraries, in the same order: the
// record's value parsed by simdjson; "op", "source.position" (Lsn::parse), "source.ts_ms",
// "unchanged" and the row image read; each field turned into a filter Value (as is and as a
// numeric column), compared and filtered; each field written as COPY text.
//
// Input: a Kafka record's value (fuzz/corpus/event/ holds events as capture writes them).
//
// Oracles: nothing throws or crashes; comparisons are antisymmetric; a position that parses
// prints back to the same LSN; COPY escaping round-trips and leaves no raw tab, newline or
// carriage return.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "modsync/common/lsn.hpp"
#include "modsync/pgsink/stage_lines.hpp"
#include "modsync/projection/filter.hpp"
#include "modsync/projection/value.hpp"

namespace {

using modsync::projection::Value;

[[noreturn]] void finding(const std::string& what) {
  fprintf(stderr, "event_fuzzer: %s\n", what.c_str());
  abort();
}

std::partial_ordering reversed(std::partial_ordering o) {
  if (o == std::partial_ordering::less) return std::partial_ordering::greater;
  if (o == std::partial_ordering::greater) return std::partial_ordering::less;
  return o;
}

// COPY text format's unescaping of the escapes append_copy_escaped writes.
std::string copy_unescaped(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char c = text[++i];
    out += c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
  }
  return out;
}

void check_copy(std::string_view value) {
  std::string line = "u\t";
  const size_t at = line.size();
  modsync::pgsink::append_copy_escaped(value, line);
  const std::string_view written = std::string_view(line).substr(at);
  if (written.find_first_of("\t\n\r") != std::string_view::npos) {
    finding("COPY escaping left a raw tab, newline or carriage return");
  }
  if (copy_unescaped(written) != value) finding("COPY escaping does not round-trip");
}

const modsync::projection::Filter& filter() {
  static const auto f = modsync::projection::Filter::parse(
      "status IN ('paid', 'shipped') AND total > 0 OR note LIKE '%a_b%' OR id IS NULL OR "
      "NOT (total <= id)");
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static simdjson::dom::parser parser;
  static const std::vector<std::string> filter_columns = filter().columns();
  static const auto bound = filter().bind(filter_columns);

  simdjson::dom::element doc;
  if (parser.parse(reinterpret_cast<const char*>(data), size).get(doc) != simdjson::SUCCESS ||
      !doc.is_object()) {
    return 0;
  }
  std::string_view op;
  if (doc["op"].get(op) != simdjson::SUCCESS || op.size() != 1) return 0;
  std::string_view position_text;
  if (doc["source"]["position"].get(position_text) == simdjson::SUCCESS) {
    const auto hash = position_text.find('#');
    if (auto lsn = modsync::Lsn::parse(position_text.substr(0, hash))) {
      const auto again = modsync::Lsn::parse(lsn->to_string());
      if (!again || *again != *lsn) finding("an LSN does not print back to itself");
    }
  }
  int64_t ts = 0;
  (void)doc["source"]["ts_ms"].get(ts);
  simdjson::dom::array unchanged;
  if (doc["unchanged"].get(unchanged) == simdjson::SUCCESS) {
    for (auto u : unchanged) {
      std::string_view s;
      (void)u.get(s);
    }
  }
  simdjson::dom::object row;
  if (doc[op[0] == 'd' ? "before" : "after"].get(row) != simdjson::SUCCESS) return 0;

  std::vector<Value> values;
  for (auto [key, element] : row) {
    values.push_back(Value::from_json(element));
    values.push_back(Value::from_json(element, 1700));  // numeric
    std::string_view text;
    if (element.get(text) == simdjson::SUCCESS) {
      check_copy(text);
      for (uint32_t oid : {16u, 20u, 700u, 701u, 1700u, 3802u, 1007u, 25u}) {
        values.push_back(Value::from_pg_text(oid, text));
      }
    } else if (element.is_array() || element.is_object()) {
      check_copy(simdjson::minify(element));
    }
  }
  if (values.size() > 64) values.resize(64);  // pairs grow quadratically
  for (const auto& a : values) {
    for (const auto& b : values) {
      if (compare_values(a, b) != reversed(compare_values(b, a))) {
        finding("compare_values is not antisymmetric");
      }
    }
  }
  std::vector<Value> filter_values(filter_columns.size());
  for (size_t i = 0; i < filter_columns.size(); ++i) {
    simdjson::dom::element v;
    filter_values[i] = row[filter_columns[i]].get(v) == simdjson::SUCCESS ? Value::from_json(v)
                                                                          : Value{};
  }
  (void)bound.matches(filter_values);
  return 0;
}
