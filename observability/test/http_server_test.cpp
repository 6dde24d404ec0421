#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>

#include <httplib.h>

#include "modsync/common/error.hpp"
#include "modsync/observability/http_server.hpp"

using namespace modsync::observability;

namespace {

httplib::Result get(uint16_t port, const char* path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  return client.Get(path);
}

}  // namespace

TEST_CASE("the HTTP server serves metrics, health, readiness and status") {
  std::atomic<bool> ready{false};
  HttpHandlers handlers;
  handlers.metrics = [] { return std::string("# TYPE modsync_up gauge\nmodsync_up 1\n"); };
  handlers.readiness = [&ready] {
    return ready ? Readiness{} : Readiness{false, "pair orders-to-shipping: capture failed: boom"};
  };
  handlers.status = [] { return std::string(R"({"pairs":[]})"); };
  HttpServer server("127.0.0.1:0", std::move(handlers));
  CHECK(server.port() == 0);
  server.start();
  REQUIRE(server.port() != 0);

  auto metrics = get(server.port(), "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(metrics->body == "# TYPE modsync_up gauge\nmodsync_up 1\n");

  auto health = get(server.port(), "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "ok\n");

  auto not_ready = get(server.port(), "/readyz");
  REQUIRE(not_ready);
  CHECK(not_ready->status == 503);
  CHECK(not_ready->body == "pair orders-to-shipping: capture failed: boom\n");
  ready = true;
  auto is_ready = get(server.port(), "/readyz");
  REQUIRE(is_ready);
  CHECK(is_ready->status == 200);

  auto status = get(server.port(), "/status");
  REQUIRE(status);
  CHECK(status->status == 200);
  CHECK(status->get_header_value("Content-Type") == "application/json");
  CHECK(status->body == R"({"pairs":[]})");

  auto missing = get(server.port(), "/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);

  const uint16_t port = server.port();
  server.stop();
  CHECK(server.port() == 0);
  CHECK_FALSE(get(port, "/healthz"));
  server.stop();  // idempotent
}

TEST_CASE("unset handlers answer 404 (/metrics, /status) or ready (/readyz), a throwing one 500") {
  HttpHandlers handlers;
  handlers.status = []() -> std::string { throw std::runtime_error("catalog not loaded"); };
  HttpServer server("127.0.0.1:0", std::move(handlers));
  server.start();
  CHECK(get(server.port(), "/metrics")->status == 404);
  CHECK(get(server.port(), "/readyz")->status == 200);
  auto status = get(server.port(), "/status");
  REQUIRE(status);
  CHECK(status->status == 500);
  CHECK(status->body == "error: catalog not loaded\n");
}

TEST_CASE("a port in use fails start() with the address and a fix") {
  HttpServer first("127.0.0.1:0", {});
  first.start();
  const std::string listen = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second(listen, {});
  CHECK_THROWS_WITH(second.start(),
                    "daemon.http.listen " + listen +
                        ": address already in use. Fix: stop the process listening there (find it "
                        "with `ss -ltnp 'sport = :" +
                        std::to_string(first.port()) +
                        "'`) or choose another port in daemon.http.listen");
  // The first server still answers: the second did not steal its port (no SO_REUSEPORT).
  CHECK(get(first.port(), "/healthz")->status == 200);
}

TEST_CASE("malformed and unbindable addresses fail start() clearly") {
  const std::string fix =
      ". Fix: write host:port, e.g. 127.0.0.1:9187, 0.0.0.0:9187 or [::1]:9187 (port 0 picks a "
      "free port; \"\" disables the endpoint)";
  CHECK_THROWS_WITH(HttpServer("localhost", {}).start(),
                    "daemon.http.listen \"localhost\": no port" + fix);
  CHECK_THROWS_WITH(HttpServer("127.0.0.1:99999", {}).start(),
                    "daemon.http.listen \"127.0.0.1:99999\": the port must be a number from 0 to "
                    "65535" +
                        fix);
  CHECK_THROWS_WITH(HttpServer(":9187", {}).start(), "daemon.http.listen \":9187\": no host" + fix);
  CHECK_THROWS_WITH(HttpServer("::1:9187", {}).start(),
                    "daemon.http.listen \"::1:9187\": an IPv6 address must be written as "
                    "[address]:port" +
                        fix);
  CHECK_THROWS_WITH(HttpServer("", {}).start(), "daemon.http.listen \"\": no port" + fix);
  // 192.0.2.0/24 is TEST-NET-1: never an address of this host.
  CHECK_THROWS_WITH(HttpServer("192.0.2.1:0", {}).start(),
                    "daemon.http.listen 192.0.2.1:0: no interface of this host has address "
                    "192.0.2.1. Fix: use an address of this host, 127.0.0.1, or 0.0.0.0 for every "
                    "interface");
}

TEST_CASE("a server can be moved, stopped right after start, and restarted") {
  HttpServer server("127.0.0.1:0", {});
  server.start();
  HttpServer moved = std::move(server);
  CHECK(get(moved.port(), "/healthz")->status == 200);
  moved.stop();
  for (int i = 0; i < 20; ++i) {
    moved.start();
    moved.stop();
  }
  moved.start();
  CHECK(get(moved.port(), "/healthz")->status == 200);
  CHECK_THROWS_AS(moved.start(), modsync::Error);
}
