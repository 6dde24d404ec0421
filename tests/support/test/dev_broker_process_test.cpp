#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <fstream>

#include "modsync/testing/dev_broker_process.hpp"
#include "modsync/testing/temp_dir.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using modsync::testing::DevBrokerProcess;
using modsync::testing::TempDir;

namespace {

/// A stand-in for `modsync` that records its arguments and prints `first_line`.
std::string fake_modsync(const TempDir& dir, const std::string& first_line) {
  const auto path = dir / "modsync";
  std::ofstream(path) << "#!/bin/sh\necho \"$@\" > " << (dir / "args").string() << "\necho '"
                      << first_line << "'\nexec sleep 60\n";
  ::chmod(path.c_str(), 0755);
  return path.string();
}

}  // namespace

TEST_CASE("DevBrokerProcess passes topics and reads the bootstrap address", "[support]") {
  TempDir dir;
  DevBrokerProcess::Options options;
  options.binary = fake_modsync(dir, "127.0.0.1:39092");
  options.partitions = 3;
  options.topics = {{"orders", 6}, {"users", 1}};
  DevBrokerProcess broker(options);
  CHECK(broker.bootstrap() == "127.0.0.1:39092");
  std::string args;
  std::getline(std::ifstream(dir / "args"), args);
  CHECK(args == "dev-broker --partitions 3 --topic orders:6 --topic users:1");
  CHECK(broker.stop(5s) == 128 + SIGTERM);
}

TEST_CASE("DevBrokerProcess rejects a broker that prints no address", "[support]") {
  TempDir dir;
  DevBrokerProcess::Options options;
  options.binary = fake_modsync(dir, "error: unknown subcommand dev-broker");
  options.startup_timeout = 5s;
  CHECK_THROWS_WITH(DevBrokerProcess(options),
                    Contains("first line is 'error: unknown subcommand dev-broker'"));
}
