#pragma once
// The one translation of the configuration's kafka section into client settings.

#include <string>
#include <utility>
#include <vector>

#include "modsync/config/config.hpp"
#include "modsync/kafka/types.hpp"

namespace modsync::kafka {

/// Settings for a client of the pair's cluster: kafka.brokers, the kafka.memory budgets (as
/// queued.max.messages.kbytes and queue.buffering.max.kbytes), then `defaults` (a client's own
/// choices, e.g. a short socket timeout for a probe), then every kafka.properties entry, which
/// are applied last and so override the defaults.
KafkaSettings settings_from(const config::KafkaConfig& kafka,
                            std::vector<std::pair<std::string, std::string>> defaults = {});

}  // namespace modsync::kafka
