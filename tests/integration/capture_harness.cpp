#include "capture_harness.hpp"

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "modsync/testing/eventually.hpp"

#include "modsync/testing/modsync_binary.hpp"

namespace modsync::itest {

namespace {

constexpr auto kParseFlags = rapidjson::kParseFullPrecisionFlag;

std::string indent(const std::string& lines) {
  std::string out;
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) out += "  " + line + "\n";
  return out;
}

}  // namespace

std::string Event::header(std::string_view name) const {
  for (const auto& [k, v] : message.headers)
    if (k == name) return v;
  return "";
}

std::string Event::str(std::string_view field) const {
  const auto it = value.FindMember(rapidjson::StringRef(field.data(), field.size()));
  if (it == value.MemberEnd() || !it->value.IsString()) return "";
  return it->value.GetString();
}

std::string Event::source_str(std::string_view field) const {
  if (!value.HasMember("source")) return "";
  const auto& s = value["source"];
  const auto it = s.FindMember(rapidjson::StringRef(field.data(), field.size()));
  if (it == s.MemberEnd() || !it->value.IsString()) return "";
  return it->value.GetString();
}

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return buffer.GetString();
}

bool json_equals(const rapidjson::Value& actual, std::string_view expected) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(expected.data(), expected.size());
  if (doc.HasParseError()) throw std::runtime_error(fmt::format("bad expected JSON: {}", expected));
  return actual == doc;
}

uint64_t parse_lsn(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) throw std::runtime_error(fmt::format("bad LSN {}", text));
  const uint64_t hi = std::stoull(std::string(text.substr(0, slash)), nullptr, 16);
  const uint64_t lo = std::stoull(std::string(text.substr(slash + 1)), nullptr, 16);
  return (hi << 32) | lo;
}

std::vector<Event> parse_events(std::vector<testing::KcatMessage> messages) {
  std::vector<Event> out;
  out.reserve(messages.size());
  for (auto& m : messages) {
    Event e;
    e.message = std::move(m);
    if (e.message.null_value) {
      e.value.SetNull();
      out.push_back(std::move(e));
      continue;
    }
    e.value.Parse<kParseFlags>(e.message.value.c_str());
    if (e.value.HasParseError() || !e.value.IsObject()) {
      throw std::runtime_error(
          fmt::format("event value is not a JSON object: {}", e.message.value));
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Event> take_tombstones(std::vector<Event>& events) {
  std::vector<Event> tombstones;
  for (auto& e : events)
    if (e.tombstone()) tombstones.push_back(std::move(e));
  std::erase_if(events, [](const Event& e) { return e.tombstone(); });
  return tombstones;
}

void check_tombstones(const std::vector<Event>& events, const std::vector<Event>& tombstones) {
  size_t deletes = 0;
  for (const auto& e : events) {
    if (e.op() != "d") continue;
    ++deletes;
    INFO("the tombstone of " << e.message.value);
    size_t found = 0;
    for (const auto& t : tombstones) {
      if (t.message.partition == e.message.partition && t.message.offset == e.message.offset + 1) {
        ++found;
        CHECK(t.message.key == e.message.key);
        CHECK(t.message.headers.empty());
      }
    }
    CHECK(found == 1);
  }
  CHECK(tombstones.size() == deletes);
}

void sort_by_event_id(std::vector<Event>& events) {
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.event_id() < b.event_id(); });
}

CaptureHarness::CaptureHarness() : CaptureHarness(Options{}) {}

CaptureHarness::CaptureHarness(Options options)
    : dir_("modsync-itest"), pg_(testing::PgCluster::Options{options.pg_settings}) {
  pg_.create_database("shop");
  if (options.start_broker) start_broker();
}

void CaptureHarness::start_broker(testing::DevBrokerProcess::Options options) {
  // The support library has no binary path compiled in; this target has.
  if (options.binary.empty()) options.binary = testing::modsync_binary();
  broker_.reset();
  broker_.emplace(std::move(options));
}

std::filesystem::path CaptureHarness::write_config(const std::string& source_extra,
                                                   const std::string& brokers,
                                                   const std::string& dsn) {
  const std::string text = fmt::format(
      "daemon:\n"
      "  id: itest\n"
      "  state_dir: \"{}\"\n"
      "  http: {{ listen: \"\" }}\n"
      "  shutdown_timeout: 10s\n"
      "kafka:\n"
      "  brokers: \"{}\"\n"
      "source:\n"
      "  module: shop\n"
      "  dsn: \"{}\"\n"
      "{}",
      (dir_ / "state").string(), brokers.empty() ? broker_->bootstrap() : brokers,
      dsn.empty() ? pg_.dsn("shop") : dsn, indent(source_extra));
  std::ofstream(config_path()) << text;
  return config_path();
}

std::string CaptureHarness::enable_http() {
  std::ifstream in(config_path());
  std::stringstream text;
  text << in.rdbuf();
  std::string config = text.str();
  const std::string disabled = "listen: \"\"";
  const auto at = config.find(disabled);
  if (at == std::string::npos) throw std::runtime_error("no disabled http listen in the config");
  const std::string address = "127.0.0.1:" + std::to_string(testing::free_port());
  config.replace(at, disabled.size(), "listen: \"" + address + "\"");
  std::ofstream(config_path()) << config;
  return "http://" + address;
}

testing::ChildProcess CaptureHarness::start_daemon(bool wait_streaming,
                                                   std::chrono::milliseconds timeout) {
  testing::ChildProcess daemon(
      {testing::modsync_binary(), "run", "--config", config_path().string()});
  if (wait_streaming && !daemon.wait_for_output("streaming from slot", timeout)) {
    throw std::runtime_error("modsync did not start streaming: " + daemon.describe());
  }
  return daemon;
}

void CaptureHarness::stop_daemon(testing::ChildProcess& daemon) {
  daemon.signal(SIGTERM);
  const auto status = daemon.wait(std::chrono::seconds(20));
  if (status != 0) throw std::runtime_error("modsync did not stop cleanly: " + daemon.describe());
}

std::vector<Event> CaptureHarness::consume(const std::string& topic, size_t expected,
                                           std::chrono::milliseconds timeout) {
  return parse_events(testing::kcat_consume(broker_->bootstrap(), topic, expected, timeout));
}

bool CaptureHarness::wait_for_active_slots(int count, std::chrono::seconds timeout) {
  return testing::eventually(
      [&] {
        return value("SELECT count(*) FROM pg_replication_slots WHERE active") ==
               std::to_string(count);
      },
      timeout);
}

}  // namespace modsync::itest
