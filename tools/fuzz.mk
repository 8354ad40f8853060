# SPDX-License-Identifier: GPL-2.0-or-later
# Fuzzing: libFuzzer targets of the modules that read untrusted bytes, and
# the regression tests built from what they found.
#
#   make fuzz                          build every target with clang into
#                                      build/fuzz and run each for
#                                      FUZZ_SECONDS (60); any crash, leak,
#                                      timeout or sanitizer report fails
#   make -j2 fuzz FUZZ_SECONDS=600     two targets at a time, 10 minutes each
#   make fuzz FUZZ_TARGETS="vma_header case_parse"   only these
#   make fuzz-build                    build the targets, run nothing
#
# Targets (source, seed corpus, crash regressions):
#   vma_reader   lib/vma/fuzz/fuzz_vma_reader.c   a whole archive, restored
#   vma_header   lib/vma/fuzz/fuzz_vma_header.c   header parsing alone
#   case_parse   harness/fuzz/fuzz_case_parse.c   the case-file parser
#   sim_qmp      sim/fuzz/fuzz_sim_qmp.c          QMP scripts on a fresh simulator
#   ... and the targets module fragments add to FUZZ_MODULE_TARGETS (vma_cli:
#   lib/vma/fuzz/vma_cli_fuzz.mk)
# Each has its seed corpus in <module>/fuzz/corpus/<target>/. What a run
# adds to the corpus goes to build/fuzz/corpus/<target>/, crash inputs to
# build/fuzz/artifacts/<target>/: nothing is written into the source tree.
#
# A crash input is fixed in its module and copied to
# <module>/fuzz/regressions/; the cmocka tests below feed every file there
# to the same entry point with the normal build (gcc), so `make check` and
# `make memcheck` keep it fixed.

# clang's libFuzzer and sanitizer runtimes (not pulled in without recommends).
DEB_PACKAGES += clang libclang-rt-14-dev

# ---- regression tests (every build flavour) --------------------------------
# What linking the simulator takes (sim/sim.mk says, when it says).
FUZZ_SIM_LINK   := $(or $(SIM_LINK),$(B)/libsim.a $(B)/libcluster.a)
FUZZ_SIM_LDLIBS := $(or $(SIM_LDLIBS),$(JSONC_LIBS))
$(eval $(call add_test,vma_fuzz_regressions,lib/vma/fuzz/test_vma_fuzz_regressions.c lib/vma/fuzz/vma_fuzz.c,$(B)/libvma.a $(B)/libcluster.a,$(VMA_LIBS)))
$(eval $(call add_test,harness_fuzz_regressions,harness/fuzz/test_case_fuzz_regressions.c harness/fuzz/case_fuzz.c,$(B)/libharness.a $(B)/liboracle.a,$(JSONC_LIBS)))
$(eval $(call add_test,sim_fuzz_regressions,sim/fuzz/test_sim_fuzz_regressions.c sim/fuzz/sim_fuzz.c,$(FUZZ_SIM_LINK),$(FUZZ_SIM_LDLIBS)))

# ---- libFuzzer targets -----------------------------------------------------
FUZZ_B        := build/fuzz
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
# A single input that runs longer than this (seconds) is a finding.
FUZZ_TIMEOUT  ?= 10
FUZZ_RSS_MB   ?= 2048
FUZZ_TARGETS  ?= vma_reader vma_header case_parse sim_qmp $(FUZZ_MODULE_TARGETS)
FUZZ_FLAGS    ?=

fuzz_src_vma_reader  := lib/vma/fuzz/fuzz_vma_reader.c lib/vma/fuzz/vma_fuzz.c
fuzz_libs_vma_reader := $(B)/libvma.a $(B)/libcluster.a $(VMA_LIBS)
fuzz_dir_vma_reader  := lib/vma/fuzz
fuzz_src_vma_header  := lib/vma/fuzz/fuzz_vma_header.c lib/vma/fuzz/vma_fuzz.c
fuzz_libs_vma_header := $(fuzz_libs_vma_reader)
fuzz_dir_vma_header  := lib/vma/fuzz
fuzz_src_case_parse  := harness/fuzz/fuzz_case_parse.c harness/fuzz/case_fuzz.c
fuzz_libs_case_parse := $(B)/libharness.a $(B)/liboracle.a $(JSONC_LIBS)
fuzz_dir_case_parse  := harness/fuzz
fuzz_src_sim_qmp     := sim/fuzz/fuzz_sim_qmp.c sim/fuzz/sim_fuzz.c
fuzz_libs_sim_qmp    := $(FUZZ_SIM_LINK) $(FUZZ_SIM_LDLIBS)
fuzz_dir_sim_qmp     := sim/fuzz

.PHONY: fuzz fuzz-build $(addprefix fuzz-run-,$(FUZZ_TARGETS))

ifeq ($(FUZZ_BUILD),1)
# The inner make: B is build/fuzz, CC clang, and everything (libraries
# included) is instrumented for libFuzzer, ASan and UBSan.
SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
       -fno-sanitize-recover=all
FUZZ_LINK_SAN := -fsanitize=fuzzer,address,undefined

define fuzz_target
$(B)/fuzzers/$(1): $(patsubst %.c,$(B)/objs/%.o,$(fuzz_src_$(1))) $(filter %.a,$(fuzz_libs_$(1)))
	@mkdir -p $$(@D)
	$$(CC) $(FUZZ_LINK_SAN) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(fuzz_libs_$(1))

fuzz-run-$(1): $(B)/fuzzers/$(1)
	@mkdir -p $(B)/corpus/$(1) $(B)/artifacts/$(1)
	@echo "== fuzz $(1) for $(FUZZ_SECONDS)s (log: $(B)/logs/$(1).log)"
	@mkdir -p $(B)/logs $(B)/tmp
	@dict=$$$$(ls $(fuzz_dir_$(1))/$(1).dict 2>/dev/null); \
	TMPDIR=$(abspath $(B)/tmp) $(B)/fuzzers/$(1) -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) \
	  -rss_limit_mb=$(FUZZ_RSS_MB) -print_final_stats=1 \
	  -artifact_prefix=$(B)/artifacts/$(1)/ $$$${dict:+-dict=$$$$dict} $(FUZZ_FLAGS) \
	  $(B)/corpus/$(1) $(fuzz_dir_$(1))/corpus/$(1) > $(B)/logs/$(1).log 2>&1; \
	rc=$$$$?; grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' $(B)/logs/$(1).log | sed 's/^/   $(1): /'; \
	grep -o 'cov: [0-9]* ft: [0-9]*' $(B)/logs/$(1).log | tail -1 | sed 's/^/   $(1): /'; \
	if [ $$$$rc -ne 0 ]; then echo "FAIL: fuzz $(1) (exit $$$$rc); see $(B)/logs/$(1).log and $(B)/artifacts/$(1)/" >&2; \
	  grep -m5 -E 'ERROR|SUMMARY' $(B)/logs/$(1).log >&2; exit 1; fi
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))

fuzz-build: $(addprefix $(B)/fuzzers/,$(FUZZ_TARGETS))
fuzz: $(addprefix fuzz-run-,$(FUZZ_TARGETS))
else
# The outer make hands over to a clang build in its own tree.
fuzz fuzz-build:
	$(MAKE) FUZZ_BUILD=1 B=$(FUZZ_B) CC=$(FUZZ_CC) CFLAGS="-O1 -g" \
	  FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) \
	  FUZZ_TARGETS="$(FUZZ_TARGETS)" $@
endif
