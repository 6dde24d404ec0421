#include "conf.hpp"

#include <string>

#include <spdlog/spdlog.h>

#include "modsync/common/error.hpp"

namespace modsync::kafka::detail {

void set_property(rd_kafka_conf_t* conf, std::string_view name, std::string_view value,
                  std::string_view origin) {
  char errstr[512];
  const std::string n(name), v(value);
  if (rd_kafka_conf_set(conf, n.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fail("invalid Kafka property {}={} ({}): {}. Fix: correct or remove it", name, value, origin,
         errstr);
  }
}

void apply_properties(
    rd_kafka_conf_t* conf, const KafkaSettings& settings,
    std::initializer_list<std::pair<std::string_view, std::string_view>> enforced) {
  for (const auto& [name, value] : settings.properties) {
    for (const auto& [fixed_name, fixed_value] : enforced) {
      if (name == fixed_name && value != fixed_value) {
        fail(
            "Kafka property {}={} (kafka.properties) is not allowed: modsync requires {}={} for "
            "per-key ordering and exactly-once delivery. Fix: remove it",
            name, value, fixed_name, fixed_value);
      }
    }
    set_property(conf, name, value, "kafka.properties");
  }
}

KafkaPtr new_client(rd_kafka_type_t type, ConfPtr conf, std::string_view brokers) {
  char errstr[512];
  // rd_kafka_new takes ownership of conf only on success.
  KafkaPtr rk(rd_kafka_new(type, conf.get(), errstr, sizeof errstr));
  if (!rk) {
    fail("cannot create Kafka {} for {}: {}. Fix: check kafka.brokers and kafka.properties",
         type == RD_KAFKA_PRODUCER ? "producer" : "consumer", brokers, errstr);
  }
  (void)conf.release();
  return rk;
}

void log_to_spdlog(const rd_kafka_t* rk, int level, const char* facility, const char* buf) {
  // syslog levels: 0 emerg … 3 err, 4 warning, 5 notice, 6 info, 7 debug.
  const auto spd = level <= 3   ? spdlog::level::err
                   : level == 4 ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info
                                : spdlog::level::debug;
  spdlog::log(spd, "librdkafka {} {}: {}", rd_kafka_name(rk), facility, buf);
}

}  // namespace modsync::kafka::detail
