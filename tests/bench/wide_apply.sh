#!/usr/bin/env bash
# Apply of a wide-row workload (wide_lib.sh: fourteen columns of text, numeric, jsonb, arrays,
# timestamps; inserts in transactions of 100, then updates of two columns, then deletes):
# modsync applying its changes from Kafka into a projection next to a native logical
# replication subscription applying the same changes, same run, with the CPU per row of every
# process on each path.
#
# Two throwaway clusters, autovacuum off on both (same for both subscribers): the source (an empty
# table wide, a publication, slots bench_native and bench_modsync created BEFORE the workload)
# and the subscriber with databases `native` (an empty wide and a disabled subscription on
# bench_native, copy_data=false) and `proj` (an empty wide with _modsync_lsn/_modsync_seq).
# The workload (one psql, each statement its own transaction) runs on the source; then:
#   (a) native: ALTER SUBSCRIPTION … ENABLE; time until min(id) on the subscriber is the source's
#       (only the last delete makes it so, and the worker applies in commit order). CPU of the
#       apply worker and of its walsender on the source; WAL the subscriber wrote meanwhile.
#   (b) modsync capture (capture-only config) into the dev broker until the slot confirms END;
#       its rate and CPU are printed for information (the daemon and its walsender).
#   (c) modsync apply (apply-only config): time from the daemon's start until modsync.offsets
#       sums to the number of messages on Kafka (events and tombstones). CPU of the daemon and
#       of its sink backends; WAL the subscriber wrote meanwhile. sink.workers: its default.
#   (d) the same apply once per count in BENCH_APPLY_WORKERS (default "1 4"), sink.workers set to
#       it, each into its own empty wide in database proj_w<N>.
# Both subscribers are then compared with the source (count and an order-free hash of the rows).
#
# Usage: wide_apply.sh BUILD_DIR   (env: BENCH_WIDE_ROWS=40000 (a multiple of 200; row changes
#        2.5x that), BENCH_KAFKA_PROPERTIES (default "compression.type: lz4"), BENCH_SINK_BATCH,
#        BENCH_APPLY_WORKERS,
#        BENCH_PERF=1 (BUILD_DIR/bench/: wide_apply.perf.data the apply daemon, wide_apply_sink.perf.data
#        its sink backend, wide_native_worker.perf.data the native apply worker), BENCH_KEEP=1)
set -euo pipefail
build=${1:-build}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/projection_lib.sh"
. "$(dirname "$0")/wide_lib.sh"

wide_rows=${BENCH_WIDE_ROWS:-40000}
if ((wide_rows % 200 != 0)); then
  echo "bench: BENCH_WIDE_ROWS=$wide_rows must be a multiple of 200 (transactions of 100 rows; half deleted)" >&2
  exit 2
fi
export BENCH_KAFKA_PROPERTIES=${BENCH_KAFKA_PROPERTIES-compression.type: lz4}
db=bench
read -r -a worker_counts <<<"${BENCH_APPLY_WORKERS:-1 4}"

bench_workdir wide-apply

echo "== wide_apply: $wide_rows wide rows inserted, updated, half deleted; native subscription vs modsync apply"
src=$(pg_free_port)
pg_cluster_start "$work/src" "$src" "max_wal_size = 4GB" "autovacuum = off"
sub=$(pg_free_port)
pg_cluster_start "$work/sub" "$sub" "max_wal_size = 4GB" "autovacuum = off"
bench_psql "$src" postgres -c "CREATE DATABASE $db"
bench_psql "$sub" postgres -c "CREATE DATABASE native"
bench_psql "$sub" postgres -c "CREATE DATABASE proj"
wide_create_table "$src" "$db" wide
wide_create_table "$sub" native wide
wide_create_table "$sub" proj wide "_modsync_lsn pg_lsn, _modsync_seq integer"
for w in "${worker_counts[@]}"; do
  bench_psql "$sub" postgres -c "CREATE DATABASE proj_w$w"
  wide_create_table "$sub" "proj_w$w" wide "_modsync_lsn pg_lsn, _modsync_seq integer"
done
bench_psql "$src" "$db" >/dev/null <<SQL
CREATE PUBLICATION bench_pub FOR TABLE wide;
SELECT 1 FROM pg_create_logical_replication_slot('bench_native', 'pgoutput');
SELECT 1 FROM pg_create_logical_replication_slot('bench_modsync', 'pgoutput');
SQL
src_dsn="host=127.0.0.1 port=$src dbname=$db user=postgres"
bench_psql "$sub" native -c "CREATE SUBSCRIPTION bench_sub CONNECTION '$src_dsn' PUBLICATION bench_pub
  WITH (create_slot = false, slot_name = 'bench_native', copy_data = false, enabled = false)"

wide_workload_sql "$work/workload.sql" "$wide_rows"
stat_sql="SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relname = 'wide'"
t0=$(bench_now)
bench_psql "$src" "$db" -f "$work/workload.sql"
t1=$(bench_now)
end_lsn=$(bench_psql "$src" "$db" -c "SELECT pg_current_wal_flush_lsn()")
sleep 1  # statistics reach the shared counters when the backend exits
rows=$(bench_psql "$src" "$db" -c "$stat_sql")
final_min=$(bench_psql "$src" "$db" -c "SELECT min(id) FROM wide")
wal_mib=$(bench_psql "$src" "$db" -c "SELECT pg_wal_lsn_diff('$end_lsn', confirmed_flush_lsn) / 1048576
  FROM pg_replication_slots WHERE slot_name = 'bench_native'")
echo "  workload: $rows row changes in $(bench_calc "round($t1 - $t0, 1)")s, ${wal_mib%.*} MiB of WAL, end $end_lsn"

# (a) native subscription.
wal_sql="SELECT pg_current_wal_insert_lsn()"
wal0=$(bench_psql "$sub" postgres -c "$wal_sql")
bench_perf_attach wide_native_worker "$sub" native "backend_type = 'logical replication worker'"
bench_run_native_until "$sub" native bench_sub "SELECT min(id) FROM wide" "$final_min" "$work/sub/server.log" || exit 1
native_wal=$(bench_psql "$sub" postgres -c "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$wal0')")
native_worker_cpu=$(bench_backend_cpu_s "$sub" native 'logical replication worker')
native_ws_cpu=$(bench_slot_sender_cpu_s "$src" "$db" bench_native)
bench_psql "$sub" native -c "ALTER SUBSCRIPTION bench_sub DISABLE"
bench_perf_attach_wait
native_s=$bench_elapsed_s
native_rate=$(bench_calc "round($rows / $native_s)")
native_us=$(bench_us_per_row "$native_worker_cpu" "$rows")
native_ws_us=$(bench_us_per_row "$native_ws_cpu" "$rows")
native_wal_per_row=$(bench_calc "round($native_wal / $rows)")
echo "  native subscription: ${native_s}s, $native_rate rows/s; CPU per row: apply worker $native_us µs," \
  "walsender $native_ws_us µs; subscriber WAL $native_wal_per_row bytes per row"

# (b) modsync capture into the dev broker (not the figure; it fills Kafka).
bench_start_dev_broker "$work" bench.public.wide:32 modsync.schemas:1
pids+=("$BENCH_BROKER_PID")
bench_write_capture_config "$work/capture.yaml" bench-capture "$src_dsn" "$BENCH_BROKERS" \
  "$work/state-capture" bench_modsync bench_pub wide
t0=$(bench_now)
bench_start_daemon "$work/capture.yaml" "$work/capture.log"
if ! bench_wait_confirmed "$src" "$db" bench_modsync "$end_lsn" 300; then
  tail -n 20 "$work/capture.log" >&2
  exit 1
fi
t1=$(bench_now)
capture_cpu=$(bench_cpu_s "$modsync_pid")
capture_ws_cpu=$(bench_slot_sender_cpu_s "$src" "$db" bench_modsync)
bench_stop_daemon
capture_s=$(bench_calc "round($t1 - $t0, 3)")
events=$(bench_topic_messages "$BENCH_BROKERS" bench.public.wide)
dropped=$(bench_topic_low_total "$BENCH_BROKERS" bench.public.wide)
echo "  modsync capture: ${capture_s}s ($(bench_calc "round($rows / $capture_s)") rows/s), $events messages on Kafka;" \
  "CPU per row: daemon $(bench_us_per_row "$capture_cpu" "$rows") µs, walsender $(bench_us_per_row "$capture_ws_cpu" "$rows") µs"
if [ "$dropped" -ne 0 ]; then
  echo "bench: the dev broker dropped $dropped events (a partition exceeded ~5 MiB): add partitions" >&2
  exit 1
fi

# (c) modsync apply only.
bench_write_apply_config "$work/apply.yaml" bench-apply "host=127.0.0.1 port=$sub dbname=proj user=postgres" \
  "$BENCH_BROKERS" "$work/state-apply"
echo "    - { from: bench.public.wide, to: public.wide }" >>"$work/apply.yaml"
wal0=$(bench_psql "$sub" postgres -c "$wal_sql")
bench_perf_attach wide_apply_sink "$sub" proj "application_name LIKE 'modsync%'" "$work/apply.log" "applying into"
bench_run_until_consumed "$sub" proj "$work/apply.yaml" "$work/apply.log" "$events" 300 wide_apply || exit 1
sink_cpu=$(bench_backend_cpu_s "$sub" proj)
apply_wal=$(bench_psql "$sub" postgres -c "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$wal0')")
bench_stop_daemon
bench_perf_attach_wait
apply_s=$bench_elapsed_s
apply_cpu=$bench_daemon_cpu_s
apply_hwm_kb=$bench_daemon_hwm_kb
apply_rate=$(bench_calc "round($rows / $apply_s)")
ratio=$(bench_ratio "$apply_rate" "$native_rate")
daemon_us=$(bench_us_per_row "$apply_cpu" "$rows")
sink_us=$(bench_us_per_row "$sink_cpu" "$rows")
apply_wal_per_row=$(bench_calc "round($apply_wal / $rows)")
echo "  modsync apply: ${apply_s}s, $apply_rate rows/s, ratio $ratio (target >= 2); peak RSS $((apply_hwm_kb / 1024)) MiB"
echo "  CPU per row: daemon $daemon_us µs, sink backend $sink_us µs (native apply worker $native_us µs);" \
  "subscriber WAL $apply_wal_per_row bytes per row (native $native_wal_per_row)"

# (d) modsync apply with sink.workers set, each count into its own database.
declare -A workers_rate workers_daemon_us workers_sink_us workers_got
want=$(bench_checksum "$src" "$db" "SELECT $wide_columns FROM wide")
for w in "${worker_counts[@]}"; do
  bench_apply_with_workers "$w" "$sub" "proj_w$w" "$events" wide || exit 1
  workers_rate[$w]=$(bench_calc "round($rows / $bench_elapsed_s)")
  workers_daemon_us[$w]=$(bench_us_per_row "$bench_daemon_cpu_s" "$rows")
  workers_sink_us[$w]=$(bench_us_per_row "$bench_sink_cpu_s" "$rows")
  workers_got[$w]=$(bench_checksum "$sub" "proj_w$w" "SELECT $wide_columns FROM wide")
  echo "  modsync apply, sink.workers $w: ${bench_elapsed_s}s, ${workers_rate[$w]} rows/s, ratio" \
    "$(bench_ratio "${workers_rate[$w]}" "$native_rate"); CPU per row: daemon ${workers_daemon_us[$w]} µs," \
    "sink backends ${workers_sink_us[$w]} µs; peak RSS $((bench_daemon_hwm_kb / 1024)) MiB"
  bench_result "wide_apply_w${w}_rows_per_s" "${workers_rate[$w]}" rows/s "$native_rate" \
    "$(bench_ratio "${workers_rate[$w]}" "$native_rate")"
  bench_result "wide_apply_w${w}_daemon_us_per_row" "${workers_daemon_us[$w]}" us/row
  bench_result "wide_apply_w${w}_sink_backend_us_per_row" "${workers_sink_us[$w]}" us/row
done

got_native=$(bench_checksum "$sub" native "SELECT $wide_columns FROM wide")
got=$(bench_checksum "$sub" proj "SELECT $wide_columns FROM wide")
echo "  source $want, native $got_native, modsync $got$(for w in "${worker_counts[@]}"; do printf ', %s worker(s) %s' "$w" "${workers_got[$w]}"; done)"
for w in "${worker_counts[@]}"; do
  if [ "${workers_got[$w]}" != "$want" ]; then
    echo "bench: the projection applied with $w worker(s) differs from the source" >&2
    exit 1
  fi
done

bench_result wide_apply_rows "$rows" rows
bench_result wide_native_subscription_rows_per_s "$native_rate" rows/s
bench_result wide_apply_rows_per_s "$apply_rate" rows/s "$native_rate" "$ratio"
bench_result wide_apply_daemon_us_per_row "$daemon_us" us/row
bench_result wide_apply_sink_backend_us_per_row "$sink_us" us/row "$native_us" "$(bench_ratio "$sink_us" "$native_us")"
bench_result wide_native_walsender_us_per_row "$native_ws_us" us/row
bench_result wide_apply_wal_bytes_per_row "$apply_wal_per_row" bytes/row "$native_wal_per_row" \
  "$(bench_ratio "$apply_wal_per_row" "$native_wal_per_row")"
bench_result wide_apply_peak_rss "$((apply_hwm_kb / 1024))" MiB
if [ "$got" != "$want" ] || [ "$got_native" != "$want" ]; then
  echo "bench: a subscriber differs from the source" >&2
  exit 1
fi
