#include "modsync/kafka/producer.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "conf.hpp"
#include "modsync/kafka/kafka_error.hpp"

namespace modsync::kafka {
namespace {

static_assert(sizeof(void*) >= sizeof(uint64_t), "the routed opaque travels as msg_opaque");

/// A message's msg_opaque carries its owner's slot in the top 16 bits and the owner's opaque
/// below (Producer::kMaxOpaque).
constexpr int kSlotShift = 48;
constexpr size_t kMaxSlots = (size_t{1} << 16) - 1;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

bool is_unknown_topic(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
}

std::string unknown_topic_message(std::string_view brokers, std::string_view topic) {
  return fmt::format(
      "Kafka topic '{}' does not exist at {} (UNKNOWN_TOPIC_OR_PART). Fix: create the topic "
      "(kafka-topics.sh --create --topic {} …) or enable auto.create.topics.enable on the "
      "cluster",
      topic, brokers, topic);
}

/// One delivery report, copied out of librdkafka's event for the owner's thread. The topic
/// name belongs to the client's topic handle, which lives as long as the client.
struct Report {
  uint64_t opaque;
  rd_kafka_resp_err_t error;
  const char* topic;
  int32_t partition;
  int64_t offset;
};

/// What one Producer shares with the client's background thread: the reports routed to it.
struct Owner {
  std::mutex mutex;
  std::condition_variable reported;
  std::vector<Report> inbox;  ///< guarded by mutex
  /// Messages produced whose report has not reached the inbox yet. Raised by the owner's
  /// thread before it produces, lowered by the background thread under the client's mutex.
  std::atomic<int64_t> unrouted{0};
  bool detached = false;  ///< its Producer is gone (guarded by the client's mutex)
};

}  // namespace

/// One librdkafka producer client and the owners it routes delivery reports to. Its background
/// thread (rdk:background) receives every delivery report and error; a report goes to the inbox of
/// the owner named by the message's opaque, and that owner's thread serves it. Thread-safe.
struct ProducerClient {
  std::string brokers;
  std::mutex mutex;
  /// Owner slot i + 1 (slot 0 is never used, so an opaque of 0 cannot be misrouted silently).
  /// A slot is reused only once its Producer is gone and every message it produced has been
  /// reported, so a late report never reaches a new owner.
  std::vector<std::shared_ptr<Owner>> owners;
  std::string last_client_error;
  // Destroyed before the members above, which the background thread uses until rd_kafka_destroy
  // has stopped it; the topic handles are destroyed before the client that created them.
  KafkaPtr rk;
  std::unordered_map<std::string, TopicPtr, StringHash, std::equal_to<>> topics;

  uint64_t attach(std::shared_ptr<Owner> owner) {
    std::lock_guard lock(mutex);
    for (size_t i = 0; i < owners.size(); ++i) {
      if (!owners[i]) {
        owners[i] = std::move(owner);
        return i + 1;
      }
    }
    if (owners.size() >= kMaxSlots) {
      fail("more than {} producers share the Kafka client for {}", kMaxSlots, brokers);
    }
    owners.push_back(std::move(owner));
    return owners.size();
  }

  void detach(uint64_t slot) {
    std::lock_guard lock(mutex);
    auto& owner = owners[slot - 1];
    owner->detached = true;
    if (owner->unrouted.load() == 0) owner.reset();
  }

  /// On the background thread: routes each delivery report to its owner's inbox, and wakes each
  /// owner once per event (one produce request's reports), not once per report.
  void route(rd_kafka_event_t* ev) {
    const rd_kafka_message_t* batch[256];
    std::vector<Owner*> woken;
    std::lock_guard lock(mutex);
    for (size_t n; (n = rd_kafka_event_message_array(ev, batch, std::size(batch))) > 0;) {
      Owner* last = nullptr;
      std::unique_lock<std::mutex> owner_lock;
      for (size_t i = 0; i < n; ++i) {
        const rd_kafka_message_t* m = batch[i];
        const auto packed = reinterpret_cast<uint64_t>(m->_private);
        const size_t slot = packed >> kSlotShift;
        if (slot == 0 || slot > owners.size() || !owners[slot - 1]) {
          spdlog::error("Kafka producer ({}): a delivery report for unknown owner {}", brokers,
                        slot);
          continue;
        }
        auto& owner = owners[slot - 1];
        if (owner->detached) {
          if (owner->unrouted.fetch_sub(1) == 1) {
            if (last == owner.get()) {
              owner_lock = {};
              last = nullptr;
            }
            owner.reset();
          }
          continue;
        }
        if (owner.get() != last) {
          // Consecutive reports are mostly one owner's: its lock is taken once for them.
          owner_lock = std::unique_lock(owner->mutex);
          last = owner.get();
          if (std::find(woken.begin(), woken.end(), last) == woken.end()) woken.push_back(last);
        }
        // Lowered with the push, under the owner's lock: in_flight() never misses a report
        // between the two.
        owner->inbox.push_back({packed & Producer::kMaxOpaque, m->err, rd_kafka_topic_name(m->rkt),
                                m->partition, m->offset});
        owner->unrouted.fetch_sub(1);
      }
    }
    for (Owner* owner : woken) owner->reported.notify_all();
  }

  static void on_event(rd_kafka_t*, rd_kafka_event_t* ev, void* opaque) {
    auto* self = static_cast<ProducerClient*>(opaque);
    switch (rd_kafka_event_type(ev)) {
      case RD_KAFKA_EVENT_DR:
        self->route(ev);
        break;
      case RD_KAFKA_EVENT_ERROR: {
        // Fatal errors are picked up by rd_kafka_fatal_error() in check(); the rest are
        // transient (a broker went away) and librdkafka reconnects by itself.
        const auto err = rd_kafka_event_error(ev);
        const char* reason = rd_kafka_event_error_string(ev);
        {
          std::lock_guard lock(self->mutex);
          self->last_client_error = reason;
        }
        spdlog::warn("Kafka producer ({}): {}: {}", self->brokers, rd_kafka_err2name(err), reason);
        break;
      }
      default:
        break;
    }
    rd_kafka_event_destroy(ev);
  }

  std::string client_error() {
    std::lock_guard lock(mutex);
    return last_client_error;
  }

  rd_kafka_topic_t* topic_handle(std::string_view name) {
    std::lock_guard lock(mutex);
    if (auto it = topics.find(name); it != topics.end()) return it->second.get();
    std::string owned(name);
    TopicPtr rkt(rd_kafka_topic_new(rk.get(), owned.c_str(), nullptr));
    if (!rkt) {
      fail("cannot create Kafka topic handle for '{}' at {}: {}", name, brokers,
           rd_kafka_err2str(rd_kafka_last_error()));
    }
    return topics.emplace(std::move(owned), std::move(rkt)).first->second.get();
  }

  bool failed_fatally() const { return rd_kafka_fatal_error(rk.get(), nullptr, 0) != 0; }
};

namespace {

std::shared_ptr<ProducerClient> new_producer_client(const KafkaSettings& settings,
                                                    std::string_view client_id) {
  auto client = std::make_shared<ProducerClient>();
  client->brokers = settings.brokers;
  ConfPtr conf(rd_kafka_conf_new());
  const auto set = [&](std::string_view n, std::string_view v) {
    detail::set_property(conf.get(), n, v, "built-in default");
  };
  set("bootstrap.servers", settings.brokers);
  set("client.id", client_id);
  set("enable.idempotence", "true");
  set("acks", "all");
  set("partitioner", "murmur2_random");
  // Batching: a 5 ms linger fills batches at high rates without adding visible latency.
  set("linger.ms", "5");
  set("batch.num.messages", "10000");
  // Bounded memory: produce() blocks (serving callbacks) once this much is queued. A queued
  // change event costs ~1.5 KB of RSS (value, key, seven separately allocated headers,
  // librdkafka's bookkeeping) whatever its payload, so for narrow rows the count binds before
  // the byte budget. 10k events are 70 ms of a 150k rows/s snapshot, far more than a 5 ms
  // linger's worth or a remote broker's round trips need; at 50k the 1M-row snapshot peaked at
  // 177–181 MiB and spent more CPU per row (cache misses, the allocator), at 10k 120–138 MiB
  // and ~15% less (make bench snapshot_throughput; docs/benchmarks.md). A shared client's owners
  // share the bound; kafka.properties may change it. The byte budget is
  // kafka.memory.producer_queue (settings_from passes it, and it overrides this); its default,
  // for clients built without the configuration.
  set("queue.buffering.max.messages", "10000");
  set("queue.buffering.max.kbytes", "16384");
  detail::apply_properties(
      conf.get(), RD_KAFKA_PRODUCER, settings,
      {{"enable.idempotence", "true"}, {"acks", "all"}, {"partitioner", "murmur2_random"}});
  rd_kafka_conf_set_opaque(conf.get(), client.get());
  // Reports and errors go to librdkafka's background thread, which routes them to their owners:
  // no owner has to poll on the others' behalf.
  rd_kafka_conf_set_events(conf.get(), RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR);
  rd_kafka_conf_set_background_event_cb(conf.get(), &ProducerClient::on_event);
  rd_kafka_conf_set_log_cb(conf.get(), &detail::log_to_spdlog);
  client->rk = detail::new_client(RD_KAFKA_PRODUCER, std::move(conf), settings);
  // The main queue, where librdkafka puts delivery reports and errors, is served by the
  // background thread.
  rd_kafka_queue_t* main = rd_kafka_queue_get_main(client->rk.get());
  rd_kafka_queue_t* background = rd_kafka_queue_get_background(client->rk.get());
  rd_kafka_queue_forward(main, background);
  rd_kafka_queue_destroy(background);
  rd_kafka_queue_destroy(main);
  return client;
}

}  // namespace

struct Producer::Impl {
  std::shared_ptr<ProducerClient> client;
  std::shared_ptr<Owner> owner;
  uint64_t slot = 0;
  DeliveryCallback on_delivery;
  std::vector<Report> serving;  ///< reports taken from the inbox, served from serving_at on
  size_t serving_at = 0;
  std::optional<KafkaError> pending_error;
  ProgressWatch* watch = nullptr;

  Impl(std::shared_ptr<ProducerClient> c, DeliveryCallback cb)
      : client(std::move(c)), owner(std::make_shared<Owner>()), on_delivery(std::move(cb)) {
    slot = client->attach(owner);
  }
  ~Impl() { client->detach(slot); }

  const std::string& brokers() const { return client->brokers; }

  size_t in_flight() {
    std::lock_guard lock(owner->mutex);
    return static_cast<size_t>(owner->unrouted.load()) + owner->inbox.size() +
           (serving.size() - serving_at);
  }

  /// Waits up to `timeout_ms` for a report, then serves every report in the inbox on this
  /// thread. Returns how many were served.
  int serve(int timeout_ms) {
    if (serving_at == serving.size()) {
      serving.clear();
      serving_at = 0;
      std::unique_lock lock(owner->mutex);
      if (owner->inbox.empty() && timeout_ms > 0) {
        owner->reported.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                 [&] { return !owner->inbox.empty(); });
      }
      serving.swap(owner->inbox);
    }
    int served = 0;
    // A callback that throws leaves the rest for the next call; the report it threw on counts
    // as served first, so it is never reported twice.
    while (serving_at < serving.size()) {
      const Report r = serving[serving_at++];
      ++served;
      if (is_unknown_topic(r.error) && !pending_error) {
        pending_error.emplace(r.error, unknown_topic_message(brokers(), r.topic));
      }
      on_delivery(r.opaque, DeliveryResult{r.error, rd_kafka_err2str(r.error), r.topic,
                                           Partition{r.partition}, Offset{r.offset}});
    }
    if (watch != nullptr && served > 0) {
      if (in_flight() == 0) {
        watch->idle();
      } else {
        watch->progress(steady_now_ms());
      }
    }
    return served;
  }

  void check() {
    char errstr[512];
    if (const auto err = rd_kafka_fatal_error(client->rk.get(), errstr, sizeof errstr)) {
      throw KafkaError(
          ErrorKind::kFatal, err,
          fmt::format("Kafka producer at {} failed fatally ({}): {}. Fix: restart the pipeline; "
                      "it resumes from its last checkpoint",
                      brokers(), rd_kafka_err2name(err), errstr));
    }
    if (pending_error) {
      KafkaError e = std::move(*pending_error);
      pending_error.reset();
      throw e;
    }
  }
};

Producer::Producer(const KafkaSettings& settings, std::string_view client_id,
                   DeliveryCallback on_delivery)
    : impl_(std::make_unique<Impl>(new_producer_client(settings, client_id),
                                   std::move(on_delivery))) {}

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Producer Producer::shared(const KafkaSettings& settings, DeliveryCallback on_delivery) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<ProducerClient>> clients;
  const std::string key = detail::settings_key(settings);
  std::shared_ptr<ProducerClient> client;
  {
    std::lock_guard lock(mutex);
    std::erase_if(clients, [](const auto& e) { return e.second.expired(); });
    auto& slot = clients[key];
    client = slot.lock();
    // A client that failed fatally stays failed: its owners restart on a new one.
    if (!client || client->failed_fatally()) {
      client = new_producer_client(settings, "modsync");
      slot = client;
    }
  }
  return Producer(std::make_unique<Impl>(std::move(client), std::move(on_delivery)));
}

Producer::~Producer() {
  // Undelivered messages are no longer reported to anyone.
  if (impl_ && impl_->watch != nullptr) impl_->watch->idle();
}
Producer::Producer(Producer&&) noexcept = default;
Producer& Producer::operator=(Producer&&) noexcept = default;

void Producer::check_connectivity(std::chrono::milliseconds timeout) {
  rd_kafka_t* rk = impl_->client->rk.get();
  const rd_kafka_metadata_t* md = nullptr;
  const auto err = rd_kafka_metadata(rk, 0, nullptr, &md, static_cast<int>(timeout.count()));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_metadata_destroy(md);
    return;
  }
  // The connect failure itself ("Connection refused") arrives as an error event.
  const std::string client_error = impl_->client->client_error();
  const std::string reason = client_error.empty()
                                 ? std::string(rd_kafka_err2str(err))
                                 : fmt::format("{} ({})", rd_kafka_err2str(err), client_error);
  throw KafkaError(ErrorKind::kRetriable, err,
                   fmt::format("cannot reach Kafka at {} within {} ms: {}. Fix: check "
                               "kafka.brokers and that the brokers are running and reachable "
                               "from this host",
                               impl_->brokers(), timeout.count(), reason));
}

int Producer::partition_count(std::string_view topic, std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* rkt = impl_->client->topic_handle(topic);
  const rd_kafka_metadata_t* md = nullptr;
  const auto err =
      rd_kafka_metadata(impl_->client->rk.get(), 0, rkt, &md, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw KafkaError(ErrorKind::kRetriable, err,
                     fmt::format("cannot read metadata of Kafka topic '{}' at {}: {}. Fix: check "
                                 "kafka.brokers",
                                 topic, impl_->brokers(), rd_kafka_err2str(err)));
  }
  const auto terr =
      md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  const int count = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
  rd_kafka_metadata_destroy(md);
  if (is_unknown_topic(terr)) {
    throw KafkaError(ErrorKind::kFatal, terr, unknown_topic_message(impl_->brokers(), topic));
  }
  if (terr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw KafkaError(
        ErrorKind::kFatal, terr,
        fmt::format("Kafka topic '{}' at {}: {}", topic, impl_->brokers(), rd_kafka_err2str(terr)));
  }
  return count;
}

Watermarks Producer::watermarks(std::string_view topic, Partition partition,
                                std::chrono::milliseconds timeout) {
  return detail::query_watermarks(impl_->client->rk.get(),
                                  fmt::format("Kafka producer ({})", impl_->brokers()), topic,
                                  partition, timeout);
}

void Producer::produce(std::string_view topic, const char* key, size_t key_len,
                       std::string_view value, const Headers& headers, uint64_t opaque) {
  if (opaque > kMaxOpaque) {
    fail("Kafka producer ({}): opaque {} is beyond {}", impl_->brokers(), opaque, kMaxOpaque);
  }
  rd_kafka_topic_t* rkt = impl_->client->topic_handle(topic);
  HeadersPtr rd_headers = headers.to_rd_kafka();
  rd_kafka_vu_t vus[6];
  size_t n = 0;
  vus[n].vtype = RD_KAFKA_VTYPE_RKT;
  vus[n++].u.rkt = rkt;
  vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[n++].u.i = RD_KAFKA_MSG_F_COPY;
  vus[n].vtype = RD_KAFKA_VTYPE_KEY;
  vus[n].u.mem.ptr = const_cast<char*>(key);
  vus[n++].u.mem.size = key ? key_len : 0;
  vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
  vus[n].u.mem.ptr = const_cast<char*>(value.data());
  vus[n++].u.mem.size = value.size();
  vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vus[n++].u.ptr = reinterpret_cast<void*>(impl_->slot << kSlotShift | opaque);
  if (rd_headers) {
    vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
    vus[n++].u.headers = rd_headers.get();
  }
  for (;;) {
    impl_->owner->unrouted.fetch_add(1);
    KafkaErrorPtr error(rd_kafka_produceva(impl_->client->rk.get(), vus, n));
    if (!error) {
      (void)rd_headers.release();  // librdkafka owns the headers once the message is queued
      if (impl_->watch != nullptr) impl_->watch->outstanding();
      return;
    }
    impl_->owner->unrouted.fetch_sub(1);
    const auto code = rd_kafka_error_code(error.get());
    if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Backpressure: deliveries free queue space (this owner's are served meanwhile; another
      // owner's free it too, so the wait is short).
      impl_->serve(10);
      impl_->check();
      continue;
    }
    impl_->check();
    if (is_unknown_topic(code)) {
      throw KafkaError(ErrorKind::kFatal, code, unknown_topic_message(impl_->brokers(), topic));
    }
    throw KafkaError(
        code, fmt::format("cannot produce to Kafka topic '{}' at {} ({} byte value): {}", topic,
                          impl_->brokers(), value.size(), rd_kafka_error_string(error.get())));
  }
}

int Producer::poll(int timeout_ms) {
  const int served = impl_->serve(timeout_ms);
  impl_->check();
  return served;
}

bool Producer::flush(int timeout_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, timeout_ms));
  for (;;) {
    impl_->serve(0);
    impl_->check();
    if (impl_->in_flight() == 0) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    impl_->serve(static_cast<int>(std::min<int64_t>(left.count(), 100)));
    impl_->check();
  }
}

size_t Producer::in_flight() const {
  return impl_->in_flight();
}

void Producer::watch_deliveries(ProgressWatch* watch) {
  impl_->watch = watch;
  if (watch != nullptr) watch->idle();
}

const std::string& Producer::brokers() const {
  return impl_->brokers();
}

void Producer::simulate_fatal_error(rd_kafka_resp_err_t code, const char* reason) {
  rd_kafka_test_fatal_error(impl_->client->rk.get(), code, reason);
}

}  // namespace modsync::kafka
