#include "apply_harness.hpp"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "modsync/testing/eventually.hpp"
#include "modsync/testing/modsync_binary.hpp"

namespace modsync::itest {

namespace {

std::string indent(const std::string& lines, int spaces) {
  std::string out;
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) out += std::string(spaces, ' ') + line + "\n";
  return out;
}

}  // namespace

ApplyHarness::ApplyHarness(testing::DevBrokerProcess::Options broker) : dir_("modsync-applytest") {
  pg_.create_database("shop");
  pg_.create_database("ship");
  // The support library has no binary path compiled in; this target has.
  if (broker.binary.empty()) broker.binary = testing::modsync_binary();
  broker_.emplace(std::move(broker));
}

std::filesystem::path ApplyHarness::write_config(const std::string& id, const std::string& source,
                                                 const std::string& projections,
                                                 const std::string& sink_extra,
                                                 const std::string& kafka_extra) {
  std::string text = fmt::format(
      "daemon:\n"
      "  id: {}\n"
      "  state_dir: \"{}\"\n"
      "  http: {{ listen: \"\" }}\n"
      "  shutdown_timeout: 10s\n"
      "kafka:\n"
      "  brokers: \"{}\"\n",
      id, (dir_ / "state").string(), broker_->bootstrap());
  text += indent(kafka_extra, 2);
  if (!source.empty()) {
    text += fmt::format("source:\n  module: shop\n  dsn: \"{}\"\n{}", pg_.dsn("shop"),
                        indent(source, 2));
  }
  if (!projections.empty()) {
    text += fmt::format("sink:\n  module: ship\n  dsn: \"{}\"\n{}  projections:\n{}",
                        pg_.dsn("ship"), indent(sink_extra, 2), indent(projections, 4));
  }
  const auto path = dir_ / (id + ".yaml");
  std::ofstream(path) << text;
  return path;
}

testing::ChildProcess ApplyHarness::start(const std::filesystem::path& config,
                                          const std::vector<std::string>& wait_for,
                                          std::chrono::milliseconds timeout) {
  testing::ChildProcess daemon({testing::modsync_binary(), "run", "--config", config.string()});
  for (const auto& phrase : wait_for) {
    if (!daemon.wait_for_output(phrase, timeout)) {
      throw std::runtime_error(
          fmt::format("modsync did not print \"{}\": {}", phrase, daemon.describe()));
    }
  }
  return daemon;
}

void ApplyHarness::check_converge(const std::vector<Same>& checks, const std::string& context,
                                  std::chrono::milliseconds timeout) {
  for (const auto& c : checks) {
    const bool same = converges(c.src_query, c.sub_query, timeout);
    INFO(c.name << ": " << last_difference_ << context);
    CHECK(same);
  }
}

std::filesystem::path ApplyHarness::create_items_and_log() {
  src("CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL)");
  src("CREATE TABLE log (at int NOT NULL, what text)");
  sub("CREATE TABLE items (id int PRIMARY KEY, qty int, _modsync_lsn pg_lsn, "
      "_modsync_seq integer); CREATE TABLE log (at int, what text)");
  return write_config("cap", "tables: [items, log]\nsnapshot: never", "");
}

testing::ChildProcess ApplyHarness::pgbench(const std::filesystem::path& script, int seconds,
                                            int rate) {
  return testing::ChildProcess({"pgbench", "-h", pg_.host(), "-p", std::to_string(pg_.port()),
                                "-U", "postgres", "-n", "-f", script.string(), "-c", "2", "-j",
                                "2", "-R", std::to_string(rate), "-T", std::to_string(seconds),
                                "shop"});
}

void ApplyHarness::stop(testing::ChildProcess& daemon) {
  daemon.signal(SIGTERM);
  const auto status = daemon.wait(std::chrono::seconds(20));
  if (status != 0) throw std::runtime_error("modsync did not stop cleanly: " + daemon.describe());
}

bool ApplyHarness::converges(const std::string& src_query, const std::string& sub_query,
                             std::chrono::milliseconds timeout) {
  return testing::eventually(
      [&] {
        const std::string want = rows_text(pg_.query("shop", src_query));
        const std::string got = rows_text(pg_.query("ship", sub_query));
        last_difference_ = fmt::format("source implies:\n{}subscriber has:\n{}", want, got);
        return want == got;
      },
      timeout, std::chrono::milliseconds(100));
}

int64_t ApplyHarness::consumed_now(const std::string& topic) {
  // The table appears when the first projection starts.
  if (pg_.query_value("ship", "SELECT to_regclass('modsync.offsets') IS NULL") == "t") return 0;
  return std::stoll(pg_.query_value(
      "ship", fmt::format("SELECT coalesce(sum(next_offset), 0) FROM modsync.offsets "
                          "WHERE topic = '{}'",
                          topic)));
}

bool ApplyHarness::consumed(const std::string& topic, int64_t events,
                            std::chrono::milliseconds timeout) {
  return testing::eventually([&] { return consumed_now(topic) == events; }, timeout,
                             std::chrono::milliseconds(100));
}

std::vector<testing::KcatMessage> ApplyHarness::dead_letters(const std::string& id, size_t expected,
                                                             std::chrono::milliseconds timeout) {
  return testing::kcat_consume(broker_->bootstrap(), "modsync.dlq." + id, expected, timeout);
}

std::string output(const testing::ChildProcess& p) { return p.stdout_text() + p.stderr_text(); }

size_t kill_once_topic_holds(ApplyHarness& h, testing::ChildProcess& daemon,
                             const std::string& topic, size_t at_least) {
  size_t n = 0;
  for (int step = 0; step < 400 && n < at_least; ++step) {
    daemon.signal(SIGSTOP);
    n = testing::kcat_consume(h.broker().bootstrap(), topic, 1000000, std::chrono::seconds(1))
            .size();
    daemon.signal(SIGCONT);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  daemon.kill();
  return n;
}

std::optional<std::string> header(const testing::KcatMessage& m, const std::string& name) {
  for (const auto& [k, v] : m.headers)
    if (k == name) return v;
  return std::nullopt;
}

std::string rows_text(const testing::PgRows& rows) {
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) out += " | ";
      out += row[i].value_or("∅");
    }
    out += "\n";
  }
  return out;
}

}  // namespace modsync::itest
