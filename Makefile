# foundry-controller - `make help` lists the targets.
.DEFAULT_GOAL := all
SHELL := /bin/bash

CC ?= cc
PKGS := libcurl libcjson yaml-0.1 libwebsockets
PYTHON ?= /usr/bin/python3
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)

# SANITIZE=address,undefined builds everything into build/san-... with the sanitizers.
comma := ,
SANITIZE ?=
OPT ?= -O2
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wmissing-prototypes \
	-Wstrict-prototypes -Wshadow -Wvla -Wwrite-strings -Wformat=2 -g -pthread
ifeq ($(SANITIZE),)
  BUILD := build/$(notdir $(CC))
  SAN_FLAGS :=
  FORTIFY := -D_FORTIFY_SOURCE=2
else
  BUILD := build/$(notdir $(CC))-san-$(subst $(comma),-,$(SANITIZE))
  SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
  OPT := -O1
  FORTIFY :=
endif
# Runtime options of the sanitized build (unit, fuzz-replay, e2e): a report goes
# to the process's stderr with a stack trace and stops it; leaks are checked at
# exit. FC_SANITIZED=1 tells the e2e tests (RSS bounds are off under ASan).
SAN_ENV := ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:print_stacktrace=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 FC_SANITIZED=1
RUN_ENV := $(if $(SANITIZE),$(SAN_ENV))
# make valgrind: these e2e scenarios with the plain -O2 -g controller under memcheck
# (tests marked no_valgrind, which SIGKILL the controller, are skipped).
VALGRIND_TESTS ?= tests/e2e/test_controller.py tests/e2e/test_startup_conflict.py tests/e2e/test_azure.py tests/e2e/test_log_scan.py
VALGRIND_DIR := $(BUILD)/valgrind
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS ?=
CFLAGS += $(BASE_CFLAGS) $(OPT) $(FORTIFY) $(SAN_FLAGS) $(PKG_CFLAGS) -DFC_VERSION='"$(VERSION)"'
LDFLAGS += $(SAN_FLAGS) -pthread
LDLIBS += $(PKG_LIBS) -lm

SRCS := $(wildcard controller/*.c)
HDRS := $(wildcard controller/*.h)
OBJS := $(patsubst controller/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
# Each build dir links its own binary; a plain build also copies it to bin/
# whenever it differs, so `make` after `make CC=clang` gives the gcc binary back.
BUILT := $(BUILD)/foundry-controller
BIN := $(if $(SANITIZE),$(BUILT),bin/foundry-controller)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_SUPPORT := $(wildcard tests/unit/support/*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: FORCE all help deps tools build test unit e2e run bench lint hdr-check fuzz fuzz-replay clean valgrind cluster-up

all: $(BIN) ## build bin/foundry-controller

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F'\t' '{printf "  %-14s %s\n", $$1, $$2}'

deps: ## install every Debian package the project needs (idempotent)
	@bash scripts/deps.sh

tools: ## build/fetch kube-apiserver, helm (cached under ~/.cache/foundry-controller)
	@bash tests/cluster/tools >/dev/null

$(BUILD)/obj/%.o: controller/%.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILT): $(OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

ifeq ($(SANITIZE),)
bin/foundry-controller: $(BUILT) FORCE
	@mkdir -p bin
	@cmp -s $< $@ || { echo "  CP      $@"; cp -f $< $@.tmp && mv -f $@.tmp $@; }
endif

FORCE:

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(UNIT_SUPPORT) $(wildcard tests/unit/support/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC+LD   $@"
	@$(CC) $(CFLAGS) -Icontroller -Itests/unit/support -Wno-missing-prototypes -o $@ $< $(UNIT_SUPPORT) $(LIB_OBJS) $(LDFLAGS) $(LDLIBS) -lcmocka

unit: $(UNIT_BINS) ## run the C unit tests
	@pass=0; fail=0; for t in $(UNIT_BINS); do \
	  if (cd tests/unit && $(RUN_ENV) FC_TEST_DATA=$(CURDIR)/tests/fixtures ../../$$t) > $$t.log 2>&1; then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); echo "FAILED: $$t"; tail -40 $$t.log; fi; \
	  grep -hE '^(\[  (PASSED|FAILED)  \]|allocfail: )' $$t.log | sed "s|^|$$(basename $$t): |"; \
	done; echo "unit: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

fuzz-replay: $(LIB_OBJS) ## replay the fuzz corpora as ordinary tests
	@if [ -n "$(FUZZ_SRCS)" ]; then $(RUN_ENV) $(MAKE) -s -f tests/fuzz/Makefile replay BUILD=$(BUILD) CC="$(CC)" CFLAGS="$(CFLAGS)" LIB_OBJS="$(LIB_OBJS)" LDLIBS="$(LDLIBS)" LDFLAGS="$(LDFLAGS)"; fi

fuzz: ## run every libFuzzer target for FUZZ_SECONDS (default 60) each
	@$(MAKE) -s -f tests/fuzz/Makefile fuzz

e2e: $(BIN) ## run the end-to-end tests against a real local kube-apiserver
	@bash tests/cluster/tools >/dev/null
	$(RUN_ENV) FC_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q -rfE --durations=15 tests/azure_emulator tests/e2e $(PYTEST_ARGS)

valgrind: ## e2e scenarios (VALGRIND_TESTS) with the controller under valgrind memcheck: 0 errors, 0 definite leaks
	@if [ -n "$(SANITIZE)" ]; then echo "valgrind: runs the plain build, not SANITIZE=$(SANITIZE)"; exit 2; fi
	@$(MAKE) -s all
	@bash tests/cluster/tools >/dev/null
	@rm -rf $(VALGRIND_DIR) && mkdir -p $(VALGRIND_DIR)
	FC_VALGRIND=1 FC_VALGRIND_DIR=$(abspath $(VALGRIND_DIR)) FC_BIN=$(abspath $(BIN)) \
	  $(PYTHON) -m pytest -q -rfEs --durations=10 $(VALGRIND_TESTS) $(PYTEST_ARGS)

test: ## run everything: unit tests, fuzz corpora, e2e (SANITIZE=address,undefined: all with ASan+UBSan)
	@$(MAKE) -s all
	@$(MAKE) -s unit
	@$(MAKE) -s fuzz-replay
	@$(MAKE) -s e2e

run: $(BIN) ## run the controller (starting a local control plane + Azure emulator if no cluster is configured)
	@bash scripts/run.sh $(abspath $(BIN))

bench: $(BIN) ## print speed and memory figures
	@bash tests/bench/run

hdr-check: ## check every header compiles on its own
	@for h in $(HDRS); do \
	  echo "#include \"$$(basename $$h)\"" | $(CC) $(BASE_CFLAGS) $(PKG_CFLAGS) -Icontroller -x c -fsyntax-only - || exit 1; \
	done; echo "hdr-check: $(words $(HDRS)) headers ok"

lint: ## clang-tidy and cppcheck
	@# varFuncNullUB: our NULL-terminated key/value lists (log_*, metrics_declare)
	@# rely on glibc's NULL being ((void *)0); Linux/glibc is the only target.
	@cppcheck -q --error-exitcode=1 --enable=warning,portability,performance --inline-suppr \
	  --suppress=missingIncludeSystem --suppress=varFuncNullUB -Icontroller $(PKG_CFLAGS) controller/
	@clang-tidy -quiet $(SRCS) -- $(BASE_CFLAGS) $(PKG_CFLAGS) -Icontroller 2>/dev/null
	@echo "lint: ok"

clean: ## remove build outputs
	rm -rf build bin
