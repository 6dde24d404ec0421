// `modsync resnapshot`: rebuild projections from a fresh snapshot of their source table.

#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "modsync/apply/projection_reset.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/common/error.hpp"
#include "modsync/config/config.hpp"
#include "modsync/config/config_error.hpp"

namespace modsync::daemon {

namespace {

bool names_table(const config::TableName& t, const std::string& wanted) {
  return wanted.empty() || wanted == t.qualified() || wanted == t.table;
}

}  // namespace

int resnapshot_command(const std::string& config_path, const std::string& pair_id,
                       const std::string& table) {
  std::vector<config::PairConfig> pairs;
  try {
    pairs = config::load_path(config_path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  const config::PairConfig* pair = nullptr;
  std::string ids;
  for (const auto& p : pairs) {
    ids += (ids.empty() ? "" : ", ") + p.daemon.id;
    if (p.daemon.id == pair_id) pair = &p;
  }
  if (!pair) {
    std::fprintf(stderr, "modsync resnapshot: no pair %s in %s (pairs: %s)\n", pair_id.c_str(),
                 config_path.c_str(), ids.c_str());
    return 2;
  }
  try {
    // The capture side: forget the table's snapshot so the next start takes it again (from a
    // fresh exported snapshot, while streaming continues; docs/architecture.md).
    bool resnapshots_source = false;
    if (pair->source) {
      std::vector<const config::TableName*> tables;
      for (const auto& t : pair->source->tables)
        if (names_table(t, table)) tables.push_back(&t);
      if (!tables.empty()) {
        checkpoint::CheckpointStore store(pair->daemon.state_dir, pair->daemon.id);
        for (const auto* t : tables) {
          store.erase_snapshot_progress(t->schema, t->table);
          std::printf("source %s: the snapshot of %s is taken again at the next start\n",
                      pair->source->module.c_str(), t->qualified().c_str());
        }
        resnapshots_source = true;
      }
    }
    // The apply side: empty each projection and restart it at the topic's current end, where
    // the new snapshot's rows will follow. Without a new snapshot (the source is another
    // pair's), replay the topic from its beginning instead.
    size_t rebuilt = 0;
    if (pair->sink) {
      apply::ProjectionReset reset(*pair);
      for (const auto& projection : pair->sink->projections) {
        const bool from_here = projection.from && pair->source &&
                               projection.from->module == pair->source->module;
        if (projection.from && !names_table(projection.from->table, table)) continue;
        if (!projection.from && !table.empty()) continue;
        const bool from_new_snapshot = reset.reset(projection, from_here && resnapshots_source);
        std::printf("projection %s: emptied; it refills from %s at the next start\n",
                    projection.to.qualified().c_str(),
                    from_new_snapshot ? "the source's new snapshot"
                                      : "the beginning of its topic");
        ++rebuilt;
      }
    }
    if (!resnapshots_source && rebuilt == 0) {
      std::fprintf(stderr, "modsync resnapshot: pair %s has no table or projection named %s\n",
                   pair_id.c_str(), table.c_str());
      return 2;
    }
    std::printf("done: start modsync to rebuild\n");
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "modsync resnapshot: %s\n(resnapshot runs while the pair's daemon is stopped)\n",
                 e.what());
    return 1;
  }
}

}  // namespace modsync::daemon
