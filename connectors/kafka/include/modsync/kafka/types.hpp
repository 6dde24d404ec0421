#pragma once
// Kafka positions and client settings. Partition and Offset live in modsync_common
// (kafka_position.hpp), so the checkpoint store records them without depending on librdkafka.

#include <string>
#include <utility>
#include <vector>

#include "modsync/common/kafka_position.hpp"

namespace modsync::kafka {

/// A position to start from or to commit. For commits the offset is the NEXT message to read
/// (Kafka's convention), i.e. the last processed offset + 1.
struct TopicPartitionOffset {
  std::string topic;
  Partition partition;
  Offset offset;
};

/// A partition's low and high watermarks: the first offset it holds and the offset the next
/// message written gets.
struct Watermarks {
  Offset low;
  Offset high;
};

/// Connection settings shared by producers and consumers (`kafka.brokers`, `kafka.properties`).
struct KafkaSettings {
  std::string brokers;  ///< bootstrap.servers, "host:port[,host:port…]"
  /// librdkafka properties applied after our defaults; invalid names or values are rejected at
  /// construction with librdkafka's error text and the property name.
  std::vector<std::pair<std::string, std::string>> properties;
};

}  // namespace modsync::kafka
