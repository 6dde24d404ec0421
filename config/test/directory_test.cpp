#include <catch2/catch.hpp>

#include "modsync/config/config.hpp"
#include "test_files.hpp"

using namespace modsync::config;
using modsync::config::test::fake_env;
using modsync::config::test::TempDir;

namespace {

std::string pair_file(const std::string& id) {
  return "daemon:\n  id: " + id +
         "\nkafka: { brokers: b }\nsource: { module: o, dsn: host=x, tables: [t] }\n";
}

}  // namespace

TEST_CASE("a directory loads every *.yaml and *.yml file sorted by name", "[config][dir]") {
  TempDir dir;
  dir.write("b.yml", pair_file("second"));
  dir.write("a.yaml", pair_file("first"));
  dir.write("c.yaml", pair_file("third"));
  dir.write("notes.txt", "not a config");
  dir.write(".hidden.yaml", "not: [valid");
  std::filesystem::create_directory(dir.path() / "nested.yaml");

  const auto pairs = load_path(dir.path(), fake_env());
  REQUIRE(pairs.size() == 3);
  CHECK(pairs[0].daemon.id == "first");
  CHECK(pairs[0].file == dir.path() / "a.yaml");
  CHECK(pairs[1].daemon.id == "second");
  CHECK(pairs[2].daemon.id == "third");
}

TEST_CASE("load_path on a file loads just that file", "[config][dir]") {
  TempDir dir;
  const auto pairs = load_path(dir.write("one.yaml", pair_file("one")), fake_env());
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].daemon.id == "one");
}

TEST_CASE("duplicate daemon ids across files name both files", "[config][dir]") {
  TempDir dir;
  dir.write("a.yaml", pair_file("orders"));
  dir.write("b.yaml", pair_file("orders"));
  try {
    load_path(dir.path(), fake_env());
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    const std::string a = (dir.path() / "a.yaml").string();
    const std::string b = (dir.path() / "b.yaml").string();
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(std::string(e.what()) == b + ":2:3: daemon.id: expected an id unique across " +
                                       dir.path().string() + "; got \"orders\", already used by " +
                                       a + ":2:3. Fix: give each file its own daemon.id.");
  }
}

TEST_CASE("errors of every file in a directory are reported together", "[config][dir]") {
  TempDir dir;
  dir.write("a.yaml", pair_file("Bad"));
  dir.write("b.yaml", "daemon: { id: ok }\nkafka: { brokers: b }\nsource: { module: o }\n");
  try {
    load_path(dir.path(), fake_env());
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    REQUIRE(e.diagnostics().size() == 3);
    CHECK(e.diagnostics()[0].file == (dir.path() / "a.yaml").string());
    CHECK(e.diagnostics()[0].path == "daemon.id");
    CHECK(e.diagnostics()[1].file == (dir.path() / "b.yaml").string());
    CHECK(e.diagnostics()[1].path == "source.dsn");
    CHECK(e.diagnostics()[2].path == "source.tables");
  }
}

TEST_CASE("an empty directory is an error", "[config][dir]") {
  TempDir dir;
  dir.write("readme.md", "");
  try {
    load_path(dir.path(), fake_env());
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == dir.path().string() +
                                       ": expected at least one *.yaml or *.yml file; got none. "
                                       "Fix: add a configuration file or pass a file path.");
  }
}
