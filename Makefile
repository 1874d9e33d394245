# dxhub: `make demo` and `make test` are all a new machine needs (Debian 12).
BUILD      ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
PKI        ?= var/pki
SAN_BUILD  ?= build-san
FUZZ_SECONDS ?= 60

.PHONY: all deps build pki demo test bench stress clean sanitize sanitize-test fuzz

all: build

deps:
	@scripts/ensure-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

pki: deps
	@certs/make-dev-pki.sh $(PKI) >/dev/null

demo: build pki
	@$(BUILD)/dxhub demo

# The tests run against a private PostgreSQL server that lives as long as ctest
# (scripts/with-postgres.sh sets DX_TEST_PG_URL and stops the server, also on failure).
test: build
	@scripts/with-postgres.sh sh -c 'cd $(BUILD) && ctest --output-on-failure -j $(JOBS)'

# The core, unit tests and libFuzzer harnesses with clang, ASan and UBSan (own folder: the main
# gcc build is untouched). `make sanitize-test` runs the unit tests under the sanitizers and each
# fuzzer for 3 s; it costs about 4 minutes on 2 cores (a second build of the core), so .ci/run
# runs it after `make test` rather than `make test` itself.
sanitize-test: sanitize
	@cd $(SAN_BUILD) && ctest --output-on-failure -j $(JOBS)

sanitize: deps
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
	    -DDX_SANITIZE=ON >/dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS) --target dx_unit_tests dx_fuzzers

# Each fuzzer for FUZZ_SECONDS from its seeds; figures in var/stress/fuzz.json.
fuzz: sanitize
	@tests/fuzz/run.sh $(SAN_BUILD) $(FUZZ_SECONDS)

bench: build pki
	@bench/run.sh $(BUILD)
	@bench/load.sh $(BUILD)
	@bench/delivery.sh $(BUILD)
	@scripts/with-postgres.sh bench/scale_out.sh $(BUILD)

# The stress suite's full runs (crash loop, disk full, peer faults, slow clients) and
# docs/RELIABILITY.md from every figures file in var/stress/ (several minutes).
stress: build
	@tests/stress/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
