#!/usr/bin/env bash
# Snapshot throughput: a 1,000,000-row table copied into a projection by modsync's initial
# snapshot (capture into the dev broker and apply, running together in one daemon), next to
# PostgreSQL's own COPY pipe into an empty table with a primary key, measured in the same run.
#
# One throwaway cluster with databases `src` (table snap: id bigint primary key, account int,
# amount numeric(12,2), note text, created_at timestamptz) and `dst`:
#   (a) baseline: psql -c "COPY (SELECT …) TO STDOUT" | psql -c "COPY snap_copy FROM STDIN" into
#       an empty table with a primary key: wall time of the pipe;
#   (b) modsync: a fresh slot with `snapshot: initial` and a projection into an empty snap (with
#       _modsync_lsn/_modsync_seq): time from the daemon's start until modsync.offsets sums to
#       the row count (every snapshot event applied and committed).
# Both targets are then compared with the source (count and an order-free hash of the rows).
#
# Usage: snapshot_throughput.sh BUILD_DIR   (env: BENCH_SNAPSHOT_ROWS=1000000,
#        BENCH_KAFKA_PROPERTIES (default "compression.type: lz4"), BENCH_SINK_BATCH,
#        BENCH_PERF=1 (BUILD_DIR/bench/snapshot.perf.data), BENCH_KEEP=1)
set -euo pipefail
build=${1:-build}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/projection_lib.sh"

n=${BENCH_SNAPSHOT_ROWS:-1000000}
# Compressed, 1M events fit the mock's ~5 MiB per partition with room for the apply to lag.
export BENCH_KAFKA_PROPERTIES=${BENCH_KAFKA_PROPERTIES-compression.type: lz4}
cols="id, account, amount, note, created_at"

bench_workdir snapshot

echo "== snapshot_throughput: $n rows, COPY pipe vs modsync snapshot into a projection"
port=$(pg_free_port)
pg_cluster_start "$work/pg" "$port" "max_wal_size = 4GB"
bench_psql "$port" postgres -c "CREATE DATABASE src"
bench_psql "$port" postgres -c "CREATE DATABASE dst"
bench_psql "$port" src <<SQL
CREATE TABLE snap (
  id         bigint PRIMARY KEY,
  account    int NOT NULL,
  amount     numeric(12,2) NOT NULL,
  note       text,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO snap (id, account, amount, note)
  SELECT g, g % 1000, (g % 100000) / 100.0, 'row ' || g FROM generate_series(1, $n) g;
VACUUM ANALYZE snap;
SQL
bench_psql "$port" dst <<SQL
CREATE TABLE snap_copy (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2) NOT NULL,
  note text, created_at timestamptz NOT NULL);
CREATE TABLE snap (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2) NOT NULL,
  note text, created_at timestamptz NOT NULL, _modsync_lsn pg_lsn, _modsync_seq integer);
SQL

# (a) COPY pipe.
t0=$(bench_now)
bench_psql "$port" src -c "COPY (SELECT $cols FROM snap) TO STDOUT" |
  bench_psql "$port" dst -c "COPY snap_copy FROM STDIN"
t1=$(bench_now)
copy_s=$(bench_calc "round($t1 - $t0, 3)")
copy_rate=$(bench_calc "round($n / $copy_s)")
echo "  COPY pipe: ${copy_s}s, $copy_rate rows/s"

# (b) modsync: snapshot, capture and apply in one daemon.
bench_start_dev_broker "$work" bench.public.snap:64 modsync.schemas:1
pids+=("$BENCH_BROKER_PID")
export BENCH_SOURCE_TABLES=public.snap
bench_write_apply_config "$work/modsync.yaml" bench-snapshot "host=127.0.0.1 port=$port dbname=dst user=postgres" \
  "$BENCH_BROKERS" "$work/state" "host=127.0.0.1 port=$port dbname=src user=postgres" bench_snap bench_snap initial
echo "    - { from: bench.public.snap, to: public.snap }" >>"$work/modsync.yaml"
bench_run_until_consumed "$port" dst "$work/modsync.yaml" "$work/modsync.log" "$n" 600 snapshot || exit 1
sink_cpu=$(bench_backend_cpu_s "$port" dst)
bench_stop_daemon
snap_s=$bench_elapsed_s
cpu=$bench_daemon_cpu_s
hwm_kb=$bench_daemon_hwm_kb
snap_rate=$(bench_calc "round($n / $snap_s)")
ratio=$(bench_ratio "$snap_rate" "$copy_rate")
dropped=$(bench_topic_low_total "$BENCH_BROKERS" bench.public.snap)
echo "  modsync snapshot -> projection: ${snap_s}s, $snap_rate rows/s (daemon CPU ${cpu}s, sink backend" \
  "CPU ${sink_cpu}s, peak RSS $((hwm_kb / 1024)) MiB); ratio $ratio (target >= 0.8)"

want=$(bench_checksum "$port" src "SELECT $cols FROM snap")
got_copy=$(bench_checksum "$port" dst "SELECT $cols FROM snap_copy")
got=$(bench_checksum "$port" dst "SELECT $cols FROM snap")
echo "  source $want, COPY $got_copy, modsync $got"

bench_result copy_pipe_rows_per_s "$copy_rate" rows/s
bench_result modsync_snapshot_rows_per_s "$snap_rate" rows/s "$copy_rate" "$ratio"
bench_result modsync_snapshot_cpu_s "$cpu" s
bench_result modsync_snapshot_sink_backend_cpu_s "$sink_cpu" s
bench_result modsync_snapshot_peak_rss "$((hwm_kb / 1024))" MiB
if [ "$got" != "$want" ] || [ "$got_copy" != "$want" ] || [ "$dropped" -ne 0 ]; then
  echo "bench: a target differs from the source (dev broker dropped $dropped events)" >&2
  exit 1
fi
