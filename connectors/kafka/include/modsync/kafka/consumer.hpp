#pragma once
// A group consumer with manual offset commits, for the apply side and for tests.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "modsync/kafka/handles.hpp"
#include "modsync/kafka/types.hpp"

namespace modsync::kafka {

/// One consumed record; owns its rd_kafka_message_t. Move-only. The views it returns are valid
/// while the Message lives.
class Message {
 public:
  explicit Message(MessagePtr m) : m_(std::move(m)) {}

  std::string_view topic() const { return rd_kafka_topic_name(m_->rkt); }
  Partition partition() const { return Partition{m_->partition}; }
  Offset offset() const { return Offset{m_->offset}; }
  bool has_key() const { return m_->key != nullptr; }
  std::string_view key() const { return {static_cast<const char*>(m_->key), m_->key_len}; }
  bool has_value() const { return m_->payload != nullptr; }  ///< false for a tombstone
  std::string_view value() const { return {static_cast<const char*>(m_->payload), m_->len}; }
  /// The last header named `name`; nullopt when absent. A null header value is "".
  std::optional<std::string_view> header(std::string_view name) const;
  /// All headers in order, as (name, value) views.
  std::vector<std::pair<std::string_view, std::string_view>> headers() const;
  /// The record's Kafka timestamp (CreateTime: when it was produced), Unix ms; -1 when none.
  int64_t timestamp_ms() const {
    rd_kafka_timestamp_type_t type;
    return rd_kafka_message_timestamp(m_.get(), &type);
  }
  /// The position to commit once this message is processed (offset + 1).
  TopicPartitionOffset next_position() const;

 private:
  MessagePtr m_;
};

/// Rebalance hooks, invoked on the thread calling poll_batch() or close(): `on_assigned`
/// before the partitions are assigned, `on_revoked` before they are taken away (commit what
/// you processed there, or drop it). With the cooperative protocol both name only the partitions
/// that change; with the eager one every rebalance revokes all and assigns all. `on_assigned`
/// may set each partition's offset, where fetching then starts (left at Offset{} = -1001: the
/// group's committed offset, else auto_offset_reset).
struct RebalanceHooks {
  std::function<void(std::vector<TopicPartitionOffset>&)> on_assigned;
  std::function<void(const std::vector<TopicPartitionOffset>&)> on_revoked;
};

struct ConsumerOptions {
  std::string group_id;
  std::string client_id = "modsync";
  /// "error" (default) reports a lost or out-of-range position instead of silently skipping
  /// or replaying data; "earliest"/"latest" are the usual alternatives.
  std::string auto_offset_reset = "error";
  /// A consumer that stops polling is evicted after this long; a re-join after every member
  /// left waits about as long again, so tests use 6000.
  int session_timeout_ms = 45000;
  /// partition.assignment.strategy; "" keeps librdkafka's default (range,roundrobin: eager).
  /// "cooperative-sticky" moves only the partitions that change owner (KIP-429).
  std::string assignment_strategy;
  RebalanceHooks hooks;
};

/// A group consumer: enable.auto.commit=false and enable.auto.offset.store=false, so nothing
/// is marked consumed until commit() says so.
///
/// Threads: not thread-safe; one thread polls, commits and closes (shared consumers, each on
/// its own thread, may share a client). Callbacks (rebalance hooks)
/// run on that thread. Moving is allowed. Destroying leaves the group (rd_kafka_destroy, which
/// may run on_revoked) but commits nothing; call close() for an orderly stop.
class Consumer {
 public:
  /// Creates the client (no network I/O yet). Throws a fatal modsync::Error naming the property
  /// when a kafka.properties entry is invalid.
  Consumer(const KafkaSettings& settings, ConsumerOptions options);

  /// An assign-mode consumer on a librdkafka client shared with the other shared consumers of
  /// the process that have the same settings (one set of broker threads and one fetch loop for
  /// all of them, instead of one per consumer). It reads only the partitions it assigned, from
  /// a queue of its own (their partition queues are forwarded into it), so each consumer gets
  /// exactly its partitions' messages. A partition is on one shared client once: a consumer
  /// assigning a partition another one holds gets a client of its own. No group: no subscribe(),
  /// commit() or committed() (they throw); auto.offset.reset is "error". assign() replaces this
  /// consumer's partitions (the others' stay), and a partition assigned again starts at the
  /// given offset: nothing fetched under the previous assignment is delivered after it.
  /// Consumers of different `lane`s never share a client: one client's broker thread fetches
  /// for all its consumers, one request at a time, so the workers of one projection (lane =
  /// worker index) each get their own to fetch in parallel (make bench wide_apply, two workers on
  /// one client: 0.30 of native, against 0.71 with a client each in the same session).
  static Consumer shared(const KafkaSettings& settings, size_t lane = 0);
  ~Consumer();
  Consumer(Consumer&&) noexcept;
  Consumer& operator=(Consumer&&) noexcept;
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  /// Joins the group for `topics`; partitions arrive through poll_batch() and the hooks.
  void subscribe(const std::vector<std::string>& topics);
  /// Replaces the assignment with explicit positions (no group balancing, commits still go to
  /// the group). Offsets may be logical: -2 beginning, -1 end, -1000 the committed offset.
  void assign(const std::vector<TopicPartitionOffset>& positions);
  void assign(std::string_view topic, Partition partition, Offset offset);

  /// Appends up to `max_messages` messages to `out`, waiting up to `timeout_ms` for the first
  /// and taking only what is already fetched after that. Returns the number appended. Throws
  /// KafkaError naming topic/partition/offset when the consumer reports an error (e.g. an
  /// out-of-range offset under auto.offset.reset=error); messages already appended by this
  /// call are returned first and the error is thrown by the next call.
  size_t poll_batch(size_t max_messages, int timeout_ms, std::vector<Message>& out);

  /// Commits synchronously (blocks until the coordinator answers). Offsets are the next ones to
  /// read (see Message::next_position()). Throws a retriable modsync::Error on failure.
  void commit(const std::vector<TopicPartitionOffset>& offsets);

  /// The group's committed offset for one partition; nullopt when none. Blocks up to timeout.
  std::optional<Offset> committed(std::string_view topic, Partition partition,
                                  std::chrono::milliseconds timeout);

  /// The partition's low and high watermarks (first offset held, offset of the next message
  /// written), asking the partition leader. Blocks up to `timeout`. Throws a retriable
  /// modsync::Error naming topic and partition when the broker does not answer in time.
  Watermarks query_watermarks(std::string_view topic, Partition partition,
                              std::chrono::milliseconds timeout);

  /// The group protocol of the current generation: "NONE" until a JoinGroup is answered, then
  /// "EAGER" or "COOPERATIVE". Blocks briefly (asks librdkafka's group thread).
  std::string rebalance_protocol() const;

  /// Leaves the group (running on_revoked) and stops fetching. A cooperative-sticky member not
  /// yet assigned anything first waits for its assignment, hooks off (librdkafka 2.0.2 aborts
  /// otherwise; consumer.cpp), up to the session timeout plus 5 s; so does the destructor.
  /// Blocking; idempotent.
  void close();

 private:
  struct Impl;
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modsync::kafka
