#include "modsync/apply/apply_pipeline.hpp"

#include <chrono>
#include <map>
#include <set>
#include <unordered_set>
#include <optional>
#include <string>
#include <vector>

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "modsync/common/lsn.hpp"
#include "modsync/common/time.hpp"
#include "modsync/event/debezium.hpp"
#include "modsync/event/pg_types.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/producer.hpp"
#include "modsync/kafka/settings.hpp"
#include "modsync/pgsink/projection_writer.hpp"
#include "modsync/pgsink/target_table.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/projection/filter.hpp"
#include "apply_positions.hpp"
#include "target_creator.hpp"
#include "value_decoder.hpp"

namespace modsync::apply {

namespace {

using Clock = std::chrono::steady_clock;
using pgsink::ProjectionWriter;

void append_escaped(std::string_view v, std::string& out) {
  ProjectionWriter::append_copy_escaped(v, out);
}

/// FNV-1a over `bytes`, continuing from `seed`; a key's columns are hashed one after another.
uint64_t hash_bytes(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed ? seed : 14695981039346656037ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return (h ^ '\t') * 1099511628211ull;
}

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

}  // namespace

std::string ApplyPipeline::projection_id(const config::PairConfig& pair,
                                         const config::Projection& projection) {
  return pair.daemon.id + "/" + projection.to.qualified();
}

struct ApplyPipeline::Impl {
  Impl(const config::PairConfig& p, const config::Projection& pr, checkpoint::CheckpointStore& s,
       ApplyStats& st)
      : pair(p), sink(*p.sink), proj(pr), store(s), stats(st) {}

  const config::PairConfig& pair;
  const config::SinkConfig& sink;
  const config::Projection& proj;
  checkpoint::CheckpointStore& store;
  ApplyStats& stats;
  std::string context, id, topic, dlq_topic;

  /// A target column fed from an event field.
  struct Fed {
    std::string target;
    std::string source;  ///< field name in the current schema version
    const pgsink::TargetColumn* column = nullptr;
  };
  struct Entry {
    enum class Kind { kSkip, kLine, kTruncate, kDeadLetter };
    Kind kind = Kind::kSkip;
    char op = 0;
    size_t begin = 0, end = 0;  ///< the line's bytes in copy_buf
    int64_t source_ts_ms = 0;
    Position position;  ///< kTruncate: where the source truncated
    uint64_t key_hash = 0;  ///< kLine: hash of the key columns' COPY text
    std::string error;  ///< kDeadLetter: why
  };

  std::optional<pg::PgConnection> conn;
  std::optional<pgsink::TargetTable> target;
  std::unique_ptr<ProjectionWriter> writer;
  std::unique_ptr<kafka::Consumer> consumer;
  std::unique_ptr<kafka::Producer> dlq;
  std::optional<Error> dlq_error;
  std::vector<Fed> fed;
  std::optional<projection::Filter> filter;
  std::optional<projection::BoundFilter> bound;
  std::vector<std::string> filter_columns;
  std::vector<projection::Value> filter_values;
  std::set<char> ops;

  simdjson::dom::parser parser;
  std::vector<kafka::Message> batch;
  std::vector<Entry> entries;
  std::string copy_buf, segment, scratch;
  /// Events in Debezium value mode: the Connect schema of the current event's row, the filter
  /// columns' values as PostgreSQL text, and why a value could not be read.
  ConnectRowSchema row_schema;
  std::vector<std::string> filter_text;
  std::string debezium_error;
  /// Key hashes of the lines in `segment`. A collision only merges a segment early, which is
  /// always correct.
  std::unordered_set<uint64_t> segment_keys;

  // ---- set-up ------------------------------------------------------------------------------

  [[noreturn]] void config_error(const std::string& what, const std::string& fix) {
    fail("{}:{}: projection to {}: {}. Fix: {}", proj.location.file, proj.location.line,
         proj.to.qualified(), what, fix);
  }

  void setup() {
    id = projection_id(pair, proj);
    topic = config::projection_topic(pair, proj);
    dlq_topic = pair.kafka.topic_prefix + ".dlq." + pair.daemon.id;
    context = fmt::format("sink {} projection {} (topic {})", sink.module, proj.to.qualified(), topic);
    conn.emplace(pg::PgConnection::connect(sink.effective_dsn, pg::PgConnection::Mode::kRegular,
                                           context));
    ProjectionWriter::ensure_offsets_table(*conn);
    target = pgsink::describe_target(*conn, {proj.to.schema, proj.to.table});
    if (!target && proj.create_table) {
      create_target_table(pair, proj, *conn);
      target = pgsink::describe_target(*conn, {proj.to.schema, proj.to.table});
    }
    if (!target) {
      config_error(fmt::format("target table {} does not exist in the subscriber database",
                               proj.to.qualified()),
                   "create it, with columns _modsync_lsn pg_lsn and _modsync_seq integer for the "
                   "version guard");
    }
    fed.clear();
    auto own = [&](const std::string& name) {
      return name == pgsink::kLsnColumn || name == pgsink::kSeqColumn ||
             name == proj.soft_delete_column;
    };
    if (proj.columns) {
      for (const auto& m : *proj.columns) {
        const auto* c = target->find(m.target);
        if (!c) {
          std::string names;
          for (const auto& tc : target->columns)
            if (!own(tc.name)) names += (names.empty() ? "" : ", ") + tc.name;
          config_error(fmt::format("column {} (mapped from {}) does not exist in {}; it has: {}",
                                   m.target, m.source, proj.to.qualified(), names),
                       "correct the mapping in `columns`, or add the column to the table");
        }
        fed.push_back(Fed{m.target, m.source, c});
      }
    } else {
      for (const auto& c : target->columns)
        if (!own(c.name)) fed.push_back(Fed{c.name, c.name, &c});
    }
    for (const auto& c : target->columns) {
      if (!c.key) continue;
      bool fed_key = false;
      for (const auto& f : fed) fed_key = fed_key || f.target == c.name;
      if (!fed_key) {
        config_error(fmt::format("the primary key column {} of {} is not fed by the projection",
                                 c.name, proj.to.qualified()),
                     "map a source key column to it in `columns`");
      }
    }
    if (!proj.soft_delete_column.empty() && !target->find(proj.soft_delete_column)) {
      config_error(fmt::format("soft_delete_column {} does not exist in {}",
                               proj.soft_delete_column, proj.to.qualified()),
                   fmt::format("ALTER TABLE {} ADD COLUMN {} timestamptz", proj.to.qualified(),
                               proj.soft_delete_column));
    }
    // Checked here rather than left to the writer, so the error names the projection's file
    // and line like every other start-up problem.
    for (const char* own_column : {pgsink::kLsnColumn, pgsink::kSeqColumn}) {
      if (target->has_key() && !target->find(own_column)) {
        config_error(fmt::format("target table {} lacks column {}: modsync stores each row's "
                                 "source position there so replayed events never overwrite "
                                 "newer rows",
                                 proj.to.qualified(), own_column),
                     fmt::format("ALTER TABLE {} ADD COLUMN _modsync_lsn pg_lsn, ADD COLUMN "
                                 "_modsync_seq integer",
                                 proj.to.qualified()));
      }
    }
    try {
      filter.emplace(projection::Filter::parse(proj.where));
      filter_columns = filter->columns();
      bound.emplace(filter->bind(filter_columns));
    } catch (const Error& e) {
      config_error(e.what(), "correct the `where` expression (docs/filters.md)");
    }
    filter_values.assign(filter_columns.size(), projection::Value{});
    check_against_source();
    ops.clear();
    for (auto op : proj.ops) ops.insert(static_cast<char>(op));

    std::vector<std::string> targets;
    for (const auto& f : fed) targets.push_back(f.target);
    writer = std::make_unique<ProjectionWriter>(
        *conn, *target,
        pgsink::WriterOptions{id, targets,
                              proj.on_delete == config::OnDelete::kSoft ? proj.soft_delete_column
                                                                        : std::string()});
    if (writer->append_only() && !writer->positioned()) {
      spdlog::warn("{}: {} has no primary key and no _modsync_lsn/_modsync_seq columns: events "
                   "the capture re-sends after a crash can be inserted twice. Fix: ALTER TABLE {} "
                   "ADD COLUMN _modsync_lsn pg_lsn, ADD COLUMN _modsync_seq integer; and an "
                   "index on them",
                   context, proj.to.qualified(), proj.to.qualified());
    }

    const kafka::KafkaSettings settings = kafka::settings_from(pair.kafka);
    dlq = std::make_unique<kafka::Producer>(
        settings, "modsync-" + pair.daemon.id + "-dlq",
        [this](uint64_t, const kafka::DeliveryResult& r) {
          if (!r.ok() && !dlq_error) {
            dlq_error.emplace(ErrorKind::kRetriable,
                              fmt::format("{}: the dead-letter topic {} did not take an event: {}",
                                          context, r.topic, r.error_text));
          }
        });
    int partitions = 0;
    try {
      partitions = dlq->partition_count(topic, std::chrono::seconds(10));
    } catch (const Error& e) {
      fail_retriable("{}: waiting for topic {}: {}", context, topic, e.what());
    }
    kafka::ConsumerOptions options;
    options.group_id = "modsync-" + pair.daemon.id + "-" + sink.module;
    options.client_id = "modsync-" + pair.daemon.id;
    options.session_timeout_ms = 10000;
    consumer = std::make_unique<kafka::Consumer>(settings, options);
    const auto stored = ProjectionWriter::load_offsets(*conn, id);
    std::vector<kafka::TopicPartitionOffset> positions;
    for (int p = 0; p < partitions; ++p) {
      std::optional<int64_t> offset;
      for (const auto& s : stored)
        if (s.topic == topic && s.partition == p) offset = s.next_offset;
      if (!offset) {
        // A projection starts from the table's whole history: the snapshot rows come first.
        // Once retention deleted the start of it, starting at what is left would miss rows.
        const auto marks = dlq->watermarks(topic, kafka::Partition{p}, std::chrono::seconds(10));
        if (marks.low.value > 0) {
          fail("{}: partition {} of {} starts at offset {}: Kafka's retention deleted the older "
               "events, so this new projection would miss rows. It is not started. Fix: fill it "
               "from a new snapshot with `modsync resnapshot --config <file> {} {}`",
               context, p, topic, marks.low, pair.daemon.id, proj.from ? proj.from->table.qualified() : proj.to.qualified());
        }
        offset = marks.low.value;
      }
      positions.push_back({topic, kafka::Partition{p}, kafka::Offset{*offset}});
    }
    consumer->assign(positions);
    publish_positions(stats, positions);
    spdlog::info("{}: applying into {} ({} partitions, {} with stored offsets)", context,
                 proj.to.qualified(), partitions, stored.size());
  }

  /// Checks the mapping and the filter against the source table's newest published schema:
  /// every column they name must exist there, with a type the target column can take. When the
  /// capture has not published the schema yet, events are checked one by one instead.
  void check_against_source() {
    if (!proj.from) return;
    const auto columns = latest_source_schema(pair, *proj.from);
    if (!columns) {
      spdlog::info("{}: the schema of {}.{} is not on {}.schemas yet; columns are checked per event",
                   context, proj.from->module, proj.from->table.qualified(), pair.kafka.topic_prefix);
      return;
    }
    std::string names;
    for (const auto& c : *columns) names += (names.empty() ? "" : ", ") + c.name;
    auto find = [&](const std::string& name) -> const SourceColumn* {
      for (const auto& c : *columns)
        if (c.name == name) return &c;
      return nullptr;
    };
    const std::string source = proj.from->module + "." + proj.from->table.qualified();
    for (const auto& f : fed) {
      const SourceColumn* c = find(f.source);
      if (!c) {
        config_error(fmt::format("source column {} (mapped to {}) is not in {}; it has: {}",
                                 f.source, f.target, source, names),
                     "correct the mapping in `columns`");
      }
      const char source_category = pgsink::type_category(*conn, c->type_oid, c->type_name);
      const char target_category = f.column->category;
      // Text takes anything; user-defined and JSON types are left to PostgreSQL's casts.
      const bool compatible = source_category == target_category || target_category == 'S' ||
                              target_category == 'U' || source_category == 'U';
      if (!compatible) {
        const std::string source_type =
            !c->type_name.empty() ? c->type_name
                                  : conn->query_value(fmt::format("SELECT format_type({}, {})",
                                                                  c->type_oid, c->type_modifier));
        config_error(fmt::format("column {} is {} in {} but {} ({}) in the target: the types are "
                                 "incompatible",
                                 f.source, source_type, source, f.target, f.column->type),
                     fmt::format("change the type of {} in {}, or map another column",
                                 f.target, proj.to.qualified()));
      }
    }
    for (const auto& name : filter_columns) {
      if (!find(name)) {
        config_error(fmt::format("`where` names column {}, which {} does not have; it has: {}",
                                 name, source, names),
                     "correct the `where` expression");
      }
    }
  }

  // ---- decoding ----------------------------------------------------------------------------

  /// The event's field for `current_name`, under its name in `rule`'s version.
  static simdjson::simdjson_result<simdjson::dom::element> field(
      simdjson::dom::object row, const std::string& current_name, const config::VersionRule* rule) {
    if (rule) {
      for (const auto& [old_name, new_name] : rule->rename)
        if (new_name == current_name) return row[old_name];
    }
    return row[current_name];
  }

  /// How a field of an event in Debezium value mode is read: by the event's Connect schema
  /// when it carries one, else by the type of the target column fed from it.
  DebeziumField debezium_field(const std::string& source) const {
    if (const DebeziumField* f = row_schema.find(source)) return *f;
    for (const auto& f : fed)
      if (f.source == source) return debezium_field_of(*f.column);
    return {};
  }

  Entry dead_letter(std::string why) {
    Entry e;
    e.kind = Entry::Kind::kDeadLetter;
    e.error = std::move(why);
    return e;
  }

  Entry encode(const kafka::Message& m) {
    Entry entry;
    if (!m.has_value()) return entry;
    simdjson::dom::element doc;
    auto parsed = parser.parse(m.value().data(), m.value().size()).get(doc);
    if (parsed == simdjson::NUMBER_ERROR) {
      // Valid JSON that simdjson cannot hold: an old event embedding a json value.
      if (auto quoted = quote_unreadable_row_values(m.value())) parsed = parser.parse(*quoted).get(doc);
    }
    if (parsed != simdjson::SUCCESS || !doc.is_object()) {
      return dead_letter("the value is not a JSON object (not a modsync/Debezium change event)");
    }
    // The schema_payload envelope (kafka.envelope): the change event is the payload.
    simdjson::dom::element payload, connect_schema;
    const bool wrapped = doc["payload"].get(payload) == simdjson::SUCCESS &&
                         doc["schema"].get(connect_schema) == simdjson::SUCCESS &&
                         payload.is_object();
    if (wrapped) doc = payload;
    std::string_view op_text;
    if (doc["op"].get(op_text) != simdjson::SUCCESS || op_text.size() != 1) {
      return dead_letter("the event has no \"op\" field");
    }
    const char op = op_text[0];
    if (op == 'm') return entry;
    // A truncate marked as a snapshot event restarts a keyless table's snapshot: the rows of
    // the earlier attempt must go whatever `ops` says, or they would be there twice.
    std::string_view snapshot_flag;
    const bool snapshot_truncate =
        op == 't' && doc["source"]["snapshot"].get(snapshot_flag) == simdjson::SUCCESS &&
        snapshot_flag != "false";
    if (!ops.count(op) && !snapshot_truncate) return entry;
    if (op == 'd' && proj.on_delete == config::OnDelete::kIgnore) return entry;
    std::string_view position_text;
    std::optional<Position> position;
    if (doc["source"]["position"].get(position_text) == simdjson::SUCCESS) {
      position = parse_position(position_text);
    }
    if (!position) return dead_letter("the event has no valid source.position");
    if (op == 't') {
      entry.kind = Entry::Kind::kTruncate;
      entry.op = 't';
      entry.position = *position;
      return entry;
    }
    int64_t ts = 0;
    if (doc["source"]["ts_ms"].get(ts) == simdjson::SUCCESS) entry.source_ts_ms = ts;
    std::string_view value_mode;
    const bool debezium =
        doc["source"][event::debezium::kValueModeField].get(value_mode) == simdjson::SUCCESS &&
        value_mode == "debezium";
    row_schema.clear();
    if (debezium && wrapped) row_schema.load(connect_schema);

    uint32_t version = 1;
    if (auto h = m.header("modsync.schema_version")) {
      version = 0;
      for (char c : *h) version = version * 10 + static_cast<uint32_t>(c - '0');
    }
    const auto rule_it = proj.versions.find(version);
    const config::VersionRule* rule = rule_it == proj.versions.end() ? nullptr : &rule_it->second;

    simdjson::dom::object row;
    if (doc[op == 'd' ? "before" : "after"].get(row) != simdjson::SUCCESS) {
      return dead_letter(fmt::format("the {} event has no \"{}\" row image", op,
                                     op == 'd' ? "before" : "after"));
    }
    simdjson::dom::array unchanged;
    const bool has_unchanged = doc["unchanged"].get(unchanged) == simdjson::SUCCESS;
    auto is_unchanged = [&](const std::string& name) {
      if (!has_unchanged) return false;
      for (auto u : unchanged) {
        std::string_view s;
        if (u.get(s) == simdjson::SUCCESS && s == name) return true;
      }
      return false;
    };

    // An event whose row lacks a field the projection uses is of a shape this projection does
    // not know: never guess (docs/projections.md, "Versions").
    if (op != 'd') {
      for (const auto& f : fed) {
        if (field(row, f.source, rule).error() == simdjson::SUCCESS || is_unchanged(f.source) ||
            (rule && rule->defaults.count(f.source)))
          continue;
        const std::string why = fmt::format(
            "schema version {} has no column {} that the projection maps to {}", version, f.source,
            f.target);
        if (proj.unknown_version == config::UnknownVersion::kDeadLetter) return dead_letter(why);
        stats.state = ApplyStats::State::kPaused;
        fail("{}: paused at {} [{}] offset {}: {}. Fix: add a `versions: {{{}: {{rename: …, "
             "defaults: …}}}}` rule or change `columns`, then restart (events wait on Kafka)",
             context, m.topic(), m.partition(), m.offset(), why, version);
      }
    }

    char line_op = op == 'd' ? 'd' : 'u';
    if (op != 'd' && !proj.where.empty()) {
      for (size_t i = 0; i < filter_columns.size(); ++i) {
        auto v = field(row, filter_columns[i], rule);
        filter_values[i] = v.error() == simdjson::SUCCESS ? projection::Value::from_json(v.value())
                                                          : projection::Value{};
        if (debezium && v.error() == simdjson::SUCCESS) {
          // The filter sees the value as in modsync's value mode (docs/filters.md).
          filter_text.resize(filter_columns.size());
          filter_text[i].clear();
          const DebeziumField df = debezium_field(filter_columns[i]);
          if (append_debezium_modsync_text(v.value(), df, filter_text[i], debezium_error)) {
            const bool number = df.form == event::debezium::Form::kDecimal ||
                                df.form == event::debezium::Form::kVariableScaleDecimal;
            filter_values[i] = projection::Value::from_pg_text(
                number ? event::pg::kNumericOid : event::pg::kTextOid, filter_text[i]);
          }
        }
      }
      if (!bound->matches(filter_values)) {
        // A row that stops matching leaves the projection; one that never matched is skipped.
        if (op != 'u' || !ops.count('d') || proj.on_delete == config::OnDelete::kIgnore) {
          stats.rows_skipped.fetch_add(1, std::memory_order_relaxed);
          return entry;
        }
        line_op = 'd';
      }
    }

    entry.kind = Entry::Kind::kLine;
    entry.begin = copy_buf.size();
    copy_buf += "?\t";
    copy_buf += position->commit_lsn.to_string();
    fmt::format_to(std::back_inserter(copy_buf), "\t{}\t", position->index);
    const size_t unchanged_at = copy_buf.size();
    std::string unchanged_list;
    for (const auto& f : fed) {
      copy_buf += '\t';
      if (line_op == 'd' && !f.column->key) {
        copy_buf += "\\N";
        continue;
      }
      auto v = field(row, f.source, rule);
      if (v.error() == simdjson::SUCCESS) {
        const size_t at = copy_buf.size();
        if (!debezium) {
          append_copy_value(v.value(), *f.column, scratch, copy_buf);
        } else if (!append_debezium_copy_value(v.value(), *f.column, debezium_field(f.source),
                                               scratch, copy_buf, debezium_error)) {
          copy_buf.resize(entry.begin);
          return dead_letter(fmt::format("column {}: {}", f.source, debezium_error));
        }
        if (f.column->key) {
          entry.key_hash = hash_bytes(std::string_view(copy_buf).substr(at), entry.key_hash);
        }
      } else if (rule && rule->defaults.count(f.source)) {
        append_escaped(rule->defaults.at(f.source), copy_buf);
      } else {
        if (is_unchanged(f.source)) unchanged_list += "," + f.target;
        copy_buf += "\\N";
      }
    }
    copy_buf += '\n';
    if (!unchanged_list.empty()) {
      line_op = 'p';
      unchanged_list += ",";
      copy_buf.insert(unchanged_at, unchanged_list);  // rare: only updates with TOAST columns
    } else {
      copy_buf.insert(unchanged_at, "\\N");
    }
    copy_buf[entry.begin] = line_op;
    entry.op = line_op;
    entry.end = copy_buf.size();
    return entry;
  }

  // ---- applying ----------------------------------------------------------------------------

  void send_dead_letter(const kafka::Message& m, const std::string& why) {
    kafka::Headers headers;
    auto original = m.headers();
    for (const auto& [k, v] : original) headers.add(k, v);
    const std::string partition = std::to_string(m.partition().value);
    const std::string offset = std::to_string(m.offset().value);
    headers.add("modsync.dlq.error", why);
    headers.add("modsync.dlq.projection", id);
    headers.add("modsync.dlq.topic", m.topic());
    headers.add("modsync.dlq.partition", partition);
    headers.add("modsync.dlq.offset", offset);
    dlq->produce(dlq_topic, m.has_key() ? m.key().data() : nullptr, m.key().size(), m.value(),
                 headers, 0);
    stats.dead_lettered.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("{}: event at {} [{}] offset {} sent to dead-letter topic {}: {}", context,
                 m.topic(), m.partition(), m.offset(), dlq_topic, why);
  }

  /// Applies entries [from, to) in one transaction with their offsets. A data error (bad
  /// value, constraint violation) is narrowed down by halving until the one event at fault is
  /// dead-lettered; every other event is applied.
  void apply_entries(size_t from, size_t to) {
    if (from >= to) return;
    try {
      writer->begin();
      segment.clear();
      bool has_dead_letters = false;
      segment_keys.clear();
      const bool soft = proj.on_delete == config::OnDelete::kSoft;
      for (size_t i = from; i < to; ++i) {
        const Entry& e = entries[i];
        if (e.kind == Entry::Kind::kLine) {
          // A merge applies only the newest line per key. A partial update ('p': unchanged TOAST
          // columns) or a soft delete needs the row the earlier lines of its key build, so
          // those lines are merged first.
          if ((e.op == 'p' || (e.op == 'd' && soft)) && segment_keys.count(e.key_hash)) {
            writer->apply(segment);
            segment.clear();
            segment_keys.clear();
          }
          segment.append(copy_buf, e.begin, e.end - e.begin);
          segment_keys.insert(e.key_hash);
        } else if (e.kind == Entry::Kind::kTruncate) {
          writer->apply(segment);
          segment.clear();
          segment_keys.clear();
          writer->truncate(e.position);
        } else if (e.kind == Entry::Kind::kDeadLetter) {
          has_dead_letters = true;
        }
      }
      writer->apply(segment);
      // Sent only once the rows applied: a data error splits this range and retries its halves,
      // and a dead letter sent before that would be sent again with its half.
      if (has_dead_letters) {
        for (size_t i = from; i < to; ++i) {
          if (entries[i].kind == Entry::Kind::kDeadLetter) {
            send_dead_letter(batch[i], entries[i].error);
          }
        }
      }
      std::map<std::pair<std::string, int32_t>, int64_t> next;
      for (size_t i = from; i < to; ++i) {
        auto key = std::make_pair(std::string(batch[i].topic()), batch[i].partition().value);
        next[key] = std::max(next[key], batch[i].offset().value + 1);
      }
      std::vector<pgsink::StoredOffset> offsets;
      for (const auto& [k, v] : next) offsets.push_back({k.first, k.second, v});
      if (has_dead_letters) {
        // A dead-lettered event is only skipped once Kafka holds its copy.
        const bool flushed = dlq->flush(30000);
        if (dlq_error) throw *dlq_error;
        if (!flushed) {
          fail_retriable("{}: the dead-letter topic {} did not acknowledge {} event(s) within "
                         "30 s; their offsets are not committed, so they are retried",
                         context, dlq_topic, dlq->in_flight());
        }
      }
      writer->save_offsets(offsets);
      writer->commit();
      std::vector<checkpoint::SinkOffset> saved;
      for (const auto& o : offsets) saved.push_back({o.topic, kafka::Partition{o.partition}, kafka::Offset{o.next_offset}});
      store.save_sink_offsets(id, saved);
      publish_positions(stats, saved);
      count(from, to);
    } catch (const pg::SqlError& e) {
      writer->rollback();
      if (!e.is_data_error()) throw;
      if (to - from == 1) {
        entries[from] = dead_letter(e.what());
        apply_entries(from, to);
        return;
      }
      const size_t mid = from + (to - from) / 2;
      apply_entries(from, mid);
      apply_entries(mid, to);
    } catch (...) {
      writer->rollback();
      throw;
    }
  }

  void count(size_t from, size_t to) {
    int64_t last_ts = 0;
    for (size_t i = from; i < to; ++i) {
      const Entry& e = entries[i];
      if (e.kind == Entry::Kind::kLine) {
        (e.op == 'd' ? stats.rows_deleted : stats.rows_upserted).fetch_add(1, std::memory_order_relaxed);
      } else if (e.kind == Entry::Kind::kTruncate) {
        stats.truncates.fetch_add(1, std::memory_order_relaxed);
      }
      if (e.source_ts_ms) last_ts = e.source_ts_ms;
    }
    stats.events_consumed.fetch_add(to - from, std::memory_order_relaxed);
    stats.batches.fetch_add(1, std::memory_order_relaxed);
    if (last_ts) {
      stats.last_commit_unix_ms.store(last_ts, std::memory_order_relaxed);
      stats.last_apply_lag_ms.store(now_unix_ms() - last_ts, std::memory_order_relaxed);
    }
  }

  void poll(size_t max, int timeout_ms) {
    try {
      consumer->poll_batch(max, timeout_ms, batch);
    } catch (const kafka::KafkaError& e) {
      if (e.position_lost()) {
        const std::string what = e.what();
        fail("{}: {}. The recorded position is no longer on Kafka (retention, or the topic was "
             "recreated), so events are missing; the projection is stopped rather than skip "
             "them. Fix: rebuild it with `modsync resnapshot {} {}`",
             context, what, pair.daemon.id, proj.to.qualified());
      }
      throw;
    }
  }

  void run(const std::atomic<bool>& stop) {
    setup();
    stats.state = ApplyStats::State::kApplying;
    const size_t max_rows = std::max<uint64_t>(1, sink.batch_rows);
    const auto batch_time = std::chrono::milliseconds(sink.batch_time);
    while (!stop.load(std::memory_order_relaxed)) {
      batch.clear();
      entries.clear();
      copy_buf.clear();
      poll(max_rows, 100);
      if (batch.empty()) continue;
      const auto deadline = Clock::now() + batch_time;
      while (batch.size() < max_rows && !stop.load(std::memory_order_relaxed)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) break;
        poll(max_rows - batch.size(), static_cast<int>(left.count()));
      }
      for (const auto& m : batch) entries.push_back(encode(m));
      apply_entries(0, entries.size());
    }
    consumer->close();
  }
};

ApplyPipeline::ApplyPipeline(const config::PairConfig& pair, const config::Projection& projection,
                             checkpoint::CheckpointStore& store, ApplyStats& stats)
    : impl_(std::make_unique<Impl>(pair, projection, store, stats)) {}

ApplyPipeline::~ApplyPipeline() = default;

void ApplyPipeline::run(const std::atomic<bool>& stop) { impl_->run(stop); }

const char* to_string(ApplyStats::State state) {
  switch (state) {
    case ApplyStats::State::kStarting: return "starting";
    case ApplyStats::State::kApplying: return "applying";
    case ApplyStats::State::kPaused: return "paused";
    case ApplyStats::State::kRetrying: return "retrying";
    case ApplyStats::State::kFailed: return "failed";
    case ApplyStats::State::kStopped: return "stopped";
  }
  return "unknown";
}

}  // namespace modsync::apply
