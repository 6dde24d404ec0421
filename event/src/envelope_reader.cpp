#include "modsync/event/envelope_reader.hpp"

#include "modsync/event/debezium.hpp"
#include "modsync/event/envelope.hpp"

namespace modsync::event {

namespace {

/// Walks JSON text without building anything; each skip_* returns false on malformed input.
class JsonScanner {
 public:
  explicit JsonScanner(std::string_view text) : text_(text) {}

  std::size_t pos() const { return pos_; }
  bool at_end() {
    skip_space();
    return pos_ == text_.size();
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  /// A string; `out` gets its raw content (escapes left as they are).
  bool skip_string(std::string_view* out = nullptr) {
    if (!consume('"')) return false;
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') pos_ += text_[pos_] == '\\' ? 2 : 1;
    if (pos_ >= text_.size()) return false;
    if (out) *out = text_.substr(start, pos_ - start);
    ++pos_;
    return true;
  }
  /// Any value; sets `unreadable` when a number in it does not fit simdjson's 64-bit reading.
  bool skip_value(bool& unreadable, int depth = 0) {
    if (depth > 1024) return false;
    skip_space();
    if (pos_ >= text_.size()) return false;
    const char c = text_[pos_];
    if (c == '"') return skip_string();
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++pos_;
      if (consume(close)) return true;
      do {
        if (c == '{' && (!skip_string() || !consume(':'))) return false;
        if (!skip_value(unreadable, depth + 1)) return false;
      } while (consume(','));
      return consume(close);
    }
    const std::size_t start = pos_;
    while (pos_ < text_.size() &&
           std::string_view(",}] \t\r\n").find(text_[pos_]) == std::string_view::npos)
      ++pos_;
    const std::string_view token = text_.substr(start, pos_ - start);
    if (token.empty()) return false;
    if (token[0] == '-' || (token[0] >= '0' && token[0] <= '9')) unreadable |= !fits(token);
    return true;
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

 private:
  /// An integer within int64/uint64, or a number with a fraction or exponent simdjson reads
  /// as a finite double (|exponent| well inside 308).
  static bool fits(std::string_view number) {
    const std::size_t e = number.find_first_of("eE");
    if (e != std::string_view::npos) {
      std::string_view exp = number.substr(e + 1);
      if (!exp.empty() && (exp[0] == '+' || exp[0] == '-')) exp.remove_prefix(1);
      return exp.size() < 3 || (exp.size() == 3 && exp < "300");
    }
    if (number.find('.') != std::string_view::npos) return true;
    const bool negative = number[0] == '-';
    const std::string_view digits = number.substr(negative ? 1 : 0);
    constexpr std::string_view kMaxUint64 = "18446744073709551615",
                               kMinInt64 = "9223372036854775808";
    const std::string_view limit = negative ? kMinInt64 : kMaxUint64;
    return digits.size() < limit.size() || (digits.size() == limit.size() && digits <= limit);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<Position> parse_position(std::string_view text) {
  const auto hash = text.find('#');
  if (hash == std::string_view::npos) return std::nullopt;
  auto lsn = Lsn::parse(text.substr(0, hash));
  if (!lsn) return std::nullopt;
  uint32_t index = 0;
  for (char c : text.substr(hash + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    index = index * 10 + static_cast<uint32_t>(c - '0');
  }
  return Position{*lsn, index};
}

bool UnchangedColumns::contains(std::string_view column) const {
  if (!present_) return false;
  for (auto u : names_) {
    std::string_view s;
    if (u.get(s) == simdjson::SUCCESS && s == column) return true;
  }
  return false;
}

std::optional<Position> ChangeEvent::position() const {
  std::string_view text;
  if (!source_ || (*source_)["position"].get(text) != simdjson::SUCCESS) return std::nullopt;
  return parse_position(text);
}

std::optional<uint32_t> ChangeEvent::schema_version() const {
  uint64_t version = 0;
  if (!source_ || (*source_)["schema_version"].get(version) != simdjson::SUCCESS ||
      version > UINT32_MAX)
    return std::nullopt;
  return static_cast<uint32_t>(version);
}

int64_t ChangeEvent::source_ts_ms() const {
  int64_t ts = 0;
  if (!source_ || (*source_)["ts_ms"].get(ts) != simdjson::SUCCESS) return 0;
  return ts;
}

bool ChangeEvent::snapshot() const {
  std::string_view flag;
  return source_ && (*source_)["snapshot"].get(flag) == simdjson::SUCCESS && flag != "false";
}

bool ChangeEvent::debezium_values() const {
  std::string_view mode;
  return source_ && (*source_)[debezium::kValueModeField].get(mode) == simdjson::SUCCESS &&
         mode == "debezium";
}

std::optional<simdjson::dom::object> ChangeEvent::row(bool before) const {
  simdjson::dom::object row;
  if (doc_[before ? "before" : "after"].get(row) != simdjson::SUCCESS) return std::nullopt;
  return row;
}

UnchangedColumns ChangeEvent::unchanged() const {
  simdjson::dom::array names;
  if (doc_["unchanged"].get(names) != simdjson::SUCCESS) return {};
  return UnchangedColumns(names);
}

EnvelopeReader::Status EnvelopeReader::read(std::string_view value, ChangeEvent& out) {
  out = ChangeEvent{};
  simdjson::dom::element doc;
  auto parsed = parser_.parse(value.data(), value.size()).get(doc);
  if (parsed == simdjson::NUMBER_ERROR) {
    // Valid JSON that simdjson cannot hold: an old event embedding a json value.
    if (auto quoted = quote_unreadable_row_values(value)) parsed = parser_.parse(*quoted).get(doc);
  }
  if (parsed != simdjson::SUCCESS || !doc.is_object()) return Status::kNotAnEvent;
  // The schema_payload envelope (kafka.envelope): the change event is the payload.
  simdjson::dom::element payload, connect_schema;
  if (doc["payload"].get(payload) == simdjson::SUCCESS &&
      doc["schema"].get(connect_schema) == simdjson::SUCCESS && payload.is_object()) {
    doc = payload;
    out.connect_schema_ = connect_schema;
  }
  out.doc_ = doc;
  std::string_view op;
  if (doc["op"].get(op) != simdjson::SUCCESS || op.size() != 1) return Status::kNoOp;
  out.op_ = op[0];
  simdjson::dom::object source;
  if (doc["source"].get(source) == simdjson::SUCCESS) out.source_ = source;
  return Status::kOk;
}

const char* EnvelopeReader::describe(Status status) {
  switch (status) {
    case Status::kOk:
      return "a change event";
    case Status::kNotAnEvent:
      return "the value is not a JSON object (not a modsync/Debezium change event)";
    case Status::kNoOp:
      return "the event has no \"op\" field";
  }
  return "unreadable";
}

std::optional<std::string> quote_unreadable_row_values(std::string_view event) {
  JsonScanner in(event);
  std::string out;
  std::size_t copied = 0;  // event[0, copied) is in `out`
  bool changed = false;
  if (!in.consume('{')) return std::nullopt;
  if (in.consume('}')) return std::nullopt;
  do {
    std::string_view name;
    bool ignored = false;
    if (!in.skip_string(&name) || !in.consume(':')) return std::nullopt;
    if ((name != "before" && name != "after") || !in.peek('{')) {
      if (!in.skip_value(ignored)) return std::nullopt;
      continue;
    }
    in.consume('{');
    if (in.consume('}')) continue;
    do {
      if (!in.skip_string() || !in.consume(':')) return std::nullopt;
      in.skip_space();
      const std::size_t start = in.pos();
      bool unreadable = false;
      if (!in.skip_value(unreadable)) return std::nullopt;
      if (!unreadable) continue;
      out.append(event.substr(copied, start - copied));
      append_json_string(event.substr(start, in.pos() - start), out);
      copied = in.pos();
      changed = true;
    } while (in.consume(','));
    if (!in.consume('}')) return std::nullopt;
  } while (in.consume(','));
  if (!in.consume('}') || !in.at_end() || !changed) return std::nullopt;
  out.append(event.substr(copied));
  return out;
}

}  // namespace modsync::event
