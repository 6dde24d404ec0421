#pragma once
// The dev broker's control port: a line protocol on 127.0.0.1 for fault injection in tests
// (docs/dev-broker.md, "Fault injection").

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "loopback_listener.hpp"

namespace modsync::kafka::detail {

/// Owns a listening socket and one thread that serves connections one after the other: each
/// line received is passed to `handle`, whose return value is sent back followed by '\n'.
/// Commands are short and rare (a test's fault schedule), so one connection at a time is enough;
/// a client that stays connected blocks the next one until it closes.
/// stop() (also run by the destructor) wakes the thread through a pipe and joins it.
class ControlServer {
 public:
  using Handler = std::function<std::string(std::string_view line)>;

  /// Binds 127.0.0.1:`port` (0: an ephemeral port). Throws a fatal modsync::Error when the port
  /// is taken.
  ControlServer(uint16_t port, Handler handle);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  uint16_t port() const { return listener_.port; }
  void stop();

 private:
  void serve();
  void serve_connection(int fd);

  Handler handle_;
  LoopbackListener listener_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace modsync::kafka::detail
