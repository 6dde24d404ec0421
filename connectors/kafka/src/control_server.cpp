#include "control_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace modsync::kafka::detail {
namespace {

// A line longer than this is not a command: the connection is closed.
constexpr size_t kMaxLine = 4096;

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

ControlServer::ControlServer(uint16_t port, Handler handle) : handle_(std::move(handle)) {
  listener_ = open_loopback_listener(
      port, 16, " for control",
      "pick another --control-port (0 takes a free one) or stop the process using it");
  thread_ = std::thread([this] { serve(); });
}

ControlServer::~ControlServer() {
  stop();
}

void ControlServer::stop() {
  if (stopping_.exchange(true)) return;
  const char byte = 0;
  [[maybe_unused]] const auto n = ::write(listener_.wake_pipe[1], &byte, 1);
  if (thread_.joinable()) thread_.join();
  close_listener(listener_);
}

void ControlServer::serve() {
  for (int client; (client = accept_or_wake(listener_)) >= 0;) {
    serve_connection(client);
    ::close(client);
    if (stopping_) return;
  }
}

void ControlServer::serve_connection(int fd) {
  std::string pending;
  char buf[1024];
  for (;;) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {listener_.wake_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      std::string_view line(pending.data(), nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!send_all(fd, handle_(line) + "\n")) return;
      pending.erase(0, nl + 1);
    }
    if (pending.size() > kMaxLine) {
      send_all(fd, "error: line too long\n");
      return;
    }
  }
}

}  // namespace modsync::kafka::detail
