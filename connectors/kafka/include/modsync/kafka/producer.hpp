#pragma once
// The idempotent Kafka producer that carries change events, keyed by primary key.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>

#include "modsync/common/error.hpp"
#include "modsync/common/progress_watch.hpp"
#include "modsync/kafka/headers.hpp"
#include "modsync/kafka/kafka_error.hpp"
#include "modsync/kafka/types.hpp"

namespace modsync::kafka {

/// The outcome of one produce() call (classify `error` with error_kind()). The views point into librdkafka's message and are
/// valid only for the duration of the delivery callback.
struct DeliveryResult {
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string_view error_text;  ///< rd_kafka_err2str(error); "Success" when delivered
  std::string_view topic;
  Partition partition;  ///< -1 when the message never reached a partition
  Offset offset;        ///< the acknowledged offset; only meaningful when ok()
  bool ok() const { return error == RD_KAFKA_RESP_ERR_NO_ERROR; }
};

/// Called once per produced message with the opaque given to produce(). Invoked only on the
/// thread that calls Producer::poll(), flush() or produce() (which serves reports while the
/// queue is full), never on librdkafka's threads. An exception thrown from it is rethrown by
/// that call.
using DeliveryCallback = std::function<void(uint64_t opaque, const DeliveryResult&)>;

struct ProducerClient;

/// An idempotent producer (enable.idempotence=true, acks=all) partitioning by key with
/// murmur2_random, so a key always maps to the same partition and Java clients agree.
///
/// A Producer is one owner on a librdkafka client, either its own or one shared by the
/// process (shared()). Each owner gets the delivery reports of the messages it produced and no
/// others (the client's background thread routes them by the message's opaque); in_flight(),
/// flush() and the delivery watch count only its own messages, so one owner's flush never
/// waits for another's. A fatal error of the client (idempotence) is every owner's.
///
/// Threads: one Producer is not thread-safe; built for one hot loop that calls produce() and
/// poll(). The metadata queries (check_connectivity, partition_count, watermarks) may run on
/// another thread meanwhile. Owners of one client run on any threads. Moving is allowed
/// (callbacks stay bound to the moved-to object). Destroying does not flush: call flush()
/// first; reports of messages still in flight are dropped (a shared client still sends them).
class Producer {
 public:
  /// The highest opaque produce() takes (the bits above carry the owner).
  static constexpr uint64_t kMaxOpaque = (uint64_t{1} << 48) - 1;

  /// Creates a client of its own (no network I/O yet). Throws a fatal modsync::Error naming the
  /// property when a kafka.properties entry is invalid or overrides one modsync enforces.
  Producer(const KafkaSettings& settings, std::string_view client_id, DeliveryCallback on_delivery);

  /// An owner on the process's client for `settings` (brokers and properties alike; client.id
  /// "modsync"), created on first use and destroyed with its last owner; a client that failed
  /// fatally is replaced for new owners. Throws like the constructor. Thread-safe.
  static Producer shared(const KafkaSettings& settings, DeliveryCallback on_delivery);
  ~Producer();
  Producer(Producer&&) noexcept;
  Producer& operator=(Producer&&) noexcept;
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  /// Blocks up to `timeout` until a broker answers a metadata request. Throws a retriable
  /// modsync::Error "cannot reach Kafka at <brokers>: <reason>. Fix: …" otherwise.
  void check_connectivity(std::chrono::milliseconds timeout);

  /// Number of partitions of `topic`, asking the cluster (blocks up to `timeout`). Throws a
  /// fatal error naming the topic when it does not exist, retriable when Kafka is unreachable.
  int partition_count(std::string_view topic, std::chrono::milliseconds timeout);

  /// The low and high watermarks (first retained offset, next offset to be written) of one
  /// partition. Blocks up to `timeout`; throws a retriable KafkaError when the brokers do not say.
  Watermarks watermarks(std::string_view topic, Partition partition,
                        std::chrono::milliseconds timeout);

  /// Enqueues one message; key, value and headers are copied, so the caller may reuse its
  /// buffers at once. `key` nullptr means a null key (round-robin partition). While the local
  /// queue is full it blocks, serving delivery callbacks, until there is room (backpressure
  /// with bounded memory). Throws a fatal modsync::Error when the topic does not exist or the
  /// message is rejected (too large, …) or the idempotent producer failed fatally.
  void produce(std::string_view topic, const char* key, size_t key_len, std::string_view value,
               const Headers& headers, uint64_t opaque);

  /// Waits up to `timeout_ms` (0: not at all) for this owner's delivery reports and serves those
  /// that arrived, on this thread. Returns the number served. Throws modsync::Error when the
  /// idempotent producer hit a fatal error, or when a delivery failed because the topic does not
  /// exist (after reporting it).
  int poll(int timeout_ms);

  /// Waits up to `timeout_ms` for every message this owner queued to be acknowledged, serving
  /// callbacks. Returns true when none is left in flight. Throws like poll().
  bool flush(int timeout_ms);

  /// This owner's messages queued, in flight or awaiting their delivery callback.
  size_t in_flight() const;

  /// Reports delivery progress to `watch` (which must outlive the producer, or be replaced by
  /// nullptr first): the clock starts when a message is queued while none waited, restarts on
  /// every delivery report and stops once nothing is in flight. Another thread reads
  /// watch->stalled_for_ms() to see a broker that stopped acknowledging, even while produce()
  /// blocks on a full queue.
  void watch_deliveries(ProgressWatch* watch);

  const std::string& brokers() const;

  /// For tests: raises `code` as the idempotent producer's fatal error
  /// (rd_kafka_test_fatal_error), as if the broker had caused it.
  void simulate_fatal_error(rd_kafka_resp_err_t code, const char* reason);

 private:
  struct Impl;
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modsync::kafka
