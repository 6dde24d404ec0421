// Under systemd (Type=notify) the daemon says READY=1 once its pipelines started, reports
// STATUS= lines, and STOPPING=1 on SIGTERM. systemd's notify socket is a unix datagram socket
// named by NOTIFY_SOCKET; this test plays systemd's part.

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "capture_harness.hpp"
#include "modsync/testing/child_process.hpp"
#include "modsync/testing/modsync_binary.hpp"

using namespace modsync;
using namespace std::chrono_literals;

namespace {

/// A bound AF_UNIX datagram socket that collects notify messages.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof addr.sun_path);
    path.copy(addr.sun_path, path.size());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{0, 200000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }

  /// Reads messages until one contains `needle` or `timeout` passes; returns all text read.
  std::string wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        seen_.append(buf, static_cast<size_t>(n));
        seen_ += '\n';
        if (seen_.find(needle) != std::string::npos) break;
      }
    }
    return seen_;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string seen_;
};

}  // namespace

TEST_CASE("under a notify socket the daemon sends READY, STATUS and STOPPING",
          "[integration][systemd]") {
  itest::CaptureHarness h;
  h.sql("CREATE TABLE a (id int PRIMARY KEY)");
  h.write_config("tables: [a]");
  const std::string socket_path = (h.dir() / "notify.sock").string();
  NotifySocket notify(socket_path);
  testing::ChildProcess::Options options;
  options.env = {{"NOTIFY_SOCKET", socket_path}};
  testing::ChildProcess daemon(
      {testing::modsync_binary(), "run", "--config", h.config_path().string()}, options);

  CHECK_THAT(notify.wait_for("READY=1", 20s), Catch::Contains("READY=1"));
  CHECK_THAT(notify.wait_for("1 of 1 pipelines running", 20s),
             Catch::Contains("STATUS=1 of 1 pipelines running"));
  daemon.signal(SIGTERM);
  CHECK_THAT(notify.wait_for("STOPPING=1", 20s), Catch::Contains("STOPPING=1"));
  CHECK(daemon.wait(30s) == 0);
}
