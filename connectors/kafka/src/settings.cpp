#include "modsync/kafka/settings.hpp"

namespace modsync::kafka {

KafkaSettings settings_from(const config::KafkaConfig& kafka,
                            std::vector<std::pair<std::string, std::string>> defaults) {
  KafkaSettings settings{kafka.brokers, std::move(defaults)};
  for (const auto& [k, v] : kafka.properties) settings.properties.emplace_back(k, v);
  return settings;
}

}  // namespace modsync::kafka
