// `modsync slots list` and `modsync slots drop`: the replication slots of the config's sources.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli_support.hpp"
#include "commands.hpp"
#include "modsync/common/error.hpp"
#include "modsync/config/dsn.hpp"
#include "modsync/pgsource/source_catalog.hpp"

namespace modsync::daemon {

pg::PgConnection connect_source(const config::SourceConfig& source) {
  // libpq otherwise waits for the OS TCP timeout (minutes) on an unreachable host; a
  // connect_timeout in the DSN still wins over this default.
  ::setenv("PGCONNECT_TIMEOUT", "5", 0);
  return pg::PgConnection::connect(source.effective_dsn, pg::PgConnection::Mode::kRegular,
                                   "source " + source.module);
}

namespace {

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}
std::string or_dash(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : std::string("-");
}

std::string active_text(const pgsource::SlotRow& s) {
  if (!s.active) return "no";
  return s.active_pid ? fmt::format("pid {}", *s.active_pid) : std::string("yes");
}

/// Slot name → the daemon ids of the pairs that configure it.
std::map<std::string, std::vector<std::string>> configured_slots(
    const std::vector<config::PairConfig>& pairs) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& pair : pairs) {
    if (pair.source) out[pair.source->slot].push_back(pair.daemon.id);
  }
  return out;
}

/// Where `slot` was found, and which pair's source connection reached it.
struct FoundSlot {
  const config::PairConfig* pair = nullptr;
  pgsource::SlotRow row;
};

}  // namespace

int slots_list_command(const std::string& config_path) {
  const auto pairs = load_config_or_report(config_path);
  if (!pairs) return kExitUsage;
  const auto configured = configured_slots(*pairs);
  int rc = kExitOk;
  for (const auto& pair : *pairs) {
    if (!pair.source) {
      std::printf("pair %s: no source (sink only), so no replication slot\n\n",
                  pair.daemon.id.c_str());
      continue;
    }
    const auto& src = *pair.source;
    std::printf("pair %s: source %s (%s)\n", pair.daemon.id.c_str(), src.module.c_str(),
                config::redact_dsn(src.dsn).c_str());
    try {
      auto conn = connect_source(src);
      pgsource::SourceCatalog catalog(conn);
      const std::string database = catalog.database();
      const auto rows = catalog.modsync_slots(src.slot);
      if (rows.empty() || rows.front().name != src.slot) {
        std::printf("  slot %s does not exist yet: `modsync run` creates it at start\n",
                    src.slot.c_str());
      }
      if (rows.empty()) {
        std::printf("\n");
        continue;
      }
      std::printf("  %-28s %-10s %-11s %-16s %12s %-11s %14s  %s\n", "SLOT", "PLUGIN", "ACTIVE",
                  "CONFIRMED_FLUSH", "LAG_BYTES", "WAL_STATUS", "SAFE_WAL_SIZE", "NOTE");
      for (const auto& s : rows) {
        std::string note;
        if (s.name == src.slot) {
          note = "configured (source.slot)";
          if (s.database != database) {
            note = fmt::format(
                "configured, but it belongs to database {}: set source.slot to a name unused in "
                "this cluster",
                or_dash(s.database));
          } else if (s.wal_status == "lost") {
            note = "INVALIDATED (wal_status lost): drop it and restart; changes were lost";
          }
        } else if (s.temporary) {
          note = "temporary (a snapshot in progress); PostgreSQL drops it when its session ends";
        } else if (auto it = configured.find(s.name); it != configured.end()) {
          note = fmt::format("configured for pair {}", fmt::join(it->second, ", "));
        } else {
          note = fmt::format("not configured: a leftover? `modsync slots drop --config {} {}`",
                             config_path, s.name);
        }
        std::printf("  %-28s %-10s %-11s %-16s %12s %-11s %14s  %s\n", s.name.c_str(),
                    or_dash(s.plugin).c_str(), active_text(s).c_str(),
                    or_dash(s.confirmed_flush_lsn).c_str(), or_dash(s.lag_bytes).c_str(),
                    or_dash(s.wal_status).c_str(),
                    (s.wal_status == "lost" ? std::string("0") : or_dash(s.safe_wal_size)).c_str(),
                    note.c_str());
      }
    } catch (const Error& e) {
      std::fprintf(stderr, "modsync: pair %s: %s\n", pair.daemon.id.c_str(), e.what());
      std::printf("  unreachable (the error is on stderr)\n");
      rc = kExitRuntime;
    }
    std::printf("\n");
  }
  return rc;
}

int slots_drop_command(const std::string& config_path, const std::string& slot, bool yes) {
  const auto pairs = load_config_or_report(config_path);
  if (!pairs) return kExitUsage;
  const auto configured = configured_slots(*pairs);

  // Only slots this config knows of may be dropped: its configured slots, and modsync_* slots in
  // its source databases. Anything else belongs to someone else.
  std::optional<FoundSlot> found;
  std::vector<std::string> unreachable;
  bool any_source = false;
  for (const auto& pair : *pairs) {
    if (!pair.source) continue;
    any_source = true;
    try {
      auto conn = connect_source(*pair.source);
      for (auto& row : pgsource::SourceCatalog(conn).modsync_slots(pair.source->slot)) {
        if (row.name == slot) found = FoundSlot{&pair, std::move(row)};
      }
    } catch (const Error& e) {
      std::fprintf(stderr, "modsync: pair %s: %s\n", pair.daemon.id.c_str(), e.what());
      unreachable.push_back(pair.daemon.id);
    }
    if (found) break;
  }
  if (!any_source) {
    std::fprintf(stderr,
                 "modsync: %s configures no source, so it has no replication slots. Fix: pass the "
                 "config of the pair whose source.slot is %s.\n",
                 config_path.c_str(), slot.c_str());
    return kExitUsage;
  }
  if (!found) {
    std::fprintf(stderr,
                 "modsync: slot %s is neither configured in %s nor a modsync_* slot in its source "
                 "databases%s. Fix: check the name with `modsync slots list --config %s`; drop "
                 "other slots with SQL (SELECT pg_drop_replication_slot('…')).\n",
                 slot.c_str(), config_path.c_str(),
                 unreachable.empty()
                     ? ""
                     : fmt::format(" (unreachable: pair {})", fmt::join(unreachable, ", ")).c_str(),
                 config_path.c_str());
    return kExitRuntime;
  }

  const pgsource::SlotRow& row = found->row;
  const auto refuse_active = [&](const std::string& holder) {
    std::fprintf(
        stderr,
        "modsync: slot %s is active: %s is streaming from it, so it cannot be dropped. "
        "Fix: stop that process first (if it is `modsync run`: `systemctl stop modsync` or "
        "SIGTERM), then retry.\n",
        slot.c_str(), holder.c_str());
    return kExitRuntime;
  };
  if (row.active) {
    return refuse_active(row.active_pid ? fmt::format("pid {}", *row.active_pid)
                                        : std::string("another process"));
  }

  const auto cfg = configured.find(slot);
  if (!yes) {
    std::fprintf(stderr,
                 "Drop replication slot %s in database %s (confirmed_flush_lsn %s, %s bytes "
                 "behind)%s? Changes committed until the next `modsync run` are then not "
                 "captured. Type yes to drop it: ",
                 slot.c_str(), or_dash(row.database).c_str(),
                 or_dash(row.confirmed_flush_lsn).c_str(), or_dash(row.lag_bytes).c_str(),
                 cfg != configured.end()
                     ? fmt::format(", configured for pair {}", fmt::join(cfg->second, ", ")).c_str()
                     : "");
    std::fflush(stderr);
    std::string answer;
    if (!std::getline(std::cin, answer)) {
      std::fprintf(stderr,
                   "\nmodsync: no confirmation: stdin is closed. Fix: pass --yes to drop slot %s "
                   "without asking.\n",
                   slot.c_str());
      return kExitUsage;
    }
    if (answer != "yes" && answer != "y") {
      std::fprintf(stderr, "modsync: not dropped (answer was not \"yes\").\n");
      return kExitRuntime;
    }
  }

  try {
    auto conn = connect_source(*found->pair->source);
    pgsource::SourceCatalog(conn).drop_slot(slot);
  } catch (const pg::SqlError& e) {
    // A reader may have taken the slot since we looked: PostgreSQL refuses with 55006.
    if (e.sqlstate() == "55006") return refuse_active("a process that started since the check");
    std::fprintf(stderr, "modsync: cannot drop slot %s: %s\n", slot.c_str(), e.what());
    return kExitRuntime;
  } catch (const Error& e) {
    std::fprintf(stderr, "modsync: cannot drop slot %s: %s\n", slot.c_str(), e.what());
    return kExitRuntime;
  }

  std::printf("dropped replication slot %s in database %s (it had confirmed %s).\n", slot.c_str(),
              or_dash(row.database).c_str(), or_dash(row.confirmed_flush_lsn).c_str());
  std::printf("PostgreSQL no longer retains WAL for it.\n");
  if (cfg != configured.end()) {
    for (const auto& id : cfg->second) {
      const auto& pair = *std::find_if(pairs->begin(), pairs->end(),
                                       [&](const auto& p) { return p.daemon.id == id; });
      const bool snapshot = pair.source->snapshot == config::SnapshotMode::kInitial;
      std::printf(
          "pair %s: the next `modsync run` creates a new slot %s%s. Changes committed between "
          "%s and that moment are not captured.\n",
          id.c_str(), slot.c_str(),
          snapshot ? " and snapshots every table again (source.snapshot: initial)"
                   : " and streams from there (source.snapshot: never, so no new snapshot)",
          or_dash(row.confirmed_flush_lsn).c_str());
    }
  } else {
    std::printf("No pair of %s configures it, so nothing will create it again.\n",
                config_path.c_str());
  }
  return kExitOk;
}

}  // namespace modsync::daemon
