#include <catch2/catch.hpp>

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "modsync/observability/systemd_notifier.hpp"
#include "modsync/testing/temp_dir.hpp"

using modsync::observability::SystemdNotifier;

namespace {

/// A unix datagram socket standing in for systemd's notification socket; sets NOTIFY_SOCKET
/// while it lives.
class FakeNotifySocket {
 public:
  explicit FakeNotifySocket(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof(addr.sun_path));
    std::strcpy(addr.sun_path, path.c_str());
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  ~FakeNotifySocket() {
    unsetenv("NOTIFY_SOCKET");
    close(fd_);
  }
  FakeNotifySocket(const FakeNotifySocket&) = delete;
  FakeNotifySocket& operator=(const FakeNotifySocket&) = delete;

  /// The next datagram, or "" after a second without one.
  std::string receive() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) return "";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  int fd_ = -1;
};

}  // namespace

TEST_CASE("notifications reach NOTIFY_SOCKET") {
  modsync::testing::TempDir dir("modsync-notify");
  FakeNotifySocket socket((dir / "notify").string());
  SystemdNotifier notifier;
  CHECK(notifier.enabled());

  notifier.ready();
  CHECK(socket.receive() == "READY=1");
  notifier.status("streaming 2 pairs\nsecond line");
  CHECK(socket.receive() == "STATUS=streaming 2 pairs second line");
  notifier.reloading();
  CHECK(socket.receive() == "RELOADING=1");
  notifier.stopping();
  CHECK(socket.receive() == "STOPPING=1");
  notifier.watchdog();
  CHECK(socket.receive() == "WATCHDOG=1");
}

TEST_CASE("the watchdog interval comes from WATCHDOG_USEC for this process") {
  SystemdNotifier notifier;
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  CHECK_FALSE(notifier.watchdog_interval().has_value());
  setenv("WATCHDOG_USEC", "30000000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  CHECK(notifier.watchdog_interval() == std::chrono::seconds(30));
  setenv("WATCHDOG_PID", "1", 1);  // meant for another process
  CHECK_FALSE(notifier.watchdog_interval().has_value());
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
}

TEST_CASE("without NOTIFY_SOCKET every call is a silent no-op") {
  unsetenv("NOTIFY_SOCKET");
  SystemdNotifier notifier;
  CHECK_FALSE(notifier.enabled());
  notifier.ready();
  notifier.status("x");
  notifier.stopping();
  notifier.watchdog();
}
