#pragma once
// The replication slot as PostgreSQL sees it, read from outside the capture pipeline, so the
// telemetry stays truthful while the pipeline cannot stream (a lost slot, a retry loop).

#include <memory>

#include "modsync/capture/capture_stats.hpp"
#include "modsync/config/config.hpp"

namespace modsync::capture {

/// Polls pg_replication_slots for the pair's slot and pg_current_wal_lsn() over its own
/// connection, and stores the result in CaptureStats (set_slot, server_wal_lsn).
///
/// Threads: poll() from one thread (the pair's monitor); it blocks up to the connect timeout
/// when the source does not answer. It never throws: an unreachable source is recorded as
/// "unknown" (SlotView::known false). It logs an error once when the slot becomes lost, with
/// the fix, and a warning when its WAL is no longer reserved.
class SlotMonitor {
 public:
  /// `pair.source` must be set; `pair` and `stats` must outlive the monitor.
  SlotMonitor(const config::PairConfig& pair, CaptureStats& stats);
  ~SlotMonitor();
  SlotMonitor(const SlotMonitor&) = delete;
  SlotMonitor& operator=(const SlotMonitor&) = delete;

  void poll();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace modsync::capture
