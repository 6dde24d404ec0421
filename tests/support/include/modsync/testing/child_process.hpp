#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modsync/testing/temp_dir.hpp"

namespace modsync::testing {

/// A child process whose stdout and stderr go to files, so that a test can read them at any time
/// (and print them when it fails) without a reader thread and without the child ever blocking
/// on a full pipe. stdin is /dev/null.
///
/// Threads: every method may be called from any thread, concurrently; the object serialises
/// reaping and signalling, so a signal is never sent to a pid that was already reaped (and maybe
/// reused). Construction and destruction must not race with other calls.
///
/// Lifetime: move-only; a moved-from object may only be destroyed or assigned to. The destructor
/// SIGKILLs the child if it still runs and reaps it. By default the child also gets SIGKILL if the
/// test process dies (PR_SET_PDEATHSIG); note that the kernel sends it when the *thread* that
/// started the child exits, so start long-lived children from the main test thread or turn
/// `kill_on_parent_death` off.
class ChildProcess {
 public:
  struct Options {
    /// Variables added to (or replacing those in) this process's environment.
    std::vector<std::pair<std::string, std::string>> env;
    /// Working directory of the child; empty keeps ours.
    std::filesystem::path cwd;
    /// Where stdout.log/stderr.log go; empty means a TempDir owned by this object.
    std::filesystem::path output_dir;
    bool kill_on_parent_death = true;
  };

  /// Starts argv[0] (looked up in PATH when it has no '/'). Throws std::runtime_error when the
  /// program cannot be executed (the message carries exec's errno), so a typo fails loudly.
  explicit ChildProcess(std::vector<std::string> argv);
  ChildProcess(std::vector<std::string> argv, Options options);
  ~ChildProcess();
  ChildProcess(ChildProcess&&) noexcept;
  ChildProcess& operator=(ChildProcess&&) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const;
  const std::vector<std::string>& argv() const;
  std::filesystem::path stdout_path() const;
  std::filesystem::path stderr_path() const;
  /// Everything written so far.
  std::string stdout_text() const;
  std::string stderr_text() const;

  /// Blocks until stdout holds one complete line and returns it (without '\n'); nullopt when the
  /// timeout passes or the child exits first.
  std::optional<std::string> read_first_line(std::chrono::milliseconds timeout) const;
  /// Blocks until `substring` appears in stdout or stderr; false on timeout or if the child exits
  /// without writing it.
  bool wait_for_output(std::string_view substring, std::chrono::milliseconds timeout) const;

  /// Sends `sig`; a no-op once the child has been reaped.
  void signal(int sig);
  /// SIGKILL.
  void kill();
  /// Waits up to `timeout` for the child to exit. Returns its exit code, or 128 + the signal
  /// number when a signal ended it (as shells do); nullopt if it still runs.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();

  /// "argv..., exit status, stdout, stderr" for failure messages.
  std::string describe() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Result of run_command.
struct CommandResult {
  int status = 0;  ///< as ChildProcess::wait
  std::string out;
  std::string err;
};

/// Runs a command to completion. Throws std::runtime_error (with its output) if it does not
/// finish within `timeout`; a non-zero status is returned, not thrown.
CommandResult run_command(std::vector<std::string> argv, ChildProcess::Options options = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace modsync::testing
