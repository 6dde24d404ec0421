#include "modsync/capture/slot_monitor.hpp"

#include <optional>

#include <spdlog/spdlog.h>

#include "modsync/common/lsn.hpp"
#include "modsync/pg/pg_connection.hpp"

namespace modsync::capture {

namespace {

uint64_t lsn_value(const pg::PgResult& r, int col) {
  if (r.is_null(0, col)) return 0;
  auto lsn = Lsn::parse(r.value(0, col));
  return lsn ? lsn->value() : 0;
}

}  // namespace

struct SlotMonitor::Impl {
  const config::PairConfig& pair;
  CaptureStats& stats;
  std::optional<pg::PgConnection> conn;
  std::string last_status;

  void poll() {
    SlotView view;
    try {
      if (!conn) {
        conn.emplace(pg::PgConnection::connect(pair.source->effective_dsn,
                                               pg::PgConnection::Mode::kRegular,
                                               fmt::format("slot monitor of source {} (pair {})",
                                                           pair.source->module, pair.daemon.id)));
      }
      // One short statement, no transaction left open (it would hold back vacuum).
      pg::PgResult r = conn->exec_params(
          "SELECT s.slot_name IS NOT NULL, COALESCE(s.wal_status, ''), s.confirmed_flush_lsn, "
          "       s.restart_lsn, s.safe_wal_size, COALESCE(s.active, false), "
          "       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() "
          "            ELSE pg_current_wal_lsn() END "
          "FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1",
          {pair.source->slot});
      view.known = true;
      view.exists = r.value(0, 0) == "t";
      view.wal_status = std::string(r.value(0, 1));
      view.confirmed_flush = lsn_value(r, 2);
      view.restart_lsn = lsn_value(r, 3);
      if (!r.is_null(0, 4)) view.safe_wal_size = std::stoll(std::string(r.value(0, 4)));
      view.active = r.value(0, 5) == "t";
      if (const uint64_t server = lsn_value(r, 6)) {
        stats.server_wal_lsn.store(server, std::memory_order_relaxed);
      }
    } catch (const Error& e) {
      conn.reset();
      spdlog::debug("slot {}: cannot read its state: {}", pair.source->slot, e.what());
    }
    if (view.known && view.wal_status != last_status) {
      if (view.wal_status == "lost") {
        spdlog::error(
            "replication slot {} is lost (wal_status lost): PostgreSQL removed WAL it still "
            "needed (max_slot_wal_keep_size), changes after {} are gone from the source. Fix: "
            "follow docs/runbook.md, \"A slot was lost or invalidated\": drop the slot (modsync "
            "slots drop --config <path> {}); modsync then creates a new one and snapshots again; "
            "rebuild each projection with modsync resnapshot",
            pair.source->slot, Lsn(view.confirmed_flush), pair.source->slot);
      } else if (view.wal_status == "unreserved") {
        spdlog::warn(
            "replication slot {} is unreserved: its WAL exceeds max_slot_wal_keep_size and is "
            "lost at the next checkpoint unless the capture catches up (confirmed {})",
            pair.source->slot, Lsn(view.confirmed_flush));
      } else if (last_status == "lost" || last_status == "unreserved") {
        spdlog::info("replication slot {} is {} again (confirmed {})", pair.source->slot,
                     view.wal_status.empty() ? "gone" : view.wal_status, Lsn(view.confirmed_flush));
      }
      last_status = view.wal_status;
    }
    stats.set_slot(std::move(view));
  }
};

SlotMonitor::SlotMonitor(const config::PairConfig& pair, CaptureStats& stats)
    : impl_(std::make_unique<Impl>(Impl{pair, stats, std::nullopt, {}})) {}

SlotMonitor::~SlotMonitor() = default;

void SlotMonitor::poll() {
  impl_->poll();
}

}  // namespace modsync::capture
