#include <fmt/format.h>

#include "modsync/config/config.hpp"
#include "modsync/config/dsn.hpp"

namespace modsync::config {

namespace {

std::string connection_line(const std::string& dsn,
                            const std::optional<std::filesystem::path>& password_file) {
  std::string out = fmt::format("dsn \"{}\"", redact_dsn(dsn));
  if (password_file) out += fmt::format(", password from {}", password_file->string());
  return out;
}

std::string list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

void describe_source(const PairConfig& pair, const SourceConfig& s, std::string& out) {
  const std::string& prefix = pair.kafka.topic_prefix;
  out += fmt::format("source {}: {}\n", s.module, connection_line(s.dsn, s.password_file));
  out += fmt::format("  slot {}, publication {}\n", s.slot, s.publication);
  out += fmt::format("  snapshot {}", to_string(s.snapshot));
  if (s.snapshot == SnapshotMode::kInitial) {
    out += fmt::format(" in chunks of {} rows", s.snapshot_chunk_rows);
  }
  out += '\n';
  out += fmt::format("  tables ({}):\n", s.tables.size());
  for (const auto& t : s.tables) {
    out +=
        fmt::format("    {} -> topic {}\n", t.qualified(), topic_for(s, prefix, t.schema, t.table));
  }
  if (!s.message_prefixes) {
    out +=
        fmt::format("  logical messages: all prefixes -> topic {}\n", message_topic_for(s, prefix));
  } else if (s.message_prefixes->empty()) {
    out += "  logical messages: none\n";
  } else {
    out += fmt::format("  logical messages: prefixes {} -> topic {}\n", list(*s.message_prefixes),
                       message_topic_for(s, prefix));
  }
  out += s.transaction_topic.empty() ? std::string("  transaction metadata: off\n")
                                     : fmt::format("  transaction metadata -> topic {}\n",
                                                   transaction_topic_for(s, prefix));
  out += fmt::format("  heartbeat {}, status every {}\n",
                     s.heartbeat_interval.count() == 0 ? std::string("off")
                                                       : format_duration(s.heartbeat_interval),
                     format_duration(s.status_interval));
  if (pair.kafka.envelope != KafkaEnvelope::kPlain || s.value_mode != ValueMode::kModsync) {
    out += fmt::format("  events: {} envelope, {} values\n", to_string(pair.kafka.envelope),
                       to_string(s.value_mode));
  }
}

std::string describe_columns(const Projection& p) {
  if (!p.columns) return "all (same names)";
  std::vector<std::string> parts;
  for (const auto& c : *p.columns) {
    parts.push_back(c.source == c.target ? c.source : fmt::format("{} -> {}", c.source, c.target));
  }
  return list(parts);
}

void describe_sink(const PairConfig& pair, const SinkConfig& s, std::string& out) {
  out += fmt::format("sink {}: {}\n", s.module, connection_line(s.dsn, s.password_file));
  if (s.group.empty()) {
    out +=
        fmt::format("  consumer group {}, batches of {} rows, {} or {}\n", pair.daemon.id,
                    s.batch_rows, format_byte_size(s.batch_bytes), format_duration(s.batch_time));
  } else {
    out += fmt::format(
        "  consumer groups {}.<schema>.<table>, partitions shared with every daemon running "
        "this file; batches of {} rows, {} or {}\n",
        s.group, s.batch_rows, format_byte_size(s.batch_bytes), format_duration(s.batch_time));
  }
  if (s.workers > 0) out += fmt::format("  {} worker(s) per projection\n", s.workers);
  for (size_t i = 0; i < s.projections.size(); ++i) {
    const Projection& p = s.projections[i];
    const std::string from =
        p.from ? fmt::format("{}.{}", p.from->module, p.from->table.qualified()) : "topic";
    out += fmt::format("  projection {}: {} (topic {}) -> {}\n", i + 1, from,
                       projection_topic(pair, p), p.to.qualified());
    out += fmt::format("    columns: {}\n", describe_columns(p));
    if (!p.where.empty()) out += fmt::format("    where: {}\n", p.where);
    std::string ops;
    for (Op op : p.ops) ops += to_string(op);
    out += fmt::format("    ops: {}; on delete: {}", ops, to_string(p.on_delete));
    if (p.on_delete == OnDelete::kSoft) out += fmt::format(" (sets {})", p.soft_delete_column);
    out += fmt::format("; unknown version: {}; create table: {}\n", to_string(p.unknown_version),
                       p.create_table ? "yes" : "no");
    for (const auto& [version, rule] : p.versions) {
      std::vector<std::string> parts;
      for (const auto& [from_name, to_name] : rule.rename) {
        parts.push_back(fmt::format("rename {} -> {}", from_name, to_name));
      }
      for (const auto& [column, value] : rule.defaults) {
        parts.push_back(fmt::format("default {} = {}", column, value));
      }
      out += fmt::format("    version {}: {}\n", version, list(parts));
    }
  }
}

}  // namespace

std::string describe(const PairConfig& pair) {
  const DaemonConfig& d = pair.daemon;
  std::string out = fmt::format("pair {} (from {})\n", d.id, pair.file.string());
  out += fmt::format("daemon: state {}, log {} as {}, http {}, shutdown timeout {}\n",
                     d.state_path().string(), to_string(d.log.level), to_string(d.log.format),
                     d.http_listen.empty() ? std::string("off") : d.http_listen,
                     format_duration(d.shutdown_timeout));
  out += fmt::format("  memory: checkpoint write buffer {}, block cache {}\n",
                     format_byte_size(d.memory.checkpoint_write_buffer),
                     format_byte_size(d.memory.checkpoint_block_cache));
  out += fmt::format("kafka: brokers {}, topic prefix {}, stall timeout {}\n", pair.kafka.brokers,
                     pair.kafka.topic_prefix, format_duration(pair.kafka.stall_timeout));
  out += fmt::format("  memory: consumer queue {}, producer queue {}\n",
                     format_byte_size(pair.kafka.memory.consumer_queue),
                     format_byte_size(pair.kafka.memory.producer_queue));
  // Names only: which librdkafka values are secrets is not for us to guess (sasl.*, ssl.*,
  // sasl.oauthbearer.config, plugin settings, …), so none is printed.
  if (!pair.kafka.properties.empty()) {
    std::vector<std::string> names;
    for (const auto& [key, value] : pair.kafka.properties) names.push_back(key);
    out += fmt::format("  properties (values not shown): {}\n", list(names));
  }
  if (pair.source) describe_source(pair, *pair.source, out);
  if (pair.sink) describe_sink(pair, *pair.sink, out);
  return out;
}

}  // namespace modsync::config
