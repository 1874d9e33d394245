# dxhub: `make demo` and `make test` are all a new machine needs (Debian 12).
BUILD      ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
PKI        ?= var/pki

.PHONY: all deps build pki demo test bench clean

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

bench: build pki
	@bench/run.sh $(BUILD)
	@bench/load.sh $(BUILD)
	@bench/delivery.sh $(BUILD)
	@scripts/with-postgres.sh bench/scale_out.sh $(BUILD)

clean:
	rm -rf $(BUILD)
