#pragma once
// The daemon's durable state: one RocksDB database per daemon pair, at <state_dir>/<pair id>.
//
// Threads: after construction, every const and non-const method of CheckpointStore may be called
// concurrently from any number of threads; each one is a single RocksDB read, iterator or atomic
// write, and RocksDB is thread-safe. A Batch is a plain value: fill it from one thread at a time.
// Construction and destruction must not race with any other call.
//
// Blocking: every write (save_*, clear_*, commit) returns only after RocksDB has synced its WAL
// (WriteOptions::sync), i.e. a few milliseconds; the daemon writes ~10 times a second. Reads hit
// memory or the local disk.
//
// Errors: opening throws modsync::Error (kFatal) naming the directory and the fix. A RocksDB
// read or write failure throws modsync::Error (kFatal): a disk that fails under us needs an
// operator. A value that cannot be decoded throws modsync::Error (kFatal) naming its key, the byte
// offset and the field.
//
// On-disk layout, format 1.
// Keys (all ASCII prefixes; NUL separates names, which PostgreSQL and Kafka never contain; fixed
// width integers are big-endian in keys so that byte order is numeric order):
//   "modsync/format"                                   -> ASCII "1"
//   "v1/source"                                        -> SourceCheckpoint
//   "v1/schema/" schema NUL table NUL u32be(version)    -> SchemaVersion
//   "v1/snapshot/" schema NUL table                     -> SnapshotProgress
//   "v1/sink/" group NUL topic NUL u32be(partition)     -> SinkOffset value
// Values: byte 0 is the value encoding version (1), byte 1 the record kind ('S' source, 'V' schema
// version, 'P' snapshot progress, 'O' sink offset), then the fields in order. Integers are
// little-endian fixed width; a string is u32 length then its bytes; a bool is one byte 0 or 1.
//   'S': u64 acked.commit_lsn, u32 acked.index, u64 confirmed, i64 updated_unix_ms
//   'V': str schema, str table, u32 version, str columns_json, u64 since
//   'P': str schema, str table, str last_key_json, u64 rows, bool done, u64 consistent_point,
//        str snapshot_name
//   'O': i64 offset
// A value must be consumed exactly: trailing bytes are corruption.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/common/kafka_position.hpp"
#include "modsync/common/lsn.hpp"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace modsync::checkpoint {

/// How far the source side has got. `acked` is the last event Kafka acknowledged; `confirmed` is
/// the LSN last confirmed to PostgreSQL (never ahead of `acked`).
struct SourceCheckpoint {
  Position acked;
  Lsn confirmed;
  int64_t updated_unix_ms = 0;

  friend bool operator==(const SourceCheckpoint&, const SourceCheckpoint&) = default;
};

/// One version of a table's shape; `since` is the LSN from which events use it.
struct SchemaVersion {
  std::string schema;
  std::string table;
  uint32_t version = 0;
  std::string columns_json;
  Lsn since;

  friend bool operator==(const SchemaVersion&, const SchemaVersion&) = default;
};

/// Progress of the initial snapshot of one table: resume after `last_key_json`.
struct SnapshotProgress {
  std::string schema;
  std::string table;
  std::string last_key_json;
  uint64_t rows = 0;
  bool done = false;
  Lsn consistent_point;
  std::string snapshot_name;
  /// The consistent point at which the snapshot read the whole table from its first row;
  /// zero when it resumed mid-table (rows before the resume key were read at an older point).
  /// Streamed changes of the table that committed before it are already in the snapshot.
  Lsn whole_at;
  /// The table's publication membership when the snapshot began (SourceCatalog::membership):
  /// when it changes (the table left the publication, partitions were attached or detached),
  /// events may be missing, so the capture takes the table's snapshot again.
  std::string membership;
  /// The next snapshot of the table first sends a snapshot truncate, so projections drop what
  /// they hold of it (set when its membership changed; cleared once that truncate was sent).
  bool truncate_first = false;

  friend bool operator==(const SnapshotProgress&, const SnapshotProgress&) = default;
};

/// The next Kafka offset a sink group has to apply for one topic partition.
struct SinkOffset {
  std::string topic;
  kafka::Partition partition{0};
  kafka::Offset offset{0};

  friend bool operator==(const SinkOffset&, const SinkOffset&) = default;
};

class CheckpointStore;

/// Writes collected for one atomic, durable commit (CheckpointStore::commit). Move-only value;
/// not thread-safe. Later puts of the same record in one batch win.
class Batch {
 public:
  Batch();
  ~Batch();
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  void put_source(const SourceCheckpoint& source);
  void put_schema_version(const SchemaVersion& version);
  void put_snapshot_progress(const SnapshotProgress& progress);
  void put_sink_offsets(std::string_view group, const std::vector<SinkOffset>& offsets);

  /// Number of puts so far.
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  void clear();

 private:
  friend class CheckpointStore;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  size_t count_ = 0;
};

/// RocksDB's memory budgets (daemon.memory in the configuration). A few hundred small keys,
/// each overwritten many times a second: RocksDB's defaults (a 64 MiB memtable, an 8 MiB block
/// cache) let every overwrite stay in memory until 64 MiB, so the daemon's RSS grew ~4 MiB a
/// minute (make soak). A 1 MiB memtable flushes every few minutes and compacts the old versions
/// away; reads hit the memtable or a tiny table.
struct CheckpointStoreOptions {
  size_t write_buffer_bytes = size_t{1} << 20;  ///< per memtable; two at most
  size_t block_cache_bytes = size_t{1} << 20;
};

/// Owns the open RocksDB database of one daemon pair and an exclusive lock on its directory.
/// Move-only; see the top of this file for threads, blocking and errors.
class CheckpointStore {
 public:
  /// Opens (creating if missing) <state_dir>/<pair_id>. Throws modsync::Error when the directory
  /// cannot be created or written, when another modsync process (or another CheckpointStore in
  /// this process) holds it, or when it was written in an unknown format.
  CheckpointStore(const std::filesystem::path& state_dir, std::string_view pair_id,
                  const CheckpointStoreOptions& options = {});
  ~CheckpointStore();
  CheckpointStore(CheckpointStore&&) noexcept;
  CheckpointStore& operator=(CheckpointStore&&) noexcept;
  CheckpointStore(const CheckpointStore&) = delete;
  CheckpointStore& operator=(const CheckpointStore&) = delete;

  void save_source(const SourceCheckpoint& source);
  std::optional<SourceCheckpoint> load_source() const;

  void save_schema_version(const SchemaVersion& version);
  /// Every stored version of every table, ordered by (schema, table) then version.
  std::vector<SchemaVersion> load_schema_versions() const;

  void save_snapshot_progress(const SnapshotProgress& progress);
  std::optional<SnapshotProgress> load_snapshot_progress(std::string_view schema,
                                                         std::string_view table) const;
  /// All tables' progress, ordered by (schema, table).
  std::vector<SnapshotProgress> list_snapshot_progress() const;
  /// Forgets one table's snapshot progress, so the capture takes its snapshot again.
  void erase_snapshot_progress(std::string_view schema, std::string_view table);
  /// Removes every table's snapshot progress in one atomic write. A save racing with it from
  /// another thread may survive or not.
  void clear_snapshot_progress();

  /// Records the offsets of the given partitions; other partitions of the group keep theirs.
  /// Not fsynced: the subscriber holds the offsets apply resumes from; this copy is for status.
  void save_sink_offsets(std::string_view group, const std::vector<SinkOffset>& offsets);
  /// The group's offsets, ordered by topic then partition; empty when none were saved.
  std::vector<SinkOffset> load_sink_offsets(std::string_view group) const;

  /// Applies every put of `batch` atomically and durably, then empties it.
  void commit(Batch& batch);

  /// A human-readable dump of everything stored (for `modsync checkpoint show`). Undecodable
  /// values are shown with their error instead of throwing.
  std::string describe() const;

 private:
  /// kSynced: fsynced before write returns, so a machine crash keeps it too.
  enum class Durability { kSynced, kCached };
  void write(rocksdb::WriteBatch& batch, std::string_view what,
             Durability durability = Durability::kSynced);
  std::optional<std::string> get(const std::string& key) const;
  template <typename Fn>
  void scan(std::string_view prefix, Fn&& fn) const;

  class DirectoryLock;

  std::filesystem::path path_;
  // Declared before db_ so that the database is closed before the lock is released.
  std::unique_ptr<DirectoryLock> lock_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace modsync::checkpoint
