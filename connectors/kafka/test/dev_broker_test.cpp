#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>

#include <librdkafka/rdkafka.h>

#include "modsync/common/error.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/dev_broker.hpp"
#include "modsync/kafka/producer.hpp"
#include "modsync/testing/dev_broker_process.hpp"
#include "test_support.hpp"

using namespace modsync::kafka;
using namespace std::chrono_literals;

TEST_CASE("the mock auto-creates unknown topics with 4 partitions on metadata and produce",
          "[dev-broker]") {
  // Measured on librdkafka 2.0.2; docs/dev-broker.md relies on it.
  DevBroker broker({.partitions = 7});
  std::vector<DeliveryResult> results;
  Producer producer({broker.bootstrap(), {}}, "t",
                    [&](uint64_t, const DeliveryResult& r) { results.push_back(r); });
  CHECK(producer.partition_count("seen.by.metadata", 5s) == 4);
  producer.produce("seen.by.produce", "k", 1, "v", {}, 0);
  REQUIRE(producer.flush(10000));
  REQUIRE(results.size() == 1);
  CHECK(results[0].ok());
  CHECK(producer.partition_count("seen.by.produce", 5s) == 4);
}

TEST_CASE("pre-created topics get their partition counts", "[dev-broker]") {
  DevBroker broker({.partitions = 3, .topics = {"a", "b:16"}});
  Producer producer({broker.bootstrap(), {}}, "t", [](uint64_t, const DeliveryResult&) {});
  CHECK(producer.partition_count("a", 5s) == 3);
  CHECK(producer.partition_count("b", 5s) == 16);
  broker.create_topic("c", 2);
  CHECK(producer.partition_count("c", 5s) == 2);
  CHECK(broker.created_topics().size() == 3);
}

TEST_CASE("a fixed port forwards to the mock: kcat -L and our clients work through it",
          "[dev-broker]") {
  const uint16_t port = test::free_port();
  DevBroker broker({.brokers = 3, .topics = {"fixed:5"}, .port = port});
  CHECK(broker.bootstrap() == "127.0.0.1:" + std::to_string(port));

  const auto [status, out] =
      test::run({MODSYNC_KCAT, "-L", "-b", broker.bootstrap(), "-t", "fixed"});
  REQUIRE(status == 0);
  CHECK_THAT(out, Catch::Contains("from broker -1: " + broker.bootstrap() + "/bootstrap") &&
                      Catch::Contains("3 brokers:") &&
                      Catch::Contains("topic \"fixed\" with 5 partitions"));

  int delivered = 0;
  Producer producer({broker.bootstrap(), {}}, "t",
                    [&](uint64_t, const DeliveryResult& r) { delivered += r.ok(); });
  producer.check_connectivity(5s);
  for (int i = 0; i < 100; ++i) producer.produce("fixed", "k", 1, "v", {}, 0);
  REQUIRE(producer.flush(10000));
  CHECK(delivered == 100);
}

TEST_CASE("a taken fixed port is a clear start-up error", "[dev-broker]") {
  const uint16_t port = test::free_port();
  DevBroker first({.port = port});
  CHECK_THROWS_WITH(DevBroker({.port = port}),
                    Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(port)) &&
                        Catch::Contains("Fix: pick another --port"));
}

TEST_CASE("the dev-broker process prints its address first, writes the file, stops on SIGTERM",
          "[dev-broker]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("modsync-dev-broker-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto address_file = (dir / "address").string();
  const uint16_t port = test::free_port();
  test::Child child({MODSYNC_DEV_BROKER_MAIN, "--port", std::to_string(port), "--topic", "events:6",
                     "--address-file", address_file});
  const auto line = child.read_line(10s);
  REQUIRE(line);
  CHECK(*line == "127.0.0.1:" + std::to_string(port));
  std::ifstream in(address_file);
  std::string from_file;
  std::getline(in, from_file);
  CHECK(from_file == *line);
  CHECK_FALSE(std::filesystem::exists(address_file + ".tmp"));

  const auto [status, out] = test::run({MODSYNC_KCAT, "-L", "-b", *line, "-t", "events"});
  REQUIRE(status == 0);
  CHECK_THAT(out, Catch::Contains("topic \"events\" with 6 partitions"));

  CHECK(child.stop(SIGTERM) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the dev-broker process without a port prints the mock's address and stops on SIGINT",
          "[dev-broker]") {
  test::Child child({MODSYNC_DEV_BROKER_MAIN, "--brokers", "2"});
  const auto line = child.read_line(10s);
  REQUIRE(line);
  CHECK_THAT(*line, Catch::Matches(R"(127\.0\.0\.1:\d+,127\.0\.0\.1:\d+)"));
  Producer producer({*line, {}}, "t", [](uint64_t, const DeliveryResult&) {});
  producer.check_connectivity(5s);
  CHECK(child.stop(SIGINT) == 0);
}

TEST_CASE("the dev-broker process rejects a bad --topic with exit status 1", "[dev-broker]") {
  const auto [status, out] = test::run({MODSYNC_DEV_BROKER_MAIN, "--topic", "x:0"});
  CHECK(status == 1);
  CHECK(out.empty());
}

TEST_CASE("control commands inject request errors through the mock API", "[dev-broker][control]") {
  DevBroker broker({.topics = {"ctl:1"}});
  std::vector<DeliveryResult> results;
  Producer producer({broker.bootstrap(), {}}, "t",
                    [&](uint64_t, const DeliveryResult& r) { results.push_back(r); });
  producer.check_connectivity(5s);
  CHECK(broker.control("ping") == "ok");
  // A permanent error: the next Produce request fails and the message is not delivered.
  CHECK(broker.control("request-errors Produce TOPIC_AUTHORIZATION_FAILED") == "ok");
  producer.produce("ctl", "k", 1, "refused", {}, 0);
  REQUIRE(producer.flush(10000));
  REQUIRE(results.size() == 1);
  CHECK(results[0].error == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  // The stack is used up: the next one goes through (a new client: the first one remembers the
  // topic's authorization error).
  std::vector<DeliveryResult> later;
  Producer second({broker.bootstrap(), {}}, "t2",
                  [&](uint64_t, const DeliveryResult& r) { later.push_back(r); });
  second.produce("ctl", "k", 1, "accepted", {}, 0);
  REQUIRE(second.flush(10000));
  REQUIRE(later.size() == 1);
  CHECK(later[0].ok());
  // By number too, and cleared before use.
  CHECK(broker.control("request-errors 0 29 29") == "ok");
  CHECK(broker.control("clear-request-errors Produce") == "ok");
  second.produce("ctl", "k", 1, "accepted", {}, 0);
  REQUIRE(second.flush(10000));
  REQUIRE(later.size() == 2);
  CHECK(later[1].ok());
}

/// A bare librdkafka producer, configured as ours is (idempotent, acks=all, 5 ms linger), that
/// also reads librdkafka's statistics: they tell how many messages wait for a broker's answer,
/// which is how a test knows two requests really were in flight at once.
class StatsProducer {
 public:
  explicit StatsProducer(const std::string& bootstrap,
                         const std::vector<std::pair<std::string, std::string>>& props) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::vector<std::pair<std::string, std::string>> all = {
        {"bootstrap.servers", bootstrap}, {"enable.idempotence", "true"}, {"acks", "all"},
        {"linger.ms", "5"}, {"statistics.interval.ms", "10"}};
    all.insert(all.end(), props.begin(), props.end());
    char err[512];
    for (const auto& [k, v] : all) {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
        FAIL(k << ": " << err);
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* o) {
      static_cast<StatsProducer*>(o)->delivered_ += m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    });
    rd_kafka_conf_set_stats_cb(conf, [](rd_kafka_t*, char* json, size_t len, void* o) {
      // Summed over brokers: "waitresp_msg_cnt" appears once per broker object.
      static const std::regex re(R"("waitresp_msg_cnt":(\d+))");
      int64_t sum = 0;
      const std::string text(json, len);
      for (std::sregex_iterator it(text.begin(), text.end(), re), e; it != e; ++it)
        sum += std::stoll((*it)[1]);
      static_cast<StatsProducer*>(o)->awaiting_ = sum;
      return 0;
    });
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk_ == nullptr) FAIL(err);
  }
  ~StatsProducer() { rd_kafka_destroy(rk_); }
  StatsProducer(const StatsProducer&) = delete;
  StatsProducer& operator=(const StatsProducer&) = delete;

  void produce(const char* topic, const std::string& value) {
    REQUIRE(rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  /// Serves callbacks until `done()` or the deadline; returns whether `done()` was reached.
  template <typename Done>
  bool poll_until(Done done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      rd_kafka_poll(rk_, 5);
    }
    return true;
  }
  bool flush(std::chrono::milliseconds limit) {
    return rd_kafka_flush(rk_, static_cast<int>(limit.count())) == RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  int64_t held(const char* topic) {
    int64_t low = 0, high = 0;
    REQUIRE(rd_kafka_query_watermark_offsets(rk_, topic, 0, &low, &high, 10000) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
    return high - low;
  }
  int delivered() const { return delivered_; }
  int64_t awaiting() const { return awaiting_; }

 private:
  rd_kafka_t* rk_ = nullptr;
  int delivered_ = 0;
  int64_t awaiting_ = 0;
};

struct PipelinedRun {
  bool pipelined;   ///< B's request was seen in flight while A's still waited for its answer
  int delivered;    ///< messages reported delivered
  int64_t held;     ///< messages the partition holds
};

/// Pushes one Produce error, produces A, and B once A's request is on the wire.
PipelinedRun pipelined_after_error(const std::vector<std::pair<std::string, std::string>>& props) {
  DevBroker broker({.topics = {"seq:1", "warm:1"}});
  StatsProducer producer(broker.bootstrap(), props);
  // Connected, with a producer id, before the round trip gets long.
  producer.produce("warm", "w");
  REQUIRE(producer.flush(10s));
  // A long round trip: B's request leaves while A's answer is still on its way.
  REQUIRE(broker.control("broker-rtt 1 1000") == "ok");
  REQUIRE(broker.control("request-errors Produce NOT_LEADER_FOR_PARTITION") == "ok");
  producer.produce("seq", "A");
  REQUIRE(producer.poll_until([&] { return producer.awaiting() >= 1; }, 10s));
  producer.produce("seq", "B");
  const bool pipelined = producer.poll_until([&] { return producer.awaiting() >= 2; }, 700ms);
  REQUIRE(producer.flush(30s));
  REQUIRE(broker.control("broker-rtt 1 0") == "ok");
  return {pipelined, producer.delivered() - 1, producer.held("seq")};
}

TEST_CASE("Produce errors against the dev broker need one request in flight to be exact",
          "[dev-broker][control]") {
  // The mock checks no idempotent-producer sequence numbers (only transactional ones): when the
  // first of two pipelined requests fails and the second succeeds, librdkafka takes the
  // second's success as proof that the first was stored, and reports it delivered. A real broker
  // rejects the second request (out of order) instead. Chaos finding F6; the chaos test keeps one
  // request in flight in runs that inject Produce errors (docs/dev-broker.md).
  SECTION("pipelined: the failed request's message is reported delivered, and is not stored") {
    // The statistics show whether both requests were in flight at once; a loaded host may send
    // B only after A's answer, which proves nothing: try again.
    std::optional<PipelinedRun> run;
    for (int attempt = 0; attempt < 5 && !(run && run->pipelined); ++attempt)
      run = pipelined_after_error({});
    REQUIRE(run->pipelined);
    CHECK(run->delivered == 2);
    CHECK(run->held == 1);
  }
  SECTION("one request in flight: retried, delivered and stored") {
    const auto run = pipelined_after_error({{"max.in.flight.requests.per.connection", "1"}});
    CHECK(!run.pipelined);
    CHECK(run.delivered == 2);
    CHECK(run.held == 2);
  }
}

TEST_CASE("control commands set a broker down and up, and a round-trip time",
          "[dev-broker][control]") {
  DevBroker broker({.topics = {"ctl:1"}});
  CHECK(broker.control("broker-rtt 1 50") == "ok");
  CHECK(broker.control("broker-down 1") == "ok");
  const auto [down, down_out] =
      test::run({MODSYNC_KCAT, "-L", "-b", broker.bootstrap(), "-m", "2", "-t", "ctl"});
  CHECK(down != 0);
  CHECK(broker.control("broker-up 1") == "ok");
  const auto [up, up_out] = test::run({MODSYNC_KCAT, "-L", "-b", broker.bootstrap(), "-t", "ctl"});
  CHECK(up == 0);
  CHECK_THAT(up_out, Catch::Contains("topic \"ctl\" with 1 partitions"));
  CHECK(broker.control("topic-error ctl TOPIC_AUTHORIZATION_FAILED") == "ok");
  CHECK(broker.control("topic-error ctl NO_ERROR") == "ok");
}

TEST_CASE("bad control commands get one-line errors naming the fix", "[dev-broker][control]") {
  DevBroker broker({});
  CHECK_THAT(broker.control(""),
             Catch::StartsWith("error: empty command") && Catch::Contains("Fix: send `help`"));
  CHECK_THAT(broker.control("help"), Catch::StartsWith("ok commands:"));
  CHECK_THAT(broker.control("reboot"), Catch::Contains("unknown command 'reboot'"));
  CHECK_THAT(broker.control("request-errors Produce"),
             Catch::Contains("usage: request-errors API ERR"));
  CHECK_THAT(broker.control("request-errors Prodce NOT_LEADER_FOR_PARTITION"),
             Catch::Contains("unknown API 'Prodce'") && Catch::Contains("Produce, Fetch"));
  CHECK_THAT(broker.control("request-errors Produce NOT_A_LEADER"),
             Catch::Contains("unknown error 'NOT_A_LEADER'") &&
                 Catch::Contains("NOT_LEADER_FOR_PARTITION"));
  CHECK_THAT(broker.control("broker-down 0"), Catch::Contains("bad broker id '0'"));
  CHECK_THAT(broker.control("broker-down 7"), Catch::StartsWith("error: "));
  CHECK_THAT(broker.control("broker-rtt 1 -5"), Catch::Contains("bad round-trip time '-5'"));
}

TEST_CASE("the dev-broker process serves control commands at its second stdout line",
          "[dev-broker][control]") {
  test::Child child({MODSYNC_DEV_BROKER_MAIN, "--control-port", "0", "--topic", "ctl:1"});
  const auto bootstrap = child.read_line(10s);
  const auto control = child.read_line(10s);
  REQUIRE(bootstrap);
  REQUIRE(control);
  CHECK_THAT(*control, Catch::Matches(R"(127\.0\.0\.1:\d+)"));
  CHECK(*control != *bootstrap);
  CHECK(modsync::testing::send_control_line(*control, "ping") == "ok");
  CHECK_THAT(modsync::testing::send_control_line(*control, "nonsense"),
             Catch::StartsWith("error: unknown command"));
  CHECK(modsync::testing::send_control_line(*control, "broker-down 1") == "ok");
  CHECK(test::run({MODSYNC_KCAT, "-L", "-b", *bootstrap, "-m", "2", "-t", "ctl"}).first != 0);
  CHECK(modsync::testing::send_control_line(*control, "broker-up 1") == "ok");
  CHECK(test::run({MODSYNC_KCAT, "-L", "-b", *bootstrap, "-t", "ctl"}).first == 0);
  CHECK(child.stop(SIGTERM) == 0);
}

TEST_CASE("the dev-broker process rejects a bad --control-port", "[dev-broker][control]") {
  const auto [status, out] = test::run({MODSYNC_DEV_BROKER_MAIN, "--control-port", "70000"});
  CHECK(status == 1);
  CHECK(out.empty());
}
