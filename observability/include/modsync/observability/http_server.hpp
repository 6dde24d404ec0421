#pragma once
// The daemon's HTTP endpoint (daemon.http.listen): /metrics, /healthz, /readyz, /status.
// docs/operations.md describes each route for operators.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace modsync::observability {

/// The answer of a readiness check.
struct Readiness {
  bool ready = true;
  std::string reason;  ///< why not ready, for the 503 body (e.g. which pair failed); "" when ready
};

/// What the routes serve. Every callback is invoked on one of the server's threads, possibly
/// concurrently with itself and with the others, for as long as the server runs: callbacks must
/// be thread-safe, should return quickly (they hold up the HTTP client, e.g. a kubelet probe) and
/// must not call stop(). A callback that throws yields a 500 with the exception's message.
struct HttpHandlers {
  /// Body of GET /metrics (Prometheus text 0.0.4). Unset: /metrics answers 404.
  std::function<std::string()> metrics;
  /// Decides GET /readyz: 200 "ready" or 503 with the reason. Unset: always ready.
  std::function<Readiness()> readiness;
  /// Body of GET /status, a JSON document. Unset: /status answers 404.
  std::function<std::string()> status;
};

/// An HTTP/1.1 server on cpp-httplib, on its own threads (one accept thread and a small worker
/// pool). Routes:
///   GET /metrics  200, Content-Type text/plain; version=0.0.4; charset=utf-8
///   GET /healthz  200 "ok" while the process runs (liveness: the server threads answer)
///   GET /readyz   200 "ready" or 503 with the readiness reason
///   GET /status   200, application/json
/// anything else 404.
///
/// Lifecycle: construct (no I/O), start() binds and begins serving, stop() ends it. The object
/// is move-only; its members must be called from one thread at a time (the owner's), while
/// requests are served on the server's own threads. The destructor calls stop(), which never
/// fails.
class HttpServer {
 public:
  /// `listen`: "host:port" or "[ipv6]:port", as daemon.http.listen; port 0 picks a free port
  /// (see port()). Nothing is checked or bound until start().
  HttpServer(std::string listen, HttpHandlers handlers);
  ~HttpServer();
  HttpServer(HttpServer&&) noexcept;
  HttpServer& operator=(HttpServer&&) noexcept;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts serving; returns once the socket listens, so a client may connect right
  /// away. Throws modsync::Error (fatal) naming daemon.http.listen, the address and the fix when
  /// the address is malformed, does not resolve, is in use or may not be bound. Calling it on a
  /// running server throws too.
  void start();

  /// The bound port (the chosen one when listening on port 0); 0 before start().
  uint16_t port() const;

  /// Stops accepting, lets requests in progress finish, and joins the server threads. Blocks
  /// for at most a few seconds beyond the slowest running callback (idle keep-alive connections
  /// are dropped within a second, clients that send nothing after two). Idempotent; does
  /// nothing if never started.
  void stop() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace modsync::observability
