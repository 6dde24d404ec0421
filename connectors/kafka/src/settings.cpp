#include "modsync/kafka/settings.hpp"

namespace modsync::kafka {

KafkaSettings settings_from(const config::KafkaConfig& kafka,
                            std::vector<std::pair<std::string, std::string>> defaults) {
  // The memory budgets first: each client takes the one of its kind (a consumer-only property
  // is not given to a producer). kafka.properties may not name them (owned_kafka_property).
  KafkaSettings settings{
      kafka.brokers,
      {{"queued.max.messages.kbytes", std::to_string(kafka.memory.consumer_queue / 1024)},
       {"queue.buffering.max.kbytes", std::to_string(kafka.memory.producer_queue / 1024)}}};
  for (auto& d : defaults) settings.properties.push_back(std::move(d));
  for (const auto& [k, v] : kafka.properties) settings.properties.emplace_back(k, v);
  return settings;
}

}  // namespace modsync::kafka
