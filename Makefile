# The two set-up commands are `make run` and `make test`; both install what is missing first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps build run test test-unit test-asan bench fuzz fuzz-run clean

deps:
	@./scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@./scripts/demo $(BUILD)/tapvault

# The whole suite: unit, integration and corpus replay tests, then the same under ASan/UBSan.
test: test-unit test-asan

test-unit: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 600

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTAPVAULT_SANITIZE=ON \
	  -DTAPVAULT_BENCH=OFF -DCMAKE_CXX_FLAGS=-O1 $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) --timeout 900

bench: build
	@./scripts/bench $(BUILD)

# libFuzzer targets (clang, ASan+UBSan). `make fuzz` builds them; `make fuzz-run SECONDS=600`
# runs each for that long on its seed corpus.
fuzz: deps
	@CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DTAPVAULT_FUZZ=ON -DTAPVAULT_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

SECONDS ?= 60
fuzz-run: fuzz
	@./scripts/fuzz-run $(FUZZ_BUILD) $(SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
