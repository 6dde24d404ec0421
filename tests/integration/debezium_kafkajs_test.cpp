// Debezium compatibility as a Debezium consumer sees it: KafkaJS (a Kafka client in pure
// JavaScript that shares no code with librdkafka or modsync) reads a table topic and
// tests/kafkajs/check_envelope.js checks every message field by field against the event format
// of Debezium's PostgreSQL connector (JSON converter, schemas disabled), tombstones included.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <rapidjson/document.h>

#include "capture_harness.hpp"

using modsync::itest::CaptureHarness;

namespace {

const std::filesystem::path kKafkaJsDir = MODSYNC_KAFKAJS_DIR;

/// Runs the capture of a table of typical types with `kafka_extra` and `source_extra` settings
/// through inserts, an update, deletes, a key change and a truncate, and checks the table topic
/// with check_envelope.js in the given envelope form and value mode; returns its summary.
rapidjson::Document check_with_kafkajs(const std::string& kafka_extra,
                                       const std::string& source_extra, const std::string& envelope,
                                       const std::string& values) {
  INFO("KafkaJS is installed by scripts/install-deps.sh (scripts/install-test-tools.sh)");
  REQUIRE(std::filesystem::exists(kKafkaJsDir / "node_modules" / "kafkajs" / "package.json"));
  CaptureHarness h;
  h.sql(
      "CREATE TABLE orders (id int PRIMARY KEY, name text, total numeric(10,2), doc jsonb, "
      "raw bytea, big int8, day date, at timestamp, n numeric);"
      "INSERT INTO orders VALUES (1, 'a', 1.50, '{\"n\": 1.000, \"big\": 123456789012345678901}', "
      "'\\x00ff', 9007199254740993, '4713-01-01 BC', '2024-01-02 03:04:05.123456', -0.001), "
      "(2, 'b', NULL, 'null', NULL, NULL, NULL, 'infinity', 'NaN')");
  const auto config = h.write_config("tables: [orders]\n" + source_extra);
  if (!kafka_extra.empty()) {
    std::ifstream in(config);
    std::stringstream text;
    text << in.rdbuf();
    std::string yaml = text.str();
    yaml.insert(yaml.find("source:\n"), "  " + kafka_extra + "\n");
    std::ofstream(config) << yaml;
  }
  auto daemon = h.start_daemon();
  h.sql("INSERT INTO orders (id, name) VALUES (3, 'c')");
  h.sql("UPDATE orders SET name = 'a2' WHERE id = 1");
  h.sql("DELETE FROM orders WHERE id = 2");
  h.sql("UPDATE orders SET id = 30 WHERE id = 3");  // a key change: delete, tombstone, create
  h.sql("TRUNCATE orders");

  // 2 snapshot reads, c, u, d + tombstone, d + tombstone + c, t.
  const auto check = modsync::testing::run_command(
      {"/usr/bin/env", "node", (kKafkaJsDir / "check_envelope.js").string(), h.broker().bootstrap(),
       "shop.public.orders", "10", "40000", envelope, values},
      {}, std::chrono::seconds(90));
  INFO(daemon.describe());
  INFO("check_envelope.js exit " << check.status << "\nstdout: " << check.out
                                 << "\nstderr: " << check.err);
  REQUIRE(check.status == 0);
  rapidjson::Document out;
  out.Parse(check.out.c_str());
  REQUIRE(out.IsObject());
  CaptureHarness::stop_daemon(daemon);
  return out;
}

/// The value of the snapshot read of row `id`.
const rapidjson::Value& snapshot_row(const rapidjson::Document& out, int id) {
  const rapidjson::Value* found = nullptr;
  for (const auto& v : out["values"].GetArray()) {
    if (v["op"] == "r" && v["after"]["id"].GetInt() == id) found = &v;
  }
  REQUIRE(found != nullptr);
  return (*found)["after"];
}

}  // namespace

TEST_CASE("KafkaJS reads Debezium's PostgreSQL event format, tombstones included",
          "[integration][debezium]") {
  const rapidjson::Document out = check_with_kafkajs("", "", "plain", "modsync");
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
  const auto& after = snapshot_row(out, 1);
  CHECK(std::string(after["doc"].GetString()) == R"({"n": 1.000, "big": 123456789012345678901})");
  CHECK(std::string(after["total"].GetString()) == "1.50");
  CHECK(std::string(after["raw"].GetString()) == "AP8=");
  CHECK(std::string(after["day"].GetString()) == "-4712-01-01");
}

TEST_CASE("KafkaJS reads Debezium's value forms in schema+payload envelopes",
          "[integration][debezium]") {
  const rapidjson::Document out = check_with_kafkajs(
      "envelope: schema_payload", "value_mode: debezium", "schema_payload", "debezium");
  CHECK(out["messages"].GetInt() == 10);
  CHECK(out["tombstones"].GetInt() == 2);
  // Debezium's defaults: time.precision.mode=adaptive, decimal.handling.mode=precise.
  const auto& after = snapshot_row(out, 1);
  CHECK(after["day"].GetInt() == -2440550);
  CHECK(after["at"].GetInt64() == 1704164645123456);
  CHECK(std::string(after["total"].GetString()) == "AJY=");  // 150 = 0x0096
  CHECK(after["n"]["scale"].GetInt() == 3);
  CHECK(std::string(after["n"]["value"].GetString()) == "/w==");  // -1
  CHECK(std::string(after["raw"].GetString()) == "AP8=");
  CHECK(std::string(after["doc"].GetString()) == R"({"n": 1.000, "big": 123456789012345678901})");
  // Values Debezium's forms cannot carry stay their text.
  const auto& second = snapshot_row(out, 2);
  CHECK(std::string(second["at"].GetString()) == "infinity");
  CHECK(std::string(second["n"].GetString()) == "NaN");
  const auto& fields = out["fields"];
  CHECK(std::string(fields["day"]["name"].GetString()) == "io.debezium.time.Date");
  CHECK(std::string(fields["day"]["type"].GetString()) == "int32");
  CHECK(std::string(fields["at"]["name"].GetString()) == "io.debezium.time.MicroTimestamp");
  CHECK(std::string(fields["total"]["name"].GetString()) ==
        "org.apache.kafka.connect.data.Decimal");
  CHECK(std::string(fields["total"]["parameters"]["scale"].GetString()) == "2");
  CHECK(std::string(fields["n"]["name"].GetString()) == "io.debezium.data.VariableScaleDecimal");
  CHECK(std::string(fields["doc"]["name"].GetString()) == "io.debezium.data.Json");
  CHECK(std::string(fields["big"]["type"].GetString()) == "int64");
  CHECK(std::string(fields["raw"]["type"].GetString()) == "bytes");
}

TEST_CASE("KafkaJS reads modsync's values in schema+payload envelopes", "[integration][debezium]") {
  const rapidjson::Document out =
      check_with_kafkajs("envelope: schema_payload", "", "schema_payload", "modsync");
  CHECK(out["messages"].GetInt() == 10);
  const auto& after = snapshot_row(out, 1);
  CHECK(std::string(after["total"].GetString()) == "1.50");
  CHECK(std::string(out["fields"]["day"]["type"].GetString()) == "string");
  CHECK(std::string(out["fields"]["day"]["name"].GetString()).empty());
}
