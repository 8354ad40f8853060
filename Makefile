# SPDX-License-Identifier: GPL-2.0-or-later
#
# blocksim top-level Makefile. Non-recursive: every module describes itself
# in its own *.mk fragment (lib/cluster/cluster.mk, sim/sim.mk, ...), using
# the add_lib / add_prog / add_test / add_bench helpers defined below.
#
#   make              build everything (libraries, programs, unit tests)
#   make check        unit tests, then the conformance run
#   make unit         the unit tests only
#   make conformance  replay every case in cases/ against golden/ (only that:
#                     CONFORMANCE_JOBS processes at a time)
#   make coverage     lcov HTML under build/coverage/, one summary line per directory
#   make memcheck     unit tests and conformance under valgrind (any error or leak fails)
#   make bench        benchmarks, each printing ratios against an in-run baseline
#   make deps         install the Debian packages the project needs (apt, as root)
#   make SANITIZE=1 check   everything under ASan + UBSan (in build/asan)

CC       ?= cc
PYTHON   ?= python3
AR       ?= ar

# Each build flavour gets its own tree so they never mix objects.
ifeq ($(SANITIZE),1)
B        ?= build/asan
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifeq ($(COVERAGE),1)
B        ?= build/cov
SAN      := --coverage
else
B        ?= build
SAN      :=
endif

OPT      ?= $(if $(filter 1,$(COVERAGE)),-O0,-O2)
WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(SAN) $(CFLAGS) \
             -I. -Ilib $(shell pkg-config --cflags json-c 2>/dev/null)
LDFLAGS  ?=
ALL_LDFLAGS = $(SAN) $(LDFLAGS)
JSONC_LIBS := $(shell pkg-config --libs json-c 2>/dev/null || echo -ljson-c)

# Filled in by the module fragments.
LIBS        :=
PROGS       :=
UNIT_TESTS  :=
BENCHES     :=
COV_DIRS    :=
# Checks a fragment adds to make check; they run after the simulator's own.
CHECK_EXTRA :=

.PHONY: all check unit conformance coverage memcheck bench deps clean fuzz
all:

# $(call add_lib,name,sources) -> $(B)/libname.a
define add_lib
$(B)/lib$(1).a: $(patsubst %.c,$(B)/objs/%.o,$(2))
	@mkdir -p $$(@D)
	@rm -f $$@     # a fresh archive: members of removed or renamed sources must not stay
	$$(AR) rcs $$@ $$^
LIBS += $(B)/lib$(1).a
endef

# $(call add_prog,name,sources,static libs (in link order),extra ldlibs) -> $(B)/name
define add_prog
$(B)/$(1): $(patsubst %.c,$(B)/objs/%.o,$(2)) $(3)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(3) $(4)
PROGS += $(B)/$(1)
endef

# $(call add_test,name,sources,static libs,extra ldlibs) -> $(B)/tests/name (cmocka)
define add_test
$(B)/tests/$(1): $(patsubst %.c,$(B)/objs/%.o,$(2)) $(3)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(3) -lcmocka $(4)
UNIT_TESTS += $(B)/tests/$(1)
endef

# $(call add_bench,name,sources,static libs,extra ldlibs) -> $(B)/bench/name
define add_bench
$(B)/bench/$(1): $(patsubst %.c,$(B)/objs/%.o,$(2)) $(3)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(3) $(4)
BENCHES += $(B)/bench/$(1)
endef

# Objects live under $(B)/objs/ so that no object directory can collide with
# a program (build/harness is a program, build/objs/harness/ its objects).
$(B)/objs/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# The fuzzing rule first: module fragments register their targets with it.
-include tools/fuzz.mk

# Module fragments, in dependency order.
include lib/cluster/cluster.mk
-include lib/vma/vma.mk
-include oracle/oracle.mk
-include sim/sim.mk
-include harness/harness.mk
-include tools/tools.mk
-include tools/casegen/casegen.mk

all: $(LIBS) $(PROGS) $(UNIT_TESTS)

# Unit tests: each binary is a cmocka suite; all run even if one fails.
unit: $(UNIT_TESTS)
	@fail=0; for t in $(UNIT_TESTS); do echo "== $$t"; $(TEST_WRAPPER) $$t || fail=1; done; exit $$fail

check: unit conformance $(CHECK_EXTRA)
# Within make check (or make unit conformance) the unit tests come first;
# make conformance alone
# replays the cases and nothing else.
ifneq ($(filter check memcheck unit,$(MAKECMDGOALS)),)
conformance: | unit
endif
$(CHECK_EXTRA): | unit

# Cases replay one at a time in the valgrinded process itself. A forked child
# that ends with _exit holds its parent's heap, which valgrind reports as the
# child's leaks: the two tests whose children do that (harness -j, the libnbd
# client) skip themselves when BLOCKSIM_UNDER_VALGRIND is set; they run in
# make check and make SANITIZE=1 check.
memcheck:
	$(MAKE) unit conformance CONFORMANCE_JOBS=1 \
	  TEST_WRAPPER="env BLOCKSIM_UNDER_VALGRIND=1 valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible"

coverage:
	rm -rf build/cov/coverage.info build/coverage
	find build/cov -name '*.gcda' -delete 2>/dev/null || true
	$(MAKE) COVERAGE=1 check
	lcov -q --capture --directory build/cov --output-file build/cov/coverage.info
	lcov -q --remove build/cov/coverage.info '/usr/*' '*/tests/*' '*/bench/*' --output-file build/cov/coverage.info
	genhtml -q build/cov/coverage.info --output-directory build/coverage
	$(PYTHON) tools/coverage_summary.py build/cov/coverage.info $(COV_DIRS)
	@echo "HTML report: build/coverage/index.html"

bench: $(BENCHES) $(B)/harness
	@for b in $(BENCHES); do echo "== $$b"; $$b || exit 1; done
	@echo "== conformance replay, simulator vs real QEMU 7.2"
	$(PYTHON) tools/bench_conformance.py --harness $(B)/harness \
	  --conformance-cmd "$(MAKE) -s --no-print-directory conformance B=$(B)" \
	  $(sort $(wildcard cases/*.case))

# Debian packages. Later modules add to DEB_PACKAGES in their fragments.
DEB_PACKAGES += build-essential pkg-config clang libcmocka-dev libjson-c-dev lcov valgrind python3 time
deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(sort $(DEB_PACKAGES))
	$(MAKE) all

clean:
	rm -rf build

-include $(shell find $(B)/objs -name '*.d' -type f 2>/dev/null)
