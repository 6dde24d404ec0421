#include "modsync/kafka/consumer.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>

#include <spdlog/spdlog.h>

#include "conf.hpp"
#include "modsync/common/error.hpp"
#include "modsync/kafka/kafka_error.hpp"

namespace modsync::kafka {
namespace {

std::vector<TopicPartitionOffset> to_vector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartitionOffset> out;
  out.reserve(static_cast<size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    out.push_back({e.topic, Partition{e.partition}, Offset{e.offset}});
  }
  return out;
}

PartitionListPtr to_list(const std::vector<TopicPartitionOffset>& positions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
  for (const auto& p : positions) {
    rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition.value)->offset =
        p.offset.value;
  }
  return list;
}

/// A handle that does not know a topic's metadata yet waits for its 1 s topic scan before it
/// fetches an assigned partition (every start and restart of a projection paid it; make bench
/// wide_apply). Asking for the metadata first lets the first fetch follow the assign at once.
/// Best effort: on failure the scan still comes.
void fetch_metadata(rd_kafka_t* rk, const std::vector<TopicPartitionOffset>& positions) {
  std::vector<std::string_view> topics;
  for (const auto& p : positions) {
    if (std::find(topics.begin(), topics.end(), p.topic) != topics.end()) continue;
    topics.push_back(p.topic);
    TopicPtr topic(rd_kafka_topic_new(rk, p.topic.c_str(), nullptr));
    const rd_kafka_metadata_t* metadata = nullptr;
    if (topic &&
        rd_kafka_metadata(rk, 0, topic.get(), &metadata, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_metadata_destroy(metadata);
    }
  }
}

/// The configuration of a consumer client, without its callbacks.
ConfPtr consumer_conf(const KafkaSettings& settings, const ConsumerOptions& o) {
  ConfPtr conf(rd_kafka_conf_new());
  const auto set = [&](std::string_view n, std::string_view v) {
    detail::set_property(conf.get(), n, v, "built-in default");
  };
  set("bootstrap.servers", settings.brokers);
  set("client.id", o.client_id);
  set("group.id", o.group_id);
  set("enable.auto.commit", "false");
  set("enable.auto.offset.store", "false");
  detail::set_property(conf.get(), "auto.offset.reset", o.auto_offset_reset,
                       "consumer option auto_offset_reset");
  detail::set_property(conf.get(), "session.timeout.ms", std::to_string(o.session_timeout_ms),
                       "consumer option session_timeout_ms");
  if (!o.assignment_strategy.empty()) {
    detail::set_property(conf.get(), "partition.assignment.strategy", o.assignment_strategy,
                         "consumer option assignment_strategy");
  }
  // Latency: a Kafka broker answers a fetch as soon as fetch.min.bytes (1) is there, but the dev
  // broker (librdkafka's mock) holds an empty fetch for the whole fetch.wait.max.ms and does not
  // cut it short when events arrive, so the 500 ms default delayed every event of an idle
  // projection by up to 500 ms (make bench apply_latency at 20k rows/s: p50 ~460 ms -> ~80 ms).
  // On a Kafka broker the cost is more idle fetch requests (~50/s per client: the projections
  // of a process share one, Consumer::shared). kafka.properties overrides it.
  set("fetch.wait.max.ms", "20");
  // Memory: librdkafka prefetches up to 64 MiB per consumer queue by default (make bench
  // apply_throughput, four projections: peak RSS 326 MiB; 240 MiB at 16 MiB); a shared
  // client's budget is per consumer too, its partitions being forwarded into the consumer's own
  // queue, which the fetcher measures. The budget is kafka.memory.consumer_queue (settings_from
  // passes it, and it overrides this); its default, for clients built without the configuration.
  set("queued.max.messages.kbytes", "4096");
  detail::apply_properties(conf.get(), RD_KAFKA_CONSUMER, settings, {});
  return conf;
}

/// The refill nudge's threshold: half the prefetch budget (queued.max.messages.kbytes).
uint64_t nudge_threshold(const rd_kafka_conf_t* conf) {
  char value[32];
  size_t size = sizeof value;
  if (rd_kafka_conf_get(conf, "queued.max.messages.kbytes", value, &size) != RD_KAFKA_CONF_OK) {
    return 0;
  }
  return std::strtoull(value, nullptr, 10) * 1024 / 2;
}

/// Frees whatever `queue` holds.
void drain(rd_kafka_queue_t* queue) {
  while (rd_kafka_message_t* m = rd_kafka_consume_queue(queue, 0)) rd_kafka_message_destroy(m);
}

/// librdkafka needs a group id to assign partitions; a shared client never joins a group nor
/// commits, so the id only names it (in the broker's logs).
constexpr const char* kSharedGroup = "modsync-shared-assign";

/// One librdkafka consumer client and the partitions the shared consumers using it assigned
/// (each partition at most once: a handle has one fetcher per partition). Thread-safe.
struct ConsumerClient {
  std::string brokers;
  uint64_t nudge_bytes = 0;
  std::mutex mutex;
  std::vector<std::pair<std::string, int32_t>> taken;  ///< guarded by mutex
  KafkaPtr rk;

  /// Takes `positions`' partitions for one consumer; false (taking none) when another consumer
  /// of this client holds one of them.
  bool reserve(const std::vector<TopicPartitionOffset>& positions) {
    std::lock_guard lock(mutex);
    for (const auto& p : positions) {
      if (std::find(taken.begin(), taken.end(), std::pair(p.topic, p.partition.value)) !=
          taken.end()) {
        return false;
      }
    }
    for (const auto& p : positions) taken.emplace_back(p.topic, p.partition.value);
    return true;
  }

  void release(const std::string& topic, int32_t partition) {
    std::lock_guard lock(mutex);
    std::erase(taken, std::pair(topic, partition));
  }

  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    spdlog::warn("Kafka consumer (shared, brokers {}): {}: {}",
                 static_cast<ConsumerClient*>(opaque)->brokers,
                 rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
  }
};

std::shared_ptr<ConsumerClient> new_consumer_client(const KafkaSettings& settings) {
  auto client = std::make_shared<ConsumerClient>();
  client->brokers = settings.brokers;
  ConsumerOptions options;
  options.group_id = kSharedGroup;
  ConfPtr conf = consumer_conf(settings, options);
  client->nudge_bytes = nudge_threshold(conf.get());
  rd_kafka_conf_set_opaque(conf.get(), client.get());
  rd_kafka_conf_set_error_cb(conf.get(), &ConsumerClient::on_error);
  rd_kafka_conf_set_log_cb(conf.get(), &detail::log_to_spdlog);
  client->rk = detail::new_client(RD_KAFKA_CONSUMER, std::move(conf), settings);
  // Not rd_kafka_poll_set_consumer: messages come out of each consumer's own queue, and errors
  // (error_cb) out of the main queue, which every shared consumer serves while idle.
  return client;
}

/// A client for `settings` on which `positions`' partitions are free, taking them: the first
/// such of the process's clients, else a new one.
std::shared_ptr<ConsumerClient> acquire_client(const KafkaSettings& settings, size_t lane,
                                               const std::vector<TopicPartitionOffset>& positions) {
  static std::mutex mutex;
  static std::map<std::string, std::vector<std::weak_ptr<ConsumerClient>>> clients;
  std::lock_guard lock(mutex);
  auto& list = clients[detail::settings_key(settings) + "\nlane=" + std::to_string(lane)];
  std::erase_if(list, [](const auto& w) { return w.expired(); });
  for (const auto& w : list) {
    if (auto client = w.lock(); client && client->reserve(positions)) return client;
  }
  auto client = new_consumer_client(settings);
  client->reserve(positions);
  list.push_back(client);
  return client;
}

}  // namespace

std::optional<std::string_view> Message::header(std::string_view name) const {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m_.get(), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  // rd_kafka_header_get_last needs a NUL-terminated name; scan instead to avoid a copy.
  std::optional<std::string_view> found;
  const char* n = nullptr;
  const void* v = nullptr;
  size_t size = 0;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &n, &v, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    if (name == n) found = std::string_view(v ? static_cast<const char*>(v) : "", size);
  }
  return found;
}

std::vector<std::pair<std::string_view, std::string_view>> Message::headers() const {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m_.get(), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  const char* n = nullptr;
  const void* v = nullptr;
  size_t size = 0;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &n, &v, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    out.emplace_back(n, std::string_view(v ? static_cast<const char*>(v) : "", size));
  }
  return out;
}

TopicPartitionOffset Message::next_position() const {
  return {std::string(topic()), partition(), Offset{m_->offset + 1}};
}

struct Consumer::Impl {
  KafkaSettings settings;
  ConsumerOptions options;
  bool closed = false;
  /// The first-assignment wait (settle_before_close): subscribed to a group with the
  /// cooperative-sticky assignor, an assignment seen, and the hooks switched off while closing.
  bool sticky_member = false;
  bool assigned_once = false;
  bool closing = false;
  bool leak_handle = false;
  std::exception_ptr callback_exception;
  std::optional<KafkaError> deferred;
  /// The refill nudge (poll_batch): payload bytes delivered since the last one, the threshold
  /// (half the prefetch budget, queued.max.messages.kbytes), and a partition delivered lately (the
  /// first of each poll_batch call).
  uint64_t drained_bytes = 0;
  uint64_t nudge_bytes = 0;
  std::string nudge_topic;
  int32_t nudge_partition = -1;

  /// A shared consumer (Consumer::shared): the client, this consumer's queue on it, and the
  /// partitions forwarded into that queue, each with the offset it delivers next (-1: any).
  struct Attached {
    std::string topic;
    int32_t partition;
    int64_t next;
    QueuePtr queue;  ///< the partition's queue, forwarded into `queue`
  };
  std::shared_ptr<ConsumerClient> client;
  size_t lane = 0;
  QueuePtr queue;
  std::vector<Attached> attached;

  // Last, so destroyed first: rd_kafka_destroy closes the consumer, which runs on_rebalance,
  // and that uses the members above. Null for a shared consumer.
  KafkaPtr rk;

  rd_kafka_t* handle() const { return client ? client->rk.get() : rk.get(); }

  std::string where() const {
    if (client) return fmt::format("Kafka consumer (shared, brokers {})", settings.brokers);
    return fmt::format("Kafka consumer (group '{}', brokers {})", options.group_id,
                       settings.brokers);
  }

  [[noreturn]] void no_group(std::string_view what) const {
    fail("{}: {} needs a consumer group; a shared consumer has none (use a Consumer of its own)",
         where(), what);
  }

  /// A shared consumer's assign: replaces its partitions by `positions`.
  void assign_shared(const std::vector<TopicPartitionOffset>& positions) {
    detach();
    if (positions.empty()) return;
    if (!client->reserve(positions)) {
      // Another consumer of this client reads one of these partitions (two projections of one
      // topic): they go on another client.
      queue.reset();
      client = acquire_client(settings, lane, positions);
      queue.reset(rd_kafka_queue_new(client->rk.get()));
    }
    rd_kafka_t* rk_ = client->rk.get();
    fetch_metadata(rk_, positions);
    // Forwarded before they are assigned: a partition queue forwarded by the application stays
    // so (librdkafka forwards the others to the group's queue when it starts fetching them).
    for (const auto& p : positions) {
      QueuePtr pq(rd_kafka_queue_get_partition(rk_, p.topic.c_str(), p.partition.value));
      if (!pq) {
        for (const auto& q : positions) client->release(q.topic, q.partition.value);
        detach();
        fail("{}: no queue for topic '{}' partition {}", where(), p.topic, p.partition);
      }
      rd_kafka_queue_forward(pq.get(), queue.get());
      attached.push_back(
          {p.topic, p.partition.value, p.offset.value >= 0 ? p.offset.value : -1, std::move(pq)});
    }
    auto list = to_list(positions);
    if (KafkaErrorPtr e{rd_kafka_incremental_assign(rk_, list.get())}) {
      const std::string reason = rd_kafka_error_string(e.get());
      unforward();
      throw KafkaError(ErrorKind::kFatal, rd_kafka_error_code(e.get()),
                       fmt::format("{}: cannot assign partitions: {}", where(), reason));
    }
  }

  /// A shared consumer's partitions stop: they are unassigned on the client (which stops their
  /// fetchers and outdates what those fetched), and whatever their queues and this consumer's
  /// queue still hold is freed, so a later assign of them never delivers it.
  void detach() {
    if (attached.empty()) return;
    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(attached.size())));
    for (const auto& a : attached) {
      rd_kafka_topic_partition_list_add(list.get(), a.topic.c_str(), a.partition);
    }
    if (KafkaErrorPtr e{rd_kafka_incremental_unassign(client->rk.get(), list.get())}) {
      spdlog::warn("{}: unassign: {}", where(), rd_kafka_error_string(e.get()));
    }
    unforward();
  }

  void unforward() {
    for (auto& a : attached) {
      rd_kafka_queue_forward(a.queue.get(), nullptr);
      drain(a.queue.get());
      client->release(a.topic, a.partition);
    }
    attached.clear();
    drain(queue.get());
    deferred.reset();  // an error of the partitions that went
    drained_bytes = 0;
    nudge_partition = -1;
  }

  /// Whether a shared consumer must drop `m`: not of its partitions, or before the position
  /// its partition reads from (a message fetched under an earlier assignment of it).
  bool stale(const rd_kafka_message_t* m) {
    const char* topic = rd_kafka_topic_name(m->rkt);
    for (auto& a : attached) {
      if (a.partition != m->partition || a.topic != topic) continue;
      if (m->offset < a.next) return true;
      a.next = m->offset + 1;
      return false;
    }
    return true;
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    // NULL once the group is terminating (a revoke still queued when rd_kafka_destroy closes the
    // consumer; it crashed a replica restarting its pipelines): the configured strategy decides.
    const char* protocol = rd_kafka_rebalance_protocol(rk);
    const bool cooperative =
        protocol ? std::string_view(protocol) == "COOPERATIVE" : self->sticky_member;
    const bool assigning = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
    if (assigning) self->assigned_once = true;
    if (self->closing) {
      // Assigned only so that the group's protocol completes before the close (see
      // settle_before_close): nothing is fetched, and the owner's hooks never see it.
      if (cooperative) {
        KafkaErrorPtr e(assigning ? rd_kafka_incremental_assign(rk, partitions)
                                  : rd_kafka_incremental_unassign(rk, partitions));
      } else {
        rd_kafka_assign(rk, assigning ? partitions : nullptr);
      }
      if (assigning) rd_kafka_pause_partitions(rk, partitions);
      return;
    }
    if (assigning && self->options.hooks.on_assigned && !self->callback_exception) {
      try {
        auto positions = to_vector(partitions);
        self->options.hooks.on_assigned(positions);
        for (const auto& p : positions) {
          if (auto* e = rd_kafka_topic_partition_list_find(partitions, p.topic.c_str(),
                                                           p.partition.value)) {
            e->offset = p.offset.value;
          }
        }
      } catch (...) {
        self->callback_exception = std::current_exception();
      }
    } else if (!assigning && self->options.hooks.on_revoked && !self->callback_exception) {
      try {
        self->options.hooks.on_revoked(to_vector(partitions));
      } catch (...) {
        self->callback_exception = std::current_exception();
      }
    }
    // The assignment must change even when a hook failed, or the group stalls.
    if (cooperative) {
      KafkaErrorPtr e(assigning ? rd_kafka_incremental_assign(rk, partitions)
                                : rd_kafka_incremental_unassign(rk, partitions));
      if (e)
        spdlog::error("{}: rebalance failed: {}", self->where(), rd_kafka_error_string(e.get()));
    } else {
      const auto e = rd_kafka_assign(rk, assigning ? partitions : nullptr);
      if (e) spdlog::error("{}: rebalance failed: {}", self->where(), rd_kafka_err2str(e));
    }
    // Partitions whose hook failed have no trusted start offset: they are not fetched until the
    // exception (thrown by the next poll) has ended this consumer.
    if (assigning && self->callback_exception) rd_kafka_pause_partitions(rk, partitions);
  }

  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    spdlog::warn("{}: {}: {}", self->where(),
                 rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
  }

  /// librdkafka 2.0.2 stops fetching a partition whose prefetch queue is full and looks again
  /// only when its broker thread next wakes: at its 1 s serve timeout, as nothing else wakes an
  /// idle broker thread. The apply drained an 8 MiB queue in 0.1–0.3 s and then waited for the
  /// rest of the second (make bench wide_apply, one worker: 16k rows/s against 85k with the
  /// nudge; librdkafka 2.2 added fetch.queue.backoff.ms for it). A request to the partition's
  /// leader wakes that thread, which then fetches at once. Sent only once half the budget was
  /// drained since the last one, so a steady trickle or an idle projection sends none.
  /// The request's answer is not needed: the wait for it is short, and a timeout is harmless.
  void nudge_refill() {
    if (nudge_partition < 0 || drained_bytes < nudge_bytes) return;
    drained_bytes = 0;
    int64_t low = 0, high = 0;
    (void)rd_kafka_query_watermark_offsets(handle(), nudge_topic.c_str(), nudge_partition, &low,
                                           &high, 50);
  }

  /// librdkafka 2.0.2 aborts the process (assertion `assignor_state` in
  /// rd_kafka_sticky_assignor_state_destroy; confluentinc/librdkafka#4312, fixed in 2.3.0) when a
  /// cooperative-sticky member is destroyed after its JoinGroup was answered but before its
  /// first assignment arrived: a replica stopped a moment after it started or restarted. The
  /// assertion is in rd_kafka_destroy only. So a member not assigned yet first polls for its
  /// assignment (its hooks off: nothing is claimed or read), up to 5 s; a join still open then
  /// (the group waits for a vanished member's session timeout) leaves the group with
  /// rd_kafka_consumer_close, and the handle is then left undestroyed (`leak_handle`): its
  /// threads idle until the process exits. Nothing polls it, so none of its callbacks, which
  /// point at this Impl, can run.
  void settle_before_close() {
    if (!sticky_member || assigned_once) return;
    closing = true;
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(std::min(options.session_timeout_ms, 5000));
    while (!assigned_once && std::chrono::steady_clock::now() < deadline) {
      MessagePtr m(rd_kafka_consumer_poll(rk.get(), 100));
    }
    const char* protocol = rd_kafka_rebalance_protocol(rk.get());
    leak_handle = !assigned_once && protocol && std::string_view(protocol) == "COOPERATIVE";
  }

  /// After rd_kafka_consumer_close: see settle_before_close.
  void release_if_unsafe() {
    if (!leak_handle) return;
    spdlog::warn(
        "{}: left the group before its first assignment; its client is kept, not destroyed, "
        "until the process exits (librdkafka 2.0.2 aborts on destroying it, librdkafka#4312)",
        where());
    (void)rk.release();
  }

  ~Impl() {
    if (client) detach();
    if (closed || !rk) return;
    settle_before_close();
    if (leak_handle) {
      (void)rd_kafka_consumer_close(rk.get());
      release_if_unsafe();
    }
  }

  void rethrow_callback_exception() {
    if (callback_exception) std::rethrow_exception(std::exchange(callback_exception, nullptr));
  }

  KafkaError to_error(const rd_kafka_message_t* m) const {
    const std::string topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    const std::string context = topic.empty()
                                    ? where()
                                    : fmt::format("{} topic '{}' partition {} offset {}", where(),
                                                  topic, m->partition, m->offset);
    switch (m->err) {
      case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
        return KafkaError(
            m->err, fmt::format("{}: the position is not available on the broker ({}). The data "
                                "was removed by retention or the offset is wrong. Fix: reset the "
                                "group's offsets deliberately, or set auto.offset.reset to "
                                "earliest/latest to accept skipping or replaying",
                                context, rd_kafka_message_errstr(m)));
      case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
      case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        return KafkaError(
            m->err, fmt::format("{}: topic does not exist ({}). Fix: create the topic", context,
                                rd_kafka_message_errstr(m)));
      default:
        // Only the message's wording differs; the kind comes from error_kind().
        return KafkaError(m->err, fmt::format("{}: {} ({})", context, rd_kafka_message_errstr(m),
                                              rd_kafka_err2name(m->err)));
    }
  }
};

Consumer::Consumer(const KafkaSettings& settings, ConsumerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->settings = settings;
  impl_->options = std::move(options);
  if (impl_->options.group_id.empty()) {
    fail("Kafka consumer for {}: group id is empty", settings.brokers);
  }
  ConfPtr conf = consumer_conf(settings, impl_->options);
  impl_->nudge_bytes = nudge_threshold(conf.get());
  rd_kafka_conf_set_opaque(conf.get(), impl_.get());
  rd_kafka_conf_set_rebalance_cb(conf.get(), &Impl::on_rebalance);
  rd_kafka_conf_set_error_cb(conf.get(), &Impl::on_error);
  rd_kafka_conf_set_log_cb(conf.get(), &detail::log_to_spdlog);
  impl_->rk = detail::new_client(RD_KAFKA_CONSUMER, std::move(conf), settings);
  // One queue for everything: messages, rebalances and errors all come out of consumer_poll.
  rd_kafka_poll_set_consumer(impl_->rk.get());
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Consumer Consumer::shared(const KafkaSettings& settings, size_t lane) {
  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  impl->lane = lane;
  impl->options.group_id = kSharedGroup;
  impl->client = acquire_client(settings, lane, {});
  impl->nudge_bytes = impl->client->nudge_bytes;
  impl->queue.reset(rd_kafka_queue_new(impl->client->rk.get()));
  return Consumer(std::move(impl));
}

Consumer::~Consumer() = default;

Consumer::Consumer(Consumer&&) noexcept = default;
Consumer& Consumer::operator=(Consumer&&) noexcept = default;

void Consumer::subscribe(const std::vector<std::string>& topics) {
  if (impl_->client) impl_->no_group("subscribe");
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  {
    char value[256];
    size_t size = sizeof value;
    impl_->sticky_member =
        rd_kafka_conf_get(rd_kafka_conf(impl_->rk.get()), "partition.assignment.strategy", value,
                          &size) == RD_KAFKA_CONF_OK &&
        std::string_view(value).find("cooperative-sticky") != std::string_view::npos;
  }
  if (const auto err = rd_kafka_subscribe(impl_->rk.get(), list.get())) {
    throw KafkaError(ErrorKind::kFatal, err,
                     fmt::format("{}: cannot subscribe to {}: {}", impl_->where(),
                                 fmt::join(topics, ","), rd_kafka_err2str(err)));
  }
}

void Consumer::assign(const std::vector<TopicPartitionOffset>& positions) {
  if (impl_->client) {
    impl_->assign_shared(positions);
    return;
  }
  fetch_metadata(impl_->rk.get(), positions);
  auto list = to_list(positions);
  if (const auto err = rd_kafka_assign(impl_->rk.get(), list.get())) {
    throw KafkaError(
        ErrorKind::kFatal, err,
        fmt::format("{}: cannot assign partitions: {}", impl_->where(), rd_kafka_err2str(err)));
  }
}

void Consumer::assign(std::string_view topic, Partition partition, Offset offset) {
  assign({{std::string(topic), partition, offset}});
}

size_t Consumer::poll_batch(size_t max_messages, int timeout_ms, std::vector<Message>& out) {
  if (impl_->deferred) {
    KafkaError e = std::move(*impl_->deferred);
    impl_->deferred.reset();
    throw e;
  }
  size_t appended = 0;
  int wait = timeout_ms;
  rd_kafka_queue_t* const shared = impl_->queue.get();
  while (appended < max_messages) {
    MessagePtr m(shared ? rd_kafka_consume_queue(shared, wait)
                        : rd_kafka_consumer_poll(impl_->rk.get(), wait));
    impl_->rethrow_callback_exception();
    if (!m) {
      // A shared client's errors (error_cb) wait on its main queue for any of its consumers.
      if (shared) rd_kafka_poll(impl_->client->rk.get(), 0);
      impl_->nudge_refill();
      break;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (shared && !m->err && impl_->stale(m.get())) continue;
    if (m->err) {
      KafkaError e = impl_->to_error(m.get());
      if (appended == 0) throw e;
      impl_->deferred.emplace(std::move(e));
      break;
    }
    impl_->drained_bytes += m->len + m->key_len;
    if (appended == 0 && m->rkt) {  // any partition of this consumer will do: once per call
      impl_->nudge_topic = rd_kafka_topic_name(m->rkt);
      impl_->nudge_partition = m->partition;
    }
    out.emplace_back(std::move(m));
    ++appended;
    wait = 0;  // only the first message is worth waiting for; the rest is already fetched
  }
  return appended;
}

void Consumer::commit(const std::vector<TopicPartitionOffset>& offsets) {
  if (impl_->client) impl_->no_group("commit");
  if (offsets.empty()) return;
  auto list = to_list(offsets);
  if (const auto err = rd_kafka_commit(impl_->rk.get(), list.get(), 0)) {
    throw KafkaError(ErrorKind::kRetriable, err,
                     fmt::format("{}: commit of {} offsets failed: {}. Fix: retry; if it persists "
                                 "check the group coordinator",
                                 impl_->where(), offsets.size(), rd_kafka_err2str(err)));
  }
  for (int i = 0; i < list->cnt; ++i) {
    if (const auto err = list->elems[i].err) {
      throw KafkaError(
          ErrorKind::kRetriable, err,
          fmt::format("{}: commit for topic '{}' partition {} failed: {}", impl_->where(),
                      list->elems[i].topic, list->elems[i].partition, rd_kafka_err2str(err)));
    }
  }
}

std::optional<Offset> Consumer::committed(std::string_view topic, Partition partition,
                                          std::chrono::milliseconds timeout) {
  if (impl_->client) impl_->no_group("committed");
  auto list = to_list({{std::string(topic), partition, Offset{}}});
  if (const auto err =
          rd_kafka_committed(impl_->rk.get(), list.get(), static_cast<int>(timeout.count()))) {
    throw KafkaError(ErrorKind::kRetriable, err,
                     fmt::format("{}: cannot read committed offset of topic '{}' partition {}: {}",
                                 impl_->where(), topic, partition, rd_kafka_err2str(err)));
  }
  const int64_t off = list->elems[0].offset;
  if (off < 0) return std::nullopt;
  return Offset{off};
}

Watermarks Consumer::query_watermarks(std::string_view topic, Partition partition,
                                      std::chrono::milliseconds timeout) {
  return detail::query_watermarks(impl_->handle(), impl_->where(), topic, partition, timeout);
}

std::string Consumer::rebalance_protocol() const {
  rd_kafka_t* rk = impl_->handle();
  if (!rk) return "NONE";  // left undestroyed by close() (see settle_before_close)
  const char* p = rd_kafka_rebalance_protocol(rk);
  return p ? p : "NONE";
}

void Consumer::close() {
  if (impl_->closed) return;
  impl_->settle_before_close();
  impl_->closed = true;
  if (impl_->client) {
    impl_->detach();
    return;
  }
  if (const auto err = rd_kafka_consumer_close(impl_->rk.get())) {
    spdlog::warn("{}: close: {}", impl_->where(), rd_kafka_err2str(err));
  }
  impl_->release_if_unsafe();
  impl_->rethrow_callback_exception();
}

}  // namespace modsync::kafka
