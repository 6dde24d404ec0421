#!/usr/bin/env bash
# Helpers of the projection (apply side) benchmarks. Source it after lib.sh. Provides:
#   bench_topic_low_total BROKERS TOPIC        # sum over partitions of the low watermark: 0 unless
#                                              # the mock dropped old data of a partition (~5 MiB each)
#   bench_poll_open PORT DB / bench_poll SQL (result in BENCH_POLL_OUT) / bench_poll_close
#                                              # one psql session kept open for polling: separate
#                                              # short autocommit queries (no open transaction), but
#                                              # ~3 ms each instead of ~100 ms for a new psql process
#                                              # on this busy host. One at a time; sets BENCH_POLL_PID
#   bench_offsets_consumed                     # (open poller) BENCH_POLL_OUT = sum of next_offset in
#                                              # modsync.offsets, 0 before the daemon created it
#   bench_wait_consumed N TIMEOUT_S            # (open poller) every ~20 ms until modsync.offsets sums
#                                              # to >= N: every event applied and committed;
#                                              # with BENCH_TRACE=FILE, logs each poll there
#   bench_wait_query SQL VALUE TIMEOUT_S       # (open poller) every ~20 ms until SQL returns VALUE
#   bench_checksum PORT DB SELECT              # "count:sum(hashtext(row))" of a SELECT: order-free,
#                                              # so also for tables without a key (a multiset)
#   bench_backend_cpu_s PORT DB [TYPE...]      # CPU seconds of the live server backends connected to
#                                              # DB (other than this query's) of these backend types
#                                              # (default: client backend): the sink's side of apply;
#                                              # 'logical replication worker', walsender
#   bench_slot_sender_cpu_s PORT DB SLOT       # CPU seconds of the walsender streaming from SLOT
#   bench_exited_backends_cpu_s CLUSTER_DIR    # CPU seconds of the cluster's exited processes (the
#                                              # postmaster's reaped children): take a difference
#                                              # around a step to get its finished backends' CPU
#   bench_us_per_row CPU_S ROWS                # CPU microseconds per row, 2 decimals
#   bench_start_daemon CONFIG LOG [PERF_NAME]  # `modsync run` in the background: sets modsync_pid,
#                                              # appends to pids. With BENCH_PERF=1 and PERF_NAME, runs
#                                              # under perf record into BUILD_DIR/bench/PERF_NAME.perf.data
#   bench_stop_daemon                          # SIGTERM to modsync_pid; waits for it (and for perf)
#   bench_perf_attach NAME PORT DB WHERE [LOG PATTERN]
#                                              # with BENCH_PERF=1: in the background, once LOG shows
#                                              # PATTERN (if given) and DB has backends matching the
#                                              # pg_stat_activity condition WHERE, perf record of them
#                                              # into BUILD_DIR/bench/NAME.perf.data until they exit
#                                              # (bench_perf_attach_wait waits for that)
#   bench_wait_log LOG COUNT TIMEOUT_S PATTERN...  # until LOG holds each PATTERN at least COUNT times
#   bench_run_native_until PORT DB SUBSCRIPTION SQL VALUE SERVER_LOG
#                                              # ALTER SUBSCRIPTION … ENABLE, then polls DB until SQL
#                                              # returns VALUE (300 s at most); sets bench_elapsed_s
#                                              # (from just before the ENABLE)
#   bench_run_until_consumed PORT DB CONFIG LOG EVENTS TIMEOUT_S [PERF_NAME]
#                                              # bench_start_daemon, then polls DB until modsync.offsets
#                                              # sums to EVENTS; sets bench_elapsed_s (from just before
#                                              # the start), bench_daemon_cpu_s, bench_daemon_hwm_kb. The
#                                              # daemon keeps running (its sink backends' CPU can still
#                                              # be read) until bench_stop_daemon
#   bench_capture_to_kafka PORT DB SLOT END_LSN CONFIG LOG TOPIC...
#                                              # `modsync run` of a capture config until SLOT confirms
#                                              # END_LSN, then stopped; sets bench_capture_s and
#                                              # bench_events (messages on the TOPICs); fails when the
#                                              # mock dropped any (a partition over ~5 MiB)
#   bench_write_apply_config FILE ID SINK_DSN BROKERS STATE_DIR [SOURCE_DSN SLOT PUBLICATION SNAPSHOT]
#                                              # a pair of module `bench`; the caller appends the
#                                              # `projections:` list items (sink.projections)
#                                              # BENCH_SINK_BATCH="batch_time: 20ms" adds sink keys

bench_perf_attach_pids=()

bench_topic_low_total() {
  local brokers=$1 topic=$2
  local parts args=() p
  parts=$(kcat -L -b "$brokers" -t "$topic" -J 2>/dev/null |
    python3 -c 'import json,sys; m=json.load(sys.stdin); print(" ".join(str(p["partition"]) for t in m["topics"] for p in t["partitions"]))')
  for p in $parts; do args+=(-t "$topic:$p:-2"); done
  kcat -Q -b "$brokers" "${args[@]}" 2>/dev/null |
    awk '$(NF - 1) == "offset" { s += $NF } END { print s + 0 }'
}

bench_poll_open() {
  coproc BENCH_POLL { psql -X -q -A -t -h 127.0.0.1 -p "$1" -U postgres -d "$2" 2>&1; }
  BENCH_POLL_PID=$BENCH_POLL_PID
}

# Sets BENCH_POLL_OUT to the first line the query printed (an error message on failure; no
# command substitution, whose fork costs ~20 ms here), reading up to a sentinel so a failed
# query never leaves stale lines behind.
bench_poll() {
  local line
  BENCH_POLL_OUT=
  printf '%s;\n\\echo __bench_poll_end__\n' "$1" >&"${BENCH_POLL[1]}"
  while IFS= read -r -t 60 line <&"${BENCH_POLL[0]}"; do
    [ "$line" = __bench_poll_end__ ] && break
    [ -z "$BENCH_POLL_OUT" ] && BENCH_POLL_OUT=$line
  done
  return 0
}

bench_poll_close() {
  [ -n "${BENCH_POLL_PID:-}" ] || return 0
  echo '\q' >&"${BENCH_POLL[1]}" 2>/dev/null || true
  wait "$BENCH_POLL_PID" 2>/dev/null || true
  BENCH_POLL_PID=
}

bench_offsets_consumed() {
  bench_poll "SELECT CASE WHEN to_regclass('modsync.offsets') IS NULL THEN 0 ELSE
    (SELECT coalesce(sum(next_offset), 0) FROM modsync.offsets) END"
  [[ "$BENCH_POLL_OUT" =~ ^[0-9]+$ ]] || BENCH_POLL_OUT=0
}

bench_wait_consumed() {
  local n=$1 timeout_s=$2
  local deadline cur
  deadline=$(($(date +%s) + timeout_s))
  while :; do
    bench_offsets_consumed
    cur=$BENCH_POLL_OUT
    if [ -n "${BENCH_TRACE:-}" ]; then echo "$(bench_now) $cur" >>"$BENCH_TRACE"; fi
    if [ "$cur" -ge "$n" ]; then return 0; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "bench: modsync.offsets sums to $cur, not $n, after ${timeout_s}s" >&2
      return 1
    fi
    sleep 0.02
  done
}

bench_wait_query() {
  local sql=$1 want=$2 timeout_s=$3
  local deadline cur
  deadline=$(($(date +%s) + timeout_s))
  while :; do
    bench_poll "$sql"
    cur=$BENCH_POLL_OUT
    if [ "$cur" = "$want" ]; then return 0; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "bench: \"$sql\" is $cur, not $want, after ${timeout_s}s" >&2
      return 1
    fi
    sleep 0.02
  done
}

bench_checksum() {
  bench_psql "$1" "$2" -c "SELECT count(*) || ':' || coalesce(sum(hashtext(s::text)::bigint), 0) FROM ($3) s"
}

bench_backend_cpu_s() {
  local port=$1 db=$2
  shift 2
  local types=("${@:-client backend}") list t pid total=0
  list=$(for t in "${types[@]}"; do printf "'%s'," "$t"; done)
  for pid in $(bench_psql "$port" "$db" -c "SELECT pid FROM pg_stat_activity
      WHERE datname = '$db' AND pid <> pg_backend_pid() AND backend_type IN (${list%,})"); do
    total=$(bench_calc "$total + $(bench_cpu_s "$pid" 2>/dev/null || echo 0)")
  done
  bench_calc "round($total, 2)"
}

bench_slot_sender_cpu_s() {
  bench_cpu_s "$(bench_psql "$1" "$2" -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '$3'")"
}

bench_exited_backends_cpu_s() {
  bench_cpu_s "$(head -n 1 "$1/data/postmaster.pid")" children
}

bench_us_per_row() { bench_calc "round(($1) * 1e6 / $2, 2)"; }

bench_start_daemon() {
  local config=$1 log=$2 perf_name=${3:-}
  bench_perf_pid=
  if [ "${BENCH_PERF:-0}" = 1 ] && [ -n "$perf_name" ]; then
    # perf runs the daemon, so the profile covers every thread from the first instruction.
    mkdir -p "$bench_build/bench"
    bench_perf_file=$bench_build/bench/$perf_name.perf.data
    perf record -F "${BENCH_PERF_FREQ:-499}" --call-graph dwarf,16384 -e cpu-clock -o "$bench_perf_file" -- \
      "$BENCH_MODSYNC" run --config "$config" 2>"$log" &
    bench_perf_pid=$!
    pids+=("$bench_perf_pid")
    modsync_pid=
    for _ in $(seq 200); do modsync_pid=$(pgrep -P "$bench_perf_pid" || true); [ -n "$modsync_pid" ] && break; sleep 0.01; done
  else
    "$BENCH_MODSYNC" run --config "$config" 2>"$log" &
    modsync_pid=$!
  fi
  pids+=("$modsync_pid")
}

bench_stop_daemon() {
  kill -TERM "$modsync_pid" 2>/dev/null || true
  wait "$modsync_pid" 2>/dev/null || true
  if [ -n "${bench_perf_pid:-}" ]; then
    while kill -0 "$modsync_pid" 2>/dev/null; do sleep 0.05; done
    wait "$bench_perf_pid" 2>/dev/null || true
    echo "  perf profile: $bench_perf_file (perf report -i … --no-children --comm modsync)"
    bench_perf_pid=
  fi
}

bench_perf_attach() {
  [ "${BENCH_PERF:-0}" = 1 ] || return 0
  local name=$1 port=$2 db=$3 where=$4 log=${5:-} pattern=${6:-}
  mkdir -p "$bench_build/bench"
  (
    if [ -n "$log" ]; then bench_wait_log "$log" 1 120 "$pattern" >/dev/null 2>&1 || exit 0; fi
    for _ in $(seq 600); do
      p=$(bench_psql "$port" "$db" -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity
        WHERE datname = '$db' AND pid <> pg_backend_pid() AND ($where)")
      if [ -n "$p" ]; then
        exec perf record -q -F "${BENCH_PERF_FREQ:-499}" --call-graph dwarf,16384 -e cpu-clock -p "$p" \
          -o "$bench_build/bench/$name.perf.data" >"$bench_build/bench/$name.perf.log" 2>&1
      fi
      sleep 0.05
    done
  ) &
  bench_perf_attach_pids+=($!)
  pids+=($!)
}

bench_perf_attach_wait() {
  local pid
  for pid in "${bench_perf_attach_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bench_perf_attach_pids=()
}

bench_wait_log() {
  local log=$1 count=$2 timeout_s=$3
  shift 3
  local deadline p ok
  deadline=$(($(date +%s) + timeout_s))
  while :; do
    ok=1
    for p in "$@"; do
      [ "$(grep -c -- "$p" "$log" 2>/dev/null || true)" -ge "$count" ] || ok=0
    done
    [ "$ok" = 1 ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "bench: $log does not show $count x each of: $*" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
}

bench_capture_to_kafka() {
  local port=$1 db=$2 slot=$3 end=$4 config=$5 log=$6
  shift 6
  local t0 t1 pid t dropped=0
  t0=$(bench_now)
  "$BENCH_MODSYNC" run --config "$config" 2>"$log" &
  pid=$!
  pids+=("$pid")
  if ! bench_wait_confirmed "$port" "$db" "$slot" "$end" 300; then
    tail -n 20 "$log" >&2
    return 1
  fi
  t1=$(bench_now)
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  bench_capture_s=$(bench_calc "round($t1 - $t0, 3)")
  bench_events=0
  for t in "$@"; do
    bench_events=$((bench_events + $(bench_topic_messages "$BENCH_BROKERS" "$t")))
    dropped=$((dropped + $(bench_topic_low_total "$BENCH_BROKERS" "$t")))
  done
  if [ "$dropped" -ne 0 ]; then
    echo "bench: the dev broker dropped $dropped events (a partition exceeded ~5 MiB): add partitions" >&2
    return 1
  fi
}

bench_write_apply_config() {
  local file=$1 id=$2 sink_dsn=$3 brokers=$4 state_dir=$5
  local source_dsn=${6:-} slot=${7:-} publication=${8:-} snapshot=${9:-never}
  cat >"$file" <<YAML
daemon:
  id: $id
  state_dir: "$state_dir"
  log: { level: info, format: logfmt }
  http: { listen: "" }
  shutdown_timeout: 10s
kafka:
  brokers: "$brokers"
  properties: { ${BENCH_KAFKA_PROPERTIES:-} }
  memory: { ${BENCH_KAFKA_MEMORY:-} }
YAML
  if [ -n "$source_dsn" ]; then
    cat >>"$file" <<YAML
source:
  module: bench
  dsn: "$source_dsn"
  tables: [${BENCH_SOURCE_TABLES:?}]
  slot: $slot
  publication: $publication
  snapshot: $snapshot
  topic: "{module}.{schema}.{table}"
  heartbeat_interval: 0
YAML
  fi
  cat >>"$file" <<YAML
sink:
  module: benchsink
  dsn: "$sink_dsn"
  ${BENCH_SINK_BATCH:-}
  ${BENCH_SINK_WORKERS:+workers: $BENCH_SINK_WORKERS}
  projections:
YAML
}

bench_run_until_consumed() {
  local port=$1 db=$2 config=$3 log=$4 events=$5 timeout_s=$6 perf_name=${7:-} t0 t1
  bench_poll_open "$port" "$db"
  t0=$(bench_now)
  bench_start_daemon "$config" "$log" "$perf_name"
  if ! bench_wait_consumed "$events" "$timeout_s"; then
    tail -n 20 "$log" >&2
    return 1
  fi
  t1=$(bench_now)
  bench_poll_close
  bench_elapsed_s=$(bench_calc "round($t1 - $t0, 3)")
  bench_daemon_cpu_s=$(bench_cpu_s "$modsync_pid")
  bench_daemon_hwm_kb=$(bench_vm VmHWM "$modsync_pid")
}

# Apply only, with sink.workers WORKERS, into database DB of the subscriber on PORT, until EVENTS
# are consumed: projections bench.public.T -> public.T for each TABLE. Sets bench_elapsed_s,
# bench_daemon_cpu_s, bench_daemon_hwm_kb (bench_run_until_consumed) and bench_sink_cpu_s (the
# CPU seconds of the daemon's subscriber backends). Uses $work; the daemon is stopped after.
bench_apply_with_workers() {
  local workers=$1 port=$2 db=$3 events=$4 t
  shift 4
  local config="$work/apply-w$workers.yaml"
  BENCH_SINK_WORKERS=$workers bench_write_apply_config "$config" bench-apply \
    "host=127.0.0.1 port=$port dbname=$db user=postgres" "$BENCH_BROKERS" "$work/state-apply-w$workers"
  for t in "$@"; do
    printf '    - { from: bench.public.%s, to: public.%s }\n' "$t" "$t" >>"$config"
  done
  bench_run_until_consumed "$port" "$db" "$config" "$work/apply-w$workers.log" "$events" 300 || return 1
  bench_sink_cpu_s=$(bench_backend_cpu_s "$port" "$db")
  bench_stop_daemon
}

bench_run_native_until() {
  local port=$1 db=$2 subscription=$3 sql=$4 want=$5 server_log=$6 t0 t1
  bench_poll_open "$port" "$db"
  t0=$(bench_now)
  bench_poll "ALTER SUBSCRIPTION $subscription ENABLE"
  if ! bench_wait_query "$sql" "$want" 300; then
    tail -n 20 "$server_log" >&2
    return 1
  fi
  t1=$(bench_now)
  bench_poll_close
  bench_elapsed_s=$(bench_calc "round($t1 - $t0, 3)")
}
