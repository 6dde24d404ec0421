#!/usr/bin/env bash
# Peak memory of the daemon while it captures one transaction of 1,000,000 inserted rows
# (INSERT … SELECT generate_series) into the dev broker. The daemon is started first and
# its idle peak (VmHWM) read; then the transaction runs; once the slot's confirmed_flush_lsn
# covers the commit, VmHWM is read again (it is the peak over the process's life).
# The same WAL is drained by pg_recvlogical from a second slot for a rows/s comparison.
#
# Usage: large_transaction_rss.sh BUILD_DIR   (env: BENCH_TX_ROWS=1000000)
set -euo pipefail
build=${1:-build}
. "$(dirname "$0")/lib.sh"

tx_rows=${BENCH_TX_ROWS:-1000000}
db=bench

bench_workdir rss

echo "== large_transaction_rss: one transaction inserting $tx_rows rows"
port=$(pg_free_port)
pg_cluster_start "$work/pg" "$port" "max_wal_size = 4GB"
bench_psql "$port" postgres -c "CREATE DATABASE $db"
bench_psql "$port" "$db" >/dev/null <<SQL
CREATE TABLE big (
  id         bigint PRIMARY KEY,
  account    int NOT NULL,
  amount     numeric(12,2) NOT NULL,
  note       text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE PUBLICATION bench_pub FOR TABLE big;
SELECT 1 FROM pg_create_logical_replication_slot('bench_recv', 'pgoutput');
SELECT 1 FROM pg_create_logical_replication_slot('bench_modsync', 'pgoutput');
SQL


bench_start_dev_broker "$work" bench.public.big:64 modsync.schemas:1
pids+=("$BENCH_BROKER_PID")
dsn="host=127.0.0.1 port=$port dbname=$db user=postgres"
bench_write_capture_config "$work/modsync.yaml" bench-rss "$dsn" "$BENCH_BROKERS" \
  "$work/state" bench_modsync bench_pub big
"$BENCH_MODSYNC" run --config "$work/modsync.yaml" 2>"$work/modsync.log" &
modsync_pid=$!
pids+=("$modsync_pid")
for _ in $(seq 100); do grep -q "streaming from slot" "$work/modsync.log" && break; sleep 0.1; done
grep -q "streaming from slot" "$work/modsync.log" || { cat "$work/modsync.log" >&2; exit 1; }
idle_kb=$(bench_vm VmHWM "$modsync_pid")

t0=$(bench_now)
bench_psql "$port" "$db" -c "INSERT INTO big (id, account, amount, note)
  SELECT g, g % 1000, (g % 100000) / 100.0, 'row ' || g FROM generate_series(1, $tx_rows) g"
end_lsn=$(bench_psql "$port" "$db" -c "SELECT pg_current_wal_flush_lsn()")
t_commit=$(bench_now)
if ! bench_wait_confirmed "$port" "$db" bench_modsync "$end_lsn" 300; then
  tail -n 20 "$work/modsync.log" >&2
  exit 1
fi
t1=$(bench_now)
peak_kb=$(bench_vm VmHWM "$modsync_pid")
insert_s=$(bench_calc "round($t_commit - $t0, 3)")
modsync_s=$(bench_calc "round($t1 - $t_commit, 3)")
kill -TERM "$modsync_pid"
wait "$modsync_pid" || true

t0=$(bench_now)
pg_recvlogical -d "$dsn" -S bench_recv -o proto_version=1 -o publication_names=bench_pub \
  --start --endpos="$end_lsn" --no-loop -F 0 -f "$work/recv.out" 2>"$work/recv.log"
t1=$(bench_now)
recv_s=$(bench_calc "round($t1 - $t0, 3)")
kafka_rows=$(bench_topic_messages "$BENCH_BROKERS" bench.public.big)

peak_mib=$(bench_calc "round($peak_kb / 1024, 1)")
idle_mib=$(bench_calc "round($idle_kb / 1024, 1)")
echo "  modsync peak RSS (VmHWM): $peak_mib MiB (idle: $idle_mib MiB; target <= 150 MB)"
# PostgreSQL sends a transaction only once it committed: modsync's time runs from the commit.
modsync_rate=$(bench_calc "round($tx_rows / $modsync_s)")
recv_rate=$(bench_calc "round($tx_rows / $recv_s)")
echo "  INSERT took ${insert_s}s; modsync confirmed it ${modsync_s}s after the commit" \
  "($modsync_rate rows/s); pg_recvlogical drained it in ${recv_s}s ($recv_rate rows/s);" \
  "Kafka holds $kafka_rows events"
bench_result large_tx_peak_rss "$peak_mib" MiB "$idle_mib" "$(bench_ratio "$peak_kb" "$idle_kb")"
bench_result large_tx_kafka_events "$kafka_rows" events "$tx_rows" "$(bench_ratio "$kafka_rows" "$tx_rows")"
bench_result large_tx_pg_recvlogical_rows_per_s "$recv_rate" rows/s
bench_result large_tx_modsync_rows_per_s "$modsync_rate" rows/s "$recv_rate" \
  "$(bench_ratio "$modsync_rate" "$recv_rate")"
