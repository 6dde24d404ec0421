// Test-only stand-in for `modsync dev-broker` (the daemon wires the real subcommand with
// CLI11). Flags: --brokers N --partitions P --topic NAME[:P]… --port PORT --address-file PATH
// --control-port PORT.
#include <cstdio>
#include <string>
#include <string_view>

#include "modsync/common/error.hpp"
#include "modsync/kafka/dev_broker.hpp"

int main(int argc, char** argv) {
  modsync::kafka::DevBrokerOptions options;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view flag = argv[i];
      if (i + 1 >= argc) modsync::fail("flag {} needs a value", flag);
      const std::string value = argv[++i];
      if (flag == "--brokers") {
        options.brokers = std::stoi(value);
      } else if (flag == "--partitions") {
        options.partitions = std::stoi(value);
      } else if (flag == "--topic") {
        options.topics.push_back(value);
      } else if (flag == "--port") {
        options.port = static_cast<uint16_t>(std::stoi(value));
      } else if (flag == "--control-port") {
        options.control_port = std::stoi(value);
      } else if (flag == "--address-file") {
        options.address_file = value;
      } else {
        modsync::fail("unknown flag {}", flag);
      }
    }
    return modsync::kafka::run_dev_broker(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
