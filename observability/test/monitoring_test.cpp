// The monitoring files against the code: every metric the daemon exports is documented in
// docs/operations.md, and every series the docs, the runbook, the alert rules
// (deploy/prometheus) and the dashboard (deploy/grafana) name is one the code exports. The rules
// also pass `promtool check rules` when promtool is installed (Debian: package prometheus).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <rapidjson/document.h>
#include <yaml-cpp/yaml.h>

#include "modsync/testing/child_process.hpp"
#include "read_text.hpp"

namespace fs = std::filesystem;
using modsync::testing::read_text;

namespace {

const fs::path kSource = MODSYNC_SOURCE_DIR;


/// Metric names in `text`: modsync_… followed by a metric-like suffix; glob-like mentions
/// ("modsync_apply_*") and slot names (modsync_orders…) are not metric names.
std::set<std::string> metric_names(const std::string& text) {
  static const std::regex name(
      "modsync_[a-z0-9_]*(_total|_seconds|_bytes|_lsn|_events|_state|_status|_stalled|_up|"
      "_slots)\\b");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it) {
    out.insert(it->str());
  }
  return out;
}

/// The metric families the code writes: string literals "modsync_…" in the probes of the
/// components (capture, apply) and the daemon's own collector.
std::set<std::string> exported() {
  std::string code;
  for (const char* file :
       {"capture/src/capture_probe.cpp", "apply/src/apply_probe.cpp", "daemon/src/daemon.cpp"}) {
    code += read_text(kSource / file);
  }
  static const std::regex literal("\"(modsync_[a-z0-9_]+)\"");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(code.begin(), code.end(), literal);
       it != std::sregex_iterator(); ++it) {
    out.insert((*it)[1].str());
  }
  return out;
}

std::string section(const std::string& text, const std::string& from, const std::string& to) {
  const auto a = text.find(from);
  REQUIRE(a != std::string::npos);
  const auto b = text.find(to, a);
  return text.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

}  // namespace

TEST_CASE("every exported metric is documented, and every documented one exists",
          "[deploy][monitoring]") {
  const auto code = exported();
  REQUIRE(code.size() > 30);
  const std::string ops = read_text(kSource / "docs/operations.md");
  const std::string metrics_section = section(ops, "## Metrics", "## Logs");
  for (const auto& name : code) {
    INFO(name << " is exported but not in docs/operations.md, \"Metrics\"");
    CHECK(metrics_section.find("| `" + name) != std::string::npos);  // a row of a table
  }
  for (const char* doc : {"docs/operations.md", "docs/runbook.md", "docs/architecture.md"}) {
    for (const auto& name : metric_names(read_text(kSource / doc))) {
      INFO(doc << " names " << name << ", which the code does not export");
      CHECK(code.count(name) == 1);
    }
  }
}

TEST_CASE("the alert rules parse and name only exported series", "[deploy][monitoring]") {
  const fs::path rules = kSource / "deploy/prometheus/modsync-alerts.yaml";
  const YAML::Node doc = YAML::LoadFile(rules.string());
  const auto code = exported();
  size_t alerts = 0;
  for (const auto& group : doc["groups"]) {
    for (const auto& rule : group["rules"]) {
      const std::string alert = rule["alert"].as<std::string>();
      const std::string expr = rule["expr"].as<std::string>();
      ++alerts;
      INFO(alert << ": " << expr);
      CHECK(rule["annotations"]["summary"]);
      const auto names = metric_names(expr);
      CHECK_FALSE(names.empty());
      for (const auto& name : names) {
        INFO(name);
        CHECK(code.count(name) == 1);
      }
    }
  }
  CHECK(alerts >= 8);
#ifdef MODSYNC_PROMTOOL
  const auto check = modsync::testing::run_command({MODSYNC_PROMTOOL, "check", "rules", rules.string()});
  INFO(check.out << check.err);
  CHECK(check.status == 0);
  CHECK_THAT(check.out, Catch::Contains("SUCCESS: " + std::to_string(alerts) + " rules found"));
#else
  FAIL("promtool is not installed: scripts/install-deps.sh installs it (Debian package "
       "prometheus); re-run it, then cmake");
#endif
}

TEST_CASE("the dashboard is Grafana JSON over exported series", "[deploy][monitoring]") {
  const std::string text = read_text(kSource / "deploy/grafana/modsync-dashboard.json");
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc["panels"].IsArray());
  const auto code = exported();
  size_t targets = 0;
  for (const auto& panel : doc["panels"].GetArray()) {
    REQUIRE(panel.HasMember("gridPos"));
    for (const auto& target : panel["targets"].GetArray()) {
      const std::string expr = target["expr"].GetString();
      ++targets;
      for (const auto& name : metric_names(expr)) {
        INFO(panel["title"].GetString() << ": " << name);
        CHECK(code.count(name) == 1);
      }
    }
  }
  CHECK(targets >= 10);
}
