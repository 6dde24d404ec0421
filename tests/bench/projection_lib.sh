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
#   bench_backend_cpu_s PORT DB                # CPU seconds of the server backends connected to DB
#                                              # (other than this query's): the sink's side of apply
#   bench_write_apply_config FILE ID SINK_DSN BROKERS STATE_DIR [SOURCE_DSN SLOT PUBLICATION SNAPSHOT]
#                                              # a pair of module `bench`; the caller appends the
#                                              # `projections:` list items (sink.projections)
#                                              # BENCH_SINK_BATCH="batch_time: 20ms" adds sink keys

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
  local pid total=0
  for pid in $(bench_psql "$1" "$2" -c "SELECT pid FROM pg_stat_activity
      WHERE datname = '$2' AND pid <> pg_backend_pid() AND backend_type = 'client backend'"); do
    total=$(bench_calc "$total + $(bench_cpu_s "$pid" 2>/dev/null || echo 0)")
  done
  bench_calc "round($total, 2)"
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
  projections:
YAML
}
