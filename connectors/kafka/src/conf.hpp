#pragma once
// Building librdkafka configurations with errors that name the offending property.

#include <chrono>
#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>

#include "modsync/kafka/handles.hpp"
#include "modsync/kafka/types.hpp"

namespace modsync::kafka::detail {

/// Which clients a librdkafka property applies to, as librdkafka's own property table
/// (rd_kafka_conf_properties_show, the C/P column) says.
enum class PropertyScope { kBoth, kProducer, kConsumer, kUnknown };

/// The scope of `name` (global or topic-level); kUnknown for names librdkafka does not list.
PropertyScope property_scope(std::string_view name);

/// Sets one property; throws a fatal modsync::Error naming the property and `origin` (where it
/// came from: "kafka.properties", "built-in default") with librdkafka's reason. The value is
/// never part of the message, not even inside librdkafka's text: it may be a secret.
void set_property(rd_kafka_conf_t* conf, std::string_view name, std::string_view value,
                  std::string_view origin);

/// Applies the KafkaSettings::properties that apply to a client of `type` (a consumer-only
/// property is not given to a producer, and vice versa, so librdkafka does not warn that it
/// ignores it), refusing to override any of `enforced` (names whose value modsync depends on for
/// correctness) with a different value.
void apply_properties(
    rd_kafka_conf_t* conf, rd_kafka_type_t type, const KafkaSettings& settings,
    std::initializer_list<std::pair<std::string_view, std::string_view>> enforced);

/// Creates the client; on failure throws with librdkafka's reason, any value of
/// `settings.properties` masked in it. Takes ownership of `conf` in all cases.
KafkaPtr new_client(rd_kafka_type_t type, ConfPtr conf, const KafkaSettings& settings);

/// The low and high watermarks of one partition, asking its leader (blocks up to `timeout`).
/// Throws a retriable KafkaError naming `client`, the topic and the partition when the broker
/// does not say.
Watermarks query_watermarks(rd_kafka_t* rk, std::string_view client, std::string_view topic,
                            Partition partition, std::chrono::milliseconds timeout);

/// Settings as one string, the key of the shared clients (Producer::shared, Consumer::shared):
/// brokers and every property in order (later entries override earlier ones in librdkafka, so
/// order matters).
std::string settings_key(const KafkaSettings& settings);

/// Routes librdkafka's log lines to spdlog (from librdkafka's threads; spdlog is thread-safe).
void log_to_spdlog(const rd_kafka_t* rk, int level, const char* facility, const char* buf);

}  // namespace modsync::kafka::detail
