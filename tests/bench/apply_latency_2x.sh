#!/usr/bin/env bash
# apply_latency.sh at twice its rate: BENCH_LAT_ROWS_PER_S (default 20000) x 2 rows/s, as
# twice the rows per transaction at the same transaction rate (pgbench keeps a 1,000 tps
# schedule on this host; at 2,000 tps it falls behind and sends in bursts). Figures are named
# with `_2x` (modsync_latency_2x_p99_ms, …). The topic gets twice the partitions (16 by
# default) and lz4 compression (unless BENCH_KAFKA_PROPERTIES is set): the mock keeps ~5 MiB per
# partition, and a projection that fell ~5 s behind at 40k rows/s on 8 uncompressed partitions
# had its unapplied events dropped there; this gives it ~30 s of room.
# Usage: apply_latency_2x.sh BUILD_DIR   (env: as apply_latency.sh; BENCH_LAT_2X_ROWS_PER_TX
#        overrides the rows per transaction of this run)
set -euo pipefail
rate=${BENCH_LAT_ROWS_PER_S:-20000}
per_tx=${BENCH_LAT_ROWS_PER_TX:-20}
partitions=${BENCH_LAT_PARTITIONS:-8}
BENCH_LAT_ROWS_PER_S=$((2 * rate)) BENCH_LAT_ROWS_PER_TX=${BENCH_LAT_2X_ROWS_PER_TX:-$((2 * per_tx))} \
  BENCH_LAT_PARTITIONS=$((2 * partitions)) BENCH_KAFKA_PROPERTIES=${BENCH_KAFKA_PROPERTIES-compression.type: lz4} \
  BENCH_LAT_TAG=_2x exec "$(dirname "$0")/apply_latency.sh" "$@"
