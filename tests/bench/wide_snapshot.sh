#!/usr/bin/env bash
# Initial load of the wide-row table (wide_lib.sh: fourteen columns of text, numeric, jsonb,
# arrays, timestamps): modsync's snapshot into a projection (capture into the dev broker and
# apply, in one daemon) next to a COPY pipe into an empty table with a primary key, same run,
# with the CPU per row of every process on each path.
#
# Two throwaway clusters, autovacuum off (its workers are the postmaster's children too, and
# would be counted in the exited backends' CPU): `src` (table wide, BENCH_WIDE_SNAPSHOT_ROWS rows)
# and `dst` (wide_copy; wide with _modsync_lsn/_modsync_seq).
#   (a) baseline: psql -c "COPY (SELECT …) TO STDOUT" | psql -c "COPY wide_copy FROM STDIN": wall
#       time of the pipe; CPU of the COPY TO backend (src) and the COPY FROM backend (dst) as the
#       difference of each postmaster's reaped children, of the two psql as the script's.
#   (b) modsync: a fresh slot, `snapshot: initial`, a projection into the empty dst.wide; time from
#       the daemon's start until modsync.offsets sums to the row count. CPU of the daemon, of its
#       sink backends (live client backends in dst) and of its source backends (src: live client
#       backends and walsender, plus those that exited meanwhile).
# Both targets are then compared with the source (count and an order-free hash of the rows).
#
# Usage: wide_snapshot.sh BUILD_DIR   (env: BENCH_WIDE_SNAPSHOT_ROWS=200000,
#        BENCH_KAFKA_PROPERTIES (default "compression.type: lz4"), BENCH_SINK_BATCH,
#        BENCH_PERF=1 (BUILD_DIR/bench/wide_snapshot.perf.data the daemon, wide_snapshot_sink.perf.data its
#        sink backend), BENCH_KEEP=1)
set -euo pipefail
build=${1:-build}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/projection_lib.sh"
. "$(dirname "$0")/wide_lib.sh"

n=${BENCH_WIDE_SNAPSHOT_ROWS:-200000}
export BENCH_KAFKA_PROPERTIES=${BENCH_KAFKA_PROPERTIES-compression.type: lz4}

bench_workdir wide-snapshot

echo "== wide_snapshot: $n wide rows, COPY pipe vs modsync snapshot into a projection"
wide_load_clusters "$n"
wide_create_table "$dst" dst wide "_modsync_lsn pg_lsn, _modsync_seq integer"
table_mib=$(bench_psql "$src" src -c "SELECT pg_table_size('wide') / 1048576")
echo "  source table: $n rows, $table_mib MiB"

# (a) COPY pipe.
src_cpu0=$(bench_exited_backends_cpu_s "$work/src")
dst_cpu0=$(bench_exited_backends_cpu_s "$work/dst")
psql_cpu0=$(bench_cpu_s $$ children)
t0=$(bench_now)
bench_psql "$src" src -c "COPY (SELECT $wide_columns FROM wide) TO STDOUT" |
  bench_psql "$dst" dst -c "COPY wide_copy FROM STDIN"
t1=$(bench_now)
psql_cpu1=$(bench_cpu_s $$ children)
copy_s=$(bench_calc "round($t1 - $t0, 3)")
copy_rate=$(bench_calc "round($n / $copy_s)")
copy_out_us=$(bench_us_per_row "$(bench_exited_backends_cpu_s "$work/src") - $src_cpu0" "$n")
copy_in_us=$(bench_us_per_row "$(bench_exited_backends_cpu_s "$work/dst") - $dst_cpu0" "$n")
copy_psql_us=$(bench_us_per_row "$psql_cpu1 - $psql_cpu0" "$n")
echo "  COPY pipe: ${copy_s}s, $copy_rate rows/s; CPU per row: COPY TO backend $copy_out_us µs," \
  "COPY FROM backend $copy_in_us µs, both psql $copy_psql_us µs"

# (b) modsync: snapshot, capture and apply in one daemon.
bench_start_dev_broker "$work" bench.public.wide:64 modsync.schemas:1
pids+=("$BENCH_BROKER_PID")
export BENCH_SOURCE_TABLES=public.wide
bench_write_apply_config "$work/modsync.yaml" bench-wide-snapshot "host=127.0.0.1 port=$dst dbname=dst user=postgres" \
  "$BENCH_BROKERS" "$work/state" "host=127.0.0.1 port=$src dbname=src user=postgres" bench_wide bench_wide initial
echo "    - { from: bench.public.wide, to: public.wide }" >>"$work/modsync.yaml"
src_cpu0=$(bench_exited_backends_cpu_s "$work/src")
bench_perf_attach wide_snapshot_sink "$dst" dst "application_name LIKE 'modsync%'" "$work/modsync.log" "applying into"
bench_run_until_consumed "$dst" dst "$work/modsync.yaml" "$work/modsync.log" "$n" 600 wide_snapshot || exit 1
sink_cpu=$(bench_backend_cpu_s "$dst" dst)
source_cpu=$(bench_backend_cpu_s "$src" src 'client backend' walsender)
source_cpu=$(bench_calc "$source_cpu + $(bench_exited_backends_cpu_s "$work/src") - $src_cpu0")
bench_stop_daemon
bench_perf_attach_wait
snap_s=$bench_elapsed_s
daemon_cpu=$bench_daemon_cpu_s
hwm_kb=$bench_daemon_hwm_kb
snap_rate=$(bench_calc "round($n / $snap_s)")
ratio=$(bench_ratio "$snap_rate" "$copy_rate")
daemon_us=$(bench_us_per_row "$daemon_cpu" "$n")
sink_us=$(bench_us_per_row "$sink_cpu" "$n")
source_us=$(bench_us_per_row "$source_cpu" "$n")
dropped=$(bench_topic_low_total "$BENCH_BROKERS" bench.public.wide)
echo "  modsync snapshot -> projection: ${snap_s}s, $snap_rate rows/s, ratio $ratio (target >= 0.8);" \
  "peak RSS $((hwm_kb / 1024)) MiB"
echo "  CPU per row: daemon $daemon_us µs, sink backend $sink_us µs, source backends $source_us µs"

want=$(bench_checksum "$src" src "SELECT $wide_columns FROM wide")
got_copy=$(bench_checksum "$dst" dst "SELECT $wide_columns FROM wide_copy")
got=$(bench_checksum "$dst" dst "SELECT $wide_columns FROM wide")
echo "  source $want, COPY $got_copy, modsync $got"

bench_result wide_copy_pipe_rows_per_s "$copy_rate" rows/s
bench_result wide_snapshot_rows_per_s "$snap_rate" rows/s "$copy_rate" "$ratio"
bench_result wide_snapshot_daemon_us_per_row "$daemon_us" us/row "$copy_psql_us" "$(bench_ratio "$daemon_us" "$copy_psql_us")"
bench_result wide_snapshot_sink_backend_us_per_row "$sink_us" us/row "$copy_in_us" "$(bench_ratio "$sink_us" "$copy_in_us")"
bench_result wide_snapshot_source_us_per_row "$source_us" us/row "$copy_out_us" "$(bench_ratio "$source_us" "$copy_out_us")"
bench_result wide_snapshot_peak_rss "$((hwm_kb / 1024))" MiB
if [ "$got" != "$want" ] || [ "$got_copy" != "$want" ] || [ "$dropped" -ne 0 ]; then
  echo "bench: a target differs from the source (dev broker dropped $dropped events)" >&2
  exit 1
fi
