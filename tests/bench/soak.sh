#!/usr/bin/env bash
# Soak: the daemon's memory, threads and file descriptors over time at a steady ~1,000 events/s.
#
# One throwaway cluster: `src` (pgbench -i -s BENCH_SOAK_SCALE) and `dst`, a copy of it made before
# the workload (CREATE DATABASE … TEMPLATE src; the accounts get _modsync_lsn/_modsync_seq
# defaulted to 0/0 and 0, so the copied rows are older than every event). One daemon captures
# pgbench_accounts and pgbench_history (`snapshot: never`) and projects both into dst (history
# has no key: append-only). `pgbench -R 500` (TPC-B, 2 clients) runs for BENCH_SOAK_SECONDS: each
# transaction changes one account and inserts one history row, so ~1,000 events/s through the
# whole path (capture, Kafka, apply). Every BENCH_SOAK_INTERVAL seconds the daemon's VmRSS,
# Threads, open fds and CPU are sampled (and the dev broker's RSS, which grows with the data it
# holds). The RSS slope (MiB/min) is a least-squares fit over the samples after
# BENCH_SOAK_WARMUP seconds. At the end, once dst holds every history row, both projections are
# compared with the source. The samples are kept in BUILD_DIR/bench/soak-RUN.tsv and the daemon's
# log in BUILD_DIR/bench/soak-daemon.log; the pipeline restarts it shows (the supervisor's
# "retrying"/"failed" lines) are counted and listed with their time since the start, so a dip in
# threads or fds (a restarting pipeline closes its connections and clients) can be explained.
#
# Usage: soak.sh BUILD_DIR   (env: BENCH_SOAK_SECONDS=60 (`make soak`: 900), BENCH_SOAK_INTERVAL=5,
#        BENCH_SOAK_WARMUP=10, BENCH_SOAK_TPS=500, BENCH_SOAK_SCALE=1, BENCH_KAFKA_PROPERTIES, BENCH_KEEP=1)
set -euo pipefail
build=${1:-build}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/projection_lib.sh"

seconds=${BENCH_SOAK_SECONDS:-60}
interval=${BENCH_SOAK_INTERVAL:-5}
warmup=${BENCH_SOAK_WARMUP:-10}
tps=${BENCH_SOAK_TPS:-500}
scale=${BENCH_SOAK_SCALE:-1}
export BENCH_KAFKA_PROPERTIES=${BENCH_KAFKA_PROPERTIES-compression.type: lz4}

bench_workdir soak

echo "== soak: pgbench -R $tps (~$((2 * tps)) events/s, accounts and history projected) for ${seconds}s," \
  "daemon sampled every ${interval}s"
port=$(pg_free_port)
pg_cluster_start "$work/pg" "$port" "max_wal_size = 4GB"
bench_psql "$port" postgres -c "CREATE DATABASE src"
pgbench -h 127.0.0.1 -p "$port" -U postgres -i -s "$scale" -q src >"$work/pgbench-init.log" 2>&1
bench_psql "$port" postgres -c "CREATE DATABASE dst TEMPLATE src"
bench_psql "$port" dst -c "ALTER TABLE pgbench_accounts ADD COLUMN _modsync_lsn pg_lsn DEFAULT '0/0',
  ADD COLUMN _modsync_seq integer DEFAULT 0"

bench_start_dev_broker "$work" bench.public.pgbench_accounts:16 bench.public.pgbench_history:16 modsync.schemas:1
pids+=("$BENCH_BROKER_PID")
export BENCH_SOURCE_TABLES="public.pgbench_accounts, public.pgbench_history"
bench_write_apply_config "$work/modsync.yaml" bench-soak "host=127.0.0.1 port=$port dbname=dst user=postgres" \
  "$BENCH_BROKERS" "$work/state" "host=127.0.0.1 port=$port dbname=src user=postgres" bench_soak bench_soak never
cat >>"$work/modsync.yaml" <<YAML
    - { from: bench.public.pgbench_accounts, to: public.pgbench_accounts }
    - { from: bench.public.pgbench_history, to: public.pgbench_history }
YAML
bench_start_daemon "$work/modsync.yaml" "$work/modsync.log"
bench_wait_log "$work/modsync.log" 1 30 "streaming from slot"
bench_wait_log "$work/modsync.log" 2 30 "applying into"

pgbench -h 127.0.0.1 -p "$port" -U postgres -n -c 2 -j 2 -R "$tps" -T "$seconds" src >"$work/pgbench.log" 2>&1 &
pgbench_pid=$!
pids+=("$pgbench_pid")
samples=$work/samples.tsv
printf 's\trss_mib\tthreads\tfds\tcpu_s\tbroker_rss_mib\n' >"$samples"
t0=$(bench_now)
cpu0=$(bench_cpu_s "$modsync_pid")
while kill -0 "$pgbench_pid" 2>/dev/null; do
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(bench_calc "round($(bench_now) - $t0, 1)")" \
    "$(bench_calc "round($(bench_vm VmRSS "$modsync_pid") / 1024, 1)")" "$(bench_vm Threads "$modsync_pid")" \
    "$(find "/proc/$modsync_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)" \
    "$(bench_calc "round($(bench_cpu_s "$modsync_pid") - $cpu0, 2)")" \
    "$(bench_calc "round($(bench_vm VmRSS "$BENCH_BROKER_PID") / 1024, 1)")" >>"$samples"
  sleep "$interval"
done
wait "$pgbench_pid" || { cat "$work/pgbench.log" >&2; exit 1; }
hwm_kb=$(bench_vm VmHWM "$modsync_pid")
tx=$(awk -F': ' '/number of transactions actually processed/ { split($2, a, "/"); print a[1] }' "$work/pgbench.log")
history_rows=$(bench_psql "$port" src -c "SELECT count(*) FROM pgbench_history")
bench_poll_open "$port" dst
if ! bench_wait_query "SELECT count(*) FROM pgbench_history" "$history_rows" 120; then
  tail -n 20 "$work/modsync.log" >&2
  exit 1
fi
bench_poll_close
bench_stop_daemon
events=$(($(bench_topic_messages "$BENCH_BROKERS" bench.public.pgbench_accounts) +
  $(bench_topic_messages "$BENCH_BROKERS" bench.public.pgbench_history)))
mkdir -p "$bench_build/bench"
cp "$samples" "$bench_build/bench/soak-$BENCH_RUN_ID.tsv"
cp "$work/modsync.log" "$bench_build/bench/soak-daemon.log"
# The supervisor logs each restart as "<capture|apply> retrying|failed (...)" and a repeat of the
# same error as "... still retrying"; both are restarts.
restart_pattern='msg="(capture|apply) (still )?(retrying|failed)'
restarts=$(grep -cE "$restart_pattern" "$work/modsync.log" || true)

read -r rss_start rss_end rss_max slope threads_start threads_end fds_start fds_end cpu_pct broker_end < <(
  python3 - "$samples" "$warmup" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
rows = [[float(x) for x in r] for r in rows]
warm = [r for r in rows if r[0] >= float(sys.argv[2])] or rows
xs, ys = [r[0] / 60 for r in warm], [r[1] for r in warm]
mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
den = sum((x - mx) ** 2 for x in xs)
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0
span = rows[-1][0] - rows[0][0]
cpu_pct = 100 * (rows[-1][4] - rows[0][4]) / span if span else 0.0
print(warm[0][1], warm[-1][1], max(r[1] for r in rows), round(slope, 2), int(warm[0][2]), int(warm[-1][2]),
      int(warm[0][3]), int(warm[-1][3]), round(cpu_pct, 1), rows[-1][5])
PY
)
rate=$(bench_calc "round($events / $seconds)")
echo "  pgbench: $tx transactions; $events events on Kafka ($rate events/s over ${seconds}s)"
awk -F'\t' 'NR == 1 || (NR - 2) % '"$(((${seconds} / interval + 11) / 12))"' == 0' "$samples" | column -t
echo "  daemon RSS ${rss_start} -> ${rss_end} MiB (max ${rss_max}, peak VmHWM $((hwm_kb / 1024)) MiB)," \
  "slope ${slope} MiB/min after ${warmup}s; threads ${threads_start} -> ${threads_end}, fds ${fds_start} -> ${fds_end};" \
  "CPU ${cpu_pct}% of a core; dev broker RSS at the end ${broker_end} MiB"

# Lowest threads and fds after the warm-up, and when: a dip below the end figure points at a
# restart (or a client reconnecting) at that time.
read -r threads_min threads_min_at fds_min fds_min_at < <(
  python3 - "$samples" "$warmup" <<'PY'
import sys
rows = [[float(x) for x in l.rstrip("\n").split("\t")] for l in list(open(sys.argv[1]))[1:]]
warm = [r for r in rows if r[0] >= float(sys.argv[2])] or rows
t = min(warm, key=lambda r: r[2])
f = min(warm, key=lambda r: r[3])
print(int(t[2]), t[0], int(f[3]), f[0])
PY
)
echo "  lowest after ${warmup}s: threads ${threads_min} at ${threads_min_at}s, fds ${fds_min} at ${fds_min_at}s;" \
  "pipeline restarts in the log: ${restarts} (log kept in $bench_build/bench/soak-daemon.log)"
if [ "$restarts" -gt 0 ]; then
  # Seconds since the first sample, as in the samples' first column.
  python3 - "$work/modsync.log" "$restart_pattern" "$t0" <<'PY'
import re, sys
from datetime import datetime
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"ts=(\S+)", line)
    if m and re.search(sys.argv[2], line):
        t = datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
        print(f"    restart at {t - float(sys.argv[3]):.0f}s: {line.strip()[:300]}")
PY
fi

equal=0
for q in "SELECT aid, bid, abalance, filler FROM pgbench_accounts" "SELECT tid, bid, aid, delta, mtime, filler FROM pgbench_history"; do
  want=$(bench_checksum "$port" src "$q")
  got=$(bench_checksum "$port" dst "$q")
  [ "$want" = "$got" ] && equal=$((equal + 1))
  echo "  ${q##* }: source $want, projection $got"
done

bench_result soak_seconds "$seconds" s
bench_result soak_events_per_s "$rate" events/s "$((2 * tps))" "$(bench_ratio "$rate" "$((2 * tps))")"
bench_result soak_rss_start "$rss_start" MiB
bench_result soak_rss_end "$rss_end" MiB "$rss_start" "$(bench_ratio "$rss_end" "$rss_start")"
bench_result soak_rss_slope "$slope" MiB/min
bench_result soak_peak_rss "$((hwm_kb / 1024))" MiB
bench_result soak_threads_end "$threads_end" threads "$threads_start" "$(bench_ratio "$threads_end" "$threads_start")"
bench_result soak_fds_end "$fds_end" fds "$fds_start" "$(bench_ratio "$fds_end" "$fds_start")"
bench_result soak_cpu_percent "$cpu_pct" "%"
bench_result soak_threads_min "$threads_min" threads "$threads_end" "$(bench_ratio "$threads_min" "$threads_end")"
bench_result soak_fds_min "$fds_min" fds "$fds_end" "$(bench_ratio "$fds_min" "$fds_end")"
bench_result soak_pipeline_restarts "$restarts" restarts
bench_result soak_tables_equal "$equal" tables 2 "$(bench_ratio "$equal" 2)"
if [ "$equal" -ne 2 ]; then
  echo "bench: a projection differs from the source after the soak" >&2
  exit 1
fi
