#include "modsync/config/config.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "topic_template.hpp"

namespace modsync::config {

std::string_view to_string(LogLevel level) {
  return name_in(kLogLevelNames, level);
}
std::string_view to_string(LogFormat format) {
  return name_in(kLogFormatNames, format);
}
std::string_view to_string(SnapshotMode mode) {
  return name_in(kSnapshotModeNames, mode);
}
std::string_view to_string(KafkaEnvelope envelope) {
  return name_in(kKafkaEnvelopeNames, envelope);
}
std::string_view to_string(ValueMode mode) {
  return name_in(kValueModeNames, mode);
}
std::string_view to_string(OnDelete mode) {
  return name_in(kOnDeleteNames, mode);
}
std::string_view to_string(UnknownVersion mode) {
  return name_in(kUnknownVersionNames, mode);
}
std::string_view to_string(Op op) {
  return name_in(kOpNames, op);
}

bool Projection::applies_to(Op op) const {
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

std::string topic_for(const SourceConfig& source, std::string_view prefix, std::string_view schema,
                      std::string_view table) {
  return detail::expand_topic_template(source.topic, {source.module, schema, table, prefix});
}

std::string transaction_topic_for(const SourceConfig& source, std::string_view prefix) {
  return detail::expand_topic_template(source.transaction_topic, {source.module, "", "", prefix});
}

std::string message_topic_for(const SourceConfig& source, std::string_view prefix) {
  return detail::expand_topic_template(source.message_topic, {source.module, "", "", prefix});
}

std::string projection_topic(const PairConfig& pair, const Projection& projection) {
  if (!projection.topic.empty() || !projection.from) return projection.topic;
  const SourceTable& from = *projection.from;
  static const std::string kDefaultTemplate = SourceConfig{}.topic;
  const std::string& tmpl =
      pair.source && pair.source->module == from.module ? pair.source->topic : kDefaultTemplate;
  return detail::expand_topic_template(
      tmpl, {from.module, from.table.schema, from.table.table, pair.kafka.topic_prefix});
}

std::string_view owned_kafka_property(std::string_view key) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kOwned = {{
      {"queued.max.messages.kbytes",
       "modsync sets it from kafka.memory.consumer_queue (docs/configuration.md, \"Memory "
       "budgets\")"},
      {"queue.buffering.max.kbytes",
       "modsync sets it from kafka.memory.producer_queue (docs/configuration.md, \"Memory "
       "budgets\")"},
      {"bootstrap.servers", "modsync sets it from kafka.brokers"},
      {"metadata.broker.list", "modsync sets bootstrap.servers from kafka.brokers"},
      {"enable.idempotence",
       "modsync always enables idempotence so a retried send cannot duplicate or reorder events"},
      {"acks", "modsync requires acks=all before it confirms a position to PostgreSQL"},
      {"request.required.acks",
       "modsync requires acks=all before it confirms a position to PostgreSQL"},
      {"group.id", "modsync names the consumer group after daemon.id"},
      {"enable.auto.commit", "modsync commits consumer offsets only after the sink applied them"},
      {"auto.commit.enable", "modsync commits consumer offsets only after the sink applied them"},
      {"enable.auto.offset.store",
       "modsync stores consumer offsets only after the sink applied them"},
      {"auto.offset.reset",
       "modsync never skips events: a position Kafka no longer holds stops the projection "
       "(auto.offset.reset=error) so that `modsync resnapshot` can be chosen deliberately"},
      {"partitioner",
       "modsync hashes keys with murmur2_random so every client puts a key on one partition"},
      {"transactional.id", "modsync manages producer identity per daemon.id"},
  }};
  for (const auto& [owned, why] : kOwned) {
    if (key == owned) return why;
  }
  return {};
}

}  // namespace modsync::config
