#pragma once
// The configuration model: one YAML file describes one module pair (an optional capture source
// and an optional apply sink sharing a daemon id). docs/configuration.md documents every key.
//
// All structs are plain values with the documented defaults; the loaders fill them and have
// already validated every field, so consumers need not re-check names, ranges or templates.

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/common/op.hpp"
#include "modsync/config/byte_size.hpp"
#include "modsync/config/config_error.hpp"
#include "modsync/config/dsn.hpp"
#include "modsync/config/duration.hpp"
#include "modsync/config/interpolation.hpp"

namespace modsync::config {

using namespace std::chrono_literals;

/// Where a value was written, for errors raised after loading (e.g. by the sink).
struct Location {
  std::string file;
  int line = 0;    ///< 1-based; 0 when unknown
  int column = 0;  ///< 1-based; 0 when unknown

  friend bool operator==(const Location&, const Location&) = default;
};

/// A schema-qualified table name, exactly as in the catalog (case-sensitive).
struct TableName {
  std::string schema = "public";
  std::string table;

  /// "schema.table"
  std::string qualified() const { return schema + "." + table; }
  friend auto operator<=>(const TableName&, const TableName&) = default;
};

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };
enum class LogFormat { kLogfmt, kJson };
enum class SnapshotMode { kInitial, kNever };
/// How change events sit in a Kafka record (docs/events.md, "Envelope forms").
enum class KafkaEnvelope { kPlain, kSchemaPayload };
/// How column values are written (docs/events.md, "Value modes").
enum class ValueMode { kModsync, kDebezium };
enum class OnDelete { kDelete, kSoft, kIgnore };
enum class UnknownVersion { kPause, kDeadLetter };

using modsync::Op;  ///< `ops:` lists its letters (all but kMessage)

/// One value of an enum and the name the YAML writes for it.
template <typename Enum>
struct EnumName {
  Enum value;
  std::string_view name;
};

/// The names of each enum's values, written once: the loader reads them (in this order in its
/// messages), to_string() and describe() print them.
inline constexpr std::array<EnumName<LogLevel>, 5> kLogLevelNames = {{{LogLevel::kTrace, "trace"},
                                                                      {LogLevel::kDebug, "debug"},
                                                                      {LogLevel::kInfo, "info"},
                                                                      {LogLevel::kWarn, "warn"},
                                                                      {LogLevel::kError, "error"}}};
inline constexpr std::array<EnumName<LogFormat>, 2> kLogFormatNames = {
    {{LogFormat::kLogfmt, "logfmt"}, {LogFormat::kJson, "json"}}};
inline constexpr std::array<EnumName<SnapshotMode>, 2> kSnapshotModeNames = {
    {{SnapshotMode::kInitial, "initial"}, {SnapshotMode::kNever, "never"}}};
inline constexpr std::array<EnumName<KafkaEnvelope>, 2> kKafkaEnvelopeNames = {
    {{KafkaEnvelope::kPlain, "plain"}, {KafkaEnvelope::kSchemaPayload, "schema_payload"}}};
inline constexpr std::array<EnumName<ValueMode>, 2> kValueModeNames = {
    {{ValueMode::kModsync, "modsync"}, {ValueMode::kDebezium, "debezium"}}};
inline constexpr std::array<EnumName<OnDelete>, 3> kOnDeleteNames = {
    {{OnDelete::kDelete, "delete"}, {OnDelete::kSoft, "soft"}, {OnDelete::kIgnore, "ignore"}}};
inline constexpr std::array<EnumName<UnknownVersion>, 2> kUnknownVersionNames = {
    {{UnknownVersion::kPause, "pause"}, {UnknownVersion::kDeadLetter, "dead_letter"}}};
inline constexpr std::array<EnumName<Op>, 5> kOpNames = {{{Op::kCreate, "c"},
                                                          {Op::kUpdate, "u"},
                                                          {Op::kDelete, "d"},
                                                          {Op::kRead, "r"},
                                                          {Op::kTruncate, "t"}}};

/// The name of `value` in its table; "?" when the table lacks it.
template <typename Enum, size_t N>
constexpr std::string_view name_in(const std::array<EnumName<Enum>, N>& names, Enum value) {
  for (const auto& n : names) {
    if (n.value == value) return n.name;
  }
  return "?";
}

std::string_view to_string(LogLevel level);
std::string_view to_string(LogFormat format);
std::string_view to_string(SnapshotMode mode);
std::string_view to_string(KafkaEnvelope envelope);
std::string_view to_string(ValueMode mode);
std::string_view to_string(OnDelete mode);
std::string_view to_string(UnknownVersion mode);
std::string_view to_string(Op op);

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kLogfmt;
};

/// The daemon's own memory budgets (docs/configuration.md, "Memory budgets").
struct DaemonMemoryConfig {
  /// RocksDB memtable of the checkpoint store; it holds two at most (one being flushed).
  uint64_t checkpoint_write_buffer = 1 * kMiB;
  /// RocksDB block cache of the checkpoint store.
  uint64_t checkpoint_block_cache = 1 * kMiB;
};

struct DaemonConfig {
  std::string id;  ///< [a-z0-9_-]+; names the slot default, consumer group and state directory
  std::filesystem::path state_dir = "/var/lib/modsync";
  LogConfig log;
  std::string http_listen = "127.0.0.1:9187";  ///< "" disables the HTTP endpoint
  Duration shutdown_timeout = 30s;
  DaemonMemoryConfig memory;

  /// Where this pair's RocksDB lives: <state_dir>/<id>.
  std::filesystem::path state_path() const { return state_dir / id; }
};

/// Memory budgets of the Kafka clients (docs/configuration.md, "Memory budgets").
struct KafkaMemoryConfig {
  /// Messages each consumer prefetches ahead of its sink (queued.max.messages.kbytes); it also
  /// bounds one fetch response (librdkafka caps fetch.max.bytes at it), which lands whole.
  uint64_t consumer_queue = 4 * kMiB;
  /// Messages each producer holds unacknowledged (queue.buffering.max.kbytes); produce()
  /// waits while it is full.
  uint64_t producer_queue = 16 * kMiB;
};

struct KafkaConfig {
  std::string brokers;  ///< bootstrap.servers
  std::string topic_prefix = "modsync";
  /// A producer whose events wait this long without a delivery report, or a projection whose
  /// broker does not answer for this long, is reported stalled (state, /readyz, log, metrics).
  Duration stall_timeout = 10s;
  /// plain: key and value are today's JSON; schema_payload: each is wrapped as
  /// {"schema": <Kafka Connect schema>, "payload": ...} for JsonConverter schemas.enable=true.
  KafkaEnvelope envelope = KafkaEnvelope::kPlain;
  KafkaMemoryConfig memory;
  /// librdkafka passthrough; never contains keys modsync sets itself (see owned_kafka_property).
  std::map<std::string, std::string> properties;
};

struct SourceConfig {
  std::string module;  ///< [a-z0-9_]+
  /// As written (after interpolation). May contain a password: print only via redact_dsn().
  std::string dsn;
  std::optional<std::filesystem::path> password_file;  ///< resolved against the file's folder
  /// What to connect with: `dsn` and the password_file's contents when one is set.
  /// Contains the password: never print it.
  EffectiveDsn effective_dsn;
  std::vector<TableName> tables;  ///< non-empty, no duplicates, in file order
  std::string slot;               ///< [a-z0-9_]{1,63}
  std::string publication;        ///< [a-z0-9_]{1,63}
  SnapshotMode snapshot = SnapshotMode::kInitial;
  uint64_t snapshot_chunk_rows = 10000;
  /// Source connections reading a snapshot in parallel; 0 = min(4, cores) (snapshot_workers()).
  uint64_t snapshot_workers = 0;
  std::string topic = "{module}.{schema}.{table}";  ///< see topic_for()
  std::string transaction_topic;                    ///< "" = no transaction metadata events
  /// Logical-message prefixes to publish; nullopt = all, empty = none.
  std::optional<std::vector<std::string>> message_prefixes;
  std::string message_topic = "{module}.messages";
  Duration heartbeat_interval = 10s;  ///< 0 disables heartbeats
  Duration status_interval = 1s;      ///< standby status update interval, > 0
  /// After each delete event, a tombstone: the same key with a null value, so a compacted
  /// topic drops the deleted key (Debezium's tombstones.on.delete). Keyless tables get none.
  bool tombstones_on_delete = true;
  /// modsync: today's value encodings; debezium: Debezium's defaults (time.precision.mode=
  /// adaptive, decimal.handling.mode=precise).
  ValueMode value_mode = ValueMode::kModsync;
};

/// Per-event-version adjustments applied before projecting an event of that version.
struct VersionRule {
  std::map<std::string, std::string> rename;    ///< column name in that version → current name
  std::map<std::string, std::string> defaults;  ///< column → value when the version lacks it
  friend bool operator==(const VersionRule&, const VersionRule&) = default;
};

struct ColumnMapping {
  std::string source;
  std::string target;
  friend bool operator==(const ColumnMapping&, const ColumnMapping&) = default;
};

/// A source table addressed as module.schema.table.
struct SourceTable {
  std::string module;
  TableName table;
  friend auto operator<=>(const SourceTable&, const SourceTable&) = default;
};

struct Projection {
  /// Exactly one of `from` and `topic` is set.
  std::optional<SourceTable> from;
  std::string topic;
  TableName to;
  /// nullopt = every column under its own name.
  std::optional<std::vector<ColumnMapping>> columns;
  std::string where;  ///< "" = every row; parsed by the sink
  std::vector<Op> ops = {Op::kCreate, Op::kUpdate, Op::kDelete, Op::kRead, Op::kTruncate};
  OnDelete on_delete = OnDelete::kDelete;
  std::string soft_delete_column;  ///< set exactly when on_delete is kSoft
  bool create_table = false;
  UnknownVersion unknown_version = UnknownVersion::kPause;
  std::map<uint32_t, VersionRule> versions;
  Location location;  ///< of the projection's entry in the file

  bool applies_to(Op op) const;
};

struct SinkConfig {
  std::string module;  ///< [a-z0-9_]+
  std::string dsn;     ///< as written; print only via redact_dsn()
  std::optional<std::filesystem::path> password_file;
  EffectiveDsn effective_dsn;  ///< contains the password: never print it
  uint64_t batch_rows = 5000;
  /// A batch closes when it holds batch_rows events or this many bytes of them (keys and
  /// values as on Kafka), whichever comes first. A projection holds two batches at most.
  uint64_t batch_bytes = 8 * kMiB;
  /// How long a batch waits to fill: every event of a steady stream waits up to this long (a
  /// backlog fills batch_rows first). 100 ms gave p99 ~700 ms at 20k rows/s (make bench
  /// apply_latency); 10 ms gave ~140 ms at no throughput cost (apply_throughput).
  Duration batch_time = 10ms;
  /// Scale-out (docs/scaling.md): when set, each projection joins the Kafka consumer group
  /// `{group}.{schema}.{table}` and applies the partitions the group gives it, so several
  /// daemons running this file share them. "" (default): one daemon applies every partition.
  std::string group;
  /// Sink connections per projection (docs/scaling.md): its partitions are spread over them,
  /// each with its own consumer and transactions. 0 (default) = min(partitions, cores / the
  /// sink's projections (at least 1), 4), or 1 with `group` (apply_worker_count).
  uint64_t workers = 0;
  std::vector<Projection> projections;  ///< non-empty
};

/// One module pair: the contents of one file. At least one of source and sink is present.
struct PairConfig {
  std::filesystem::path file;  ///< the file it was loaded from
  DaemonConfig daemon;
  KafkaConfig kafka;
  std::optional<SourceConfig> source;
  std::optional<SinkConfig> sink;
};

/// Loads and validates one file, reading the environment through `env` for ${VAR} and
/// password files from disk. Throws ConfigError listing every problem in the file.
PairConfig load_file(const std::filesystem::path& file, const EnvLookup& env = process_env());

/// Loads a file, or every *.yaml / *.yml file directly inside a directory (sorted by file name,
/// hidden files skipped). Daemon ids must be unique across the directory. Throws one
/// ConfigError listing the problems of all files.
std::vector<PairConfig> load_path(const std::filesystem::path& path,
                                  const EnvLookup& env = process_env());

/// A multi-line human summary of what was understood, with passwords redacted and Kafka
/// properties by name only; what `modsync validate` prints.
std::string describe(const PairConfig& pair);

/// Expands the source's topic template for one table: {module} {schema} {table} {prefix}.
std::string topic_for(const SourceConfig& source, std::string_view prefix, std::string_view schema,
                      std::string_view table);

/// The source's transaction metadata topic ({module} {prefix} expanded); "" when disabled.
std::string transaction_topic_for(const SourceConfig& source, std::string_view prefix);

/// The source's logical-message topic ({module} {prefix} expanded).
std::string message_topic_for(const SourceConfig& source, std::string_view prefix);

/// The topic a projection consumes: its explicit topic, else its `from` table expanded with
/// the pair's source template when the source is that module, else the default template
/// "{module}.{schema}.{table}".
std::string projection_topic(const PairConfig& pair, const Projection& projection);

/// Why a librdkafka property may not be set in `kafka.properties` (modsync sets it itself);
/// empty when the key is free to set.
std::string_view owned_kafka_property(std::string_view key);

}  // namespace modsync::config
