#pragma once
// The durability rule, in one place (docs/architecture.md, "Durability").

#include <compare>
#include <cstdint>
#include <optional>
#include <vector>

#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/common/lsn.hpp"

namespace modsync::capture {

/// One event handed to Kafka: the opaque given to the producer and returned with its delivery
/// report. Numbers only grow, across runs too, so a late report of an earlier run's producer
/// never matches an event of this one.
struct EventSeq {
  uint64_t value = 0;
  friend constexpr auto operator<=>(EventSeq, EventSeq) = default;
};

/// One snapshot chunk of this run (1, 2, …): never an LSN, never confused with one.
struct ChunkToken {
  uint64_t value = 0;
  friend constexpr auto operator<=>(ChunkToken, ChunkToken) = default;
};

/// What a capture received, what Kafka acknowledged, what RocksDB recorded, and the one LSN
/// that may be confirmed to PostgreSQL.
///
/// Every event handed to Kafka gets a sequence number from add(); Kafka acknowledges events
/// in any order across partitions. A unit of work ends at the last event added before it: a
/// source transaction or a non-transactional message (end_unit, with the LSN that confirms
/// it), or a snapshot chunk (end_chunk). The tracker only moves past an event once it and
/// every event before it are acknowledged:
///  - acked_position(): the position of the last event of the longest acknowledged prefix;
///  - a unit is complete once its last event is in that prefix;
///  - a delivery error (failed()) stops the prefix at that event for good: nothing at or
///    after it counts as acknowledged until forget_in_flight() (a new run, from the checkpoint).
/// checkpoint_due() says what to record: the acked position and the LSN to confirm, which is
/// the newest of the recorded one, the last complete unit's, and a keepalive's WAL end seen
/// while nothing was in flight or open (the idle rule: PostgreSQL sent everything before it
/// and Kafka holds all of it). The caller records it in RocksDB, calls recorded(), and only
/// then sends confirmed() to PostgreSQL, so a confirmed LSN never covers an event that could
/// still be lost.
/// Memory is bounded by the events in flight (the producer queue). Not thread-safe.
class DurabilityTracker {
 public:
  /// Registers an event about to be produced; `position` nullopt for events that hold back
  /// later units but never move acked_position() (schema and transaction metadata, snapshot
  /// rows, a delete whose tombstone carries the position).
  EventSeq add(std::optional<Position> position);
  /// Kafka acknowledged event `seq`. Unknown or repeated seqs are ignored.
  void acked(EventSeq seq);
  /// Kafka reported a delivery error for event `seq`: the prefix never passes it in this run.
  void failed(EventSeq seq);
  bool has_failure() const { return failure_.has_value(); }

  /// Ends a streamed unit at the last added event (complete at once if nothing is pending).
  /// `confirm_at`: the LSN PostgreSQL may be told once it is complete (a commit's end LSN).
  void end_unit(Lsn confirm_at);
  /// Ends a snapshot chunk at the last added event.
  void end_chunk(ChunkToken token);
  /// The newest chunk whose events, and every event before them, Kafka acknowledged.
  std::optional<ChunkToken> completed_chunk() const { return completed_chunk_; }

  /// A WAL position the server sent data from (a data frame's start, a keepalive's end).
  void received(Lsn lsn);
  /// A keepalive's WAL end. `in_transaction`: a transaction's messages are being received
  /// (Begin seen, Commit not yet), so its end is not covered.
  void keepalive(Lsn wal_end, bool in_transaction);
  Lsn received_lsn() const { return received_; }

  /// Starts from what RocksDB recorded (nullopt: nothing yet).
  void resume(const std::optional<checkpoint::SourceCheckpoint>& saved);
  /// Events at or before this position are already in Kafka (the recorded acked position).
  std::optional<Position> resume_after() const;

  /// The source checkpoint to record now, or nullopt when it would not change what is
  /// recorded. `in_transaction` as for keepalive().
  std::optional<checkpoint::SourceCheckpoint> checkpoint_due(bool in_transaction,
                                                             int64_t now_unix_ms) const;
  /// RocksDB holds `saved` (the value checkpoint_due() returned).
  void recorded(const checkpoint::SourceCheckpoint& saved);
  /// The LSN recorded as confirmed: the only one that may be sent to PostgreSQL.
  Lsn confirmed() const { return confirmed_; }

  std::optional<Position> acked_position() const { return acked_position_; }
  /// Events added but not yet acknowledged (or acknowledged behind an unacknowledged one).
  size_t pending() const { return entries_.size(); }

  /// Forgets the events in flight and their units (after a failed run, or once a snapshot is
  /// done); what was received and recorded stays.
  void forget_in_flight();

 private:
  struct Entry {
    std::optional<Position> position;
    bool acked = false;
    std::optional<Lsn> unit_end;
    std::optional<ChunkToken> chunk_end;
  };
  /// A FIFO of entries in one power-of-two array reused from event to event: a std::deque
  /// allocated (and freed) a node every 8 events, about 2% of the daemon's CPU in a snapshot
  /// (docs/benchmarks.md). It grows to the most events in flight (bounded by the producer
  /// queue) and keeps that capacity.
  class Entries {
   public:
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    Entry& operator[](size_t i) { return slots_[(head_ + i) & (slots_.size() - 1)]; }
    Entry& front() { return (*this)[0]; }
    Entry& back() { return (*this)[size_ - 1]; }
    void push_back(Entry e);
    void pop_front() {
      front() = Entry{};
      head_ = (head_ + 1) & (slots_.size() - 1);
      --size_;
    }
    void clear();

   private:
    std::vector<Entry> slots_;
    size_t head_ = 0;
    size_t size_ = 0;
  };

  void advance();

  Entries entries_;
  uint64_t base_seq_ = 0;  ///< sequence number of entries_.front()
  uint64_t next_seq_ = 0;
  std::optional<EventSeq> failure_;
  std::optional<Position> acked_position_;
  std::optional<Lsn> completed_unit_;
  std::optional<ChunkToken> completed_chunk_;

  Lsn received_;
  Lsn idle_lsn_;  ///< a keepalive's WAL end seen while nothing was in flight
  std::optional<Position> recorded_acked_;
  Lsn confirmed_;
};

}  // namespace modsync::capture
