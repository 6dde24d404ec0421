#pragma once
// A Kafka-protocol broker for development and tests, built on librdkafka's in-process mock
// cluster. In memory only, not for production (docs/dev-broker.md).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h requires rdkafka.h first.
#include <librdkafka/rdkafka_mock.h>

namespace modsync::kafka {

/// Options of `modsync dev-broker`; each field matches one flag.
struct DevBrokerOptions {
  int brokers = 1;  ///< --brokers N
  /// --partitions P: partitions of each --topic given without ":P". The mock auto-creates
  /// unknown topics on metadata/produce requests with a fixed 4 partitions, whatever this says.
  int partitions = 4;
  std::vector<std::string> topics;  ///< --topic NAME[:P], repeatable; created at start
  uint16_t port = 0;                ///< --port PORT: also listen on 127.0.0.1:PORT (0: no)
  std::string address_file;         ///< --address-file PATH: write the address there
  /// --control-port PORT: serve fault-injection commands (DevBroker::control) on
  /// 127.0.0.1:PORT; 0 takes a free port, -1 (default) serves none.
  int control_port = -1;
};

struct TopicSpec {
  std::string name;
  int partitions = 0;
};

/// Parses "NAME" or "NAME:P" (P in 1..100000); throws a fatal modsync::Error naming the
/// flag value and the expected form otherwise.
TopicSpec parse_topic_spec(std::string_view spec, int default_partitions);

/// librdkafka's mock cluster, owned. Its brokers run on a librdkafka thread and listen on
/// ephemeral 127.0.0.1 ports; with a fixed port, a forwarder thread relays
/// 127.0.0.1:PORT to the first mock broker (metadata then names the mock's own ports, which
/// clients on this host reach directly).
///
/// Threads: all methods may be called from any one thread; the mock serves clients on its own
/// threads. Move-only. Destruction stops the forwarder and the mock (blocking, cannot fail);
/// all data is lost.
class DevBroker {
 public:
  /// Starts the cluster, creates the topics and the forwarder. Throws a fatal modsync::Error
  /// on bad options or when the port is taken.
  explicit DevBroker(const DevBrokerOptions& options);
  ~DevBroker();
  DevBroker(DevBroker&&) noexcept;
  DevBroker& operator=(DevBroker&&) noexcept;
  DevBroker(const DevBroker&) = delete;
  DevBroker& operator=(const DevBroker&) = delete;

  /// "127.0.0.1:PORT" when a fixed port was requested, else the mock's bootstrap list.
  const std::string& bootstrap() const;
  /// The mock's own bootstrap list ("127.0.0.1:p1,127.0.0.1:p2,…").
  std::string mock_bootstrap() const;
  /// Creates (or keeps, when it exists) a topic. Throws a fatal modsync::Error on failure.
  void create_topic(std::string_view name, int partitions);
  /// The topics created through options or create_topic(), in order.
  const std::vector<TopicSpec>& created_topics() const;

  /// For fault injection in tests (rd_kafka_mock_* calls); this object keeps ownership.
  rd_kafka_mock_cluster_t* mock() const;

  /// Runs one fault-injection command of the control protocol (docs/dev-broker.md, "Fault
  /// injection"), e.g. "request-errors Produce NOT_LEADER_FOR_PARTITION" or "broker-down 1",
  /// and returns the one-line reply: "ok…", or "error: …" naming the problem and the fix.
  /// Never throws for bad input. Same threading rule as the other methods.
  std::string control(std::string_view line);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Runs `modsync dev-broker`: starts a DevBroker, writes its bootstrap address to
/// options.address_file if set (atomically: temporary file + rename), then prints it as the
/// FIRST line on stdout (flushed; once it appears, the file exists too), logs what it created
/// to stderr, and blocks until SIGTERM or SIGINT. With options.control_port >= 0 it also serves
/// the control protocol on 127.0.0.1 and prints that address as the SECOND stdout line.
/// Returns 0 after a signal. Blocks SIGTERM/SIGINT in the calling thread first, so call it
/// before starting other threads. Throws modsync::Error on bad options or start-up failure.
int run_dev_broker(const DevBrokerOptions& options);

}  // namespace modsync::kafka
