// Debezium compatibility as a Debezium consumer sees it: KafkaJS (a Kafka client in pure
// JavaScript that shares no code with librdkafka or modsync) reads a table topic and
// tests/kafkajs/check_envelope.js checks every message field by field against the event format
// of Debezium's PostgreSQL connector (JSON converter, schemas disabled), tombstones included.

#include <catch2/catch.hpp>

#include <filesystem>

#include <rapidjson/document.h>

#include "capture_harness.hpp"

using modsync::itest::CaptureHarness;

namespace {

const std::filesystem::path kKafkaJsDir = MODSYNC_KAFKAJS_DIR;

}  // namespace

TEST_CASE("KafkaJS reads Debezium's PostgreSQL event format, tombstones included",
          "[integration][debezium]") {
  INFO("KafkaJS is installed by scripts/install-deps.sh (scripts/install-test-tools.sh)");
  REQUIRE(std::filesystem::exists(kKafkaJsDir / "node_modules" / "kafkajs" / "package.json"));
  CaptureHarness h;
  h.sql(
      "CREATE TABLE orders (id int PRIMARY KEY, name text, total numeric(10,2), doc jsonb, "
      "raw bytea, big int8, day date);"
      "INSERT INTO orders VALUES (1, 'a', 1.50, '{\"n\": 1.000, \"big\": 123456789012345678901}', "
      "'\\x00ff', 9007199254740993, '4713-01-01 BC'), (2, 'b', NULL, 'null', NULL, NULL, NULL)");
  h.write_config("tables: [orders]");
  auto daemon = h.start_daemon();
  h.sql("INSERT INTO orders (id, name) VALUES (3, 'c')");
  h.sql("UPDATE orders SET name = 'a2' WHERE id = 1");
  h.sql("DELETE FROM orders WHERE id = 2");
  h.sql("UPDATE orders SET id = 30 WHERE id = 3");  // a key change: delete, tombstone, create
  h.sql("TRUNCATE orders");

  // 2 snapshot reads, c, u, d + tombstone, d + tombstone + c, t.
  const auto check = modsync::testing::run_command(
      {"/usr/bin/env", "node", (kKafkaJsDir / "check_envelope.js").string(), h.broker().bootstrap(),
       "shop.public.orders", "10", "40000"},
      {}, std::chrono::seconds(90));
  INFO(daemon.describe());
  INFO("check_envelope.js exit " << check.status << "\nstdout: " << check.out
                                 << "\nstderr: " << check.err);
  REQUIRE(check.status == 0);
  rapidjson::Document out;
  out.Parse(check.out.c_str());
  REQUIRE(out.IsObject());
  CHECK(out["messages"].GetInt() == 10);
  CHECK(out["tombstones"].GetInt() == 2);
  CHECK(out["ops"]["r"].GetInt() == 2);
  CHECK(out["ops"]["c"].GetInt() == 2);
  CHECK(out["ops"]["u"].GetInt() == 1);
  CHECK(out["ops"]["d"].GetInt() == 2);
  CHECK(out["ops"]["t"].GetInt() == 1);
  // The values as a JavaScript consumer gets them: json as its text (Debezium's
  // io.debezium.data.Json), numeric as a string (decimal.handling.mode=string), bytea as base64
  // (binary.handling.mode=base64), dates as ISO strings with astronomical years.
  const rapidjson::Value* first = nullptr;
  for (const auto& v : out["values"].GetArray()) {
    if (v["op"] == "r" && v["after"]["id"].GetInt() == 1) first = &v;
  }
  REQUIRE(first != nullptr);
  const auto& after = (*first)["after"];
  CHECK(std::string(after["doc"].GetString()) == R"({"n": 1.000, "big": 123456789012345678901})");
  CHECK(std::string(after["total"].GetString()) == "1.50");
  CHECK(std::string(after["raw"].GetString()) == "AP8=");
  CHECK(std::string(after["day"].GetString()) == "-4712-01-01");
  CaptureHarness::stop_daemon(daemon);
}
