#include "conf.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

#include <spdlog/spdlog.h>

#include "modsync/common/error.hpp"
#include "modsync/kafka/kafka_error.hpp"

namespace modsync::kafka::detail {

namespace {

/// The scopes in librdkafka's property table, read once from rd_kafka_conf_properties_show:
/// rows "name | C/P | range | default | importance | description", C/P one of *, C, P.
std::map<std::string, PropertyScope, std::less<>> read_property_table() {
  std::map<std::string, PropertyScope, std::less<>> table;
  char* buf = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buf, &size);
  if (out == nullptr) return table;
  rd_kafka_conf_properties_show(out);
  std::fclose(out);
  std::istringstream lines(std::string(buf, size));
  std::free(buf);
  const auto trim = [](std::string_view s) {
    const size_t b = s.find_first_not_of(' ');
    if (b == std::string_view::npos) return std::string_view{};
    return s.substr(b, s.find_last_not_of(' ') - b + 1);
  };
  std::string line;
  while (std::getline(lines, line)) {
    const size_t bar1 = line.find('|');
    const size_t bar2 = bar1 == std::string::npos ? bar1 : line.find('|', bar1 + 1);
    if (bar2 == std::string::npos) continue;
    const std::string_view name = trim(std::string_view(line).substr(0, bar1));
    const std::string_view cp = trim(std::string_view(line).substr(bar1 + 1, bar2 - bar1 - 1));
    const PropertyScope scope = cp == "*"   ? PropertyScope::kBoth
                                : cp == "P" ? PropertyScope::kProducer
                                : cp == "C" ? PropertyScope::kConsumer
                                            : PropertyScope::kUnknown;
    if (scope == PropertyScope::kUnknown || name.empty()) continue;  // header, separator
    // A name listed as both a global and a topic property: the wider scope wins.
    auto [it, inserted] = table.emplace(std::string(name), scope);
    if (!inserted && it->second != scope) it->second = PropertyScope::kBoth;
  }
  return table;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

/// `text` with each occurrence of `value` that stands as a word of its own replaced by "***":
/// librdkafka's messages quote rejected values ("Invalid value \"…\" for …", "value 7 is
/// outside allowed range").
std::string mask_value(std::string_view text, std::string_view value) {
  if (value.empty()) return std::string(text);
  std::string out;
  size_t pos = 0;
  for (size_t at = text.find(value); at != std::string_view::npos; at = text.find(value, at + 1)) {
    const size_t end = at + value.size();
    const bool alone =
        (at == 0 || !is_token_char(text[at - 1]) || !is_token_char(value.front())) &&
        (end == text.size() || !is_token_char(text[end]) || !is_token_char(value.back()));
    if (!alone || at < pos) continue;
    out += text.substr(pos, at - pos);
    out += "***";
    pos = end;
  }
  out += text.substr(pos);
  return out;
}

}  // namespace

PropertyScope property_scope(std::string_view name) {
  static const auto table = read_property_table();
  const auto it = table.find(name);
  return it == table.end() ? PropertyScope::kUnknown : it->second;
}

void set_property(rd_kafka_conf_t* conf, std::string_view name, std::string_view value,
                  std::string_view origin) {
  char errstr[512];
  const std::string n(name), v(value);
  if (rd_kafka_conf_set(conf, n.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fail("invalid Kafka property {} ({}; value not shown): {}. Fix: correct or remove it", name,
         origin, mask_value(errstr, value));
  }
}

void apply_properties(
    rd_kafka_conf_t* conf, rd_kafka_type_t type, const KafkaSettings& settings,
    std::initializer_list<std::pair<std::string_view, std::string_view>> enforced) {
  const PropertyScope other =
      type == RD_KAFKA_PRODUCER ? PropertyScope::kConsumer : PropertyScope::kProducer;
  for (const auto& [name, value] : settings.properties) {
    for (const auto& [fixed_name, fixed_value] : enforced) {
      if (name == fixed_name && value != fixed_value) {
        fail(
            "Kafka property {} (kafka.properties) is not allowed: modsync requires {}={} for "
            "per-key ordering and exactly-once delivery. Fix: remove it",
            name, fixed_name, fixed_value);
      }
    }
    if (property_scope(name) == other) continue;
    set_property(conf, name, value, "kafka.properties");
  }
}

KafkaPtr new_client(rd_kafka_type_t type, ConfPtr conf, const KafkaSettings& settings) {
  char errstr[512];
  // rd_kafka_new takes ownership of conf only on success.
  KafkaPtr rk(rd_kafka_new(type, conf.get(), errstr, sizeof errstr));
  if (!rk) {
    std::string reason = errstr;
    for (const auto& [name, value] : settings.properties) reason = mask_value(reason, value);
    fail("cannot create Kafka {} for {}: {}. Fix: check kafka.brokers and kafka.properties",
         type == RD_KAFKA_PRODUCER ? "producer" : "consumer", settings.brokers, reason);
  }
  (void)conf.release();
  return rk;
}

Watermarks query_watermarks(rd_kafka_t* rk, std::string_view client, std::string_view topic,
                            Partition partition, std::chrono::milliseconds timeout) {
  Watermarks w;
  const std::string name(topic);
  if (const auto err =
          rd_kafka_query_watermark_offsets(rk, name.c_str(), partition.value, &w.low.value,
                                           &w.high.value, static_cast<int>(timeout.count()))) {
    throw KafkaError(ErrorKind::kRetriable, err,
                     fmt::format("{}: no watermarks for topic '{}' partition {} within {} ms: {}. "
                                 "Fix: check kafka.brokers",
                                 client, topic, partition, timeout.count(), rd_kafka_err2str(err)));
  }
  return w;
}

std::string settings_key(const KafkaSettings& settings) {
  std::string key = settings.brokers;
  for (const auto& [name, value] : settings.properties) {
    key += '\n';
    key += name;
    key += '=';
    key += value;
  }
  return key;
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
