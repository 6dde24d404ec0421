#!/usr/bin/env bash
# Capture throughput: modsync capturing a pgbench TPC-B workload's WAL into the dev broker,
# next to pg_recvlogical draining the same WAL (pgoutput) to a file, measured in the same run.
#
# One throwaway cluster; `pgbench -i -s 10`; a publication for the four pgbench tables and two
# pgoutput slots created BEFORE the workload; `pgbench -c 4 -j 2 -T 20`. The WAL then sits in
# both slots. End position: pg_current_wal_flush_lsn() after the workload (synchronous_commit
# is on, so it covers the last commit). Then, one after the other:
#   (a) pg_recvlogical --start --endpos=END --no-loop into a file: wall time of the process;
#   (b) modsync run (snapshot: never): time from the daemon's start until its slot's
#       confirmed_flush_lsn >= END (polled every ~50 ms with separate short queries).
# Row changes: pg_stat_user_tables n_tup_ins+upd+del delta over the workload (cross-checked
# against 4 per pgbench transaction). Kafka: the sum of the four topics' high watermarks.
#
# Usage: capture_throughput.sh BUILD_DIR   (env: BENCH_SCALE=10 BENCH_SECONDS=20 BENCH_CLIENTS=4
#        BENCH_PERF=1 to record a perf profile of the daemon into BUILD_DIR/bench/)
set -euo pipefail
build=${1:-build}
. "$(dirname "$0")/lib.sh"

scale=${BENCH_SCALE:-10}
seconds=${BENCH_SECONDS:-20}
clients=${BENCH_CLIENTS:-4}
db=bench
tables=(pgbench_accounts pgbench_branches pgbench_tellers pgbench_history)

work=$(mktemp -d /tmp/modsync-bench-capture.XXXXXX)
chmod 0755 "$work"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pg_cluster_stop "$work/pg"
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "  kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== capture_throughput: pgbench TPC-B -s $scale -c $clients -T $seconds"
port=$(pg_free_port)
pg_cluster_start "$work/pg" "$port" "max_wal_size = 4GB"
bench_psql "$port" postgres -c "CREATE DATABASE $db"
pgbench -h 127.0.0.1 -p "$port" -U postgres -i -s "$scale" -q "$db" >"$work/pgbench-init.log" 2>&1
bench_psql "$port" "$db" >/dev/null <<SQL
CREATE PUBLICATION bench_pub FOR TABLE $(IFS=,; echo "${tables[*]}");
SELECT 1 FROM pg_create_logical_replication_slot('bench_recv', 'pgoutput');
SELECT 1 FROM pg_create_logical_replication_slot('bench_modsync', 'pgoutput');
SQL

start_lsn=$(bench_psql "$port" "$db" -c "SELECT pg_current_wal_flush_lsn()")
stat_sql="SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables
          WHERE relname LIKE 'pgbench_%'"
tuples_before=$(bench_psql "$port" "$db" -c "$stat_sql")

pgbench -h 127.0.0.1 -p "$port" -U postgres -n -c "$clients" -j 2 -T "$seconds" "$db" \
  >"$work/pgbench.log" 2>&1
tps=$(awk -F'= ' '/^tps/ { split($2, a, " "); print a[1]; exit }' "$work/pgbench.log")
transactions=$(awk -F': ' '/number of transactions actually processed/ { split($2, a, "/"); print a[1] }' "$work/pgbench.log")
end_lsn=$(bench_psql "$port" "$db" -c "SELECT pg_current_wal_flush_lsn()")
# Statistics reach the shared counters when the backends exit; give them a moment.
sleep 1
tuples_after=$(bench_psql "$port" "$db" -c "$stat_sql")
rows=$((tuples_after - tuples_before))
wal_bytes=$(bench_psql "$port" "$db" -c "SELECT pg_wal_lsn_diff('$end_lsn', '$start_lsn')::bigint")
echo "  pgbench: $transactions transactions (${tps%.*} tps), $rows row changes" \
  "(4 per transaction: $((transactions * 4))), WAL $start_lsn..$end_lsn ($((wal_bytes / 1048576)) MiB)"

# (a) pg_recvlogical.
dsn="host=127.0.0.1 port=$port dbname=$db user=postgres"
t0=$(bench_now)
pg_recvlogical -d "$dsn" -S bench_recv -o proto_version=1 -o publication_names=bench_pub \
  --start --endpos="$end_lsn" --no-loop -F 0 -f "$work/recv.out" 2>"$work/recv.log"
t1=$(bench_now)
recv_s=$(bench_calc "round($t1 - $t0, 3)")
recv_rate=$(bench_calc "round($rows / $recv_s)")
echo "  pg_recvlogical: ${recv_s}s, $recv_rate rows/s, $(($(stat -c %s "$work/recv.out") / 1048576)) MiB written"

# (b) modsync into the dev broker. Enough partitions that each stays under the mock's ~5 MiB.
bench_start_dev_broker "$work" bench.public.pgbench_accounts:32 bench.public.pgbench_history:16 \
  bench.public.pgbench_tellers:8 bench.public.pgbench_branches:8 modsync.schemas:1
pids+=("$BENCH_BROKER_PID")
bench_write_capture_config "$work/modsync.yaml" bench-capture "$dsn" "$BENCH_BROKERS" \
  "$work/state" bench_modsync bench_pub "${tables[@]}"
t0=$(bench_now)
"$BENCH_MODSYNC" run --config "$work/modsync.yaml" 2>"$work/modsync.log" &
modsync_pid=$!
pids+=("$modsync_pid")
if [ "${BENCH_PERF:-0}" = 1 ]; then
  perf record -F 999 -g -e cpu-clock -p "$modsync_pid" -o "$bench_build/bench/capture.perf.data" \
    >"$work/perf.log" 2>&1 &
  perf_pid=$!
fi
if ! bench_wait_confirmed "$port" "$db" bench_modsync "$end_lsn" 300; then
  tail -n 20 "$work/modsync.log" >&2
  exit 1
fi
t1=$(bench_now)
modsync_s=$(bench_calc "round($t1 - $t0, 3)")
modsync_rate=$(bench_calc "round($rows / $modsync_s)")
hwm_kb=$(bench_vm VmHWM "$modsync_pid")
if [ -n "${perf_pid:-}" ]; then
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  echo "  perf profile: $bench_build/bench/capture.perf.data"
fi
kill -TERM "$modsync_pid"
wait "$modsync_pid" || true
echo "  modsync: ${modsync_s}s, $modsync_rate rows/s (peak RSS $((hwm_kb / 1024)) MiB)"

kafka_rows=0
for t in "${tables[@]}"; do
  n=$(bench_topic_messages "$BENCH_BROKERS" "bench.public.$t")
  kafka_rows=$((kafka_rows + n))
done
ratio=$(bench_ratio "$modsync_rate" "$recv_rate")
echo "  modsync / pg_recvlogical: $ratio (target >= 0.9)"
echo "  Kafka: $kafka_rows change events for $rows row changes" \
  "($([ "$kafka_rows" -eq "$rows" ] && echo equal || echo "DIFFERENT"))"

bench_result capture_rows "$rows" rows
bench_result capture_wal_bytes "$wal_bytes" bytes
bench_result pg_recvlogical_rows_per_s "$recv_rate" rows/s
bench_result modsync_capture_rows_per_s "$modsync_rate" rows/s "$recv_rate" "$ratio"
bench_result modsync_capture_kafka_events "$kafka_rows" events "$rows" "$(bench_ratio "$kafka_rows" "$rows")"
bench_result modsync_capture_peak_rss "$((hwm_kb / 1024))" MiB
