#!/usr/bin/env bash
# Installs every build, test and demo dependency of modsync from Debian 12's archive.
# Idempotent: packages already present are skipped, and apt is not touched when nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libpq-dev postgresql-15 postgresql-client-15
  librdkafka-dev kcat
  librocksdb-dev
  libyaml-cpp-dev
  libfmt-dev libspdlog-dev
  rapidjson-dev libsimdjson-dev
  libcli11-dev libcpp-httplib-dev
  libsystemd-dev systemd
  catch2
  clang-14 libclang-rt-14-dev  # make fuzz: libFuzzer and the sanitizer runtimes
  procps util-linux curl
  # `make package` (CPack DEB: dpkg-deb, dpkg-shlibdeps) and its test; promtool (in Debian's
  # prometheus package) checks deploy/prometheus/modsync-alerts.yaml. Services the packages
  # bring (the Prometheus server) are not started by this script: see policy-rc.d below.
  dpkg-dev prometheus
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exec "$(dirname "${BASH_SOURCE[0]}")/install-test-tools.sh"
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The postgresql-common package would create and start a default cluster; tests start their own.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  $SUDO mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
# Only tools are wanted: no service a package ships is started while it installs (Debian's
# policy-rc.d convention), unless the machine already has a policy of its own.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
fi
status=0
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" || status=$?
if [ -n "$policy" ]; then $SUDO rm -f "$policy"; fi
[ "$status" -eq 0 ] || exit "$status"
echo "install-deps: done"
exec "$(dirname "${BASH_SOURCE[0]}")/install-test-tools.sh"
