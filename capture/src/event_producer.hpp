#pragma once
// The capture's Kafka side: mapped events and schema versions out, delivery reports in.

#include <memory>
#include <optional>
#include <string>

#include "change_mapper.hpp"
#include "durability_tracker.hpp"
#include "modsync/capture/capture_stats.hpp"
#include "modsync/common/error.hpp"
#include "modsync/config/config.hpp"
#include "modsync/event/table_schema.hpp"
#include "modsync/kafka/headers.hpp"
#include "modsync/kafka/producer.hpp"

namespace modsync::capture {

/// Produces a capture's events through one idempotent producer, registering each with the
/// durability tracker (its sequence number is the producer's opaque) and reporting every
/// delivery back to it. Stops the pipeline, by throwing, at the first delivery error (from
/// poll() and rethrow_delivery_error(), after the tracker recorded it) and before an event larger
/// than Kafka's message.max.bytes is sent. Counts events and bytes in CaptureStats. Not
/// thread-safe: one per capture pipeline; references must outlive it.
class EventProducer {
 public:
  EventProducer(const config::PairConfig& pair, std::string context, DurabilityTracker& tracker,
                CaptureStats& stats);

  /// Creates the producer and waits up to 10 s for Kafka to answer; throws a retriable Error
  /// when it does not.
  void start();
  /// Drops the producer and what it still holds (no delivery reports: the next run re-sends
  /// from the checkpoint) and forgets the delivery error.
  void stop();

  /// Produces one event; `received` (the WAL position) is for the oversized-event error.
  void emit(const MappedEvent& event, Lsn received);
  /// Publishes version `table.version` of a table's schema on the schemas topic.
  void publish_schema(const event::TableSchema& table, Lsn since);

  /// Serves delivery reports for up to `timeout_ms`; throws the first delivery error.
  void poll(int timeout_ms);
  /// Waits up to `timeout_ms` for Kafka to acknowledge everything; false when some events are
  /// still in flight. Call rethrow_delivery_error() after it.
  bool flush(int timeout_ms);
  /// Throws the first delivery error, if there was one.
  void rethrow_delivery_error() const;
  size_t in_flight() const;

 private:
  void on_delivery(uint64_t opaque, const kafka::DeliveryResult& r);
  void check_size(const MappedEvent& e, Lsn received);
  void count(event::Op op);

  const config::PairConfig& pair_;
  const std::string context_;
  const std::string schema_topic_;
  DurabilityTracker& tracker_;
  CaptureStats& stats_;
  size_t max_message_bytes_ = 1000000;  ///< librdkafka's message.max.bytes
  std::unique_ptr<kafka::Producer> producer_;
  std::optional<Error> delivery_error_;
  kafka::Headers headers_;
  std::string schema_key_, schema_value_, version_;
};

}  // namespace modsync::capture
