#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "modsync/testing/child_process.hpp"
#include "modsync/testing/modsync_binary.hpp"

namespace modsync::testing {

/// `modsync dev-broker`: an in-memory Kafka-protocol broker (librdkafka's mock cluster) in a
/// child process. Contract with the subcommand: its first stdout line is the bootstrap address
/// "127.0.0.1:PORT"; it runs until signalled. Data lives in memory only (see ENVIRONMENT.md for
/// the mock's limits: ~5 MiB per partition, no compaction, no admin API, so topics are created
/// here, at start).
///
/// Threads and lifetime as ChildProcess: the destructor SIGKILLs the broker.
class DevBrokerProcess {
 public:
  struct Options {
    /// Default partition count of topics created on first use.
    int partitions = 1;
    /// Topics created at start, with their partition counts (--topic NAME:P).
    std::vector<std::pair<std::string, int>> topics;
    /// The modsync executable; defaults to modsync_binary().
    std::string binary;
    std::vector<std::string> extra_args;
    /// Serve the fault-injection control protocol (--control-port 0); see control().
    bool control = false;
    std::chrono::milliseconds startup_timeout = std::chrono::seconds(20);
  };

  /// Starts the broker and blocks until it prints its address. Throws std::runtime_error with
  /// the broker's output if it does not within the timeout or prints something else.
  DevBrokerProcess();
  explicit DevBrokerProcess(Options options);

  /// "127.0.0.1:PORT", for bootstrap.servers / kcat -b.
  const std::string& bootstrap() const { return bootstrap_; }
  ChildProcess& process() { return process_; }
  /// "127.0.0.1:PORT" of the control protocol; empty unless Options::control was set.
  const std::string& control_address() const { return control_address_; }

  /// Sends one control command (docs/dev-broker.md, "Fault injection") and returns the reply
  /// line. Throws std::runtime_error when the broker has no control port or does not answer.
  std::string control(const std::string& command) const;

  /// SIGTERM, then SIGKILL if it has not exited within `grace`. Returns its exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  static std::vector<std::string> command(const Options& options);

  ChildProcess process_;
  std::string bootstrap_;
  std::string control_address_;
};

/// Connects to a line-protocol server at "host:port" (IPv4), sends `line` + '\n' and returns the
/// reply line without '\n'. Throws std::runtime_error when it cannot connect or no complete
/// line arrives within `timeout`.
std::string send_control_line(const std::string& address, const std::string& line,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace modsync::testing
