#include <catch2/catch.hpp>

#include "modsync/config/dsn.hpp"

using namespace modsync::config;

TEST_CASE("redact_dsn hides conninfo passwords", "[config][dsn]") {
  CHECK(redact_dsn("host=db password=s3cret user=app") == "host=db password=*** user=app");
  CHECK(redact_dsn("host=db password = 's3 cr\\'et' user=app") ==
        "host=db password = *** user=app");
  CHECK(redact_dsn("password=a sslpassword=b") == "password=*** sslpassword=***");
  CHECK(redact_dsn("host=db dbname=orders") == "host=db dbname=orders");
  CHECK(redact_dsn("") == "");
}

TEST_CASE("redact_dsn hides URI passwords", "[config][dsn]") {
  CHECK(redact_dsn("postgresql://app:s3cret@db:5432/orders") ==
        "postgresql://app:***@db:5432/orders");
  CHECK(redact_dsn("postgres://app:p@ss@db/orders?sslmode=require&password=x") ==
        "postgres://app:***@db/orders?sslmode=require&password=***");
  CHECK(redact_dsn("postgresql://app@db/orders") == "postgresql://app@db/orders");
  CHECK(redact_dsn("postgresql://db/orders?password=x&user=a") ==
        "postgresql://db/orders?password=***&user=a");
}

TEST_CASE("redact_dsn hides everything after password when the DSN does not parse",
          "[config][dsn]") {
  CHECK(redact_dsn("host=db password='unterminated secret") == "host=db password=***");
  CHECK(redact_dsn("host=db PASSWORD secret") == "host=db PASSWORD=***");
}

TEST_CASE("dsn_has_password and dsn_syntax_error", "[config][dsn]") {
  CHECK(dsn_has_password("host=db password=x"));
  CHECK(dsn_has_password("postgresql://u:x@db/o"));
  CHECK(dsn_has_password("postgresql://u@db/o?password=x"));
  CHECK_FALSE(dsn_has_password("host=db sslpassword=x"));
  CHECK_FALSE(dsn_has_password("postgresql://u@db/o"));
  CHECK(dsn_syntax_error("host=db dbname=o") == "");
  CHECK(dsn_syntax_error("postgresql://db/o") == "");
  CHECK(dsn_syntax_error("  ") == "it is empty");
  CHECK(dsn_syntax_error("host=db oops") == "keyword \"oops\" is not followed by \"=\"");
  CHECK(dsn_syntax_error("host='db") == "the value of \"host\" has an unterminated quote");
}

TEST_CASE("dsn_with_password quotes for conninfo and percent-encodes for URIs", "[config][dsn]") {
  CHECK(dsn_with_password("host=db", "it's a \\ secret") ==
        "host=db password='it\\'s a \\\\ secret'");
  CHECK(dsn_with_password("postgresql://u@db/o", "p@ss w/rd") ==
        "postgresql://u@db/o?password=p%40ss%20w%2Frd");
  CHECK(dsn_with_password("postgresql://u@db/o?sslmode=disable", "x") ==
        "postgresql://u@db/o?sslmode=disable&password=x");
  CHECK(redact_dsn(dsn_with_password("host=db", "it's")) == "host=db password=***");
}
