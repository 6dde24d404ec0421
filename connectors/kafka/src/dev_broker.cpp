#include "modsync/kafka/dev_broker.hpp"

#include <signal.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "conf.hpp"
#include "modsync/common/error.hpp"
#include "modsync/kafka/handles.hpp"
#include "tcp_forwarder.hpp"

namespace modsync::kafka {
namespace {

constexpr int kMaxPartitions = 100000;
// The mock's built-in partition count for auto-created topics (measured, librdkafka 2.0.2).
constexpr int kMockAutoCreatePartitions = 4;

// The mock's own client logs (e.g. "No bootstrap.servers configured") are noise: drop all but
// errors, and keep them off stdout, whose first line is the address contract.
void log_to_stderr(const rd_kafka_t*, int level, const char* facility, const char* buf) {
  if (level <= 3) fmt::print(stderr, "dev-broker: librdkafka {}: {}\n", facility, buf);
}

void write_file_atomically(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    out.flush();
    if (!out) fail("dev broker: cannot write {}. Fix: check --address-file's directory", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail("dev broker: cannot rename {} to {}: {}", tmp, path, ec.message());
}

}  // namespace

TopicSpec parse_topic_spec(std::string_view spec, int default_partitions) {
  const auto colon = spec.rfind(':');
  TopicSpec out{std::string(spec.substr(0, colon)), default_partitions};
  if (colon != std::string_view::npos) {
    const auto digits = spec.substr(colon + 1);
    const auto [end, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), out.partitions);
    if (ec != std::errc() || end != digits.data() + digits.size()) out.partitions = 0;
  }
  if (out.name.empty() || out.partitions < 1 || out.partitions > kMaxPartitions) {
    fail("dev broker: bad --topic '{}'. Fix: use NAME or NAME:PARTITIONS with 1..{} partitions",
         spec, kMaxPartitions);
  }
  return out;
}

struct DevBroker::Impl {
  KafkaPtr rk;
  // Declared after rk: the cluster must be destroyed before the handle it runs on.
  std::unique_ptr<rd_kafka_mock_cluster_t, decltype(&rd_kafka_mock_cluster_destroy)> mock{
      nullptr, &rd_kafka_mock_cluster_destroy};
  std::unique_ptr<detail::TcpForwarder> forwarder;  // destroyed first: it relays to the mock
  std::string bootstrap;
  std::vector<TopicSpec> topics;
};

DevBroker::DevBroker(const DevBrokerOptions& options) : impl_(std::make_unique<Impl>()) {
  if (options.brokers < 1 || options.brokers > 64) {
    fail("dev broker: --brokers {} is out of range. Fix: use 1..64", options.brokers);
  }
  if (options.partitions < 1 || options.partitions > kMaxPartitions) {
    fail("dev broker: --partitions {} is out of range. Fix: use 1..{}", options.partitions,
         kMaxPartitions);
  }
  std::vector<TopicSpec> specs;
  for (const auto& t : options.topics) specs.push_back(parse_topic_spec(t, options.partitions));

  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &log_to_stderr);
  detail::set_property(conf.get(), "client.id", "modsync-dev-broker", "built-in default");
  impl_->rk =
      detail::new_client(RD_KAFKA_PRODUCER, std::move(conf), KafkaSettings{"(mock cluster)", {}});
  impl_->mock.reset(rd_kafka_mock_cluster_new(impl_->rk.get(), options.brokers));
  if (!impl_->mock) fail("dev broker: librdkafka could not start its mock cluster");
  for (const auto& s : specs) create_topic(s.name, s.partitions);

  if (options.port != 0) {
    // Relay to the first broker; it answers metadata with every broker's real address.
    const std::string first = mock_bootstrap().substr(0, mock_bootstrap().find(','));
    const auto colon = first.rfind(':');
    const auto port = static_cast<uint16_t>(std::stoi(first.substr(colon + 1)));
    impl_->forwarder =
        std::make_unique<detail::TcpForwarder>(options.port, first.substr(0, colon), port);
    impl_->bootstrap = fmt::format("127.0.0.1:{}", impl_->forwarder->port());
  } else {
    impl_->bootstrap = mock_bootstrap();
  }
}

DevBroker::~DevBroker() = default;
DevBroker::DevBroker(DevBroker&&) noexcept = default;
DevBroker& DevBroker::operator=(DevBroker&&) noexcept = default;

const std::string& DevBroker::bootstrap() const {
  return impl_->bootstrap;
}

std::string DevBroker::mock_bootstrap() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->mock.get());
}

void DevBroker::create_topic(std::string_view name, int partitions) {
  const std::string n(name);
  // Replication factor 1: data lives in one process anyway, and any broker count works.
  if (const auto err = rd_kafka_mock_topic_create(impl_->mock.get(), n.c_str(), partitions, 1)) {
    fail("dev broker: cannot create topic '{}' with {} partitions: {}", name, partitions,
         rd_kafka_err2str(err));
  }
  impl_->topics.push_back({n, partitions});
}

const std::vector<TopicSpec>& DevBroker::created_topics() const {
  return impl_->topics;
}

rd_kafka_mock_cluster_t* DevBroker::mock() const {
  return impl_->mock.get();
}

int run_dev_broker(const DevBrokerOptions& options) {
  sigset_t signals, previous;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  // Blocked before any thread starts, so librdkafka's and the forwarder's threads inherit the
  // mask and sigwait below is the only receiver.
  pthread_sigmask(SIG_BLOCK, &signals, &previous);

  int received = 0;
  {
    DevBroker broker(options);
    // The file first: whoever reads the stdout line may look for the file at once.
    if (!options.address_file.empty()) {
      write_file_atomically(options.address_file, broker.bootstrap() + "\n");
    }
    std::fputs((broker.bootstrap() + "\n").c_str(), stdout);
    std::fflush(stdout);
    fmt::print(stderr, "dev-broker: {} mock broker(s) at {}\n", options.brokers,
               broker.mock_bootstrap());
    if (options.port != 0) {
      fmt::print(stderr, "dev-broker: forwarding {} to the first broker\n", broker.bootstrap());
    }
    for (const auto& t : broker.created_topics()) {
      fmt::print(stderr, "dev-broker: created topic {} with {} partition(s)\n", t.name,
                 t.partitions);
    }
    fmt::print(stderr,
               "dev-broker: other topics are auto-created with {} partitions on first use; "
               "in memory only, SIGTERM/SIGINT to stop\n",
               kMockAutoCreatePartitions);
    std::fflush(stderr);
    while (sigwait(&signals, &received) != 0) {
    }
    fmt::print(stderr, "dev-broker: signal {} received, stopping\n", received);
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return 0;
}

}  // namespace modsync::kafka
