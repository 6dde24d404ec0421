// Passwords never reach the logs, /status or the CLI: not in connection errors, not in parse
// errors, not in validate's summary, whatever the DSN's form (URI, keywords, password_file).

#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "capture_harness.hpp"
#include "modsync/testing/child_process.hpp"
#include "modsync/testing/modsync_binary.hpp"
#include "modsync/testing/pg_cluster.hpp"

using namespace modsync;
using namespace std::chrono_literals;

TEST_CASE("a DSN's password is never logged", "[integration][secrets]") {
  itest::CaptureHarness h;
  h.sql("CREATE TABLE a (id int PRIMARY KEY)");
  const std::string secret = "s3cr3t-Pa55";
  // Nothing listens on that port: the daemon logs a connection error naming the DSN.
  const int closed_port = testing::free_port();
  h.write_config("tables: [a]", "",
                 fmt::format("host=127.0.0.1 port={} dbname=shop user=postgres password={}",
                             closed_port, secret));
  auto daemon = h.start_daemon(/*wait_streaming=*/false);
  REQUIRE(daemon.wait_for_output("cannot connect to PostgreSQL", 20s));
  itest::CaptureHarness::stop_daemon(daemon);
  const std::string logs = daemon.stdout_text() + daemon.stderr_text();
  CHECK_THAT(logs, Catch::Contains("password=***"));
  CHECK_THAT(logs, !Catch::Contains(secret));

  const auto validate = testing::run_command(
      {testing::modsync_binary(), "validate", h.config_path().string()}, {}, 20s);
  CHECK(validate.status == 0);
  CHECK_THAT(validate.out + validate.err, !Catch::Contains(secret));
}

namespace {

/// `modsync <args>` run to completion: its exit status and everything it printed.
testing::CommandResult modsync_cli(std::vector<std::string> args) {
  args.insert(args.begin(), testing::modsync_binary());
  return testing::run_command(std::move(args), {}, 30s);
}

std::string describe(const testing::CommandResult& r) {
  return "exit " + std::to_string(r.status) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

/// Makes role `user` log in with `password` over TCP (scram-sha-256); everyone else keeps trust.
void require_password(testing::PgCluster& pg, const std::string& user,
                      const std::string& password) {
  std::string literal = "'";
  for (char c : password) literal += c == '\'' ? std::string("''") : std::string(1, c);
  literal += "'";  // standard_conforming_strings: a backslash is itself
  pg.exec("postgres", fmt::format("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}", user, literal));
  std::ofstream(pg.data_dir() / "pg_hba.conf")
      << "local all all trust\n"
      << "host all " << user << " 127.0.0.1/32 scram-sha-256\n"
      << "host all all 127.0.0.1/32 trust\n";
  pg.query_value("postgres", "SELECT pg_reload_conf()");
}

}  // namespace

// Regression (issue 7): libpq's message for a bad %-escape quoted the URI password into the
// logs, /status and `slots list`; a quote inside a password put its tail into a parse error.
// Such a DSN is now rejected when the file is loaded, by every command, in modsync's words.
TEST_CASE("a DSN libpq cannot parse never shows its password", "[integration][secrets]") {
  itest::CaptureHarness h;
  h.sql("CREATE TABLE a (id int PRIMARY KEY)");
  const std::string secret = "SECRETPW";
  const int port = h.pg().port();
  for (const std::string& dsn : {
           fmt::format("postgresql://postgres:{}%ZZ@127.0.0.1:{}/shop", secret, port),
           fmt::format("postgresql://postgres@127.0.0.1:{}/shop?password={}%4", port, secret),
           fmt::format("host=127.0.0.1 port={} dbname=shop user=postgres password='abc'{}'", port,
                       secret),
           fmt::format("host=127.0.0.1 port={} dbname=shop password='{} tail", port, secret),
       }) {
    INFO(dsn);
    const auto config = h.write_config("tables: [a]", "", dsn).string();
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"validate", config},
                                               {"run", "--config", config},
                                               {"slots", "list", "--config", config}}) {
      const auto r = modsync_cli(args);
      INFO(describe(r));
      CHECK(r.status != 0);
      CHECK_THAT(r.out + r.err,
                 Catch::Contains("source.dsn") && Catch::Contains("libpq cannot parse"));
      CHECK_THAT(r.out + r.err, !Catch::Contains(secret));
    }
  }
}

// Regression (issue 7): `passw%6Frd=` is a password to libpq but escaped our redaction.
TEST_CASE("validate redacts passwords however the URI spells them", "[integration][secrets]") {
  itest::CaptureHarness h;
  const int port = h.pg().port();
  for (const std::string& dsn : {
           fmt::format("postgresql://postgres@127.0.0.1:{}/shop?passw%6Frd=SECRETPW", port),
           fmt::format("postgresql://postgres:SECRET%50W@127.0.0.1:{}/shop", port),
           fmt::format("postgresql://postgres@127.0.0.1:{}/shop?%70assword=SECRETPW", port),
           fmt::format("host=127.0.0.1 port={} dbname=shop password='SECRET PW'", port),
       }) {
    INFO(dsn);
    const auto r = modsync_cli({"validate", h.write_config("tables: [a]", "", dsn).string()});
    INFO(describe(r));
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("password=***"));
    CHECK_THAT(r.out + r.err, !Catch::Contains("SECRET"));
  }
}

// The password from password_file reaches libpq as its own keyword: whatever it holds (quotes,
// backslashes, spaces, %, @) needs no escaping for the DSN's grammar, URI or keyword form, and a
// wrong one is reported without being shown.
TEST_CASE("password_file works with any characters and is never shown", "[integration][secrets]") {
  itest::CaptureHarness h;
  h.sql("CREATE TABLE a (id int PRIMARY KEY)");
  const std::string password = "p@ss w'o\\rd%ZZ&x=1";
  require_password(h.pg(), "app", password);
  const int port = h.pg().port();
  for (const std::string& dsn : {fmt::format("host=127.0.0.1 port={} dbname=shop user=app", port),
                                 fmt::format("postgresql://app@127.0.0.1:{}/shop", port)}) {
    INFO(dsn);
    std::ofstream(h.dir() / "pg.secret") << password << "\n";
    const auto config = h.write_config("tables: [a]\npassword_file: pg.secret", "", dsn).string();
    const auto ok = modsync_cli({"slots", "list", "--config", config});
    INFO(describe(ok));
    CHECK(ok.status == 0);
    CHECK_THAT(ok.out + ok.err, !Catch::Contains(password));

    const std::string wrong = "Wr0ng'Secret%41";
    std::ofstream(h.dir() / "pg.secret") << wrong << "\n";
    const auto bad = modsync_cli({"slots", "list", "--config", config});
    INFO(describe(bad));
    CHECK(bad.status != 0);
    CHECK_THAT(bad.out + bad.err, Catch::Contains("password authentication failed"));
    CHECK_THAT(bad.out + bad.err, !Catch::Contains("Secret") && !Catch::Contains(password));
  }
}

// A wrong password in a URI (percent-encoded, as users write it) fails the connection; the
// error reaches the log, /status (through `modsync status`) and `modsync slots list`, never the
// password in any spelling.
TEST_CASE("a rejected URI password is not in the log, /status or slots list",
          "[integration][secrets]") {
  itest::CaptureHarness h;
  h.sql("CREATE TABLE a (id int PRIMARY KEY)");
  require_password(h.pg(), "app", "right-one");
  const std::string config =
      h.write_config("tables: [a]", "",
                     fmt::format("postgresql://app:Wr0ng%27Secret%41@127.0.0.1:{}/shop?"
                                 "application_name=itest",
                                 h.pg().port()))
          .string();
  h.enable_http();
  auto daemon = h.start_daemon(/*wait_streaming=*/false);
  REQUIRE(daemon.wait_for_output("password authentication failed", 20s));
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"status", "--config", config},
                                             {"status", "--config", config, "--json"},
                                             {"slots", "list", "--config", config}}) {
    const auto r = modsync_cli(args);
    INFO(describe(r));
    CHECK_THAT(r.out + r.err, Catch::Contains("password authentication failed"));
    CHECK_THAT(r.out + r.err, !Catch::Contains("Secret") && !Catch::Contains("%27"));
  }
  daemon.kill();
  const std::string logs = daemon.stdout_text() + daemon.stderr_text();
  CHECK_THAT(logs, Catch::Contains("user=app password=***"));
  CHECK_THAT(logs, !Catch::Contains("Secret") && !Catch::Contains("%27"));
}
