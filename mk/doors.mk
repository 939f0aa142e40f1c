# The three front doors (Python wheel, C library + pkg-config, tests of both).
# Included at the END of the Makefile (`include mk/doors.mk`), whose PYTHON,
# VENV, LIB, GO_SOURCES and $(LIB) rule it uses; it also works on its own
# (`make -f mk/doors.mk install PREFIX=/tmp/x`), with the same defaults.
#
#   make wheel                  dist/gofka-<v>-cp38-abi3-manylinux_2_X_<arch>.whl
#                               (py3-none-... when gofka._speedups could not be built)
#   make wheels                 that wheel and the aarch64 one (cross-built), in dist/
#   make sdist                  dist/gofka-<v>.tar.gz (pip install builds it with Go and a C compiler)
#   make test-aarch64           the aarch64 wheel and C tests under qemu-user (tests/aarch64)
#   make install PREFIX=/opt/g  lib/libgofka.so, include/gofka.h, lib/pkgconfig/gofka.pc
#   make test-c                 C/C++ tests (tests/c) against GOFKA_BROKERS or a dev cluster
#   make test-packaging         wheel in fresh venvs, make install + pkg-config, examples, docs

ifndef GO_SOURCES
PYTHON ?= python3
VENV ?= .venv
LIB ?= python/gofka/libgofka.so
GO_SOURCES := $(shell find wire core devcluster capi internal -name '*.go' -not -name '*_test.go') go.mod go.sum include/gofka.h
$(LIB): $(GO_SOURCES) build.sh
	./build.sh $(LIB)
venv: $(VENV)/.ok
$(VENV)/.ok: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	touch $@
endif

PREFIX ?= /usr/local
LIBDIR ?= $(abspath $(PREFIX))/lib
INCLUDEDIR ?= $(abspath $(PREFIX))/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=
WHEEL_DIR ?= dist
# Extra flags for `pip wheel`, e.g. PIP_WHEEL_FLAGS=--no-build-isolation to
# build offline with setuptools>=70.1 (or setuptools + wheel) already installed.
PIP_WHEEL_FLAGS ?=
GOFKA_VERSION := $(shell sed -n 's/^const Version = "\(.*\)"$$/\1/p' core/*.go | head -n 1)
DOORS_BUILD := build/doors
TEST_C_FLAGS := -Wall -Wextra -Werror -pedantic -Iinclude -pthread -g

# The architectures `make wheels` builds: this machine's and aarch64 (a
# cross build from x86_64: setup.py, GOFKA_TARGET_ARCH; needs Debian's
# gcc-aarch64-linux-gnu).
WHEEL_ARCHES ?= $(sort $(shell uname -m) aarch64)

.PHONY: wheel wheels sdist dist install uninstall test-c test-packaging test-aarch64

# The wheel builds libgofka.so and the optional C extension gofka._speedups
# itself (setup.py runs build.sh, then build_ext); stale setuptools build
# trees are removed so that no deleted file can ship (and so that one
# architecture's objects never end up in another's wheel). pip hides the
# build's output, so a wheel built without the extension (no Python.h: it
# is then tagged py3-none-...) is pointed out here. $(1): the target
# architecture (GOFKA_TARGET_ARCH; empty: this machine's).
define build_wheel
	rm -rf build/lib build/lib.* build/temp.* build/bdist.* python/gofka.egg-info
	GOFKA_TARGET_ARCH=$(1) $(PYTHON) -m pip wheel --no-deps $(PIP_WHEEL_FLAGS) -w $(WHEEL_DIR) .
endef

define build_arch_wheel
$(call build_wheel,$(1))
	ls $(WHEEL_DIR)/gofka-*_$(1).whl

endef

wheel:
	rm -f $(WHEEL_DIR)/gofka-*.whl
	$(call build_wheel,)
	@ls $(WHEEL_DIR)/gofka-*.whl
	@if ls $(WHEEL_DIR)/gofka-*-py3-none-*.whl >/dev/null 2>&1; then \
	  echo "warning: the wheel has no gofka._speedups (C extension not built: install python3-dev); gofka runs in pure Python" >&2; \
	fi

# One wheel per architecture of WHEEL_ARCHES, each checked to be there.
wheels:
	rm -f $(WHEEL_DIR)/gofka-*.whl
	$(foreach arch,$(WHEEL_ARCHES),$(call build_arch_wheel,$(arch)))
	@if ls $(WHEEL_DIR)/gofka-*-py3-none-*.whl >/dev/null 2>&1; then \
	  echo "warning: a wheel has no gofka._speedups (C extension not built: install python3-dev); gofka runs in pure Python" >&2; \
	fi

# The source distribution (MANIFEST.in: the Go sources, build.sh, setup.py,
# the C speedups' sources). setuptools' own build_sdist makes it, in a small venv of
# its own with setuptools>=70.1 (from the package index, once) so that this
# works with any $(PYTHON).
SDIST_ENV := $(DOORS_BUILD)/sdist-env
$(SDIST_ENV)/.ok:
	$(PYTHON) -m venv $(SDIST_ENV)
	$(SDIST_ENV)/bin/python -m pip install -q "setuptools>=70.1"
	touch $@

sdist: $(SDIST_ENV)/.ok
	rm -f $(WHEEL_DIR)/gofka-*.tar.gz
	rm -rf python/gofka.egg-info
	$(SDIST_ENV)/bin/python -c 'import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))' \
	    $(WHEEL_DIR) > $(DOORS_BUILD)/sdist.log
	@ls $(WHEEL_DIR)/gofka-*.tar.gz

# Everything a release uploads, in one command: the wheels of every
# WHEEL_ARCHES and the sdist, side by side in $(WHEEL_DIR).
dist: wheels sdist

install: $(LIB)
	install -d "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(PKGCONFIGDIR)"
	install -m 0755 $(LIB) "$(DESTDIR)$(LIBDIR)/libgofka.so"
	install -m 0644 include/gofka.h "$(DESTDIR)$(INCLUDEDIR)/gofka.h"
	sed -e 's|@PREFIX@|$(abspath $(PREFIX))|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(GOFKA_VERSION)|' \
	    gofka.pc.in > "$(DESTDIR)$(PKGCONFIGDIR)/gofka.pc"
	@echo "installed libgofka $(GOFKA_VERSION) under $(DESTDIR)$(abspath $(PREFIX)); compile with: pkg-config --cflags --libs gofka"

uninstall:
	rm -f "$(DESTDIR)$(LIBDIR)/libgofka.so" "$(DESTDIR)$(INCLUDEDIR)/gofka.h" "$(DESTDIR)$(PKGCONFIGDIR)/gofka.pc"

# The C tests: test_gofka (the C tests plus a C++ translation unit: the
# header from C++, extern "C") and every other tests/c/test_*.c as its own
# binary (e.g. test_misuse_faults.c). Each prints "N passed, N failed" last;
# test-c adds them up into one final line of that form and fails when any
# binary failed or crashed. GOFKA_BROKERS selects a real cluster, else each
# binary starts a dev cluster through the C API. TEST_C_RUN prefixes each
# run (test-aarch64: qemu-aarch64 -L <sysroot>, with CC, CXX, LIB and
# DOORS_BUILD of the aarch64 build).
TEST_C_RUN ?=
C_TEST_EXTRA := $(filter-out tests/c/test_gofka.c,$(wildcard tests/c/test_*.c))
C_TEST_BINS := $(DOORS_BUILD)/test_gofka $(patsubst tests/c/%.c,$(DOORS_BUILD)/%,$(C_TEST_EXTRA))

$(DOORS_BUILD)/test_gofka: tests/c/test_gofka.c tests/c/harness.c tests/c/test_cxx.cpp tests/c/harness.h include/gofka.h $(LIB)
	@mkdir -p $(DOORS_BUILD)
	$(CC) -std=c11 $(TEST_C_FLAGS) -c tests/c/test_gofka.c -o $(DOORS_BUILD)/test_gofka.o
	$(CC) -std=c11 $(TEST_C_FLAGS) -c tests/c/harness.c -o $(DOORS_BUILD)/harness.o
	$(CXX) -std=c++11 $(TEST_C_FLAGS) -c tests/c/test_cxx.cpp -o $(DOORS_BUILD)/test_cxx.o
	$(CXX) -pthread -o $@ $(DOORS_BUILD)/test_gofka.o $(DOORS_BUILD)/harness.o $(DOORS_BUILD)/test_cxx.o \
	    -L$(dir $(LIB)) -lgofka -Wl,-rpath,$(abspath $(dir $(LIB)))

# Every other test binary: its file plus the shared harness (harness.c).
$(DOORS_BUILD)/test_%: tests/c/test_%.c tests/c/harness.c tests/c/harness.h include/gofka.h $(LIB)
	@mkdir -p $(DOORS_BUILD)
	$(CC) -std=c11 $(TEST_C_FLAGS) $< tests/c/harness.c -o $@ -L$(dir $(LIB)) -lgofka -Wl,-rpath,$(abspath $(dir $(LIB)))

test-c: $(C_TEST_BINS)
	@p=0; f=0; for t in $(C_TEST_BINS); do \
	    echo "== $$t"; \
	    $(TEST_C_RUN) $$t > $(DOORS_BUILD)/out.txt 2>&1; rc=$$?; cat $(DOORS_BUILD)/out.txt; \
	    line=$$(grep -E '^[0-9]+ passed, [0-9]+ failed' $(DOORS_BUILD)/out.txt | tail -n 1); \
	    if [ -z "$$line" ]; then echo "$$t: no summary (exit $$rc)"; f=$$((f+1)); continue; fi; \
	    p=$$((p + $$(echo "$$line" | cut -d' ' -f1))); f=$$((f + $$(echo "$$line" | cut -d' ' -f3))); \
	    if [ $$rc -ne 0 ] && [ "$$(echo "$$line" | cut -d' ' -f3)" = 0 ]; then echo "$$t: exit $$rc"; f=$$((f+1)); fi; \
	done; echo "$$p passed, $$f failed"; [ $$f -eq 0 ]

# The aarch64 wheel where it runs (tests/aarch64): scripts/aarch64-sysroot.sh
# installs the cross compilers and qemu-user when missing (apt-get, as root)
# and unpacks Debian's arm64 CPython into AARCH64_SYSROOT; the wheel is
# cross-built (make wheels WHEEL_ARCHES=aarch64), installed under qemu into
# a fresh venv and smoke-tested there; tests/c run against its libgofka.so.
# Measured: 52 s with warm caches; 6 minutes with an empty Go build cache
# and no sysroot (the arm64 standard library is compiled once).
AARCH64_BUILD ?= build/aarch64
AARCH64_SYSROOT ?= $(AARCH64_BUILD)/sysroot
test-aarch64: venv
	./scripts/aarch64-sysroot.sh $(AARCH64_SYSROOT)
	$(MAKE) --no-print-directory wheels WHEEL_ARCHES=aarch64 WHEEL_DIR=$(AARCH64_BUILD)/dist
	GOFKA_AARCH64_SYSROOT=$(abspath $(AARCH64_SYSROOT)) GOFKA_WHEEL_DIR=$(abspath $(AARCH64_BUILD)/dist) \
	    $(VENV)/bin/python -m pytest -q -p no:cacheprovider --timeout=1200 tests/aarch64

# Builds the wheel and installs it into fresh venvs outside the repo, checks
# make install + pkg-config with examples/c, the Go examples and the docs.
test-packaging: wheel venv $(LIB)
	GOFKA_WHEEL_DIR=$(abspath $(WHEEL_DIR)) $(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/packaging
