#!/usr/bin/env bash
# Installs the test tools that do not come from Debian's archive: KafkaJS from npm, pinned by
# tests/kafkajs/package-lock.json (a Kafka client sharing no code with librdkafka, for the
# Debezium-compatibility test). Called by install-deps.sh. Idempotent: skips what is present.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/tests/kafkajs"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-test-tools: installing nodejs and npm"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi

want="$(node -p "require('$dir/package-lock.json').packages['node_modules/kafkajs'].version")"
have="$(node -p "try { require('$dir/node_modules/kafkajs/package.json').version } catch (e) { '' }")"
if [ "$have" = "$want" ]; then
  echo "install-test-tools: kafkajs $have present"
  exit 0
fi
echo "install-test-tools: installing kafkajs $want from npm"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
