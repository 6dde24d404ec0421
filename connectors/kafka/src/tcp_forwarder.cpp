#include "tcp_forwarder.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace modsync::kafka::detail {
namespace {

// Writes everything or reports failure (peer gone).
bool write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    const ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

TcpForwarder::TcpForwarder(uint16_t listen_port, std::string target_host, uint16_t target_port)
    : target_host_(std::move(target_host)), target_port_(target_port) {
  listener_ = open_loopback_listener(listen_port, 64, "",
                                     "pick another --port or stop the process using it");
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpForwarder::~TcpForwarder() {
  stop();
}

void TcpForwarder::stop() {
  if (stopping_.exchange(true)) return;
  const char byte = 0;
  // Closing nothing yet: every thread polls the pipe's read end and exits when it is readable.
  [[maybe_unused]] const auto n = ::write(listener_.wake_pipe[1], &byte, 1);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> relays;
  {
    std::lock_guard lock(mutex_);
    relays.swap(relays_);
  }
  for (auto& t : relays) t.join();
  close_listener(listener_);
}

void TcpForwarder::accept_loop() {
  for (int client; (client = accept_or_wake(listener_)) >= 0;) {
    std::lock_guard lock(mutex_);
    relays_.emplace_back([this, client] { relay(client); });
  }
}

void TcpForwarder::relay(int client_fd) {
  const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (upstream < 0) {
    ::close(client_fd);
    return;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(target_port_);
  ::inet_pton(AF_INET, target_host_.c_str(), &addr.sin_addr);
  if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(upstream);
    ::close(client_fd);
    return;
  }
  const int one = 1;
  ::setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char buf[64 * 1024];
  for (bool open = true; open;) {
    pollfd fds[3] = {
        {client_fd, POLLIN, 0}, {upstream, POLLIN, 0}, {listener_.wake_pipe[0], POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents) break;
    for (int i = 0; i < 2 && open; ++i) {
      if (!fds[i].revents) continue;
      const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
      if (n <= 0) {
        open = n < 0 && errno == EINTR;
        continue;
      }
      open = write_all(i == 0 ? upstream : client_fd, buf, static_cast<size_t>(n));
    }
  }
  ::close(upstream);
  ::close(client_fd);
}

}  // namespace modsync::kafka::detail
