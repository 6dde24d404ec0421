#!/usr/bin/env bash
# The capture side of an initial load, per snapshot worker count: modsync reading the wide-row
# table (wide_lib.sh) at a slot's exported snapshot into the dev broker, with
# source.snapshot_workers 1, 2 and 4, next to a COPY pipe of the same table (the issue's
# baseline) and a bare COPY TO STDOUT (what the source side alone costs), same run.
#
# One throwaway cluster `src` (autovacuum off, table wide, BENCH_SNAPSHOT_ROWS rows) and `dst`
# (wide_copy) for the pipe:
#   (a) baseline: psql COPY (SELECT …) TO STDOUT | psql COPY wide_copy FROM STDIN (wall time),
#       and psql COPY (SELECT …) TO STDOUT >/dev/null;
#   (b) per worker count W: a fresh slot and state, `snapshot: initial`, capture only; time from
#       the daemon's start until the topic's high watermarks sum to the row count. CPU of the
#       daemon and of its source backends (live client backends and walsender, plus those that
#       exited meanwhile).
# The events are counted per run (the topic is recreated: a fresh dev broker each time).
#
# Usage: snapshot_workers.sh BUILD_DIR   (env: BENCH_SNAPSHOT_ROWS=200000,
#        BENCH_SNAPSHOT_WORKER_COUNTS="1 2 4" ("default": leave the setting out), BENCH_KAFKA_PROPERTIES (default
#        "compression.type: lz4"), BENCH_PERF=1 (BUILD_DIR/bench/snapshot_workers_W.perf.data),
#        BENCH_KEEP=1)
set -euo pipefail
build=${1:-build}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/projection_lib.sh"
. "$(dirname "$0")/wide_lib.sh"

n=${BENCH_SNAPSHOT_ROWS:-200000}
counts=${BENCH_SNAPSHOT_WORKER_COUNTS:-1 2 4}
export BENCH_KAFKA_PROPERTIES=${BENCH_KAFKA_PROPERTIES-compression.type: lz4}

bench_workdir snapshot-workers

echo "== snapshot_workers: $n wide rows, COPY pipe vs modsync's snapshot into Kafka per worker count"
wide_load_clusters "$n" "max_replication_slots = 10"
bench_psql "$src" src -c "CREATE PUBLICATION bench_pub FOR TABLE wide"

# (a) the COPY pipe, and COPY TO alone.
t0=$(bench_now)
bench_psql "$src" src -c "COPY (SELECT $wide_columns FROM wide) TO STDOUT" |
  bench_psql "$dst" dst -c "COPY wide_copy FROM STDIN"
t1=$(bench_now)
copy_rate=$(bench_calc "round($n / ($t1 - $t0))")
t0=$(bench_now)
bench_psql "$src" src -c "COPY (SELECT $wide_columns FROM wide) TO STDOUT" >/dev/null
t1=$(bench_now)
copy_out_rate=$(bench_calc "round($n / ($t1 - $t0))")
echo "  COPY pipe: $copy_rate rows/s; COPY TO STDOUT alone: $copy_out_rate rows/s"
bench_result snapshot_workers_copy_pipe_rows_per_s "$copy_rate" rows/s
bench_result snapshot_workers_copy_out_rows_per_s "$copy_out_rate" rows/s

# (b) modsync, per worker count.
for w in $counts; do
  run=$work/w$w
  mkdir -p "$run"
  bench_start_dev_broker "$run" bench.public.wide:64 modsync.schemas:1
  broker_pid=$BENCH_BROKER_PID
  pids+=("$broker_pid")
  bench_write_capture_config "$run/modsync.yaml" "bench-snap-w$w" \
    "host=127.0.0.1 port=$src dbname=src user=postgres" "$BENCH_BROKERS" "$run/state" \
    "bench_w$w" bench_pub public.wide
  sed -i 's/^  snapshot: never$/  snapshot: initial/' "$run/modsync.yaml"
  # "default": no setting (the default, or a build from before the setting).
  if [ "$w" != default ]; then echo "  snapshot_workers: $w" >>"$run/modsync.yaml"; fi
  src_cpu0=$(bench_exited_backends_cpu_s "$work/src")
  t0=$(bench_now)
  bench_start_daemon "$run/modsync.yaml" "$run/modsync.log" "snapshot_workers_$w"
  deadline=$(($(date +%s) + 600))
  while [ "$(bench_topic_messages "$BENCH_BROKERS" bench.public.wide)" -lt "$n" ]; do
    if [ "$(date +%s)" -ge "$deadline" ] || ! kill -0 "$modsync_pid" 2>/dev/null; then
      echo "bench: the snapshot with $w workers did not reach $n events" >&2
      tail -n 20 "$run/modsync.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  t1=$(bench_now)
  daemon_cpu=$(bench_cpu_s "$modsync_pid")
  hwm_kb=$(bench_vm VmHWM "$modsync_pid")
  source_cpu=$(bench_backend_cpu_s "$src" src 'client backend' walsender)
  source_cpu=$(bench_calc "$source_cpu + $(bench_exited_backends_cpu_s "$work/src") - $src_cpu0")
  bench_stop_daemon
  events=$(bench_topic_messages "$BENCH_BROKERS" bench.public.wide)
  kill "$broker_pid" 2>/dev/null || true
  wait "$broker_pid" 2>/dev/null || true
  bench_psql "$src" src -c "SELECT pg_drop_replication_slot('bench_w$w')" >/dev/null
  rate=$(bench_calc "round($n / ($t1 - $t0))")
  ratio=$(bench_ratio "$rate" "$copy_rate")
  daemon_us=$(bench_us_per_row "$daemon_cpu" "$n")
  source_us=$(bench_us_per_row "$source_cpu" "$n")
  echo "  modsync snapshot, $w workers: $rate rows/s, ratio $ratio to the COPY pipe (target >= 0.8);" \
    "CPU per row: daemon $daemon_us µs, source backends $source_us µs; peak RSS $((hwm_kb / 1024)) MiB;" \
    "$events events"
  bench_result "snapshot_w${w}_rows_per_s" "$rate" rows/s "$copy_rate" "$ratio"
  bench_result "snapshot_w${w}_daemon_us_per_row" "$daemon_us" us/row
  bench_result "snapshot_w${w}_source_us_per_row" "$source_us" us/row
  bench_result "snapshot_w${w}_peak_rss" "$((hwm_kb / 1024))" MiB
  bench_result "snapshot_w${w}_events" "$events" events "$n" "$(bench_ratio "$events" "$n")"
  if [ "$events" -ne "$n" ]; then
    echo "bench: $events events for $n rows with $w workers" >&2
    exit 1
  fi
done
