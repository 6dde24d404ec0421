#include "event_producer.hpp"

#include <chrono>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "modsync/capture/schema_registry.hpp"
#include "modsync/event/event_headers.hpp"
#include "modsync/event/schema_event.hpp"
#include "modsync/kafka/settings.hpp"

namespace modsync::capture {

using event::Op;

EventProducer::EventProducer(const config::PairConfig& pair, std::string context,
                             DurabilityTracker& tracker, CaptureStats& stats)
    : pair_(pair),
      context_(std::move(context)),
      schema_topic_(pair.kafka.topic_prefix + ".schemas"),
      tracker_(tracker),
      stats_(stats) {}

void EventProducer::start() {
  const kafka::KafkaSettings settings = kafka::settings_from(pair_.kafka);
  if (auto it = pair_.kafka.properties.find("message.max.bytes");
      it != pair_.kafka.properties.end()) {
    if (auto v = std::strtoull(it->second.c_str(), nullptr, 10); v > 0) max_message_bytes_ = v;
  }
  // One client per process for the pairs of one cluster (and their dead letters): each pair's
  // client cost librdkafka threads and wake-ups (docs/architecture.md, "Kafka clients").
  producer_ = std::make_unique<kafka::Producer>(kafka::Producer::shared(
      settings,
      [this](uint64_t opaque, const kafka::DeliveryResult& r) { on_delivery(opaque, r); }));
  producer_->watch_deliveries(&stats_.deliveries);
  producer_->check_connectivity(std::chrono::seconds(10));
}

void EventProducer::stop() {
  producer_.reset();
  delivery_error_.reset();
}

void EventProducer::on_delivery(uint64_t opaque, const kafka::DeliveryResult& r) {
  if (r.ok()) {
    tracker_.acked(EventSeq{opaque});
    return;
  }
  tracker_.failed(EventSeq{opaque});
  if (!delivery_error_) {
    delivery_error_.emplace(
        kafka::error_kind(r.error),
        fmt::format("{}: Kafka did not acknowledge an event for topic {} partition {}: {}. "
                    "Nothing is confirmed past it; the pipeline resumes from its last checkpoint.",
                    context_, r.topic, r.partition, r.error_text));
  }
}

void EventProducer::poll(int timeout_ms) {
  producer_->poll(timeout_ms);
  rethrow_delivery_error();
}

bool EventProducer::flush(int timeout_ms) {
  return producer_->flush(timeout_ms);
}

void EventProducer::rethrow_delivery_error() const {
  if (delivery_error_) throw *delivery_error_;
}

size_t EventProducer::in_flight() const {
  return producer_ ? producer_->in_flight() : 0;
}

/// An event Kafka would refuse stops the pipeline here, before anything after it is sent,
/// with what the operator needs: table, key, size, and the setting to raise. Confirmation
/// stays before it, so nothing is lost while it waits (docs/operations.md, "Oversized rows").
void EventProducer::check_size(const MappedEvent& e, Lsn received) {
  // librdkafka counts the record's framing too; 128 bytes cover it with room to spare.
  size_t size = e.key.size() + e.value.size() + 128;
  for (const auto& h : e.headers) size += h.name.size() + h.value.size();
  if (size <= max_message_bytes_) return;
  stats_.oversized_events.fetch_add(1, std::memory_order_relaxed);
  std::string key(e.key.substr(0, 200));
  if (e.key.size() > 200) key += "…";
  fail(
      "{}: the change event of {}.{} with key {} is {} bytes, more than Kafka's message limit "
      "of {} bytes (message.max.bytes), at WAL position {}. Nothing after it is confirmed to "
      "PostgreSQL until it is sent. Fix: raise message.max.bytes in kafka.properties (and the "
      "topic's max.message.bytes on the brokers) above {} bytes, then restart or reload",
      context_, e.table->schema, e.table->table, key, size, max_message_bytes_, received, size);
}

void EventProducer::count(Op op) {
  auto& c = op == Op::kCreate     ? stats_.events_created
            : op == Op::kUpdate   ? stats_.events_updated
            : op == Op::kDelete   ? stats_.events_deleted
            : op == Op::kRead     ? stats_.events_read
            : op == Op::kTruncate ? stats_.events_truncated
                                  : stats_.events_messages;
  c.fetch_add(1, std::memory_order_relaxed);
}

void EventProducer::emit(const MappedEvent& e, Lsn received) {
  using Kind = MappedEvent::Kind;
  if (e.kind == Kind::kChange) check_size(e, received);
  headers_.clear();
  for (const auto& h : e.headers) headers_.add(h.name, h.value);
  const EventSeq seq = tracker_.add(e.position);
  producer_->produce(e.topic, e.has_key ? e.key.data() : nullptr, e.key.size(), e.value, headers_,
                     seq.value);
  stats_.bytes_produced.fetch_add(e.value.size() + e.key.size(), std::memory_order_relaxed);
  if (e.kind == Kind::kChange || e.kind == Kind::kTruncate || e.kind == Kind::kMessage) {
    count(e.op);
  }
}

void EventProducer::publish_schema(const event::TableSchema& t, Lsn since) {
  schema_key_ = t.schema + '.' + t.table;
  schema_value_ = event::encode_schema_event(t, since);
  headers_.clear();
  version_ = std::to_string(t.version);
  headers_.add(event::kSchemaVersionHeader, version_);
  headers_.add("content-type", "application/json");
  const EventSeq seq = tracker_.add(std::nullopt);
  producer_->produce(schema_topic_, schema_key_.data(), schema_key_.size(), schema_value_, headers_,
                     seq.value);
  stats_.bytes_produced.fetch_add(schema_value_.size() + schema_key_.size(),
                                  std::memory_order_relaxed);
  spdlog::info("{}: table {}.{} is at schema version {} (topic {})", context_, t.schema, t.table,
               t.version, t.topic);
}

}  // namespace modsync::capture
