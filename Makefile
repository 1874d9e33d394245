# dxhub: `make demo` and `make test` are all a new machine needs (Debian 12).
BUILD      ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
PKI        ?= var/pki

.PHONY: all deps build pki demo test bench stress clean

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

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build pki
	@bench/run.sh $(BUILD)
	@bench/load.sh $(BUILD)
	@bench/delivery.sh $(BUILD)

# The stress suite's full runs (crash loop, disk full, peer faults, slow clients) and
# docs/RELIABILITY.md from every figures file in var/stress/ (several minutes).
stress: build
	@tests/stress/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)
