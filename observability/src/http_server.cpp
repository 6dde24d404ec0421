#include "modsync/observability/http_server.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <thread>

#include <httplib.h>

#include "modsync/common/error.hpp"
#include "modsync/common/listen_address.hpp"

namespace modsync::observability {

namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr size_t kWorkerThreads = 2;
// Bounds how long stop() waits: idle keep-alive connections are dropped after this, and a
// client that connects without sending is cut off after kReadTimeoutSeconds.
constexpr time_t kKeepAliveSeconds = 1;
constexpr time_t kReadTimeoutSeconds = 2;

/// httplib's default also sets SO_REUSEPORT, which would let a second modsync bind the same
/// port and share its traffic instead of failing; SO_REUSEADDR alone only allows a quick
/// restart while old connections linger in TIME_WAIT.
void reuse_address_only(int sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

/// httplib reports a failed bind as `false`, without a reason. Binding once more ourselves
/// recovers the errno, so the message can say what is wrong and how to fix it.
std::string diagnose_bind_failure(const std::string& listen, const std::string& host,
                                  uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &result); rc != 0) {
    return fmt::format(
        "daemon.http.listen {}: host \"{}\" does not resolve ({}). Fix: use an IP address of "
        "this host, 127.0.0.1 for local scrapes only, or 0.0.0.0 for every interface",
        listen, host, gai_strerror(rc));
  }
  int error = 0;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    int sock = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (sock < 0) {
      error = errno;
      continue;
    }
    reuse_address_only(sock);
    const bool bound = bind(sock, ai->ai_addr, ai->ai_addrlen) == 0;
    error = bound ? 0 : errno;
    close(sock);
    if (bound) break;
  }
  freeaddrinfo(result);
  switch (error) {
    case EADDRINUSE:
      return fmt::format(
          "daemon.http.listen {}: address already in use. Fix: stop the process listening there "
          "(find it with `ss -ltnp 'sport = :{}'`) or choose another port in daemon.http.listen",
          listen, port);
    case EADDRNOTAVAIL:
      return fmt::format(
          "daemon.http.listen {}: no interface of this host has address {}. Fix: use an address "
          "of this host, 127.0.0.1, or 0.0.0.0 for every interface",
          listen, host);
    case EACCES:
      return fmt::format(
          "daemon.http.listen {}: permission denied (ports below 1024 need "
          "CAP_NET_BIND_SERVICE). Fix: use a port of 1024 or above",
          listen);
    case 0:
      // The probe bound: the address was busy a moment ago, or listen() failed.
      return fmt::format(
          "daemon.http.listen {}: could not listen (the address may have been busy for a "
          "moment). Fix: check that no other process uses the port, then restart",
          listen);
    default:
      return fmt::format("daemon.http.listen {}: cannot bind: {}. Fix: choose another address",
                         listen, std::strerror(error));
  }
}

/// Runs a handler, turning an exception into a 500 so that a bug in a status callback shows up
/// in the response rather than as a dropped connection.
template <typename F>
httplib::Server::Handler guarded(F body) {
  return [body = std::move(body)](const httplib::Request& req, httplib::Response& res) {
    try {
      body(req, res);
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(fmt::format("error: {}\n", e.what()), "text/plain; charset=utf-8");
    }
  };
}

}  // namespace

struct HttpServer::Impl {
  std::string listen;
  HttpHandlers handlers;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  uint16_t port = 0;
};

HttpServer::HttpServer(std::string listen, HttpHandlers handlers)
    : impl_(std::make_unique<Impl>()) {
  impl_->listen = std::move(listen);
  impl_->handlers = std::move(handlers);
}

HttpServer::~HttpServer() {
  stop();
}
HttpServer::HttpServer(HttpServer&&) noexcept = default;

HttpServer& HttpServer::operator=(HttpServer&& other) noexcept {
  if (this != &other) {
    stop();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

void HttpServer::start() {
  if (!impl_) fail("HttpServer::start on a moved-from server");
  if (impl_->server)
    fail("daemon.http.listen {}: the HTTP server is already running", impl_->listen);
  std::string why;
  const std::optional<ListenAddress> address = parse_listen_address(impl_->listen, &why);
  if (!address) {
    fail(
        "daemon.http.listen \"{}\": {}. Fix: write host:port, e.g. 127.0.0.1:9187, "
        "0.0.0.0:9187 or [::1]:9187 (port 0 picks a free port; \"\" disables the endpoint)",
        impl_->listen, why);
  }
  const auto& [host, port] = *address;

  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server->set_socket_options(reuse_address_only);
  server->set_keep_alive_timeout(kKeepAliveSeconds);
  server->set_read_timeout(kReadTimeoutSeconds, 0);

  // The routes capture the Impl, whose address survives moves of the HttpServer.
  Impl* impl = impl_.get();
  server->Get("/healthz", guarded([](const httplib::Request&, httplib::Response& res) {
                res.set_content("ok\n", "text/plain; charset=utf-8");
              }));
  server->Get("/readyz", guarded([impl](const httplib::Request&, httplib::Response& res) {
                Readiness r = impl->handlers.readiness ? impl->handlers.readiness() : Readiness{};
                if (r.ready) {
                  res.set_content("ready\n", "text/plain; charset=utf-8");
                } else {
                  res.status = 503;
                  res.set_content(r.reason + "\n", "text/plain; charset=utf-8");
                }
              }));
  server->Get("/metrics", guarded([impl](const httplib::Request&, httplib::Response& res) {
                if (!impl->handlers.metrics) {
                  res.status = 404;
                  return;
                }
                res.set_content(impl->handlers.metrics(), kMetricsContentType);
              }));
  server->Get("/status", guarded([impl](const httplib::Request&, httplib::Response& res) {
                if (!impl->handlers.status) {
                  res.status = 404;
                  return;
                }
                res.set_content(impl->handlers.status(), "application/json");
              }));

  int bound_port = port;
  if (port == 0) {
    bound_port = server->bind_to_any_port(host);
    if (bound_port < 0) bound_port = 0;
  } else if (!server->bind_to_port(host, port)) {
    bound_port = 0;
  }
  if (bound_port <= 0)
    throw Error(ErrorKind::kFatal, diagnose_bind_failure(impl_->listen, host, port));

  impl_->port = static_cast<uint16_t>(bound_port);
  httplib::Server* raw = server.get();
  impl_->server = std::move(server);
  auto done = std::make_shared<std::atomic<bool>>(false);
  impl_->thread = std::thread([raw, done] {
    raw->listen_after_bind();
    done->store(true);
  });
  // httplib's stop() does nothing until the accept loop runs; waiting here means a stop() right
  // after start() cannot be lost (which would leave the join in stop() hanging).
  while (!raw->is_running() && !done->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

uint16_t HttpServer::port() const {
  return impl_ ? impl_->port : 0;
}

void HttpServer::stop() noexcept {
  if (!impl_ || !impl_->server) return;
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->server.reset();
  impl_->port = 0;
}

}  // namespace modsync::observability
