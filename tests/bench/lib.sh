#!/usr/bin/env bash
# Shared helpers of the benchmark scripts in tests/bench. Source it after setting `build`
# (the build directory, relative to the repository root or absolute). Provides:
#   bench_result NAME VALUE UNIT [BASELINE [RATIO]]   # one JSON line into $BENCH_RESULTS
#   bench_psql PORT DB [psql args...]                 # quiet psql that stops on errors
#   bench_slot_confirmed PORT DB SLOT                 # the slot's confirmed_flush_lsn
#   bench_lsn_ge A B                                  # true when LSN A >= LSN B
#   bench_wait_confirmed PORT DB SLOT LSN TIMEOUT_S   # poll (every ~50 ms) until confirmed >= LSN;
#                                                     # with BENCH_TRACE=FILE, logs each poll there
#   bench_now                                         # seconds since the epoch, ns resolution
#   bench_cpu_s PID [children]                        # CPU seconds of PID (or its reaped children)
#   bench_vm KEY PID                                  # /proc/PID/status field in kB (VmHWM, VmRSS)
#   bench_start_dev_broker DIR [--topic NAME:P ...]   # sets BENCH_BROKERS and BENCH_BROKER_PID
#   bench_write_capture_config FILE ID DSN BROKERS STATE_DIR SLOT PUBLICATION TABLES...
#                                   # BENCH_KAFKA_PROPERTIES="linger.ms: 20" adds producer properties
#                                   # BENCH_KAFKA_MEMORY="consumer_queue: 16MiB" sets kafka.memory
#   bench_workdir NAME                                # $work, $pids and the EXIT trap (below)
bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case "$build" in
  /*) bench_build=$build ;;
  *) bench_build=$bench_root/$build ;;
esac
BENCH_MODSYNC=${BENCH_MODSYNC:-$bench_build/daemon/modsync}
BENCH_RESULTS=${BENCH_RESULTS:-$bench_build/bench/results.jsonl}
BENCH_RUN_ID=${BENCH_RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
export PATH="$PG_BIN:$PATH"
. "$bench_root/scripts/pg-cluster.sh"

bench_now() { date +%s.%N; }

# Appends {"name","value","unit","baseline","ratio","ts","run"} to $BENCH_RESULTS and prints it.
# BASELINE and RATIO may be omitted (written as null).
bench_result() {
  local name=$1 value=$2 unit=$3 baseline=${4:-null} ratio=${5:-null}
  mkdir -p "$(dirname "$BENCH_RESULTS")"
  local line
  line=$(printf '{"name":"%s","value":%s,"unit":"%s","baseline":%s,"ratio":%s,"ts":"%s","run":"%s"}' \
    "$name" "$value" "$unit" "$baseline" "$ratio" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$BENCH_RUN_ID")
  echo "$line" >>"$BENCH_RESULTS"
  printf '  result: %s\n' "$line"
}

bench_psql() {
  local port=$1 db=$2
  shift 2
  psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"
}

bench_slot_confirmed() {
  bench_psql "$1" "$2" -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$3'"
}

# LSNs are X/Y in hex; compare them as 64-bit numbers.
bench_lsn_ge() {
  local a=$1 b=$2
  local ah=$((16#${a%/*})) al=$((16#${a#*/})) bh=$((16#${b%/*})) bl=$((16#${b#*/}))
  ((ah > bh || (ah == bh && al >= bl)))
}

# Short separate queries: an open transaction here would hold back cleanup on the source.
bench_wait_confirmed() {
  local port=$1 db=$2 slot=$3 lsn=$4 timeout_s=$5
  local deadline cur
  deadline=$(($(date +%s) + timeout_s))
  while :; do
    cur=$(bench_slot_confirmed "$port" "$db" "$slot")
    if [ -n "${BENCH_TRACE:-}" ]; then echo "$(bench_now) $cur" >>"$BENCH_TRACE"; fi
    if [ -n "$cur" ] && bench_lsn_ge "$cur" "$lsn"; then return 0; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "bench: slot $slot confirmed $cur, not $lsn, after ${timeout_s}s" >&2
      return 1
    fi
    sleep 0.05
  done
}

# CPU seconds (user + system) of a live process; with `children`, of its waited-for children.
bench_cpu_s() {
  local pid=$1 which=${2:-self}
  awk -v tck="$(getconf CLK_TCK)" -v w="$which" '{
    sub(/^.*\) /, "")  # drop "pid (comm) ", so state is $1 and utime is $12
    printf "%.2f\n", (w == "children" ? $14 + $15 : $12 + $13) / tck }' "/proc/$pid/stat"
}

bench_vm() {
  awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"
}

bench_start_dev_broker() {
  local dir=$1
  shift
  local args=()
  local t
  for t in "$@"; do args+=(--topic "$t"); done
  "$BENCH_MODSYNC" dev-broker --address-file "$dir/broker.addr" "${args[@]}" \
    >"$dir/broker.out" 2>"$dir/broker.log" &
  BENCH_BROKER_PID=$!
  local _
  for _ in $(seq 100); do [ -s "$dir/broker.addr" ] && break; sleep 0.1; done
  if [ ! -s "$dir/broker.addr" ]; then
    kill "$BENCH_BROKER_PID" 2>/dev/null || true
    wait "$BENCH_BROKER_PID" 2>/dev/null || true
    cat "$dir/broker.log" >&2
    return 1
  fi
  BENCH_BROKERS=$(cat "$dir/broker.addr")
}

bench_write_capture_config() {
  local file=$1 id=$2 dsn=$3 brokers=$4 state_dir=$5 slot=$6 publication=$7
  shift 7
  local tables
  tables=$(IFS=,; echo "$*")
  cat >"$file" <<YAML
daemon:
  id: $id
  state_dir: "$state_dir"
  log: { level: info, format: logfmt }
  http: { listen: "" }
  shutdown_timeout: 10s
kafka:
  brokers: "$brokers"
  properties: { ${BENCH_KAFKA_PROPERTIES:-} }
  memory: { ${BENCH_KAFKA_MEMORY:-} }
source:
  module: bench
  dsn: "$dsn"
  tables: [$tables]
  slot: $slot
  publication: $publication
  snapshot: never
  topic: "{module}.{schema}.{table}"
  heartbeat_interval: 0
YAML
}

# Kafka messages on TOPIC: the sum over partitions of the high watermark (the mock may drop
# old data of a partition, which moves its low watermark, not its high one).
bench_topic_messages() {
  local brokers=$1 topic=$2
  local parts args=() p
  parts=$(kcat -L -b "$brokers" -t "$topic" -J 2>/dev/null |
    python3 -c 'import json,sys; m=json.load(sys.stdin); print(" ".join(str(p["partition"]) for t in m["topics"] for p in t["partitions"]))')
  for p in $parts; do args+=(-t "$topic:$p:-1"); done
  kcat -Q -b "$brokers" "${args[@]}" 2>/dev/null |
    awk '$(NF - 1) == "offset" { s += $NF } END { print s + 0 }'
}

bench_ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.3f}' if b else 'null')" "$1" "$2"; }
# Arithmetic on floats; seconds are printed with 3 decimals by the callers' round().
bench_calc() { python3 -c "import sys; print(eval(sys.argv[1]))" "$1"; }

# Creates the benchmark's work directory ($work) and its list of started processes ($pids), and
# installs an EXIT trap that stops them newest first (a daemon before the broker it talks to),
# stops every cluster started under $work, and removes $work unless BENCH_KEEP=1.
bench_workdir() {
  work=$(mktemp -d "/tmp/modsync-bench-$1.XXXXXX")
  chmod 0755 "$work"
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local pid i data
  if declare -F bench_poll_close >/dev/null; then bench_poll_close; fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for data in "$work"/*/data; do
    if [ -d "$data" ]; then pg_cluster_stop "$(dirname "$data")"; fi
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "  kept $work"; else rm -rf "$work"; fi
}
