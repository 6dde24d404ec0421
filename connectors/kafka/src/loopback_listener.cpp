#include "loopback_listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "modsync/common/error.hpp"

namespace modsync::kafka::detail {

LoopbackListener open_loopback_listener(uint16_t port, int backlog, std::string_view purpose,
                                        std::string_view fix) {
  LoopbackListener l;
  if (::pipe2(l.wake_pipe, O_CLOEXEC) != 0) {
    fail("dev broker: cannot create pipe: {}", std::strerror(errno));
  }
  l.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l.fd < 0) {
    const int e = errno;
    close_listener(l);
    fail("dev broker: cannot create a socket: {}", std::strerror(e));
  }
  const int one = 1;
  ::setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(l.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(l.fd, backlog) != 0) {
    const int e = errno;
    close_listener(l);
    fail("dev broker: cannot listen on 127.0.0.1:{}{}: {}. Fix: {}", port, purpose,
         std::strerror(e), fix);
  }
  socklen_t len = sizeof addr;
  ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&addr), &len);
  l.port = ntohs(addr.sin_port);
  return l;
}

void close_listener(LoopbackListener& l) {
  for (int* fd : {&l.fd, &l.wake_pipe[0], &l.wake_pipe[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

int accept_or_wake(const LoopbackListener& l) {
  for (;;) {
    pollfd fds[2] = {{l.fd, POLLIN, 0}, {l.wake_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (fds[1].revents) return -1;
    if (!(fds[0].revents & POLLIN)) continue;
    const int client = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client >= 0) return client;
  }
}

}  // namespace modsync::kafka::detail
