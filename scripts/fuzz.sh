#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets of fuzz/ with clang (libFuzzer, ASan, UBSan) in their own
# build directory and runs each, one after the other, for FUZZ_SECONDS, starting from the seed
# corpus checked in under fuzz/corpus/<target>/. New inputs go to the build directory, never into
# the repository. Exits 1 when any target found something: the input is in
# <build>/artifacts/<target>/, and `<build>/fuzz/<target> <input>` replays it.
#
#   FUZZ_SECONDS=60   seconds per target
#   FUZZ_TARGETS="…"  a subset (default: all four)
#   FUZZ_BUILD_DIR    default build-fuzz;  JOBS  build parallelism (default 2)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${FUZZ_SECONDS:-60}"
targets=(${FUZZ_TARGETS:-pgoutput_fuzzer config_fuzzer where_fuzzer event_fuzzer})
cxx="${FUZZ_CXX:-clang++-14}"

if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found; run scripts/install-deps.sh (clang-14, libclang-rt-14-dev)" >&2
  exit 2
fi

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" \
    -DMODSYNC_TESTS=OFF -DMODSYNC_FUZZ=ON -DMODSYNC_SANITIZE=address,undefined
fi
cmake --build "$build" -j "${JOBS:-2}" --target "${targets[@]}"

# Findings abort with a stack; leaks count as findings.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
for target in "${targets[@]}"; do
  name="${target%_fuzzer}"
  seeds="$root/fuzz/corpus/$name"
  work="$build/corpus/$name"
  artifacts="$build/artifacts/$name/"
  mkdir -p "$work" "$artifacts"
  echo "fuzz: $target for ${seconds}s (seeds: fuzz/corpus/$name, $(ls "$seeds" | wc -l) files)"
  dict=()
  if [ -f "$root/fuzz/$name.dict" ]; then dict=(-dict="$root/fuzz/$name.dict"); fi
  # -max_len bounds one input (a config file or an event is small); -timeout flags a hang.
  if "$build/fuzz/$target" "${dict[@]}" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" \
      "$work" "$seeds" >"$build/$name.log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$build/$name.log" | tr '\n' ' '
    echo
  else
    echo "fuzz: $target FOUND SOMETHING; log: $build/$name.log, input: $(ls "$artifacts")" >&2
    tail -40 "$build/$name.log" >&2
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no findings in ${targets[*]} (${seconds}s each)"
