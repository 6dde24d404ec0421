#include "modsync/testing/dev_broker_process.hpp"

#include <signal.h>

#include <stdexcept>

#include <fmt/format.h>

namespace modsync::testing {

DevBrokerProcess::DevBrokerProcess() : DevBrokerProcess(Options{}) {}

std::vector<std::string> DevBrokerProcess::command(const Options& options) {
  std::vector<std::string> argv = {options.binary.empty() ? modsync_binary() : options.binary,
                                   "dev-broker", "--partitions",
                                   std::to_string(options.partitions)};
  for (const auto& [topic, partitions] : options.topics) {
    argv.push_back("--topic");
    argv.push_back(fmt::format("{}:{}", topic, partitions));
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  return argv;
}

DevBrokerProcess::DevBrokerProcess(Options options) : process_(command(options)) {
  const auto line = process_.read_first_line(options.startup_timeout);
  if (!line) {
    throw std::runtime_error(fmt::format("dev-broker printed no address within {} ms: {}",
                                         options.startup_timeout.count(), process_.describe()));
  }
  if (!line->starts_with("127.0.0.1:") || line->size() <= 10) {
    throw std::runtime_error(
        fmt::format("dev-broker's first line is '{}', expected 127.0.0.1:PORT: {}", *line,
                    process_.describe()));
  }
  bootstrap_ = *line;
}

int DevBrokerProcess::stop(std::chrono::milliseconds grace) {
  process_.signal(SIGTERM);
  if (auto status = process_.wait(grace)) return *status;
  process_.kill();
  return process_.wait(std::chrono::seconds(10)).value_or(-1);
}

}  // namespace modsync::testing
