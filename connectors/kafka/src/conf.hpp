#pragma once
// Building librdkafka configurations with errors that name the offending property.

#include <string_view>

#include <librdkafka/rdkafka.h>

#include "modsync/kafka/handles.hpp"
#include "modsync/kafka/types.hpp"

namespace modsync::kafka::detail {

/// Sets one property; throws a fatal modsync::Error with librdkafka's text and the name.
/// `origin` says where the property came from ("kafka.properties", "built-in default").
void set_property(rd_kafka_conf_t* conf, std::string_view name, std::string_view value,
                  std::string_view origin);

/// Applies KafkaSettings::properties, refusing to override any of `enforced` (names whose
/// value modsync depends on for correctness) with a different value.
void apply_properties(
    rd_kafka_conf_t* conf, const KafkaSettings& settings,
    std::initializer_list<std::pair<std::string_view, std::string_view>> enforced);

/// Creates the client; on failure throws with librdkafka's reason. Takes ownership of `conf`
/// in all cases.
KafkaPtr new_client(rd_kafka_type_t type, ConfPtr conf, std::string_view brokers);

/// Routes librdkafka's log lines to spdlog (from librdkafka's threads; spdlog is thread-safe).
void log_to_spdlog(const rd_kafka_t* rk, int level, const char* facility, const char* buf);

}  // namespace modsync::kafka::detail
