#pragma once
// The listening side shared by the dev broker's forwarder and its control port.

#include <cstdint>
#include <string_view>

namespace modsync::kafka::detail {

/// A TCP socket listening on 127.0.0.1 and a pipe whose write end wakes the threads polling it.
/// Plain descriptors: the owner closes them with close_listener() after its threads stopped.
struct LoopbackListener {
  int fd = -1;
  uint16_t port = 0;  ///< the bound port (the ephemeral one when 0 was asked for)
  int wake_pipe[2] = {-1, -1};
};

/// Binds 127.0.0.1:`port` (0: an ephemeral port) with a backlog of `backlog`. Throws a fatal
/// modsync::Error "cannot listen on 127.0.0.1:PORT<purpose>: <errno>. Fix: <fix>" when the port
/// is taken; nothing is left open then.
LoopbackListener open_loopback_listener(uint16_t port, int backlog, std::string_view purpose,
                                        std::string_view fix);
void close_listener(LoopbackListener& listener);

/// Blocks until a connection arrives and returns it (SOCK_CLOEXEC), or -1 once the wake pipe
/// became readable (the owner is stopping) or polling failed.
int accept_or_wake(const LoopbackListener& listener);

}  // namespace modsync::kafka::detail
