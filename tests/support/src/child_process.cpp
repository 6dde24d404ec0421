#include "modsync/testing/child_process.hpp"

#include "cleanup_registry.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

extern char** environ;

namespace modsync::testing {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(5);

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int decode_status(int raw) {
  if (WIFEXITED(raw)) return WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
  return -1;
}

/// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

Fd open_output(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) {
    throw std::runtime_error(
        fmt::format("ChildProcess: cannot create {}: {}", path.string(), std::strerror(errno)));
  }
  return fd;
}

}  // namespace

struct ChildProcess::State {
  std::vector<std::string> argv;
  std::optional<TempDir> owned_dir;
  std::filesystem::path out_path;
  std::filesystem::path err_path;
  mutable std::mutex mutex;  // guards pid/status: reaping and signalling must not interleave
  pid_t pid = -1;
  std::optional<int> status;

  // Requires mutex held.
  bool poll_locked() {
    if (status) return false;
    int raw = 0;
    const pid_t r = ::waitpid(pid, &raw, WNOHANG);
    if (r == pid) {
      status = decode_status(raw);
      cleanup::remove_process_group(pid);
      return false;
    }
    return r == 0;
  }
};

ChildProcess::ChildProcess(std::vector<std::string> argv) : ChildProcess(std::move(argv), {}) {}

ChildProcess::ChildProcess(std::vector<std::string> argv, Options options)
    : state_(std::make_unique<State>()) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  state_->argv = std::move(argv);
  std::filesystem::path dir = options.output_dir;
  if (dir.empty()) {
    state_->owned_dir.emplace("modsync-child");
    dir = state_->owned_dir->path();
  }
  state_->out_path = dir / "stdout.log";
  state_->err_path = dir / "stderr.log";
  Fd out = open_output(state_->out_path);
  Fd err = open_output(state_->err_path);
  Fd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));

  // Everything the child needs is built before fork: after fork in a threaded process only
  // async-signal-safe calls are allowed.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [k, v] : options.env) overridden = overridden || k == name;
    if (!overridden) env_strings.emplace_back(entry);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& s : state_->argv) args.push_back(s.data());
  args.push_back(nullptr);
  const std::string cwd = options.cwd.string();

  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(fmt::format("ChildProcess: pipe2: {}", std::strerror(errno)));
  }
  Fd exec_read(exec_pipe[0]);
  Fd exec_write(exec_pipe[1]);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    int code = 0;
    if (options.kill_on_parent_death) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    }
    // Start in our own process group, so that a terminal's Ctrl-C reaches the test first and
    // its clean-up decides what happens to the child.
    ::setpgid(0, 0);
    if (::dup2(null_in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0 ||
        (!cwd.empty() && ::chdir(cwd.c_str()) != 0)) {
      code = errno;
    } else {
      ::execvpe(args[0], args.data(), envp.data());
      code = errno;
    }
    [[maybe_unused]] auto n = ::write(exec_write.get(), &code, sizeof code);
    ::_exit(127);
  }
  state_->pid = pid;
  // Also from the parent, so the group exists before anyone signals it (no race with the child).
  ::setpgid(pid, pid);
  cleanup::add_process_group(pid);
  exec_write.reset();
  int code = 0;
  ssize_t n;
  do {
    n = ::read(exec_read.get(), &code, sizeof code);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof code) {
    int raw = 0;
    ::waitpid(pid, &raw, 0);
    state_->status = decode_status(raw);
    cleanup::remove_process_group(pid);
    throw std::runtime_error(fmt::format("ChildProcess: cannot start '{}': {}",
                                         fmt::join(state_->argv, " "), std::strerror(code)));
  }
}

ChildProcess::~ChildProcess() {
  if (!state_) return;
  std::lock_guard lock(state_->mutex);
  if (state_->poll_locked()) {
    ::kill(state_->pid, SIGKILL);
    int raw = 0;
    ::waitpid(state_->pid, &raw, 0);
    cleanup::remove_process_group(state_->pid);
  }
}

ChildProcess::ChildProcess(ChildProcess&&) noexcept = default;

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    ChildProcess doomed(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

pid_t ChildProcess::pid() const {
  return state_->pid;
}
const std::vector<std::string>& ChildProcess::argv() const {
  return state_->argv;
}
std::filesystem::path ChildProcess::stdout_path() const {
  return state_->out_path;
}
std::filesystem::path ChildProcess::stderr_path() const {
  return state_->err_path;
}
std::string ChildProcess::stdout_text() const {
  return read_file(state_->out_path);
}
std::string ChildProcess::stderr_text() const {
  return read_file(state_->err_path);
}

bool ChildProcess::running() {
  std::lock_guard lock(state_->mutex);
  return state_->poll_locked();
}

std::optional<std::string> ChildProcess::read_first_line(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool alive;
    {
      std::lock_guard lock(state_->mutex);
      alive = state_->poll_locked();
    }
    // Read after checking liveness: output written just before exit is still seen.
    const std::string text = stdout_text();
    const auto nl = text.find('\n');
    if (nl != std::string::npos) return text.substr(0, nl);
    if (!alive || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
}

bool ChildProcess::wait_for_output(std::string_view substring,
                                   std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool alive;
    {
      std::lock_guard lock(state_->mutex);
      alive = state_->poll_locked();
    }
    if (stdout_text().find(substring) != std::string::npos ||
        stderr_text().find(substring) != std::string::npos) {
      return true;
    }
    if (!alive || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

void ChildProcess::signal(int sig) {
  std::lock_guard lock(state_->mutex);
  if (state_->poll_locked()) ::kill(state_->pid, sig);
}

void ChildProcess::kill() {
  signal(SIGKILL);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard lock(state_->mutex);
      if (!state_->poll_locked()) return state_->status;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::string ChildProcess::describe() const {
  std::string status;
  {
    std::lock_guard lock(state_->mutex);
    status = state_->status ? fmt::format("exited with status {}", *state_->status)
                            : fmt::format("running as pid {}", state_->pid);
  }
  return fmt::format("`{}` {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                     fmt::join(state_->argv, " "), status, stdout_text(), stderr_text());
}

CommandResult run_command(std::vector<std::string> argv, ChildProcess::Options options,
                          std::chrono::milliseconds timeout) {
  ChildProcess child(std::move(argv), std::move(options));
  const auto status = child.wait(timeout);
  if (!status) {
    child.kill();
    child.wait(std::chrono::seconds(5));
    throw std::runtime_error(
        fmt::format("command timed out after {} ms: {}", timeout.count(), child.describe()));
  }
  return CommandResult{*status, child.stdout_text(), child.stderr_text()};
}

}  // namespace modsync::testing
