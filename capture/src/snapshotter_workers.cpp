#include "snapshotter_workers.hpp"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "modsync/common/error.hpp"
#include "modsync/pg/pg_connection.hpp"

namespace modsync::capture {

namespace {

using event::ColumnValue;

/// Rows per piece: small enough that the emitting thread streams a range while it is read,
/// large enough that the hand-over (a lock, a notify) costs nothing per row.
constexpr size_t kPieceRows = 512;

/// The worker's mapper host: collects the events of a snapshot row into a piece.
class PieceHost final : public ChangeMapper::Host {
 public:
  EncodedPiece* piece = nullptr;
  const event::TableSchema* find_table(uint32_t) override { return nullptr; }
  const event::TableSchema& register_relation(uint32_t, std::string_view, std::string_view,
                                              std::vector<event::Column>, Lsn) override {
    fail("snapshot worker: a relation cannot be registered here");
  }
  event::RowImage fill_unchanged(const event::TableSchema&, const pgsource::Begin&,
                                 event::RowImage after) override {
    return after;
  }
  void emit(const MappedEvent& e) override { piece->add(e); }
  void end_unit(Lsn) override {}
};

uint32_t append(std::string& bytes, std::string_view s) {
  const auto at = static_cast<uint32_t>(bytes.size());
  bytes.append(s);
  return at;
}

}  // namespace

void EncodedPiece::clear() {
  bytes.clear();
  events.clear();
  headers.clear();
}

void EncodedPiece::add(const MappedEvent& e) {
  Event out;
  out.has_key = e.has_key;
  out.key_size = static_cast<uint32_t>(e.key.size());
  out.key_at = append(bytes, e.key);
  out.value_size = static_cast<uint32_t>(e.value.size());
  out.value_at = append(bytes, e.value);
  out.header_at = static_cast<uint32_t>(headers.size());
  out.header_count = static_cast<uint32_t>(e.headers.size());
  for (const auto& h : e.headers) {
    headers.push_back(
        Header{h.name, append(bytes, h.value), static_cast<uint32_t>(h.value.size())});
  }
  events.push_back(out);
}

size_t snapshot_worker_count(uint64_t configured) {
  if (configured > 0) return configured;
  const unsigned cores = std::thread::hardware_concurrency();
  return std::clamp<size_t>(cores, 1, 4);
}

SnapshotWorkerPool::SnapshotWorkerPool(size_t workers, const config::EffectiveDsn& dsn,
                                       std::string context, std::string snapshot_name,
                                       const ChangeMapper& mapper, size_t buffer_bytes)
    : workers_(std::max<size_t>(workers, 1)),
      dsn_(dsn),
      context_(std::move(context)),
      snapshot_name_(std::move(snapshot_name)),
      mapper_(mapper),
      buffer_bytes_(buffer_bytes) {}

SnapshotWorkerPool::~SnapshotWorkerPool() {
  stop();
}

void SnapshotWorkerPool::start() {
  for (size_t i = 0; i < workers_; ++i) threads_.emplace_back([this, i] { work(i); });
  std::unique_lock lock(mu_);
  taken_cv_.wait(lock, [&] { return ready_ == workers_ || error_; });
  if (error_) std::rethrow_exception(error_);
}

void SnapshotWorkerPool::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void SnapshotWorkerPool::submit(SnapshotTask task) {
  {
    std::lock_guard lock(mu_);
    submitted_ = task.seq;
    outputs_[task.seq];
    tasks_.push_back(std::move(task));
  }
  work_cv_.notify_one();
}

size_t SnapshotWorkerPool::outstanding() const {
  std::lock_guard lock(mu_);
  return submitted_ + 1 - head_;
}

SnapshotWorkerPool::Taken SnapshotWorkerPool::take(int timeout_ms) {
  Taken out;
  std::unique_lock lock(mu_);
  auto it = outputs_.find(head_);
  if (it == outputs_.end()) return out;
  taken_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                     [&] { return error_ || !it->second.pieces.empty() || it->second.done; });
  if (error_) std::rethrow_exception(error_);
  for (EncodedPiece* p : it->second.pieces) {
    out.pieces.push_back(p);
    buffered_ -= std::min(buffered_, p->bytes.size());
  }
  it->second.pieces.clear();
  if (it->second.done) {
    out.done = true;
    out.rows = it->second.rows;
    outputs_.erase(it);
    ++head_;
  }
  lock.unlock();
  work_cv_.notify_all();
  return out;
}

void SnapshotWorkerPool::recycle(std::vector<EncodedPiece*>& pieces) {
  std::lock_guard lock(mu_);
  for (EncodedPiece* p : pieces) {
    p->clear();
    free_.push_back(p);
  }
  pieces.clear();
}

EncodedPiece* SnapshotWorkerPool::free_piece() {
  std::lock_guard lock(mu_);
  if (!free_.empty()) {
    EncodedPiece* p = free_.back();
    free_.pop_back();
    return p;
  }
  all_pieces_.push_back(std::make_unique<EncodedPiece>());
  return all_pieces_.back().get();
}

void SnapshotWorkerPool::publish(uint64_t seq, EncodedPiece*& piece, bool done, uint64_t rows) {
  {
    std::unique_lock lock(mu_);
    // Ahead of the emitting thread, a worker waits for buffer space; the range being taken
    // never does.
    work_cv_.wait(lock, [&] { return stopping_ || seq == head_ || buffered_ < buffer_bytes_; });
    if (stopping_) return;
    Output& o = outputs_[seq];
    if (piece && !piece->events.empty()) {
      buffered_ += piece->bytes.size();
      o.pieces.push_back(piece);
      piece = nullptr;
    }
    o.done = done;
    o.rows = rows;
  }
  taken_cv_.notify_all();
}

void SnapshotWorkerPool::work(size_t index) {
  try {
    pg::PgConnection conn =
        pg::PgConnection::connect(dsn_, pg::PgConnection::Mode::kRegular,
                                  context_ + " snapshot worker " + std::to_string(index + 1));
    pgsource::SnapshotReader reader(conn, snapshot_name_);
    ChangeMapper mapper(mapper_);
    {
      std::lock_guard lock(mu_);
      ++ready_;
    }
    taken_cv_.notify_all();
    for (;;) {
      SnapshotTask task;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (stopping_) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      read_task(reader, mapper, task);
    }
  } catch (...) {
    {
      std::lock_guard lock(mu_);
      if (!error_) error_ = std::current_exception();
      stopping_ = true;
    }
    taken_cv_.notify_all();
    work_cv_.notify_all();
  }
}

void SnapshotWorkerPool::read_task(pgsource::SnapshotReader& reader, ChangeMapper& mapper,
                                   const SnapshotTask& task) {
  const event::TableSchema& schema = *task.schema;
  const size_t columns = schema.columns.size();
  PieceHost host;
  host.piece = free_piece();
  event::SourceInfo source;
  source.commit_time_ms = task.ts_ms;
  source.snapshot_table = task.table_ordinal;
  uint64_t rows = 0;
  // The final range of a snapshot holds back one row (copied), so its last carries "last".
  std::vector<std::string> held;
  std::vector<ColumnValue> held_row;
  uint64_t held_ordinal = 0;
  bool holding = false;
  auto encode = [&](event::RowImage row, uint64_t ordinal, event::SnapshotMarker marker) {
    // Each snapshot row has its own position, so a keyless projection can tell a row re-sent
    // after a crash from a new one.
    source.position =
        Position{task.point, static_cast<uint32_t>(std::min<uint64_t>(ordinal, UINT32_MAX))};
    source.snapshot = marker;
    source.snapshot_row = ordinal;
    mapper.snapshot_row(schema, row, source, task.ts_ms, host);
    if (host.piece->events.size() >= kPieceRows) {
      publish(task.seq, host.piece, false, rows);
      if (!host.piece) host.piece = free_piece();
    }
  };
  reader.begin_range(*task.table, schema.columns, task.range);
  while (const std::vector<ColumnValue>* values = reader.next_row()) {
    const uint64_t ordinal = task.dense_ordinals
                                 ? task.row_base + rows
                                 : pgsource::ctid_ordinal((*values)[columns].data, task.block_size);
    ++rows;
    const event::RowImage row(values->data(), columns);
    if (!task.last_of_snapshot) {
      encode(row, ordinal, event::SnapshotMarker::kTrue);
    } else {
      if (holding) encode(held_row, held_ordinal, event::SnapshotMarker::kTrue);
      held.resize(columns);
      held_row.resize(columns);
      for (size_t c = 0; c < columns; ++c) {
        held[c].assign(row[c].data);
        held_row[c] = ColumnValue{row[c].kind, {}};
      }
      for (size_t c = 0; c < columns; ++c) held_row[c].data = held[c];
      held_ordinal = ordinal;
      holding = true;
    }
    if (stopping_.load(std::memory_order_relaxed)) return;
  }
  if (holding) encode(held_row, held_ordinal, event::SnapshotMarker::kLast);
  publish(task.seq, host.piece, true, rows);
  if (host.piece) {
    host.piece->clear();
    std::lock_guard lock(mu_);
    free_.push_back(host.piece);
  }
}

}  // namespace modsync::capture
