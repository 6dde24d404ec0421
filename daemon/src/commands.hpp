#pragma once

#include <string>

#include "modsync/kafka/dev_broker.hpp"

namespace modsync::daemon {

/// `modsync run`: runs every pair of the config until SIGTERM/SIGINT. Exit code 0 on a clean
/// stop, 2 when the config is invalid.
int run_command(const std::string& config_path);

/// `modsync validate`: loads and checks the config, prints what it understood (secrets
/// redacted). Exit code 0 when valid, 2 otherwise.
int validate_command(const std::string& config_path);

}  // namespace modsync::daemon
