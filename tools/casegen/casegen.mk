# SPDX-License-Identifier: GPL-2.0-or-later
# tools/casegen: build/casegen, the case generator, and the generated-case checks.
#
#   build/casegen --seed S --count N --out DIR [--profile NAME]
#   make gencheck        GEN_N generated cases (fixed seed) on the simulator

$(eval $(call add_lib,gen,tools/casegen/casegen.c tools/casegen/casegen_jobs.c tools/casegen/casegen_graph.c))
$(eval $(call add_prog,casegen,tools/casegen/casegen_main.c,$(B)/libgen.a $(B)/libharness.a $(B)/liboracle.a,$(JSONC_LIBS)))
$(eval $(call add_test,test_casegen,tools/casegen/tests/test_casegen.c,$(B)/libgen.a $(B)/libharness.a $(B)/liboracle.a,$(JSONC_LIBS)))
COV_DIRS += tools/casegen

# A fixed-seed batch on the simulator: every case must run to its end with
# every oracle check OK! (harness --self-check). Fast: ~2 s for 500.
GEN_SEED ?= 2026
GEN_N    ?= 500
.PHONY: gencheck
gencheck: $(B)/casegen $(B)/harness
	@rm -rf $(B)/gencheck
	$(B)/casegen --seed $(GEN_SEED) --count $(GEN_N) --out $(B)/gencheck --quiet
	@out=$$($(TEST_WRAPPER) $(B)/harness --self-check $(B)/gencheck/*.case 2>&1); st=$$?; \
	  printf '%s\n' "$$out" | grep -v '^PASS '; \
	  echo "gencheck: $(GEN_N) generated cases (seed $(GEN_SEED)) on the simulator"; exit $$st
CHECK_EXTRA += gencheck

# The differential run: N generated cases on the simulator and twice on real
# QEMU 7.2; divergences minimised into $(B)/difftest/ (tools/difftest.py).
#   make difftest N=50 SEED=7 [PROFILE=backup] [SHARD=2/4]
N    ?= 30
SEED ?= 1
.PHONY: difftest
difftest: $(B)/casegen $(B)/harness
	$(PYTHON) tools/difftest.py --harness $(B)/harness --casegen $(B)/casegen \
	  --seed $(SEED) --count $(N) --out $(B)/difftest \
	  $(if $(PROFILE),--profile $(PROFILE)) $(if $(SHARD),--shard $(SHARD))

# make bench: 10,000 generated cases on the simulator, in one process.
$(eval $(call add_bench,bench_casegen,tools/casegen/bench/bench_casegen.c,\
  $(B)/libgen.a $(B)/libharness.a $(B)/liboracle.a $(SIM_LINK),$(SIM_LDLIBS)))

# harness --explore on the simulator (links the real backends).
$(eval $(call add_test,test_explore,tools/casegen/tests/test_explore.c harness/backends.c harness/backend_qemu.c,\
  $(B)/libharness.a $(B)/liboracle.a $(SIM_LINK),$(SIM_LDLIBS)))
$(eval $(call add_bench,bench_explore,tools/casegen/bench/bench_explore.c harness/backends.c harness/backend_qemu.c,\
  $(B)/libharness.a $(B)/liboracle.a $(SIM_LINK),$(SIM_LDLIBS)))

# tools/difftest.py's own tests (no QEMU needed).
.PHONY: difftest-selftest
difftest-selftest:
	$(PYTHON) tools/tests/test_difftest.py
CHECK_EXTRA += difftest-selftest
