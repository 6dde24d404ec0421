#!/usr/bin/env bash
# End-to-end latency: commit on the source → visible in the projection, per row, at a steady
# rate with capture and apply running in one daemon.
#
# One throwaway cluster with two databases: `src` has lat (id bigserial primary key,
# t_source timestamptz DEFAULT clock_timestamp(), pad text); `dst` has the projection target
# lat (id, t_source, t_applied timestamptz DEFAULT clock_timestamp(), _modsync_lsn,
# _modsync_seq), fed with [id, t_source] only: the merge's INSERT sets the mapped columns, so
# t_applied is filled by its DEFAULT when the row is inserted. Same clock for both columns.
# The daemon (snapshot: never) is started and streaming; then `pgbench --rate` (2 clients)
# inserts BENCH_LAT_ROWS_PER_TX rows per transaction so that ~BENCH_LAT_ROWS_PER_S rows/s arrive:
# BENCH_LAT_WARMUP seconds not counted, then BENCH_LAT_SECONDS measured. (20 rows x 1,000 tps: this
# busy 2-core host cannot sustain 5,000 single-statement tps next to the pipeline; with fewer rows
# per transaction pgbench falls behind its schedule and then sends in bursts.) Once dst holds every
# row, t_applied − t_source per measured row gives p50/p99/max.
# t_source is taken just before the commit and t_applied just before the sink's commit, so the
# figure is commit → visible to within the sink's final offsets write and COMMIT (a few ms).
#
# Usage: apply_latency.sh BUILD_DIR   (env: BENCH_LAT_ROWS_PER_S=20000 BENCH_LAT_ROWS_PER_TX=20
#        BENCH_LAT_SECONDS=15 BENCH_LAT_WARMUP=2, BENCH_KAFKA_PROPERTIES, BENCH_SINK_BATCH="batch_time: 20ms", BENCH_KEEP=1;
#        BENCH_LAT_PARTITIONS=8 (of the topic); BENCH_LAT_TAG=_2x names the figures modsync_latency_2x_p99_ms and so on: apply_latency_2x.sh)
set -euo pipefail
build=${1:-build}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/projection_lib.sh"

rate=${BENCH_LAT_ROWS_PER_S:-20000}
per_tx=${BENCH_LAT_ROWS_PER_TX:-20}
seconds=${BENCH_LAT_SECONDS:-15}
warmup=${BENCH_LAT_WARMUP:-2}
tps=$((rate / per_tx))
tag=${BENCH_LAT_TAG:-}
partitions=${BENCH_LAT_PARTITIONS:-8}

bench_workdir latency

echo "== apply_latency$tag: ~$rate rows/s ($tps tps x $per_tx rows) for ${seconds}s, commit -> visible in the projection"
port=$(pg_free_port)
pg_cluster_start "$work/pg" "$port" "max_wal_size = 4GB"
bench_psql "$port" postgres -c "CREATE DATABASE src"
bench_psql "$port" postgres -c "CREATE DATABASE dst"
bench_psql "$port" src -c "CREATE TABLE lat (id bigserial PRIMARY KEY,
  t_source timestamptz NOT NULL DEFAULT clock_timestamp(), pad text)"
bench_psql "$port" dst -c "CREATE TABLE lat (id bigint PRIMARY KEY, t_source timestamptz,
  t_applied timestamptz DEFAULT clock_timestamp(), _modsync_lsn pg_lsn, _modsync_seq integer)"

# The mock keeps ~5 MiB per partition: a projection that falls more than that behind on one
# partition (a few seconds at 40k rows/s on 8 partitions, uncompressed) has lost events.
bench_start_dev_broker "$work" "bench.public.lat:$partitions" modsync.schemas:1
pids+=("$BENCH_BROKER_PID")
export BENCH_SOURCE_TABLES=public.lat
bench_write_apply_config "$work/modsync.yaml" bench-latency "host=127.0.0.1 port=$port dbname=dst user=postgres" \
  "$BENCH_BROKERS" "$work/state" "host=127.0.0.1 port=$port dbname=src user=postgres" bench_lat bench_lat never
echo "    - { from: bench.public.lat, to: public.lat, columns: [id, t_source] }" >>"$work/modsync.yaml"
: >"$work/modsync.log"
"$BENCH_MODSYNC" run --config "$work/modsync.yaml" 2>"$work/modsync.log" &
modsync_pid=$!
pids+=("$modsync_pid")
for _ in $(seq 100); do
  grep -q "streaming from slot" "$work/modsync.log" && grep -q "applying into" "$work/modsync.log" && break
  sleep 0.1
done
if ! grep -q "streaming from slot" "$work/modsync.log" || ! grep -q "applying into" "$work/modsync.log"; then
  cat "$work/modsync.log" >&2
  exit 1
fi

echo "INSERT INTO lat (pad) SELECT 'latency probe' FROM generate_series(1, $per_tx);" >"$work/lat.sql"
# Warm-up at the same rate (first events of a table: schema version, connections, fetch
# sessions); its rows are not counted.
pgbench -h 127.0.0.1 -p "$port" -U postgres -n -f "$work/lat.sql" -c 2 -j 2 -R "$tps" -T "$warmup" src \
  >"$work/pgbench-warmup.log" 2>&1
first_id=$(bench_psql "$port" src -c "SELECT coalesce(max(id), 0) + 1 FROM lat")
cpu0=$(bench_cpu_s "$modsync_pid")
pgbench -h 127.0.0.1 -p "$port" -U postgres -n -f "$work/lat.sql" -c 2 -j 2 -R "$tps" -T "$seconds" src \
  >"$work/pgbench.log" 2>&1
total=$(bench_psql "$port" src -c "SELECT count(*) FROM lat")
rows=$(bench_psql "$port" src -c "SELECT count(*) FROM lat WHERE id >= $first_id")
achieved=$(bench_calc "round($rows / $seconds)")
# pgbench: "rate limit schedule lag: avg 0.123 (max 4.567) ms": how late transactions started
# against the schedule, i.e. whether pgbench kept the rate.
read -r lag_avg lag_max < <(awk '/^rate limit schedule lag: avg/ { gsub(/\)/, "", $8); print $6, $8; exit }' \
  "$work/pgbench.log") || true
bench_poll_open "$port" dst
if ! bench_wait_query "SELECT count(*) FROM lat" "$total" 120; then
  if grep -q "the position is not available on the broker" "$work/modsync.log"; then
    echo "bench: the projection fell more than the dev broker's ~5 MiB per partition behind (it dropped" \
      "events not yet applied): the pipeline did not keep up with $rate rows/s on this host; more" \
      "partitions (BENCH_LAT_PARTITIONS) or compression (BENCH_KAFKA_PROPERTIES) give it more room" >&2
  fi
  tail -n 5 "$work/modsync.log" >&2
  exit 1
fi
bench_poll_close
cpu=$(bench_calc "round($(bench_cpu_s "$modsync_pid") - $cpu0, 2)")
read -r p50 p99 pmax < <(bench_psql "$port" dst -F ' ' -c "
  SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
         round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
         round(max(ms)::numeric, 1)
  FROM (SELECT extract(epoch FROM t_applied - t_source) * 1000 AS ms FROM lat WHERE id >= $first_id) l")
# The source rows must be the ones projected (count and ids and t_source).
want=$(bench_checksum "$port" src "SELECT id, t_source FROM lat")
got=$(bench_checksum "$port" dst "SELECT id, t_source FROM lat")
echo "  pgbench: $rows rows in ${seconds}s ($achieved rows/s; schedule lag avg ${lag_avg:-?} ms, max ${lag_max:-?} ms)"
echo "  latency commit -> projection: p50 ${p50} ms, p99 ${p99} ms, max ${pmax} ms (target p99 < 100 ms);" \
  "daemon CPU ${cpu}s"
echo "  projection equals source: $([ "$want" = "$got" ] && echo yes || echo "NO ($want vs $got)")"

bench_result "latency${tag}_rows_per_s" "$achieved" rows/s "$rate" "$(bench_ratio "$achieved" "$rate")"
bench_result "latency${tag}_schedule_lag_avg_ms" "${lag_avg:-null}" ms
bench_result "modsync_latency${tag}_p50_ms" "$p50" ms
bench_result "modsync_latency${tag}_p99_ms" "$p99" ms
bench_result "modsync_latency${tag}_max_ms" "$pmax" ms
bench_result "modsync_latency${tag}_cpu_s" "$cpu" s
if [ "$want" != "$got" ]; then
  echo "bench: the projection differs from the source" >&2
  exit 1
fi
