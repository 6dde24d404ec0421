// modsync: the command line. Wiring only: every behaviour lives in the module libraries.

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "modsync/event/version.hpp"
#include "modsync/observability/logging.hpp"

int main(int argc, char** argv) {
  CLI::App app{"modsync: change data capture from PostgreSQL module databases to Kafka, and "
               "projections from Kafka into subscriber databases"};
  app.set_version_flag("--version", std::string("modsync ") + modsync::event::kModsyncVersion);
  app.require_subcommand(1);

  std::string config_path;
  auto* run = app.add_subcommand("run", "Run the pipelines of a config file or directory");
  run->add_option("-c,--config", config_path, "YAML file, or directory of *.yaml files")
      ->required();

  std::string validate_path;
  auto* validate = app.add_subcommand("validate", "Check a config file or directory; no side effects");
  validate->add_option("config", validate_path, "YAML file or directory")->required();

  modsync::kafka::DevBrokerOptions broker;
  auto* dev_broker = app.add_subcommand(
      "dev-broker",
      "Run a Kafka-protocol broker for development and tests (librdkafka's mock cluster; in "
      "memory, not for production). Prints its bootstrap address on the first line.");
  dev_broker->add_option("--partitions", broker.partitions, "Partitions of each --topic without :P")
      ->check(CLI::Range(1, 100000));
  dev_broker->add_option("--topic", broker.topics, "Topic to create at start, NAME[:PARTITIONS]");
  dev_broker->add_option("--port", broker.port, "Also listen on 127.0.0.1:PORT (a fixed port)");
  dev_broker->add_option("--address-file", broker.address_file,
                         "Write the bootstrap address to this file");
  dev_broker->add_option("--brokers", broker.brokers, "Number of brokers")->check(CLI::Range(1, 9));

  CLI11_PARSE(app, argc, argv);
  // Logs go to stderr; stdout carries command output (the dev broker's address, validate).
  // `run` switches to the configured format once the config is loaded.
  modsync::observability::configure_logging(modsync::config::LogFormat::kLogfmt,
                                            modsync::config::LogLevel::kInfo);

  try {
    if (*run) return modsync::daemon::run_command(config_path);
    if (*validate) return modsync::daemon::validate_command(validate_path);
    if (*dev_broker) return modsync::kafka::run_dev_broker(broker);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modsync: %s\n", e.what());
    return 1;
  }
  return 0;
}
