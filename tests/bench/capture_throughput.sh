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

bench_workdir capture

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

# CPU seconds: on a shared 2-core host, wall time mostly measures how much CPU a pipeline
# needs while competing with everything else, so each pipeline's CPU is reported too.
# pg_recvlogical's and its walsender's: this shell's and the postmaster's reaped children.
postmaster=$(head -1 "$work/pg/data/postmaster.pid")

# (a) pg_recvlogical.
dsn="host=127.0.0.1 port=$port dbname=$db user=postgres"
cpu_self0=$(bench_cpu_s $$ children)
cpu_pm0=$(bench_cpu_s "$postmaster" children)
t0=$(bench_now)
pg_recvlogical -d "$dsn" -S bench_recv -o proto_version=1 -o publication_names=bench_pub \
  --start --endpos="$end_lsn" --no-loop -F 0 -f "$work/recv.out" 2>"$work/recv.log"
t1=$(bench_now)
recv_s=$(bench_calc "round($t1 - $t0, 3)")
recv_rate=$(bench_calc "round($rows / $recv_s)")
# The walsender exits right after the client; wait until the postmaster reaped it.
for _ in $(seq 100); do
  [ "$(bench_psql "$port" "$db" -c "SELECT count(*) FROM pg_stat_replication")" = 0 ] && break
  sleep 0.02
done
recv_cpu=$(bench_calc "round($(bench_cpu_s $$ children) - $cpu_self0, 2)")
recv_ws_cpu=$(bench_calc "round($(bench_cpu_s "$postmaster" children) - $cpu_pm0, 2)")
echo "  pg_recvlogical: ${recv_s}s, $recv_rate rows/s, $(($(stat -c %s "$work/recv.out") / 1048576)) MiB written;" \
  "CPU: pg_recvlogical ${recv_cpu}s, walsender ${recv_ws_cpu}s"

# (b) modsync into the dev broker. Enough partitions that each stays under the mock's ~5 MiB.
bench_start_dev_broker "$work" bench.public.pgbench_accounts:32 bench.public.pgbench_history:16 \
  bench.public.pgbench_tellers:8 bench.public.pgbench_branches:8 modsync.schemas:1
pids+=("$BENCH_BROKER_PID")
broker_cpu0=$(bench_cpu_s "$BENCH_BROKER_PID")
bench_write_capture_config "$work/modsync.yaml" bench-capture "$dsn" "$BENCH_BROKERS" \
  "$work/state" bench_modsync bench_pub "${tables[@]}"
t0=$(bench_now)
if [ "${BENCH_PERF:-0}" = 1 ]; then
  # perf runs the daemon, so the profile covers every thread from the first instruction.
  mkdir -p "$bench_build/bench"
  perf record -F 499 --call-graph dwarf,16384 -e cpu-clock -o "$bench_build/bench/capture.perf.data" -- \
    "$BENCH_MODSYNC" run --config "$work/modsync.yaml" 2>"$work/modsync.log" &
  pids+=($!)
  for _ in $(seq 100); do modsync_pid=$(pgrep -P "$!" || true); [ -n "$modsync_pid" ] && break; sleep 0.01; done
else
  "$BENCH_MODSYNC" run --config "$work/modsync.yaml" 2>"$work/modsync.log" &
  modsync_pid=$!
fi
pids+=("$modsync_pid")
if ! bench_wait_confirmed "$port" "$db" bench_modsync "$end_lsn" 300; then
  tail -n 20 "$work/modsync.log" >&2
  exit 1
fi
t1=$(bench_now)
modsync_s=$(bench_calc "round($t1 - $t0, 3)")
modsync_rate=$(bench_calc "round($rows / $modsync_s)")
hwm_kb=$(bench_vm VmHWM "$modsync_pid")
modsync_cpu=$(bench_cpu_s "$modsync_pid")
broker_cpu=$(bench_calc "round($(bench_cpu_s "$BENCH_BROKER_PID") - $broker_cpu0, 2)")
walsender=$(bench_psql "$port" "$db" -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'bench_modsync'")
modsync_ws_cpu=$(bench_cpu_s "$walsender")
kill -TERM "$modsync_pid"
wait "$modsync_pid" 2>/dev/null || true
if [ "${BENCH_PERF:-0}" = 1 ]; then
  while kill -0 "$modsync_pid" 2>/dev/null; do sleep 0.05; done
  wait "${pids[-2]}" 2>/dev/null || true
  echo "  perf profile: $bench_build/bench/capture.perf.data (perf report -i …)"
fi
echo "  modsync: ${modsync_s}s, $modsync_rate rows/s (peak RSS $((hwm_kb / 1024)) MiB);" \
  "CPU: modsync ${modsync_cpu}s, dev broker ${broker_cpu}s, walsender ${modsync_ws_cpu}s"
recv_cpu_total=$(bench_calc "$recv_cpu + $recv_ws_cpu")
modsync_cpu_total=$(bench_calc "$modsync_cpu + $modsync_ws_cpu")
recv_per_cpu=$(bench_calc "round($rows / max($recv_cpu_total, 0.01))")
modsync_per_cpu=$(bench_calc "round($rows / max($modsync_cpu_total, 0.01))")
cpu_ratio=$(bench_ratio "$modsync_per_cpu" "$recv_per_cpu")
echo "  rows per CPU-second (client + walsender; the dev broker not counted): pg_recvlogical" \
  "$recv_per_cpu, modsync $modsync_per_cpu, ratio $cpu_ratio"

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
bench_result pg_recvlogical_rows_per_cpu_s "$recv_per_cpu" rows/cpu-s
bench_result modsync_capture_rows_per_cpu_s "$modsync_per_cpu" rows/cpu-s "$recv_per_cpu" "$cpu_ratio"
bench_result modsync_capture_cpu_s "$modsync_cpu" s
bench_result dev_broker_cpu_s "$broker_cpu" s
bench_result modsync_capture_kafka_events "$kafka_rows" events "$rows" "$(bench_ratio "$kafka_rows" "$rows")"
bench_result modsync_capture_peak_rss "$((hwm_kb / 1024))" MiB
