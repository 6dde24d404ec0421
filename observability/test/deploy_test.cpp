// Checks the deployment files under deploy/ against what the daemon actually does: the Kubernetes
// manifests' probes, ports, volumes and secrets line up with each other and with the pair config
// they carry (loaded by the real config loader), and systemd accepts the unit as written.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <yaml-cpp/yaml.h>

#include "modsync/common/listen_address.hpp"
#include "modsync/config/config.hpp"
#include "modsync/testing/child_process.hpp"
#include "read_text.hpp"
#include "modsync/testing/modsync_binary.hpp"
#include "modsync/testing/temp_dir.hpp"

namespace fs = std::filesystem;
using modsync::testing::read_text;
using modsync::testing::run_command;
using modsync::testing::TempDir;

namespace {

const fs::path kDeploy = MODSYNC_DEPLOY_DIR;


YAML::Node load_one(const std::string& file) {
  auto docs = YAML::LoadAllFromFile((kDeploy / "kubernetes" / file).string());
  REQUIRE(docs.size() == 1);
  return docs.front();
}

YAML::Node find_named(const YAML::Node& list, const std::string& name) {
  for (const auto& item : list) {
    if (item["name"].as<std::string>() == name) return item;
  }
  FAIL("no entry named " << name);
  return {};
}

/// The containerPort a probe's named or numeric port refers to.
int probe_port(const YAML::Node& container, const YAML::Node& probe) {
  const auto port = probe["httpGet"]["port"];
  for (const auto& p : container["ports"]) {
    if (p["name"] && p["name"].as<std::string>() == port.as<std::string>()) {
      return p["containerPort"].as<int>();
    }
  }
  return port.as<int>();
}

std::string systemd_analyze() {
  for (const char* candidate : {"/usr/bin/systemd-analyze", "/bin/systemd-analyze"}) {
    if (fs::exists(candidate)) return candidate;
  }
  return "";
}

}  // namespace

TEST_CASE("the Kubernetes sidecar example is wired together") {
  const auto configmap = load_one("configmap.yaml");
  const auto secret = load_one("secret.example.yaml");
  const auto pvc = load_one("pvc.yaml");
  const auto deployment = load_one("deployment.yaml");
  const auto kustomization = load_one("kustomization.yaml");

  for (const auto& resource : kustomization["resources"]) {
    INFO(resource.as<std::string>());
    CHECK(fs::exists(kDeploy / "kubernetes" / resource.as<std::string>()));
  }

  CHECK(deployment["kind"].as<std::string>() == "Deployment");
  CHECK(deployment["spec"]["replicas"].as<int>() == 1);
  CHECK(deployment["spec"]["strategy"]["type"].as<std::string>() == "Recreate");
  const auto pod = deployment["spec"]["template"]["spec"];
  CHECK(pod["securityContext"]["runAsNonRoot"].as<bool>());
  const auto modsync = find_named(pod["containers"], "modsync");
  CHECK(pod["containers"].size() == 2);  // the module's app and the sidecar

  SECTION("command, security and resources") {
    CHECK(modsync["args"].as<std::vector<std::string>>() ==
          std::vector<std::string>{"run", "--config", "/etc/modsync"});
    CHECK(modsync["securityContext"]["readOnlyRootFilesystem"].as<bool>());
    CHECK_FALSE(modsync["securityContext"]["allowPrivilegeEscalation"].as<bool>());
    CHECK(modsync["resources"]["requests"]["memory"]);
    CHECK(modsync["resources"]["limits"]["memory"]);
  }

  // The pair config the ConfigMap carries, loaded by the real loader with the container's
  // environment (secret values stand in as placeholders).
  std::map<std::string, std::string> env;
  for (const auto& e : modsync["env"]) {
    const auto name = e["name"].as<std::string>();
    if (e["value"]) {
      env[name] = e["value"].as<std::string>();
    } else {
      const auto ref = e["valueFrom"]["secretKeyRef"];
      REQUIRE(ref);
      CHECK(ref["name"].as<std::string>() == secret["metadata"]["name"].as<std::string>());
      CHECK(secret["stringData"][ref["key"].as<std::string>()]);
      env[name] = "secret-" + name;
    }
  }
  TempDir dir("modsync-deploy");
  for (const auto& entry : configmap["data"]) {
    std::ofstream(dir / entry.first.as<std::string>()) << entry.second.as<std::string>();
  }
  auto pairs = modsync::config::load_path(
      dir.path(), [&env](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
      });
  REQUIRE(pairs.size() == 1);
  const auto& pair = pairs.front();

  SECTION("the DSN password comes from the Secret") {
    REQUIRE(pair.source);
    CHECK(pair.source->dsn.find("password='secret-ORDERS_DB_PASSWORD'") != std::string::npos);
  }

  SECTION("probes reach the daemon's HTTP endpoint on its routes") {
    const auto listen = modsync::parse_listen_address(pair.daemon.http_listen);
    REQUIRE(listen);
    // The kubelet probes the pod IP, so a loopback address would fail every probe.
    CHECK(listen->host == "0.0.0.0");
    const int port = listen->port;
    CHECK(modsync["livenessProbe"]["httpGet"]["path"].as<std::string>() == "/healthz");
    CHECK(modsync["readinessProbe"]["httpGet"]["path"].as<std::string>() == "/readyz");
    CHECK(probe_port(modsync, modsync["livenessProbe"]) == port);
    CHECK(probe_port(modsync, modsync["readinessProbe"]) == port);
    const auto annotations = deployment["spec"]["template"]["metadata"]["annotations"];
    CHECK(annotations["prometheus.io/port"].as<int>() == port);
    CHECK(annotations["prometheus.io/path"].as<std::string>() == "/metrics");
  }

  SECTION("config and state volumes") {
    const auto config_mount = find_named(modsync["volumeMounts"], "config");
    CHECK(config_mount["mountPath"].as<std::string>() == "/etc/modsync");
    CHECK(config_mount["readOnly"].as<bool>());
    CHECK(find_named(pod["volumes"], "config")["configMap"]["name"].as<std::string>() ==
          configmap["metadata"]["name"].as<std::string>());

    const auto state_mount = find_named(modsync["volumeMounts"], "state");
    CHECK(fs::path(state_mount["mountPath"].as<std::string>()) == pair.daemon.state_dir);
    CHECK_FALSE(state_mount["readOnly"]);
    CHECK(find_named(pod["volumes"], "state")["persistentVolumeClaim"]["claimName"]
              .as<std::string>() == pvc["metadata"]["name"].as<std::string>());
    CHECK(pvc["spec"]["accessModes"][0].as<std::string>() == "ReadWriteOnce");
  }

  SECTION("the grace period outlasts the daemon's shutdown timeout") {
    const auto grace = std::chrono::seconds(pod["terminationGracePeriodSeconds"].as<int>());
    CHECK(grace > pair.daemon.shutdown_timeout);
  }
}

TEST_CASE("systemd accepts the unit, with ExecStart pointing at the modsync just built") {
  const std::string analyze = systemd_analyze();
  // A missing tool fails the test: a green run must mean the unit was verified.
  if (analyze.empty()) {
    FAIL("systemd-analyze is not installed: scripts/install-deps.sh installs it (Debian package "
         "systemd); re-run it");
  }
  const std::string unit = read_text(kDeploy / "systemd" / "modsync.service");
  const std::string exec = "ExecStart=/usr/bin/modsync run --config /etc/modsync\n";
  REQUIRE(unit.find(exec) != std::string::npos);

  // Verification checks that ExecStart's program exists and is executable; the installed path
  // does not exist here, so a copy points at the binary under test. Everything else is verified
  // as written (verify does not start the service: the sandboxing is checked for syntax only).
  TempDir dir("modsync-unit");
  std::string copy = unit;
  copy.replace(copy.find(exec), exec.size(),
               "ExecStart=" + modsync::testing::modsync_binary() + " run --config /etc/modsync\n");
  std::ofstream(dir / "modsync.service") << copy;
  // systemd-analyze exits 0 on most mistakes (unknown keys, bad values are "ignoring" warnings),
  // so the test requires silence, not just the exit status.
  const std::vector<std::string> verify = {analyze, "verify", "--man=no", "--generators=no",
                                           (dir / "modsync.service").string()};
  auto result = run_command(verify);
  INFO(result.out << result.err);
  CHECK(result.status == 0);
  CHECK(result.out.empty());
  CHECK(result.err.empty());

  SECTION("the check does see mistakes") {
    std::ofstream(dir / "modsync.service", std::ios::app) << "[Service]\nRestart=sometimes\n";
    auto broken = run_command(verify);
    CHECK(broken.err.find("Failed to parse service restart specifier") != std::string::npos);
  }

  SECTION("TimeoutStopSec leaves room for the default shutdown_timeout") {
    const auto at = unit.find("\nTimeoutStopSec=");
    REQUIRE(at != std::string::npos);
    auto timeout =
        modsync::config::parse_duration(unit.substr(at + 16, unit.find('\n', at + 1) - at - 16));
    REQUIRE(timeout);
    CHECK(*timeout > modsync::config::DaemonConfig{}.shutdown_timeout);
  }
}

TEST_CASE("the sysusers.d entry parses") {
  const fs::path sysusers = "/usr/bin/systemd-sysusers";
  if (!fs::exists(sysusers)) {
    FAIL("systemd-sysusers is not installed: scripts/install-deps.sh installs it (Debian package "
         "systemd); re-run it");
  }
  TempDir root("modsync-sysusers");
  auto result = run_command({sysusers.string(), "--root=" + root.path().string(), "--dry-run",
                             (kDeploy / "systemd" / "modsync.sysusers").string()});
  INFO(result.out << result.err);
  CHECK(result.status == 0);
  CHECK((result.out + result.err).find("Creating user 'modsync'") != std::string::npos);
}
