// `modsync checkpoint show`: what each pair's RocksDB checkpoint store holds.

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli_support.hpp"
#include "commands.hpp"
#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/common/error.hpp"

namespace modsync::daemon {

int checkpoint_show_command(const std::string& config_path) {
  const auto pairs = load_config_or_report(config_path);
  if (!pairs) return kExitUsage;
  int rc = kExitOk;
  for (const auto& pair : *pairs) {
    std::printf("pair %s\n", pair.daemon.id.c_str());
    const auto path = pair.daemon.state_path();
    std::error_code ec;
    // Opening the store would create it; showing must leave no trace.
    if (!std::filesystem::exists(path, ec)) {
      std::printf(
          "no checkpoints: %s does not exist (modsync has not run with this daemon.id "
          "and state_dir)\n\n",
          path.c_str());
      continue;
    }
    try {
      const checkpoint::CheckpointStore store(pair.daemon.state_dir, pair.daemon.id);
      std::printf("%s\n", store.describe().c_str());
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.find("in use by another modsync process") != std::string::npos) {
        std::fprintf(stderr,
                     "modsync: pair %s: %s. The daemon is running and holds its checkpoints. "
                     "Fix: use `modsync status --config %s` for its live positions, or stop the "
                     "daemon first.\n",
                     pair.daemon.id.c_str(), what.c_str(), config_path.c_str());
      } else {
        std::fprintf(stderr, "modsync: pair %s: %s\n", pair.daemon.id.c_str(), what.c_str());
      }
      rc = kExitRuntime;
    }
  }
  return rc;
}

}  // namespace modsync::daemon
