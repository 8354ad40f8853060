# SPDX-License-Identifier: GPL-2.0-or-later
# harness: the scenario language, the interpreter, the iotests-style renderer,
# the diff, and $(B)/harness (the conformance runner).

# Everything but the entry point and the backends goes into a library, so
# unit tests can link it against a fake backend.
HARNESS_CORE_SRCS := $(filter-out harness/main.c harness/backends.c harness/backend_qemu.c,\
                       $(wildcard harness/*.c))
$(eval $(call add_lib,harness,$(HARNESS_CORE_SRCS)))

# A replay builds and frees some 150,000 small JSON objects and strings:
# mimalloc (Debian's libmimalloc) serves them at a fraction of glibc
# malloc's cost (make bench). Sanitizer and coverage builds keep glibc's:
# ASan brings its own allocator. Without the library, glibc's is used.
DEB_PACKAGES += libmimalloc-dev
MIMALLOC_SO := $(shell $(CC) -print-file-name=libmimalloc.so)
MIMALLOC_LINK := -Wl,--push-state,--no-as-needed -lmimalloc -Wl,--pop-state
HARNESS_MALLOC_LIBS := $(if $(SAN),,$(if $(filter /%,$(MIMALLOC_SO)),$(MIMALLOC_LINK)))

# The program links both backends: the simulator and real QEMU's driver.
$(eval $(call add_prog,harness,harness/main.c harness/backends.c harness/backend_qemu.c,\
  $(B)/libharness.a $(B)/liboracle.a $(SIM_LINK),$(HARNESS_MALLOC_LIBS) $(SIM_LDLIBS) $(JSONC_LIBS)))
COV_DIRS += harness

# Unit tests (cmocka): each harness/tests/test_*.c with the fake backend.
$(foreach t,$(patsubst harness/tests/%.c,%,$(wildcard harness/tests/test_*.c)),\
  $(eval $(call add_test,harness_$(t),harness/tests/$(t).c harness/tests/fake_backend.c,\
    $(B)/libharness.a $(B)/liboracle.a,$(JSONC_LIBS))))

# Replay every case against the simulator and compare with its golden, a
# few processes at a time (the report keeps the cases' order).
CONFORMANCE_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
conformance: $(B)/harness $(B)/vma   # vma-* cases run build/vma
	$(TEST_WRAPPER) $(B)/harness -j $(CONFORMANCE_JOBS) --tap $(sort $(wildcard cases/*.case))
# test_signal_cleanup runs the program itself.
$(B)/tests/harness_test_signal_cleanup: | $(B)/harness

# Fuzzing (tools/fuzz.mk): the case parser, the real-QEMU backend reading a
# fake driver's answers, the golden diff; each with the cmocka test that
# replays its seeds and findings (the QEMU one also checks every field of
# the driver's messages against fake drivers).
$(eval $(call add_fuzz,case_parse,harness/fuzz/fuzz_case_parse.c harness/fuzz/case_fuzz.c,\
  $(B)/libharness.a $(B)/liboracle.a $(JSONC_LIBS)))
$(eval $(call add_test,harness_fuzz_regressions,harness/fuzz/test_case_fuzz_regressions.c \
  harness/fuzz/case_fuzz.c,$(B)/libharness.a $(B)/liboracle.a,$(JSONC_LIBS)))
$(eval $(call add_fuzz,qemu_driver,harness/fuzz/fuzz_qemu_driver.c harness/fuzz/qemu_driver_fuzz.c \
  harness/backend_qemu.c,$(B)/libharness.a $(JSONC_LIBS)))
$(eval $(call add_test,harness_qemu_driver_fuzz,harness/fuzz/test_qemu_driver_fuzz.c \
  harness/fuzz/qemu_driver_fuzz.c harness/backend_qemu.c,$(B)/libharness.a,$(JSONC_LIBS)))
$(eval $(call add_fuzz,golden_diff,harness/fuzz/fuzz_golden_diff.c harness/fuzz/golden_diff_fuzz.c,\
  $(B)/libharness.a))
$(eval $(call add_test,harness_golden_diff_fuzz,harness/fuzz/test_golden_diff_fuzz.c \
  harness/fuzz/golden_diff_fuzz.c,$(B)/libharness.a,))

# The NBD cases again, with the real qemu-io / qemu-img (qemu-utils) as
# clients of the simulator's socket instead of the internal ones; reported
# as skipped where they are not installed.
NBD_CASES := $(sort $(shell grep -l -e nbd-server-start -e block-export-add -e "^ *qemu_nbd " cases/*.case))
.PHONY: conformance-real-clients
conformance-real-clients: $(B)/harness $(B)/vma
	$(TEST_WRAPPER) $(B)/harness -j $(CONFORMANCE_JOBS) --tap --nbd-clients real $(NBD_CASES)
CHECK_EXTRA += conformance-real-clients
