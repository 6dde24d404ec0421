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
  // `run` handles these signals itself: blocked before anything else, one sent right after a
  // start (a reload or stop by the service manager) waits for the handler instead of ending
  // the process with a signal status.
  if (argc > 1 && std::string_view(argv[1]) == "run") modsync::daemon::block_daemon_signals();
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
  dev_broker
      ->add_option("--control-port", broker.control_port,
                   "Serve fault-injection commands on 127.0.0.1:PORT (0: a free port); its "
                   "address is the second stdout line")
      ->check(CLI::Range(0, 65535));

  std::string status_config, status_url;
  bool status_json = false;
  auto* status = app.add_subcommand(
      "status",
      "Per pair: state, positions, lag, last error (from the running daemon, else from "
      "the checkpoints and the source's slot)");
  status->add_option("-c,--config", status_config, "YAML file, or directory of *.yaml files")
      ->required();
  status->add_option("--url", status_url,
                     "The daemon's HTTP endpoint (default: from daemon.http.listen)");
  status->add_flag("--json", status_json, "Print the running daemon's /status JSON as is");

  std::string slots_config, drop_slot;
  bool drop_yes = false;
  auto* slots = app.add_subcommand("slots", "The replication slots of the config's sources");
  slots->require_subcommand(1);
  auto* slots_list = slots->add_subcommand(
      "list", "Each source's slot, and other modsync_* slots in its database (leftovers?)");
  slots_list->add_option("-c,--config", slots_config, "YAML file, or directory of *.yaml files")
      ->required();
  auto* slots_drop = slots->add_subcommand(
      "drop",
      "Drop an inactive slot (the next run creates a new one; changes in between are lost)");
  slots_drop->add_option("-c,--config", slots_config, "YAML file, or directory of *.yaml files")
      ->required();
  slots_drop->add_option("slot", drop_slot, "Slot name")->required();
  slots_drop->add_flag("-y,--yes", drop_yes, "Do not ask for confirmation");

  std::string checkpoint_config;
  auto* checkpoint = app.add_subcommand("checkpoint", "The RocksDB checkpoint store");
  checkpoint->require_subcommand(1);
  auto* checkpoint_show = checkpoint->add_subcommand(
      "show", "Print every pair's checkpoints (only while the daemon is stopped)");
  checkpoint_show
      ->add_option("-c,--config", checkpoint_config, "YAML file, or directory of *.yaml files")
      ->required();

  std::string resnapshot_config, resnapshot_pair, resnapshot_table;
  auto* resnapshot = app.add_subcommand(
      "resnapshot",
      "Rebuild a pair's projections from a new snapshot of their source table (run while the "
      "pair's daemon is stopped; the next start rebuilds)");
  resnapshot->add_option("-c,--config", resnapshot_config, "YAML file, or directory of *.yaml files")
      ->required();
  resnapshot->add_option("pair", resnapshot_pair, "The pair's daemon.id")->required();
  resnapshot->add_option("table", resnapshot_table,
                         "Source table (schema.table or table); default: every table");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, as documented.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  // Logs go to stderr; stdout carries command output (the dev broker's address, validate).
  // `run` switches to the configured format once the config is loaded.
  modsync::observability::configure_logging(modsync::config::LogFormat::kLogfmt,
                                            modsync::config::LogLevel::kInfo);

  try {
    if (*run) return modsync::daemon::run_command(config_path);
    if (*validate) return modsync::daemon::validate_command(validate_path);
    if (*dev_broker) return modsync::kafka::run_dev_broker(broker);
    if (*status) return modsync::daemon::status_command(status_config, status_url, status_json);
    if (*slots_list) return modsync::daemon::slots_list_command(slots_config);
    if (*slots_drop) return modsync::daemon::slots_drop_command(slots_config, drop_slot, drop_yes);
    if (*checkpoint_show) return modsync::daemon::checkpoint_show_command(checkpoint_config);
    if (*resnapshot) {
      return modsync::daemon::resnapshot_command(resnapshot_config, resnapshot_pair,
                                                 resnapshot_table);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modsync: %s\n", e.what());
    return 1;
  }
  return 0;
}
