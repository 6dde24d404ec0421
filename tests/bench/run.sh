#!/usr/bin/env bash
# `make bench`: runs each benchmark script in turn and prints this run's figures.
# Usage: tests/bench/run.sh BUILD_DIR [NAME...]   (NAME: a script below without .sh)
# Every figure is appended as one JSON line to BUILD_DIR/bench/results.jsonl; a benchmark
# compares against a baseline measured in the same run, and none of them passes or fails
# on a time. A script that fails is reported and the others still run; the exit status is
# non-zero when any failed. To add a benchmark: a script taking BUILD_DIR that sources
# lib.sh and calls bench_result, listed in `benchmarks` below.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
shift || true

benchmarks=(capture_throughput large_transaction_rss apply_throughput apply_latency apply_latency_2x snapshot_throughput
  wide_snapshot snapshot_workers wide_apply apply_group idle_pairs soak)
if [ $# -gt 0 ]; then benchmarks=("$@"); fi

export BENCH_RUN_ID=${BENCH_RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)}
. "$here/lib.sh"
echo "bench: run $BENCH_RUN_ID, results in $BENCH_RESULTS"

failed=()
for b in "${benchmarks[@]}"; do
  if ! "$here/$b.sh" "$build"; then
    echo "bench: $b FAILED" >&2
    failed+=("$b")
  fi
done

echo
echo "== results of run $BENCH_RUN_ID"
[ -f "$BENCH_RESULTS" ] && python3 - "$BENCH_RESULTS" "$BENCH_RUN_ID" <<'PY'
import json, sys
path, run = sys.argv[1], sys.argv[2]
rows = []
with open(path) as f:
    for line in f:
        r = json.loads(line)
        if r.get("run") == run:
            rows.append(r)
fmt = "{:<34} {:>14} {:<8} {:>14} {:>8}"
print(fmt.format("name", "value", "unit", "baseline", "ratio"))
for r in rows:
    show = lambda v: "-" if v is None else str(v)
    print(fmt.format(r["name"], show(r["value"]), r["unit"], show(r["baseline"]), show(r["ratio"])))
PY

if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: failed: ${failed[*]}" >&2
  exit 1
fi
