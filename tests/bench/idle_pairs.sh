#!/usr/bin/env bash
# Fixed cost of idle pairs: one daemon running BENCH_IDLE_PAIRS module pairs (a configuration
# directory, one file per pair), each capturing one empty table and projecting it, with nothing
# to do. Once every pair streams and applies and BENCH_IDLE_SETTLE seconds have passed, the
# daemon's threads, open fds and RSS are read, and its CPU (and the dev broker's) is measured
# over BENCH_IDLE_SECONDS.
#
# One throwaway cluster: `src` with tables idle_1 … idle_N (id bigint primary key, v text) and
# `dst` with their targets. Pair i: daemon.id idle-i, slot and publication idle_i, `snapshot:
# never`, heartbeat_interval BENCH_IDLE_HEARTBEAT (the default 10s: what a user runs).
#
# Usage: idle_pairs.sh BUILD_DIR   (env: BENCH_IDLE_PAIRS=20 BENCH_IDLE_SECONDS=30 BENCH_IDLE_SETTLE=5
#        BENCH_IDLE_HEARTBEAT=10s, BENCH_KEEP=1)
set -euo pipefail
build=${1:-build}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/projection_lib.sh"

n=${BENCH_IDLE_PAIRS:-20}
seconds=${BENCH_IDLE_SECONDS:-30}
settle=${BENCH_IDLE_SETTLE:-5}
heartbeat=${BENCH_IDLE_HEARTBEAT:-10s}

bench_workdir idle

echo "== idle_pairs: $n idle pairs in one daemon, threads and CPU over ${seconds}s"
port=$(pg_free_port)
pg_cluster_start "$work/pg" "$port" "max_wal_senders = $((n + 10))" "max_replication_slots = $((n + 10))" \
  "max_connections = $((5 * n + 20))"
bench_psql "$port" postgres -c "CREATE DATABASE src"
bench_psql "$port" postgres -c "CREATE DATABASE dst"
topics=(modsync.schemas:1)
mkdir -p "$work/conf"
for i in $(seq "$n"); do
  bench_psql "$port" src -c "CREATE TABLE idle_$i (id bigint PRIMARY KEY, v text)"
  bench_psql "$port" dst -c "CREATE TABLE idle_$i (id bigint PRIMARY KEY, v text, _modsync_lsn pg_lsn, _modsync_seq integer)"
  topics+=("bench.public.idle_$i:1")
done
bench_start_dev_broker "$work" "${topics[@]}"
pids+=("$BENCH_BROKER_PID")
for i in $(seq "$n"); do
  f=$work/conf/pair_$(printf '%03d' "$i").yaml
  BENCH_SOURCE_TABLES=public.idle_$i bench_write_apply_config "$f" "idle-$i" \
    "host=127.0.0.1 port=$port dbname=dst user=postgres" "$BENCH_BROKERS" "$work/state" \
    "host=127.0.0.1 port=$port dbname=src user=postgres" "idle_$i" "idle_$i" never
  sed -i "s/heartbeat_interval: 0/heartbeat_interval: $heartbeat/" "$f"
  echo "    - { from: bench.public.idle_$i, to: public.idle_$i }" >>"$f"
done
bench_start_daemon "$work/conf" "$work/modsync.log"
bench_wait_log "$work/modsync.log" "$n" 120 "streaming from slot" "applying into"
sleep "$settle"

threads=$(bench_vm Threads "$modsync_pid")
fds=$(find "/proc/$modsync_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
rss_kb=$(bench_vm VmRSS "$modsync_pid")
cpu0=$(bench_cpu_s "$modsync_pid")
broker_cpu0=$(bench_cpu_s "$BENCH_BROKER_PID")
t0=$(bench_now)
sleep "$seconds"
t1=$(bench_now)
cpu_pct=$(bench_calc "round(100 * ($(bench_cpu_s "$modsync_pid") - $cpu0) / ($t1 - $t0), 2)")
broker_pct=$(bench_calc "round(100 * ($(bench_cpu_s "$BENCH_BROKER_PID") - $broker_cpu0) / ($t1 - $t0), 2)")
threads_end=$(bench_vm Threads "$modsync_pid")
bench_stop_daemon
echo "  daemon: $threads threads ($(bench_calc "round($threads / $n, 1)") per pair; $threads_end at the end)," \
  "$fds fds, RSS $((rss_kb / 1024)) MiB; CPU ${cpu_pct}% of a core over ${seconds}s" \
  "($(bench_calc "round($cpu_pct / $n, 2)")% per pair); dev broker ${broker_pct}%"

bench_result idle_pairs "$n" pairs
bench_result idle_pairs_threads "$threads" threads
bench_result idle_pairs_fds "$fds" fds
bench_result idle_pairs_rss "$((rss_kb / 1024))" MiB
bench_result idle_pairs_cpu_percent "$cpu_pct" "%"
bench_result idle_pairs_broker_cpu_percent "$broker_pct" "%"
