# The two set-up commands are `make demo` and `make test`; each installs dependencies and builds.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DMODSYNC_WERROR=ON
endif

.PHONY: all deps build daemon test unit demo bench soak chaos fuzz sanitize package clean format

all: build

deps:
	./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Only the binary: what the demo and the benchmarks run.
daemon: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target modsync

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 -j $(JOBS)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit -j $(JOBS)

# A Debian package of the daemon: build/modsync_<version>_<arch>.deb (docs/operations.md).
package: daemon
	cd $(BUILD_DIR) && cpack -G DEB

demo: daemon
	./scripts/demo.sh $(BUILD_DIR)

bench: daemon
	./tests/bench/run.sh $(BUILD_DIR)

# The soak benchmark's long form (docs/benchmarks.md): ~1,000 events/s for SOAK_SECONDS, the
# daemon's RSS, threads and fds over time (`make bench` runs it for 60 s).
SOAK_SECONDS ?= 900
soak: daemon
	BENCH_SOAK_SECONDS=$(SOAK_SECONDS) ./tests/bench/run.sh $(BUILD_DIR) soak

# libFuzzer targets (fuzz/), built with clang in build-fuzz, FUZZ_SECONDS each, one at a time.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) ./scripts/fuzz.sh

# The test suite built with ASan and UBSan in build-sanitize (not part of `make test`: slower).
SANITIZE_LABELS ?= unit|component|integration
sanitize: deps
	JOBS=$(JOBS) SANITIZE_LABELS='$(SANITIZE_LABELS)' ./scripts/sanitize.sh

# The chaos test's long form (docs/testing.md): new seeds until MINUTES pass, every feature and
# fault on. SEED= starts from that seed (default: a random one, printed); replay a failed run
# with the command line it prints.
SEED ?=
MINUTES ?= 10
CHAOS_FEATURES ?= all
CHAOS_KILLS ?= 12
CHAOS_DURATION ?= 60
chaos: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target modsync chaos_test
	$(BUILD_DIR)/tests/chaos/chaos_test --seed "$(SEED)" --minutes $(MINUTES) \
	  --features $(CHAOS_FEATURES) --kills $(CHAOS_KILLS) --duration $(CHAOS_DURATION) \
	  --keep $(BUILD_DIR)/chaos-failures

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD_DIR) build-fuzz build-sanitize
