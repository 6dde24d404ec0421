#!/usr/bin/env bash
# Apply scale-out: the same pgbench changes applied from Kafka by one daemon, and by two daemons
# sharing the projections through a consumer group (`sink.group`, docs/scaling.md), in one run.
#
# One source cluster (`pgbench -i -s 10`, a publication for pgbench_accounts and pgbench_history,
# a slot created before the workload), `pgbench -n -c 4 -j 2 -T 15`, captured into the dev broker
# (accounts on 16 partitions, history on 16). One subscriber cluster with two databases cloned
# from one `pgbench -i -s 10` (`one` and `two`; accounts gain _modsync_lsn/_modsync_seq defaulted
# to 0/0 and 0, history is append-only). Then, one after the other:
#   (a) one daemon, no group: time from its start until modsync.offsets in `one` sums to the
#       events on Kafka;
#   (b) two daemons running one file with `sink.group` (each its own state dir): time from their
#       start until modsync.offsets in `two` sums to the events. Both start at once, so the
#       consumer group's join (several seconds on the dev broker) is inside the figure;
#       modsync_apply_group_join_s says how long it took until both had partitions.
# At the end both databases are compared with the source; a difference fails the benchmark.
#
# Usage: apply_group.sh BUILD_DIR   (env: BENCH_SCALE=10 BENCH_SECONDS=15 BENCH_CLIENTS=4)
set -euo pipefail
build=${1:-build}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/projection_lib.sh"

scale=${BENCH_SCALE:-10}
seconds=${BENCH_SECONDS:-15}
clients=${BENCH_CLIENTS:-4}
export BENCH_KAFKA_PROPERTIES=${BENCH_KAFKA_PROPERTIES-compression.type: lz4, session.timeout.ms: 6000}
db=bench
tables=(pgbench_accounts pgbench_history)
declare -A columns=([pgbench_accounts]="aid, bid, abalance, filler"
  [pgbench_history]="tid, bid, aid, delta, mtime, filler")

bench_workdir apply_group

echo "== apply_group: pgbench TPC-B -s $scale -c $clients -T $seconds; one apply daemon vs two sharing a consumer group"
src=$(pg_free_port)
pg_cluster_start "$work/src" "$src" "max_wal_size = 4GB"
sub=$(pg_free_port)
pg_cluster_start "$work/sub" "$sub" "max_wal_size = 4GB"
bench_psql "$src" postgres -c "CREATE DATABASE $db"
bench_psql "$sub" postgres -c "CREATE DATABASE one"
pgbench -h 127.0.0.1 -p "$src" -U postgres -i -s "$scale" -q "$db" >"$work/pgbench-init.log" 2>&1
pgbench -h 127.0.0.1 -p "$sub" -U postgres -i -s "$scale" -q one >>"$work/pgbench-init.log" 2>&1
bench_psql "$sub" one -c "ALTER TABLE pgbench_accounts ADD COLUMN _modsync_lsn pg_lsn DEFAULT '0/0', ADD COLUMN _modsync_seq integer DEFAULT 0"
bench_psql "$sub" postgres -c "CREATE DATABASE two TEMPLATE one"
bench_psql "$src" "$db" >/dev/null <<SQL
CREATE PUBLICATION bench_pub FOR TABLE $(IFS=,; echo "${tables[*]}");
SELECT 1 FROM pg_create_logical_replication_slot('bench_modsync', 'pgoutput');
SQL
src_dsn="host=127.0.0.1 port=$src dbname=$db user=postgres"
stat_sql="SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables
          WHERE relname IN ('pgbench_accounts', 'pgbench_history')"
tuples_before=$(bench_psql "$src" "$db" -c "$stat_sql")
pgbench -h 127.0.0.1 -p "$src" -U postgres -n -c "$clients" -j 2 -T "$seconds" "$db" \
  >"$work/pgbench.log" 2>&1
end_lsn=$(bench_psql "$src" "$db" -c "SELECT pg_current_wal_flush_lsn()")
sleep 1  # statistics reach the shared counters when the backends exit
rows=$(($(bench_psql "$src" "$db" -c "$stat_sql") - tuples_before))
echo "  pgbench: $rows row changes of accounts and history, end $end_lsn"

bench_start_dev_broker "$work" bench.public.pgbench_accounts:16 bench.public.pgbench_history:16 \
  modsync.schemas:1
pids+=("$BENCH_BROKER_PID")
bench_write_capture_config "$work/capture.yaml" bench-capture "$src_dsn" "$BENCH_BROKERS" \
  "$work/state-capture" bench_modsync bench_pub "${tables[@]}"
bench_capture_to_kafka "$src" "$db" bench_modsync "$end_lsn" "$work/capture.yaml" "$work/capture.log" \
  $(printf 'bench.public.%s ' "${tables[@]}") || exit 1
events=$bench_events
echo "  $events events on Kafka"

write_config() {  # FILE DB STATE_DIR [GROUP]
  bench_write_apply_config "$1" bench-apply "host=127.0.0.1 port=$sub dbname=$2 user=postgres" \
    "$BENCH_BROKERS" "$3"
  if [ -n "${4:-}" ]; then sed -i "s/^sink:$/sink:\n  group: $4/" "$1"; fi
  for t in "${tables[@]}"; do
    printf '    - { from: bench.public.%s, to: public.%s }\n' "$t" "$t" >>"$1"
  done
}

# (a) one daemon.
write_config "$work/one.yaml" one "$work/state-one"
bench_run_until_consumed "$sub" one "$work/one.yaml" "$work/one.log" "$events" 300 || exit 1
one_sink_cpu=$(bench_backend_cpu_s "$sub" one)
bench_stop_daemon
one_s=$bench_elapsed_s
one_cpu=$bench_daemon_cpu_s
one_rate=$(bench_calc "round($rows / $one_s)")
echo "  one daemon: ${one_s}s, $one_rate rows/s (daemon CPU ${one_cpu}s, sink backends ${one_sink_cpu}s)"

# (b) two daemons, one consumer group per projection.
write_config "$work/two-a.yaml" two "$work/state-two-a" bench
write_config "$work/two-b.yaml" two "$work/state-two-b" bench
bench_poll_open "$sub" two
t0=$(bench_now)
bench_start_daemon "$work/two-a.yaml" "$work/two-a.log"
pid_a=$modsync_pid
bench_start_daemon "$work/two-b.yaml" "$work/two-b.log"
pid_b=$modsync_pid
if ! bench_wait_consumed "$events" 300; then
  tail -n 20 "$work/two-a.log" "$work/two-b.log" >&2
  exit 1
fi
t1=$(bench_now)
bench_poll_close
two_s=$(bench_calc "round($t1 - $t0, 3)")
two_cpu=$(bench_calc "$(bench_cpu_s "$pid_a") + $(bench_cpu_s "$pid_b")")
two_sink_cpu=$(bench_backend_cpu_s "$sub" two)
# When both daemons had their first partitions: the group's join is over from there.
joined=0
for log in "$work/two-a.log" "$work/two-b.log"; do
  ts=$(grep -m1 'consumer group assigned' "$log" | sed -E 's/^ts=([^ ]*).*/\1/')
  at=$(date -d "$ts" +%s.%N)
  joined=$(bench_calc "max($joined, $at)")
done
join_s=$(bench_calc "round($joined - $t0, 3)")
for p in "$pid_a" "$pid_b"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "$pid_a" "$pid_b"; do wait "$p" 2>/dev/null || true; done
two_rate=$(bench_calc "round($rows / $two_s)")
ratio=$(bench_ratio "$two_rate" "$one_rate")
echo "  two daemons: ${two_s}s, $two_rate rows/s (daemons CPU ${two_cpu}s, sink backends ${two_sink_cpu}s); both assigned after ${join_s}s)"
echo "  two / one: $ratio"

equal=0
for t in "${tables[@]}"; do
  q="SELECT ${columns[$t]} FROM $t"
  want=$(bench_checksum "$src" "$db" "$q")
  got_one=$(bench_checksum "$sub" one "$q")
  got_two=$(bench_checksum "$sub" two "$q")
  [ "$got_one" = "$want" ] && equal=$((equal + 1))
  [ "$got_two" = "$want" ] && equal=$((equal + 1))
  echo "  $t: source $want, one daemon $got_one, two daemons $got_two"
done

bench_result apply_group_rows "$rows" rows
bench_result modsync_apply_one_daemon_rows_per_s "$one_rate" rows/s
bench_result modsync_apply_two_daemons_rows_per_s "$two_rate" rows/s "$one_rate" "$ratio"
bench_result modsync_apply_group_join_s "$join_s" s
bench_result modsync_apply_one_daemon_cpu_us_per_row "$(bench_us_per_row "$one_cpu" "$rows")" us/row
bench_result modsync_apply_two_daemons_cpu_us_per_row "$(bench_us_per_row "$two_cpu" "$rows")" us/row
bench_result modsync_apply_group_tables_equal "$equal" tables 4 "$(bench_ratio "$equal" 4)"
if [ "$equal" -ne 4 ]; then
  echo "bench: a projection differs from the source ($equal of 4 equal)" >&2
  exit 1
fi
