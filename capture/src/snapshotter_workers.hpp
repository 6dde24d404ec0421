#pragma once
// The snapshot's reader threads: ranges of tables read with COPY over connections that share
// one exported snapshot, their rows encoded into events in parallel.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "change_mapper.hpp"
#include "modsync/config/dsn.hpp"
#include "modsync/event/event_headers.hpp"
#include "modsync/pgsource/snapshot_reader.hpp"

namespace modsync::capture {

/// Encoded snapshot events (op "r") of part of one range, in one byte buffer: what a worker
/// hands the emitting thread. Reused: no allocation per row once its buffers have grown.
struct EncodedPiece {
  struct Header {
    std::string_view name;  ///< a string literal (EventHeaders)
    uint32_t at = 0, size = 0;
  };
  struct Event {
    uint32_t key_at = 0, key_size = 0, value_at = 0, value_size = 0;
    uint32_t header_at = 0, header_count = 0;
    bool has_key = false;
  };
  std::string bytes;
  std::vector<Event> events;
  std::vector<Header> headers;

  void clear();
  /// Copies `event` (a snapshot row's) in.
  void add(const MappedEvent& event);
  std::string_view view(uint32_t at, uint32_t size) const { return {bytes.data() + at, size}; }
};

/// One range of a table, read by one worker; `seq` orders the ranges of a run.
struct SnapshotTask {
  uint64_t seq = 0;
  const pgsource::TableInfo* table = nullptr;
  const event::TableSchema* schema = nullptr;
  pgsource::SnapshotRange range;
  uint32_t table_ordinal = 0;
  /// With `dense_ordinals`: the snapshot ordinal of the range's first row (its rows are
  /// consecutive). Keyed tables, and keyless ones read in one range (a partitioned table's
  /// partitions repeat each other's ctids).
  uint64_t row_base = 0;
  bool dense_ordinals = false;
  /// Else (keyless tables): the heap's block size, for their rows' ordinals from their ctid
  /// (pgsource::ctid_ordinal).
  uint64_t block_size = 8192;
  bool last_of_snapshot = false;  ///< its last row carries snapshot "last"
  Lsn point;
  int64_t ts_ms = 0;
};

/// `workers` threads, each with its own source connection in a REPEATABLE READ transaction
/// importing `snapshot_name`, reading submitted ranges with COPY and encoding their rows with
/// their own copy of the mapper. The emitting thread takes the encoded pieces range by range,
/// in `seq` order (take()); workers ahead of it buffer up to `buffer_bytes` in all (the range
/// being taken is never held back, so they cannot deadlock).
/// Thread-safety: every public member is called from one thread, the owner's.
class SnapshotWorkerPool {
 public:
  SnapshotWorkerPool(size_t workers, const config::EffectiveDsn& dsn, std::string context,
                     std::string snapshot_name, const ChangeMapper& mapper, size_t buffer_bytes);
  /// Stops and joins the workers (their transactions end with their connections).
  ~SnapshotWorkerPool();
  SnapshotWorkerPool(const SnapshotWorkerPool&) = delete;
  SnapshotWorkerPool& operator=(const SnapshotWorkerPool&) = delete;

  /// Connects every worker and imports the snapshot; returns once all did (the exported
  /// snapshot may then go). Throws the first worker's error.
  void start();

  /// Queues a range; `task.seq` must be the next one (1, 2, …).
  void submit(SnapshotTask task);
  /// Ranges submitted and not yet fully taken.
  size_t outstanding() const;

  /// What take() returned: pieces of the range `seq` (to be given back with recycle()), and
  /// whether it is done (then `rows` holds its row count).
  struct Taken {
    std::vector<EncodedPiece*> pieces;
    bool done = false;
    uint64_t rows = 0;
  };
  /// Waits up to `timeout_ms` for pieces of the oldest range not yet done; throws a worker's
  /// error.
  Taken take(int timeout_ms);
  void recycle(std::vector<EncodedPiece*>& pieces);

  /// Stops the workers (an unfinished COPY is dropped with its connection) and joins them.
  void stop();

 private:
  struct Output {
    std::deque<EncodedPiece*> pieces;
    bool done = false;
    uint64_t rows = 0;
  };
  void work(size_t index);
  void read_task(pgsource::SnapshotReader& reader, ChangeMapper& mapper, const SnapshotTask& task);
  EncodedPiece* free_piece();
  /// Publishes `piece` of range `seq`; waits while the buffer is full and `seq` is not taken.
  void publish(uint64_t seq, EncodedPiece*& piece, bool done, uint64_t rows);

  const size_t workers_;
  const config::EffectiveDsn& dsn_;
  const std::string context_;
  const std::string snapshot_name_;
  const ChangeMapper& mapper_;
  const size_t buffer_bytes_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   ///< tasks, free buffer space, stop
  std::condition_variable taken_cv_;  ///< pieces, readiness, errors
  std::deque<SnapshotTask> tasks_;
  std::map<uint64_t, Output> outputs_;
  std::vector<std::unique_ptr<EncodedPiece>> all_pieces_;
  std::vector<EncodedPiece*> free_;
  uint64_t head_ = 1;  ///< the range take() serves
  uint64_t submitted_ = 0;
  size_t buffered_ = 0;  ///< bytes of pieces published and not taken, the head's excluded
  size_t ready_ = 0;
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

/// The number of snapshot workers `configured` (0: the default, min(4, cores)) stands for.
size_t snapshot_worker_count(uint64_t configured);

}  // namespace modsync::capture
