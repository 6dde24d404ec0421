#pragma once
// A tiny TCP relay: accepts on 127.0.0.1:PORT and pipes each connection to a target address.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loopback_listener.hpp"

namespace modsync::kafka::detail {

/// Owns a listening socket, an accept thread and one thread per relayed connection.
/// Move-only via unique_ptr ownership by the caller (holds threads referring to `this`).
/// stop() (also run by the destructor) wakes every thread through a pipe and joins them.
class TcpForwarder {
 public:
  /// Binds 127.0.0.1:`listen_port` (0: an ephemeral port) and starts relaying to
  /// `target_host`:`target_port`. Throws a fatal modsync::Error when the port is taken.
  TcpForwarder(uint16_t listen_port, std::string target_host, uint16_t target_port);
  ~TcpForwarder();
  TcpForwarder(const TcpForwarder&) = delete;
  TcpForwarder& operator=(const TcpForwarder&) = delete;

  uint16_t port() const { return listener_.port; }
  void stop();

 private:
  void accept_loop();
  void relay(int client_fd);

  std::string target_host_;
  uint16_t target_port_;
  LoopbackListener listener_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<std::thread> relays_;
  std::thread acceptor_;
};

}  // namespace modsync::kafka::detail
