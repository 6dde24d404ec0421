#!/usr/bin/env bash
# make sanitize: the whole test suite built with AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc) in its own build directory, then the tests of SANITIZE_LABELS run. A finding aborts the
# process that made it; findings of the daemons the integration tests start are also written
# to <build>/sanitizer/ and fail the run, even when the test itself did not notice the death.
#
#   SANITIZE_LABELS='unit|component|integration'  ctest label regex
#   SANITIZE_BUILD_DIR  default build-sanitize;  JOBS  build and test parallelism (default 2)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${SANITIZE_BUILD_DIR:-$root/build-sanitize}"
labels="${SANITIZE_LABELS:-unit|component|integration}"
jobs="${JOBS:-2}"

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
    -DMODSYNC_SANITIZE=address,undefined
fi
cmake --build "$build" -j "$jobs"

logs="$build/sanitizer"
rm -rf "$logs"
mkdir -p "$logs"
chmod 777 "$logs"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:log_path=$logs/asan}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan}"

status=0
(cd "$build" && ctest --output-on-failure --timeout 1200 -j "$jobs" -L "$labels") || status=1
if [ -n "$(ls -A "$logs")" ]; then
  echo "sanitize: findings:" >&2
  for f in "$logs"/*; do
    echo "== $f" >&2
    cat "$f" >&2
  done
  status=1
fi
if [ "$status" -eq 0 ]; then echo "sanitize: no findings ($labels)"; fi
exit "$status"
