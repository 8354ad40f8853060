# SPDX-License-Identifier: GPL-2.0-or-later
# Fuzzing: the generic libFuzzer rule. Each module's fragment registers its
# own targets, and the regression tests built from their findings, with
#
#   $(eval $(call add_fuzz,NAME,SOURCES,LINK))
#
# NAME is the target, SOURCES its .c files (the first one's directory is
# the target's fuzz directory DIR, normally <module>/fuzz), LINK the static
# libraries and -l flags it links. DIR/corpus/NAME/ is its seed corpus and
# DIR/NAME.dict, if present, its dictionary. This file is included before
# the module fragments so they can call add_fuzz.
#
#   make fuzz                          build every target with clang into
#                                      build/fuzz and run each for
#                                      FUZZ_SECONDS (60); any crash, leak,
#                                      timeout or sanitizer report fails
#   make -j2 fuzz FUZZ_SECONDS=600     two targets at a time, 10 minutes each
#   make fuzz FUZZ_TARGETS="vma_header case_parse"   only these
#   make fuzz-build                    build the targets, run nothing
#   make fuzz-list                     the registered targets
#
# What a run adds to the corpus goes to build/fuzz/corpus/<target>/, crash
# inputs to build/fuzz/artifacts/<target>/: nothing is written into the
# source tree. A crash input is fixed in its module and copied to
# <module>/fuzz/regressions/; the module's cmocka test feeds every file
# there to the same entry point with the normal build (gcc), so `make
# check` and `make memcheck` keep it fixed.

# clang's libFuzzer and sanitizer runtimes (not pulled in without recommends).
DEB_PACKAGES += clang libclang-rt-14-dev

FUZZ_B        := build/fuzz
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
# A single input that runs longer than this (seconds) is a finding.
FUZZ_TIMEOUT  ?= 10
FUZZ_RSS_MB   ?= 2048
FUZZ_FLAGS    ?=
# Every registered target, in registration order (add_fuzz fills it).
FUZZ_ALL      :=
FUZZ_TARGETS  ?= $(FUZZ_ALL)

.PHONY: fuzz fuzz-build fuzz-list

ifeq ($(FUZZ_BUILD),1)
# The inner make: B is build/fuzz, CC clang, and everything (libraries
# included) is instrumented for libFuzzer, ASan and UBSan.
SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
       -fno-sanitize-recover=all
FUZZ_LINK_SAN := -fsanitize=fuzzer,address,undefined

define fuzz_rules
$(B)/fuzzers/$(1): $(patsubst %.c,$(B)/objs/%.o,$(2)) $(filter %.a,$(3))
	@mkdir -p $$(@D)
	$$(CC) $(FUZZ_LINK_SAN) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(3)

.PHONY: fuzz-run-$(1)
fuzz-run-$(1): $(B)/fuzzers/$(1)
	@mkdir -p $(B)/corpus/$(1) $(B)/artifacts/$(1)
	@echo "== fuzz $(1) for $(FUZZ_SECONDS)s (log: $(B)/logs/$(1).log)"
	@mkdir -p $(B)/logs $(B)/tmp
	@dict=$$$$(ls $(4)/$(1).dict 2>/dev/null); \
	TMPDIR=$(abspath $(B)/tmp) $(B)/fuzzers/$(1) -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) \
	  -rss_limit_mb=$(FUZZ_RSS_MB) -print_final_stats=1 \
	  -artifact_prefix=$(B)/artifacts/$(1)/ $$$${dict:+-dict=$$$$dict} $(FUZZ_FLAGS) \
	  $(B)/corpus/$(1) $(4)/corpus/$(1) > $(B)/logs/$(1).log 2>&1; \
	rc=$$$$?; grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' $(B)/logs/$(1).log | sed 's/^/   $(1): /'; \
	grep -o 'cov: [0-9]* ft: [0-9]*' $(B)/logs/$(1).log | tail -1 | sed 's/^/   $(1): /'; \
	if [ $$$$rc -ne 0 ]; then echo "FAIL: fuzz $(1) (exit $$$$rc); see $(B)/logs/$(1).log and $(B)/artifacts/$(1)/" >&2; \
	  grep -m5 -E 'ERROR|SUMMARY' $(B)/logs/$(1).log >&2; exit 1; fi
endef
else
fuzz_rules :=
endif

# $(call add_fuzz,name,sources,link): see the top of this file.
define add_fuzz
FUZZ_ALL += $(1)
$(call fuzz_rules,$(1),$(2),$(3),$(patsubst %/,%,$(dir $(firstword $(2)))))
endef

ifeq ($(FUZZ_BUILD),1)
# The outer make names the targets on the command line (this file is read
# before the fragments that register them).
fuzz-build: $(addprefix $(B)/fuzzers/,$(FUZZ_TARGETS))
fuzz: $(addprefix fuzz-run-,$(FUZZ_TARGETS))
else
# The outer make hands over to a clang build in its own tree.
fuzz fuzz-build:
	$(MAKE) FUZZ_BUILD=1 B=$(FUZZ_B) CC=$(FUZZ_CC) CFLAGS="-O1 -g" \
	  FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) \
	  FUZZ_TARGETS="$(FUZZ_TARGETS)" $@
endif

fuzz-list:
	@echo $(FUZZ_ALL)
