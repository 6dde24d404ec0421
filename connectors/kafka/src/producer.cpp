#include "modsync/kafka/producer.hpp"

#include <exception>
#include <optional>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "conf.hpp"
#include "modsync/kafka/kafka_error.hpp"

namespace modsync::kafka {
namespace {

static_assert(sizeof(void*) >= sizeof(uint64_t), "the opaque travels as msg_opaque");

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

bool is_unknown_topic(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
}

}  // namespace

struct Producer::Impl {
  std::string brokers;
  DeliveryCallback on_delivery;
  KafkaPtr rk;
  // Declared after rk so topic handles are destroyed before the client that created them.
  std::unordered_map<std::string, TopicPtr, StringHash, std::equal_to<>> topics;
  // Set inside librdkafka callbacks (which must not throw through C frames) and thrown once
  // control is back in our own frames.
  std::exception_ptr callback_exception;
  std::optional<KafkaError> pending_error;
  std::string last_client_error;
  ProgressWatch* watch = nullptr;
  bool delivered = false;  ///< a delivery report was served since the last served()

  /// After callbacks were served (once per poll, not per message: the clock is read here only):
  /// an empty queue means nothing waits; a report means the wait restarts.
  void served() {
    if (watch == nullptr) return;
    if (rd_kafka_outq_len(rk.get()) == 0) {
      watch->idle();
    } else if (delivered) {
      watch->progress(steady_now_ms());
    }
    delivered = false;
  }

  static void on_dr(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    const char* topic = rd_kafka_topic_name(m->rkt);
    DeliveryResult r{m->err, rd_kafka_err2str(m->err), topic, Partition{m->partition},
                     Offset{m->offset}};
    self->delivered = true;
    if (is_unknown_topic(m->err) && !self->pending_error) {
      self->pending_error.emplace(m->err, unknown_topic_message(self->brokers, topic));
    }
    if (self->callback_exception) return;
    try {
      self->on_delivery(reinterpret_cast<uint64_t>(m->_private), r);
    } catch (...) {
      self->callback_exception = std::current_exception();
    }
  }

  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    self->last_client_error = reason;
    // Fatal errors are picked up by rd_kafka_fatal_error() in check(); the rest are transient
    // (a broker went away) and librdkafka reconnects by itself.
    spdlog::warn("Kafka producer ({}): {}: {}", self->brokers,
                 rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
  }

  static std::string unknown_topic_message(std::string_view brokers, std::string_view topic) {
    return fmt::format(
        "Kafka topic '{}' does not exist at {} (UNKNOWN_TOPIC_OR_PART). Fix: create the topic "
        "(kafka-topics.sh --create --topic {} …) or enable auto.create.topics.enable on the "
        "cluster",
        topic, brokers, topic);
  }

  void check() {
    if (callback_exception) std::rethrow_exception(std::exchange(callback_exception, nullptr));
    char errstr[512];
    if (const auto err = rd_kafka_fatal_error(rk.get(), errstr, sizeof errstr)) {
      throw KafkaError(
          ErrorKind::kFatal, err,
          fmt::format("Kafka producer at {} failed fatally ({}): {}. Fix: restart the pipeline; "
                      "it resumes from its last checkpoint",
                      brokers, rd_kafka_err2name(err), errstr));
    }
    if (pending_error) {
      KafkaError e = std::move(*pending_error);
      pending_error.reset();
      throw e;
    }
  }

  rd_kafka_topic_t* topic_handle(std::string_view name) {
    if (auto it = topics.find(name); it != topics.end()) return it->second.get();
    std::string owned(name);
    TopicPtr rkt(rd_kafka_topic_new(rk.get(), owned.c_str(), nullptr));
    if (!rkt) {
      fail("cannot create Kafka topic handle for '{}' at {}: {}", name, brokers,
           rd_kafka_err2str(rd_kafka_last_error()));
    }
    return topics.emplace(std::move(owned), std::move(rkt)).first->second.get();
  }
};

Producer::Producer(const KafkaSettings& settings, std::string_view client_id,
                   DeliveryCallback on_delivery)
    : impl_(std::make_unique<Impl>()) {
  impl_->brokers = settings.brokers;
  impl_->on_delivery = std::move(on_delivery);
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
  // change event costs ~1.5 KB of RSS (value, key, a dozen separately allocated headers,
  // librdkafka's bookkeeping), so 50k of them keep the daemon under ~100 MB while a slow
  // broker lags (500k reached 236 MB; make bench); 50k is still ~0.5 s of events at 5 ms linger.
  // The byte budget is kafka.memory.producer_queue (settings_from passes it, and it overrides
  // this); its default, for clients built without the configuration.
  set("queue.buffering.max.messages", "50000");
  set("queue.buffering.max.kbytes", "16384");
  detail::apply_properties(
      conf.get(), RD_KAFKA_PRODUCER, settings,
      {{"enable.idempotence", "true"}, {"acks", "all"}, {"partitioner", "murmur2_random"}});
  rd_kafka_conf_set_opaque(conf.get(), impl_.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &Impl::on_dr);
  rd_kafka_conf_set_error_cb(conf.get(), &Impl::on_error);
  rd_kafka_conf_set_log_cb(conf.get(), &detail::log_to_spdlog);
  impl_->rk = detail::new_client(RD_KAFKA_PRODUCER, std::move(conf), settings);
}

Producer::~Producer() {
  // Undelivered messages die with the client: nothing waits for a report any more.
  if (impl_ && impl_->watch != nullptr) impl_->watch->idle();
}
Producer::Producer(Producer&&) noexcept = default;
Producer& Producer::operator=(Producer&&) noexcept = default;

void Producer::check_connectivity(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  const auto err =
      rd_kafka_metadata(impl_->rk.get(), 0, nullptr, &md, static_cast<int>(timeout.count()));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_metadata_destroy(md);
    return;
  }
  // The connect failure itself ("Connection refused") arrives as an error event.
  rd_kafka_poll(impl_->rk.get(), 0);
  const std::string reason =
      impl_->last_client_error.empty()
          ? std::string(rd_kafka_err2str(err))
          : fmt::format("{} ({})", rd_kafka_err2str(err), impl_->last_client_error);
  throw KafkaError(ErrorKind::kRetriable, err,
                   fmt::format("cannot reach Kafka at {} within {} ms: {}. Fix: check "
                               "kafka.brokers and that the brokers are running and reachable "
                               "from this host",
                               impl_->brokers, timeout.count(), reason));
}

int Producer::partition_count(std::string_view topic, std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* rkt = impl_->topic_handle(topic);
  const rd_kafka_metadata_t* md = nullptr;
  const auto err =
      rd_kafka_metadata(impl_->rk.get(), 0, rkt, &md, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw KafkaError(ErrorKind::kRetriable, err,
                     fmt::format("cannot read metadata of Kafka topic '{}' at {}: {}. Fix: check "
                                 "kafka.brokers",
                                 topic, impl_->brokers, rd_kafka_err2str(err)));
  }
  const auto terr =
      md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  const int count = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
  rd_kafka_metadata_destroy(md);
  if (is_unknown_topic(terr)) {
    throw KafkaError(ErrorKind::kFatal, terr, Impl::unknown_topic_message(impl_->brokers, topic));
  }
  if (terr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw KafkaError(ErrorKind::kFatal, terr,
                     fmt::format("Kafka topic '{}' at {}: {}", topic, impl_->brokers,
                                 rd_kafka_err2str(terr)));
  }
  return count;
}

Watermarks Producer::watermarks(std::string_view topic, Partition partition,
                                std::chrono::milliseconds timeout) {
  return detail::query_watermarks(impl_->rk.get(), fmt::format("Kafka producer ({})", impl_->brokers),
                                  topic, partition, timeout);
}

void Producer::produce(std::string_view topic, const char* key, size_t key_len,
                       std::string_view value, const Headers& headers, uint64_t opaque) {
  rd_kafka_topic_t* rkt = impl_->topic_handle(topic);
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
  vus[n++].u.ptr = reinterpret_cast<void*>(opaque);
  if (rd_headers) {
    vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
    vus[n++].u.headers = rd_headers.get();
  }
  for (;;) {
    KafkaErrorPtr error(rd_kafka_produceva(impl_->rk.get(), vus, n));
    if (!error) {
      (void)rd_headers.release();  // librdkafka owns the headers once the message is queued
      if (impl_->watch != nullptr) impl_->watch->outstanding();
      return;
    }
    const auto code = rd_kafka_error_code(error.get());
    if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Backpressure: delivery reports free queue space; serve them and try again.
      rd_kafka_poll(impl_->rk.get(), 10);
      impl_->served();
      impl_->check();
      continue;
    }
    impl_->check();
    if (is_unknown_topic(code)) {
      throw KafkaError(ErrorKind::kFatal, code, Impl::unknown_topic_message(impl_->brokers, topic));
    }
    throw KafkaError(code,
                fmt::format("cannot produce to Kafka topic '{}' at {} ({} byte value): {}", topic,
                            impl_->brokers, value.size(), rd_kafka_error_string(error.get())));
  }
}

int Producer::poll(int timeout_ms) {
  const int served = rd_kafka_poll(impl_->rk.get(), timeout_ms);
  impl_->served();
  impl_->check();
  return served;
}

bool Producer::flush(int timeout_ms) {
  const auto err = rd_kafka_flush(impl_->rk.get(), timeout_ms);
  impl_->served();
  impl_->check();
  return err == RD_KAFKA_RESP_ERR_NO_ERROR && rd_kafka_outq_len(impl_->rk.get()) == 0;
}

size_t Producer::in_flight() const {
  return static_cast<size_t>(rd_kafka_outq_len(impl_->rk.get()));
}

void Producer::watch_deliveries(ProgressWatch* watch) {
  impl_->watch = watch;
  if (watch != nullptr) watch->idle();
}

const std::string& Producer::brokers() const {
  return impl_->brokers;
}

void Producer::simulate_fatal_error(rd_kafka_resp_err_t code, const char* reason) {
  rd_kafka_test_fatal_error(impl_->rk.get(), code, reason);
}

}  // namespace modsync::kafka
