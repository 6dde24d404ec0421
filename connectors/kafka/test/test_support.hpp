#pragma once
// Process and socket helpers for the Kafka component tests.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modsync::kafka::test {

/// Runs argv[0] with argv, returns (exit status, stdout). stderr passes through.
std::pair<int, std::string> run(const std::vector<std::string>& argv);

/// Threads of this process whose name starts with `prefix` (librdkafka names its own "rdk:…").
size_t threads_named(std::string_view prefix);

/// A port that was free a moment ago (bind to 0, read it, close).
uint16_t free_port();

/// A child process whose stdout is a pipe. The destructor SIGKILLs it if still running.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// The next stdout line without '\n'; nullopt on EOF or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// Sends `signal` and waits; returns the exit status (WEXITSTATUS) or -signal.
  int stop(int signal);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
};

}  // namespace modsync::kafka::test
