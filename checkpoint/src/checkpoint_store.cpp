#include "modsync/checkpoint/checkpoint_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "modsync/common/error.hpp"
#include "modsync/common/time.hpp"
#include "value_codec.hpp"

namespace modsync::checkpoint {
namespace {

constexpr std::string_view kFormatKey = "modsync/format";
constexpr std::string_view kFormat = "1";
constexpr std::string_view kSourceKey = "v1/source";
constexpr std::string_view kSchemaPrefix = "v1/schema/";
constexpr std::string_view kSnapshotPrefix = "v1/snapshot/";
constexpr std::string_view kSinkPrefix = "v1/sink/";
constexpr std::string_view kLockFile = "MODSYNC.pid";

std::string table_key(std::string_view prefix, std::string_view schema, std::string_view table) {
  std::string key(prefix);
  key.append(schema);
  key.push_back('\0');
  key.append(table);
  return key;
}

std::string schema_table_prefix(std::string_view schema, std::string_view table) {
  std::string key = table_key(kSchemaPrefix, schema, table);
  key.push_back('\0');
  return key;
}

std::string schema_key(const SchemaVersion& v) {
  std::string key = schema_table_prefix(v.schema, v.table);
  append_be32(key, v.version);
  return key;
}

std::string sink_group_prefix(std::string_view group) {
  std::string key(kSinkPrefix);
  key.append(group);
  key.push_back('\0');
  return key;
}

std::string encode_source(const SourceCheckpoint& s) {
  ValueWriter w('S');
  w.u64(s.acked.commit_lsn.value());
  w.u32(s.acked.index);
  w.u64(s.confirmed.value());
  w.i64(s.updated_unix_ms);
  return w.take();
}

SourceCheckpoint decode_source(std::string_view value, std::string_view key) {
  ValueReader r(value, 'S', printable_key(key));
  SourceCheckpoint s;
  s.acked.commit_lsn = Lsn{r.u64("acked.commit_lsn")};
  s.acked.index = r.u32("acked.index");
  s.confirmed = Lsn{r.u64("confirmed")};
  s.updated_unix_ms = r.i64("updated_unix_ms");
  r.finish();
  return s;
}

std::string encode_schema(const SchemaVersion& v) {
  ValueWriter w('V');
  w.str(v.schema);
  w.str(v.table);
  w.u32(v.version);
  w.str(v.columns_json);
  w.u64(v.since.value());
  return w.take();
}

SchemaVersion decode_schema(std::string_view value, std::string_view key) {
  ValueReader r(value, 'V', printable_key(key));
  SchemaVersion v;
  v.schema = r.str("schema");
  v.table = r.str("table");
  v.version = r.u32("version");
  v.columns_json = r.str("columns_json");
  v.since = Lsn{r.u64("since")};
  r.finish();
  return v;
}

std::string encode_progress(const SnapshotProgress& p) {
  ValueWriter w('P');
  w.str(p.schema);
  w.str(p.table);
  w.str(p.last_key_json);
  w.u64(p.rows);
  w.u8(p.done ? 1 : 0);
  w.u64(p.consistent_point.value());
  w.str(p.snapshot_name);
  w.u64(p.whole_at.value());
  w.str(p.membership);
  w.u8(p.truncate_first ? 1 : 0);
  return w.take();
}

SnapshotProgress decode_progress(std::string_view value, std::string_view key) {
  ValueReader r(value, 'P', printable_key(key));
  SnapshotProgress p;
  p.schema = r.str("schema");
  p.table = r.str("table");
  p.last_key_json = r.str("last_key_json");
  p.rows = r.u64("rows");
  p.done = r.boolean("done");
  p.consistent_point = Lsn{r.u64("consistent_point")};
  p.snapshot_name = r.str("snapshot_name");
  // Added later: records written before it lack the field (nothing known to be whole).
  if (!r.at_end()) p.whole_at = Lsn{r.u64("whole_at")};
  if (!r.at_end()) {
    p.membership = r.str("membership");
    p.truncate_first = r.boolean("truncate_first");
  }
  r.finish();
  return p;
}

std::string encode_offset(int64_t offset) {
  ValueWriter w('O');
  w.i64(offset);
  return w.take();
}

/// Topic and partition live in the key: <prefix> topic NUL u32be(partition).
SinkOffset decode_sink(std::string_view key, std::string_view prefix, std::string_view value) {
  const std::string_view rest = key.substr(prefix.size());
  const auto nul = rest.find('\0');
  if (nul == std::string_view::npos || rest.size() - nul - 1 != 4) {
    fail("checkpoint key {} is corrupt: expected topic, NUL and a 4-byte partition after {}",
         printable_key(key), printable_key(prefix));
  }
  ValueReader r(value, 'O', printable_key(key));
  SinkOffset o;
  o.topic = std::string(rest.substr(0, nul));
  o.partition = kafka::Partition{static_cast<int32_t>(read_be32(rest.substr(nul + 1)))};
  o.offset = kafka::Offset{r.i64("offset")};
  r.finish();
  return o;
}

}  // namespace

/// An exclusive flock on <db dir>/MODSYNC.pid, which holds the owner's pid. RocksDB's own LOCK
/// would refuse a second opener too, but it cannot say who holds it; and flock, unlike RocksDB's
/// fcntl lock, also conflicts within one process, so tests can exercise it.
class CheckpointStore::DirectoryLock {
 public:
  explicit DirectoryLock(const std::filesystem::path& dir) {
    const auto file = dir / kLockFile;
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      fail(
          "state dir {} is not writable: cannot create {}: {} — give the daemon's user write "
          "access to the state_dir",
          dir.string(), file.string(), std::strerror(errno));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string holder = read_holder();
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK) {
        fail(
            "state dir {} is in use by another modsync process ({}) — two daemons must not share "
            "a daemon.id",
            dir.string(), holder);
      }
      fail("state dir {}: cannot lock {}: {}", dir.string(), file.string(), std::strerror(err));
    }
    const std::string pid = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      fail("state dir {} is not writable: cannot write {}: {}", dir.string(), file.string(),
           std::strerror(err));
    }
  }
  ~DirectoryLock() {
    // Closing releases the flock; the pid file stays, a stale pid in it is harmless.
    if (fd_ >= 0) ::close(fd_);
  }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  std::string read_holder() const {
    char buf[32] = {};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    long pid = 0;
    if (n <= 0 || std::sscanf(buf, "%ld", &pid) != 1 || pid <= 0) return "pid unknown";
    if (pid == ::getpid()) return fmt::format("pid {}, this process", pid);
    return fmt::format("pid {}", pid);
  }

  int fd_ = -1;
};

Batch::Batch() : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
Batch::~Batch() = default;
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;

void Batch::put_source(const SourceCheckpoint& source) {
  batch_->Put(kSourceKey, encode_source(source));
  ++count_;
}

void Batch::put_schema_version(const SchemaVersion& version) {
  batch_->Put(schema_key(version), encode_schema(version));
  ++count_;
}

void Batch::put_snapshot_progress(const SnapshotProgress& progress) {
  batch_->Put(table_key(kSnapshotPrefix, progress.schema, progress.table),
              encode_progress(progress));
  ++count_;
}

void Batch::put_sink_offsets(std::string_view group, const std::vector<SinkOffset>& offsets) {
  const std::string prefix = sink_group_prefix(group);
  for (const auto& o : offsets) {
    std::string key = prefix + o.topic;
    key.push_back('\0');
    append_be32(key, static_cast<uint32_t>(o.partition.value));
    batch_->Put(key, encode_offset(o.offset.value));
    ++count_;
  }
}

void Batch::clear() {
  batch_->Clear();
  count_ = 0;
}

CheckpointStore::CheckpointStore(const std::filesystem::path& state_dir, std::string_view pair_id,
                                 const CheckpointStoreOptions& budget)
    : path_(state_dir / pair_id) {
  if (pair_id.empty() || pair_id.find('/') != std::string_view::npos || pair_id == "." ||
      pair_id == "..") {
    fail("invalid daemon pair id '{}' for the checkpoint store: it names a directory under {}",
         pair_id, state_dir.string());
  }
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  if (ec) {
    fail(
        "state dir {} is not writable: cannot create {}: {} — give the daemon's user write "
        "access to the state_dir",
        state_dir.string(), path_.string(), ec.message());
  }
  lock_ = std::make_unique<DirectoryLock>(path_);

  rocksdb::Options options;
  options.create_if_missing = true;
  options.keep_log_file_num = 4;
  // See CheckpointStoreOptions for why the memtable is small. The WAL is cut at four memtables,
  // so a log replay on start reads little.
  options.write_buffer_size = budget.write_buffer_bytes;
  options.max_write_buffer_number = 2;
  options.max_total_wal_size = 4 * budget.write_buffer_bytes;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(budget.block_cache_bytes);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status st = rocksdb::DB::Open(options, path_.string(), &raw);
  if (!st.ok()) {
    if (st.IsIOError() && st.ToString().find("lock") != std::string::npos) {
      fail(
          "state dir {} is in use by another modsync process (pid unknown: {}) — two daemons "
          "must not share a daemon.id",
          path_.string(), st.ToString());
    }
    fail("cannot open the checkpoint store in state dir {}: {}", path_.string(), st.ToString());
  }
  db_.reset(raw);

  const auto format = get(std::string(kFormatKey));
  if (!format) {
    rocksdb::WriteBatch batch;
    batch.Put(kFormatKey, kFormat);
    write(batch, "the format marker");
  } else if (*format != kFormat) {
    fail(
        "checkpoint store {} has format '{}'; this modsync reads format {} (was it written by a "
        "newer modsync? downgrades are not supported)",
        path_.string(), printable_key(*format), kFormat);
  }
}

CheckpointStore::~CheckpointStore() = default;
CheckpointStore::CheckpointStore(CheckpointStore&&) noexcept = default;
CheckpointStore& CheckpointStore::operator=(CheckpointStore&&) noexcept = default;

void CheckpointStore::write(rocksdb::WriteBatch& batch, std::string_view what, Durability durability) {
  rocksdb::WriteOptions wo;
  // A checkpoint that a crash can lose would make us confirm unsaved LSNs.
  wo.sync = durability == Durability::kSynced;
  const rocksdb::Status st = db_->Write(wo, &batch);
  if (!st.ok()) {
    fail("checkpoint store {}: writing {} failed: {}", path_.string(), what, st.ToString());
  }
}

std::optional<std::string> CheckpointStore::get(const std::string& key) const {
  std::string value;
  const rocksdb::Status st = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (st.IsNotFound()) return std::nullopt;
  if (!st.ok()) {
    fail("checkpoint store {}: reading key {} failed: {}", path_.string(), printable_key(key),
         st.ToString());
  }
  return value;
}

template <typename Fn>
void CheckpointStore::scan(std::string_view prefix, Fn&& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix)) break;
    fn(key, std::string_view(it->value().data(), it->value().size()));
  }
  if (!it->status().ok()) {
    fail("checkpoint store {}: scanning {} failed: {}", path_.string(), printable_key(prefix),
         it->status().ToString());
  }
}

void CheckpointStore::save_source(const SourceCheckpoint& source) {
  Batch b;
  b.put_source(source);
  write(*b.batch_, "the source checkpoint");
}

std::optional<SourceCheckpoint> CheckpointStore::load_source() const {
  auto value = get(std::string(kSourceKey));
  if (!value) return std::nullopt;
  return decode_source(*value, kSourceKey);
}

void CheckpointStore::save_schema_version(const SchemaVersion& version) {
  Batch b;
  b.put_schema_version(version);
  write(*b.batch_, "a schema version");
}

std::vector<SchemaVersion> CheckpointStore::load_schema_versions() const {
  std::vector<SchemaVersion> out;
  scan(kSchemaPrefix, [&](std::string_view key, std::string_view value) {
    out.push_back(decode_schema(value, key));
  });
  return out;
}

void CheckpointStore::save_snapshot_progress(const SnapshotProgress& progress) {
  Batch b;
  b.put_snapshot_progress(progress);
  write(*b.batch_, "snapshot progress");
}

std::optional<SnapshotProgress> CheckpointStore::load_snapshot_progress(
    std::string_view schema, std::string_view table) const {
  const std::string key = table_key(kSnapshotPrefix, schema, table);
  auto value = get(key);
  if (!value) return std::nullopt;
  return decode_progress(*value, key);
}

std::vector<SnapshotProgress> CheckpointStore::list_snapshot_progress() const {
  std::vector<SnapshotProgress> out;
  scan(kSnapshotPrefix, [&](std::string_view key, std::string_view value) {
    out.push_back(decode_progress(value, key));
  });
  return out;
}

void CheckpointStore::erase_snapshot_progress(std::string_view schema, std::string_view table) {
  rocksdb::WriteBatch batch;
  batch.Delete(table_key(kSnapshotPrefix, schema, table));
  write(batch, "the erasing of a table's snapshot progress");
}

void CheckpointStore::clear_snapshot_progress() {
  rocksdb::WriteBatch batch;
  scan(kSnapshotPrefix, [&](std::string_view key, std::string_view) {
    batch.Delete(rocksdb::Slice(key.data(), key.size()));
  });
  write(batch, "the clearing of snapshot progress");
}

void CheckpointStore::save_sink_offsets(std::string_view group,
                                        const std::vector<SinkOffset>& offsets) {
  Batch b;
  b.put_sink_offsets(group, offsets);
  // Not synced: apply resumes from the subscriber's modsync.offsets, committed with the rows;
  // this copy only feeds `modsync status`. The fsync per batch was about a seventh of the
  // applier thread's waits; a machine crash now shows an older offset until the next batch
  // (a process crash loses nothing: the write is in the OS's cache).
  write(*b.batch_, fmt::format("sink offsets of group {}", group), Durability::kCached);
}

std::vector<SinkOffset> CheckpointStore::load_sink_offsets(std::string_view group) const {
  std::vector<SinkOffset> out;
  const std::string prefix = sink_group_prefix(group);
  scan(prefix, [&](std::string_view key, std::string_view value) {
    out.push_back(decode_sink(key, prefix, value));
  });
  return out;
}

void CheckpointStore::commit(Batch& batch) {
  if (batch.empty()) return;
  write(*batch.batch_, fmt::format("a batch of {} records", batch.size()));
  batch.clear();
}

std::string CheckpointStore::describe() const {
  std::string out = fmt::format("checkpoint store {} (format {})\n", path_.string(), kFormat);
  // One iterator gives one consistent view of everything, even while other threads write.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  bool any = false;
  // Key order puts the source last; an operator wants it first.
  std::string source, schemas, snapshots, sinks, other;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    const std::string_view value(it->value().data(), it->value().size());
    if (key == kFormatKey) continue;
    any = true;
    try {
      if (key == kSourceKey) {
        const auto s = decode_source(value, key);
        source += fmt::format("source: acked {} confirmed {} updated {}\n", s.acked, s.confirmed,
                              format_rfc3339_ms(s.updated_unix_ms));
      } else if (key.starts_with(kSchemaPrefix)) {
        const auto v = decode_schema(value, key);
        schemas += fmt::format("schema: {}.{} v{} since {} columns {}\n", v.schema, v.table,
                               v.version, v.since, v.columns_json);
      } else if (key.starts_with(kSnapshotPrefix)) {
        const auto p = decode_progress(value, key);
        snapshots +=
            fmt::format("snapshot: {}.{} {} rows {} last key {} consistent point {} snapshot {}\n",
                        p.schema, p.table, p.done ? "done" : "in progress", p.rows,
                        p.last_key_json.empty() ? "(none)" : p.last_key_json, p.consistent_point,
                        p.snapshot_name.empty() ? "(none)" : p.snapshot_name);
      } else if (key.starts_with(kSinkPrefix)) {
        const auto group_end = key.find('\0', kSinkPrefix.size());
        const std::string_view group =
            key.substr(kSinkPrefix.size(), group_end == std::string_view::npos
                                               ? std::string_view::npos
                                               : group_end - kSinkPrefix.size());
        const auto o = decode_sink(key, sink_group_prefix(group), value);
        sinks += fmt::format("sink offset: group {} {}[{}] next offset {}\n", group, o.topic,
                             o.partition, o.offset);
      } else {
        other += fmt::format("unknown key {} ({} bytes)\n", printable_key(key), value.size());
      }
    } catch (const Error& e) {
      other += fmt::format("unreadable: {}\n", e.what());
    }
  }
  out += source + schemas + snapshots + sinks + other;
  if (!it->status().ok()) out += fmt::format("scan failed: {}\n", it->status().ToString());
  if (!any) out += "(empty)\n";
  return out;
}

}  // namespace modsync::checkpoint
