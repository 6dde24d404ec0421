#!/usr/bin/env bash
# Apply throughput: modsync applying a pgbench TPC-B workload's changes from Kafka into
# projections, next to a native logical replication subscription applying the same changes,
# measured in the same run.
#
# Two throwaway clusters: the source (`pgbench -i -s 10`, a publication for the four pgbench
# tables, slots bench_native and bench_modsync created BEFORE the workload) and the subscriber,
# with two databases cloned from one `pgbench -i -s 10` (the data is deterministic, so both start
# equal to the source): `native` (a disabled subscription on bench_native, copy_data=false) and
# `proj` (the keyed tables gain _modsync_lsn/_modsync_seq, defaulted to 0/0 and 0 so the initial
# rows are older than every event; pgbench_history has no key: append-only).
# `pgbench -n -c 4 -j 2 -T 20` on the source; then, one after the other:
#   (a) native: ALTER SUBSCRIPTION … ENABLE; time until the subscriber's pgbench_history count
#       equals the source's (one history row per transaction, applied in commit order by one
#       worker, so the last transaction is visible). This includes decoding on the publisher.
#   (b) modsync capture (capture-only config) into the dev broker until the slot confirms END;
#       timed for information only and stopped.
#   (c) modsync apply (apply-only config, four projections) into `proj`: time from the daemon's
#       start until modsync.offsets sums to the number of events on Kafka (every event consumed
#       and committed with its batch). Apply only: the events are already on Kafka. sink.workers
#       is left to its default (min(partitions, cores, 4)).
#   (d) the same apply once per count in BENCH_APPLY_WORKERS (default "1 4"), sink.workers set to
#       it, each into its own clone of `proj` (proj_w1, proj_w4, … made before the workload).
# At the end each table of `native` and `proj` is compared with the source (count and an
# order-free hash of the rows); a difference fails the benchmark.
#
# Usage: apply_throughput.sh BUILD_DIR   (env: BENCH_SCALE=10 BENCH_SECONDS=20 BENCH_CLIENTS=4,
#        BENCH_TRANSACTIONS (per client, instead of BENCH_SECONDS: a fixed workload, for comparing
#        memory figures across runs on a busy host),
#        BENCH_KAFKA_PROPERTIES (default "compression.type: lz4"), BENCH_SINK_BATCH,
#        BENCH_APPLY_WORKERS, BENCH_PERF=1 (the apply daemon into BUILD_DIR/bench/apply.perf.data),
#        BENCH_KEEP=1)
set -euo pipefail
build=${1:-build}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/projection_lib.sh"

scale=${BENCH_SCALE:-10}
seconds=${BENCH_SECONDS:-20}
clients=${BENCH_CLIENTS:-4}
# lz4: the mock keeps ~5 MiB per partition and pgbench_branches has only 10 keys (10 partitions
# at most); compressed, its events fit.
export BENCH_KAFKA_PROPERTIES=${BENCH_KAFKA_PROPERTIES-compression.type: lz4}
db=bench
read -r -a worker_counts <<<"${BENCH_APPLY_WORKERS:-1 4}"
tables=(pgbench_accounts pgbench_branches pgbench_tellers pgbench_history)
declare -A columns=(
  [pgbench_accounts]="aid, bid, abalance, filler"
  [pgbench_branches]="bid, bbalance, filler"
  [pgbench_tellers]="tid, bid, tbalance, filler"
  [pgbench_history]="tid, bid, aid, delta, mtime, filler"
)

bench_workdir apply

echo "== apply_throughput: pgbench TPC-B -s $scale -c $clients -T $seconds; native subscription vs modsync apply"
src=$(pg_free_port)
pg_cluster_start "$work/src" "$src" "max_wal_size = 4GB"
sub=$(pg_free_port)
pg_cluster_start "$work/sub" "$sub" "max_wal_size = 4GB" "max_logical_replication_workers = 4"
bench_psql "$src" postgres -c "CREATE DATABASE $db"
bench_psql "$sub" postgres -c "CREATE DATABASE native"
pgbench -h 127.0.0.1 -p "$src" -U postgres -i -s "$scale" -q "$db" >"$work/pgbench-init.log" 2>&1
pgbench -h 127.0.0.1 -p "$sub" -U postgres -i -s "$scale" -q native >>"$work/pgbench-init.log" 2>&1
bench_psql "$sub" postgres -c "CREATE DATABASE proj TEMPLATE native"
bench_psql "$sub" proj <<SQL
ALTER TABLE pgbench_accounts ADD COLUMN _modsync_lsn pg_lsn DEFAULT '0/0', ADD COLUMN _modsync_seq integer DEFAULT 0;
ALTER TABLE pgbench_branches ADD COLUMN _modsync_lsn pg_lsn DEFAULT '0/0', ADD COLUMN _modsync_seq integer DEFAULT 0;
ALTER TABLE pgbench_tellers  ADD COLUMN _modsync_lsn pg_lsn DEFAULT '0/0', ADD COLUMN _modsync_seq integer DEFAULT 0;
SQL
for w in "${worker_counts[@]}"; do
  bench_psql "$sub" postgres -c "CREATE DATABASE proj_w$w TEMPLATE proj"
done
bench_psql "$src" "$db" >/dev/null <<SQL
CREATE PUBLICATION bench_pub FOR TABLE $(IFS=,; echo "${tables[*]}");
SELECT 1 FROM pg_create_logical_replication_slot('bench_native', 'pgoutput');
SELECT 1 FROM pg_create_logical_replication_slot('bench_modsync', 'pgoutput');
SQL
src_dsn="host=127.0.0.1 port=$src dbname=$db user=postgres"
bench_psql "$sub" native -c "CREATE SUBSCRIPTION bench_sub CONNECTION '$src_dsn' PUBLICATION bench_pub
  WITH (create_slot = false, slot_name = 'bench_native', copy_data = false, enabled = false)"

stat_sql="SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables
          WHERE relname LIKE 'pgbench_%'"
tuples_before=$(bench_psql "$src" "$db" -c "$stat_sql")
length=(-T "$seconds")
[ -n "${BENCH_TRANSACTIONS:-}" ] && length=(-t "$BENCH_TRANSACTIONS")
pgbench -h 127.0.0.1 -p "$src" -U postgres -n -c "$clients" -j 2 "${length[@]}" "$db" \
  >"$work/pgbench.log" 2>&1
tps=$(awk -F'= ' '/^tps/ { split($2, a, " "); print a[1]; exit }' "$work/pgbench.log")
transactions=$(awk -F': ' '/number of transactions actually processed/ { split($2, a, "/"); print a[1] }' "$work/pgbench.log")
end_lsn=$(bench_psql "$src" "$db" -c "SELECT pg_current_wal_flush_lsn()")
sleep 1  # statistics reach the shared counters when the backends exit
rows=$(($(bench_psql "$src" "$db" -c "$stat_sql") - tuples_before))
history_rows=$(bench_psql "$src" "$db" -c "SELECT count(*) FROM pgbench_history")
echo "  pgbench: $transactions transactions (${tps%.*} tps), $rows row changes, end $end_lsn"

# (a) native subscription.
bench_run_native_until "$sub" native bench_sub "SELECT count(*) FROM pgbench_history" "$history_rows" \
  "$work/sub/server.log" || exit 1
bench_psql "$sub" native -c "ALTER SUBSCRIPTION bench_sub DISABLE"
native_s=$bench_elapsed_s
native_rate=$(bench_calc "round($rows / $native_s)")
echo "  native subscription: ${native_s}s, $native_rate rows/s"

# (b) modsync capture into the dev broker (not the figure; it fills Kafka).
bench_start_dev_broker "$work" bench.public.pgbench_accounts:32 bench.public.pgbench_history:16 \
  bench.public.pgbench_tellers:16 bench.public.pgbench_branches:16 modsync.schemas:1
pids+=("$BENCH_BROKER_PID")
bench_write_capture_config "$work/capture.yaml" bench-capture "$src_dsn" "$BENCH_BROKERS" \
  "$work/state-capture" bench_modsync bench_pub "${tables[@]}"
bench_capture_to_kafka "$src" "$db" bench_modsync "$end_lsn" "$work/capture.yaml" "$work/capture.log" \
  $(printf 'bench.public.%s ' "${tables[@]}") || exit 1
capture_s=$bench_capture_s
events=$bench_events
echo "  modsync capture: ${capture_s}s ($(bench_calc "round($rows / $capture_s)") rows/s), $events events on Kafka"

# (c) modsync apply only.
bench_write_apply_config "$work/apply.yaml" bench-apply "host=127.0.0.1 port=$sub dbname=proj user=postgres" \
  "$BENCH_BROKERS" "$work/state-apply"
for t in "${tables[@]}"; do
  printf '    - { from: bench.public.%s, to: public.%s }\n' "$t" "$t" >>"$work/apply.yaml"
done
bench_run_until_consumed "$sub" proj "$work/apply.yaml" "$work/apply.log" "$events" 300 apply || exit 1
sink_cpu=$(bench_backend_cpu_s "$sub" proj)
bench_stop_daemon
apply_s=$bench_elapsed_s
apply_cpu=$bench_daemon_cpu_s
apply_hwm_kb=$bench_daemon_hwm_kb
apply_rate=$(bench_calc "round($rows / $apply_s)")
ratio=$(bench_ratio "$apply_rate" "$native_rate")
echo "  modsync apply: ${apply_s}s, $apply_rate rows/s (daemon CPU ${apply_cpu}s, sink backends CPU ${sink_cpu}s," \
  "peak RSS $((apply_hwm_kb / 1024)) MiB)"
echo "  modsync / native: $ratio (target >= 2)"

# (d) modsync apply with sink.workers set, each count into its own database.
declare -A workers_rate workers_cpu workers_sink_cpu workers_hwm_kb
for w in "${worker_counts[@]}"; do
  bench_apply_with_workers "$w" "$sub" "proj_w$w" "$events" "${tables[@]}" || exit 1
  workers_sink_cpu[$w]=$bench_sink_cpu_s
  workers_rate[$w]=$(bench_calc "round($rows / $bench_elapsed_s)")
  workers_cpu[$w]=$bench_daemon_cpu_s
  workers_hwm_kb[$w]=$bench_daemon_hwm_kb
  echo "  modsync apply, sink.workers $w: ${bench_elapsed_s}s, ${workers_rate[$w]} rows/s" \
    "(daemon CPU ${workers_cpu[$w]}s = $(bench_us_per_row "${workers_cpu[$w]}" "$rows") µs/row," \
    "sink backends CPU ${workers_sink_cpu[$w]}s = $(bench_us_per_row "${workers_sink_cpu[$w]}" "$rows") µs/row," \
    "peak RSS $((workers_hwm_kb[$w] / 1024)) MiB); / native: $(bench_ratio "${workers_rate[$w]}" "$native_rate")"
done

# Correctness: every table of every subscriber database equals the source.
equal_native=0
equal_proj=0
declare -A equal_workers
for t in "${tables[@]}"; do
  q="SELECT ${columns[$t]} FROM $t"
  want=$(bench_checksum "$src" "$db" "$q")
  got_native=$(bench_checksum "$sub" native "$q")
  got_proj=$(bench_checksum "$sub" proj "$q")
  [ "$got_native" = "$want" ] && equal_native=$((equal_native + 1))
  [ "$got_proj" = "$want" ] && equal_proj=$((equal_proj + 1))
  line="  $t: source $want, native $got_native, modsync $got_proj"
  for w in "${worker_counts[@]}"; do
    got=$(bench_checksum "$sub" "proj_w$w" "$q")
    [ "$got" = "$want" ] && equal_workers[$w]=$((${equal_workers[$w]:-0} + 1))
    line+=", $w worker(s) $got"
  done
  echo "$line"
done

bench_result apply_rows "$rows" rows
bench_result native_subscription_rows_per_s "$native_rate" rows/s
bench_result modsync_apply_rows_per_s "$apply_rate" rows/s "$native_rate" "$ratio"
bench_result modsync_apply_cpu_s "$apply_cpu" s
bench_result modsync_apply_sink_backend_cpu_s "$sink_cpu" s
bench_result modsync_apply_peak_rss "$((apply_hwm_kb / 1024))" MiB
bench_result modsync_apply_tables_equal "$equal_proj" tables "${#tables[@]}" "$(bench_ratio "$equal_proj" "${#tables[@]}")"
for w in "${worker_counts[@]}"; do
  bench_result "modsync_apply_w${w}_rows_per_s" "${workers_rate[$w]}" rows/s "$native_rate" \
    "$(bench_ratio "${workers_rate[$w]}" "$native_rate")"
  bench_result "modsync_apply_w${w}_cpu_us_per_row" "$(bench_us_per_row "${workers_cpu[$w]}" "$rows")" us/row
  bench_result "modsync_apply_w${w}_sink_backend_cpu_us_per_row" \
    "$(bench_us_per_row "${workers_sink_cpu[$w]}" "$rows")" us/row
  bench_result "modsync_apply_w${w}_peak_rss" "$((workers_hwm_kb[$w] / 1024))" MiB
  if [ "${equal_workers[$w]:-0}" -ne "${#tables[@]}" ]; then
    echo "bench: the projection applied with $w worker(s) differs from the source (${equal_workers[$w]:-0} of ${#tables[@]} tables equal)" >&2
    exit 1
  fi
done
if [ "$equal_proj" -ne "${#tables[@]}" ] || [ "$equal_native" -ne "${#tables[@]}" ]; then
  echo "bench: a subscriber differs from the source (native: $equal_native, modsync: $equal_proj of ${#tables[@]} tables equal)" >&2
  exit 1
fi
