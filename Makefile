# Makefile — a thin wrapper around CMake for the README's commands.
#   make demo   install deps, build, run the sample program and an XDP object
#   make test   install deps, build, run the whole test suite (CTest)
#   make bench  build and run the benchmark suite
#   make bench-maps  build and run the map benchmark
#   make asan   the test suite under AddressSanitizer + UndefinedBehaviorSanitizer
BUILD ?= build
JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test bench bench-maps asan fuzz clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)/bpfvm

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	@cmake --build $(BUILD) --target bpfvm-bench -j$(JOBS)
	@$(BUILD)/bench/bpfvm-bench

bench-maps: build
	@cmake --build $(BUILD) --target bpfvm-bench-maps -j$(JOBS)
	@$(BUILD)/bench/bpfvm-bench-maps

asan: deps
	@cmake -S . -B $(BUILD)-asan -DBPFVM_SANITIZE=ON -DBPFVM_BENCH=OFF \
		-DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD)-asan -j$(JOBS)
	@cd $(BUILD)-asan && ctest --output-on-failure -j$(JOBS)

fuzz: deps
	@CC=clang cmake -S . -B $(BUILD)-fuzz -DBPFVM_FUZZ=ON -DBPFVM_BENCH=OFF \
		-DBPFVM_TESTS=OFF >/dev/null
	@cmake --build $(BUILD)-fuzz -j$(JOBS)
	@scripts/fuzz.sh $(BUILD)-fuzz $${FUZZ_SECONDS:-60}

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz
