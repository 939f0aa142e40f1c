# Gofka developer entry points. `make demo` and `make test` are the two
# set-up commands of the README; everything else is for working on Gofka.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
LIB := python/gofka/libgofka.so
SPEEDUPS := python/gofka/_speedups.abi3.so
# The C files of gofka._speedups, compiled together into $(SPEEDUPS) (as
# setup.py does: every .c file of the folder).
SPEEDUPS_SRC := $(sort $(wildcard python/gofka/_speedups_src/*.c))
CC ?= cc
GO_SOURCES := $(shell find wire core devcluster capi internal -name '*.go' -not -name '*_test.go') go.mod go.sum include/gofka.h

.PHONY: build demo test test-go test-python test-faults test-compat fuzz lint docs kafka-up kafka-down clean venv

build: $(LIB) $(SPEEDUPS)

$(LIB): $(GO_SOURCES) build.sh
	./build.sh $(LIB)

# The optional C speedups of the Python package (python/gofka/_speedups_src,
# one extension module, CPython stable ABI 3.8+). Without Python's headers
# the package runs in pure Python: the rule then warns instead of failing
# (the test run requires them, see GOFKA_REQUIRE_SPEEDUPS in
# scripts/run-tests.sh).
$(SPEEDUPS): $(SPEEDUPS_SRC) python/gofka/_speedups_src/speedups.h include/gofka.h
	@inc=$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])'); \
	if [ -f "$$inc/Python.h" ]; then \
	  echo "$(CC) ... -o $@ $(SPEEDUPS_SRC)"; \
	  $(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -I"$$inc" -Iinclude -o $@ $(SPEEDUPS_SRC); \
	else \
	  echo "warning: $$inc/Python.h not found (install python3-dev): gofka runs without its C speedups" >&2; \
	fi

# Runs the main job on the in-process dev cluster (or on $GOFKA_BROKERS).
demo: build
	PYTHONPATH=python $(PYTHON) examples/demo.py

# Everything: Go unit and engine tests, fuzz smoke, then Python and
# integration tests against a real Apache Kafka that this target starts and
# always stops (scripts/run-tests.sh).
test: build venv
	./scripts/run-tests.sh

test-go:
	go vet ./...
	go test -count=1 ./...

# Fault tests on a 3-node Apache Kafka (kill -9, restart, SIGSTOP): see
# docs/reliability.md. Not yet part of `make test`: open findings there.
test-faults: build venv
	./scripts/run-faults.sh

# The integration suites against older Apache Kafka versions (3.9.2 and
# 4.0.0 by default; KAFKA_COMPAT_VERSIONS): scripts/run-compat.sh.
test-compat: build venv
	./scripts/run-compat.sh

test-python: build venv
	PYTHONPATH=python $(VENV)/bin/python -m pytest -q tests/python

# Regenerates the docs made from code (tests fail when they are stale).
docs:
	go run ./core/cmd/configdoc > docs/configuration.md
	go run ./core/cmd/configdoc -python > python/gofka/_ranges.py
	go run ./core/cmd/statsdoc > docs/statistics.md
	go run ./wire/cmd/errordoc > docs/errors.md
	go run ./wire/cmd/errordoc -python > python/gofka/_error_table.py
	go run ./wire/cmd/errordoc -layouts > python/gofka/_layouts.py
	go run ./wire/cmd/errordoc -header include/gofka.h

fuzz:
	./scripts/fuzz.sh $${FUZZTIME:-10s}

lint:
	test -z "$$(gofmt -l wire core devcluster capi internal)" || { gofmt -l wire core devcluster capi internal; exit 1; }
	go vet ./...
	$(VENV)/bin/mypy
# mypy (the Python package, strict: pyproject.toml [tool.mypy]) is the
# venv's, pinned in tests/requirements.txt.
lint: venv

venv: $(VENV)/.ok
$(VENV)/.ok: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	touch $@

kafka-up:
	./scripts/kafka.sh up

kafka-down:
	./scripts/kafka.sh down

clean:
	rm -rf $(LIB) $(SPEEDUPS) python/gofka/libgofka.h $(VENV) .kafka
	go clean -testcache

# Benchmarks (bench/) and the front doors (wheel, install, C tests).
include bench/Makefile.inc
include mk/doors.mk
