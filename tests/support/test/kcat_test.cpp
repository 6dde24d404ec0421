#include <catch2/catch.hpp>

#include <cstdlib>

#include "modsync/testing/kcat.hpp"
#include "modsync/testing/modsync_binary.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using modsync::testing::kcat_consume;
using modsync::testing::KcatMessage;
using modsync::testing::parse_kcat_json_line;

// Lines captured from kcat 1.7.1 reading librdkafka's mock cluster.
TEST_CASE("kcat -J lines are parsed", "[support][kcat]") {
  const KcatMessage a = parse_kcat_json_line(
      R"({"topic":"t","partition":1,"offset":0,"tstype":"create","ts":1795714771823,"broker":1,)"
      R"("headers":["h1","x","h2","y"],"key":"k1","payload":"v1"})");
  CHECK(a.topic == "t");
  CHECK(a.partition == 1);
  CHECK(a.offset == 0);
  CHECK(a.key == "k1");
  CHECK(a.value == "v1");
  CHECK_FALSE(a.null_value);
  CHECK(a.headers == std::vector<std::pair<std::string, std::string>>{{"h1", "x"}, {"h2", "y"}});

  const KcatMessage b = parse_kcat_json_line(
      R"({"topic":"t","partition":0,"offset":7,"tstype":"create","ts":1795714771841,"broker":1,)"
      R"("key":null,"payload":"{\"after\":{\"id\":1}}"})");
  CHECK_FALSE(b.key);
  CHECK(b.value == R"({"after":{"id":1}})");
  CHECK(b.headers.empty());
  CHECK(b.offset == 7);

  const KcatMessage tombstone = parse_kcat_json_line(
      R"({"topic":"t","partition":0,"offset":8,"tstype":"create","ts":1,"broker":1,)"
      R"("key":"{\"id\":1}","payload":null})");
  CHECK(tombstone.null_value);
  CHECK(tombstone.value.empty());
  CHECK(tombstone.key == R"({"id":1})");

  CHECK_THROWS_WITH(parse_kcat_json_line("% ERROR: Topic t error"), Contains("not a JSON object"));
  CHECK_THROWS_WITH(parse_kcat_json_line(R"({"topic":"t","partition":0})"), Contains("no offset"));
}

TEST_CASE("kcat_consume gives up at the timeout when no broker answers", "[support][kcat]") {
  const auto start = std::chrono::steady_clock::now();
  // Nothing listens on port 1: kcat keeps retrying the connection until it is killed.
  const auto got = kcat_consume("127.0.0.1:1", "t", 1, 1500ms);
  CHECK(got.empty());
  CHECK(std::chrono::steady_clock::now() - start < 10s);
}

TEST_CASE("modsync_binary prefers the environment", "[support]") {
  const char* outer = std::getenv("MODSYNC_BINARY");
  const std::string saved = outer ? outer : "";
  ::setenv("MODSYNC_BINARY", "/opt/modsync/bin/modsync", 1);
  CHECK(modsync::testing::modsync_binary() == "/opt/modsync/bin/modsync");
  ::unsetenv("MODSYNC_BINARY");
  // This target does not compile a path in, so the error explains both ways to provide one.
  CHECK_THROWS_WITH(modsync::testing::modsync_binary(),
                    Contains("set MODSYNC_BINARY") && Contains("modsync_test_uses_binary"));
  if (outer) ::setenv("MODSYNC_BINARY", saved.c_str(), 1);
}
