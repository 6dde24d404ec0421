#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "modsync/common/lsn.hpp"

namespace modsync::capture {

/// The durability rule, in one place (docs/architecture.md, "Durability").
///
/// Every event handed to Kafka gets a sequence number from add(); Kafka acknowledges events
/// in any order across partitions. A unit of work (a source transaction, a non-transactional
/// message, a snapshot chunk) ends with mark(token). The tracker reports:
///  - acked_position(): the position of the last event of the longest fully acknowledged prefix;
///  - completed_token(): the token of the last unit whose events, and every event before them,
///    Kafka acknowledged.
/// The capture loop records those in RocksDB and only then confirms completed_token() (an LSN)
/// to PostgreSQL, so a confirmed LSN never covers an event that could still be lost.
/// Memory is bounded by the events in flight (the producer queue). Not thread-safe.
class AckTracker {
 public:
  /// Registers an event about to be produced; returns its sequence number (the opaque value
  /// to pass to the producer and back to acked()). Events without a position (schema and
  /// transaction metadata) hold back later units but never move acked_position().
  uint64_t add(std::optional<Position> position);

  /// Ends a unit at the last added event (or immediately, if every event so far is acked).
  void mark(uint64_t token);

  /// Records Kafka's acknowledgement of event `seq`. Unknown or repeated seqs are ignored.
  void acked(uint64_t seq);

  std::optional<Position> acked_position() const { return acked_position_; }
  std::optional<uint64_t> completed_token() const { return completed_token_; }
  /// Events added but not yet acknowledged (or acknowledged behind an older unacked one).
  size_t pending() const { return entries_.size(); }

  /// Forgets everything (after a failed run, before resuming from the checkpoint).
  void reset();

 private:
  struct Entry {
    std::optional<Position> position;
    bool acked = false;
    bool has_mark = false;
    uint64_t token = 0;
  };
  void advance();

  std::deque<Entry> entries_;
  uint64_t base_seq_ = 0;  ///< sequence number of entries_.front()
  uint64_t next_seq_ = 0;
  std::optional<Position> acked_position_;
  std::optional<uint64_t> completed_token_;
};

}  // namespace modsync::capture
