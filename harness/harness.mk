# SPDX-License-Identifier: GPL-2.0-or-later
# harness: the scenario language, the interpreter, the iotests-style renderer,
# the diff, and $(B)/harness (the conformance runner).

# Everything but the entry point and the backends goes into a library, so
# unit tests can link it against a fake backend.
HARNESS_CORE_SRCS := $(filter-out harness/main.c harness/backends.c harness/backend_qemu.c,\
                       $(wildcard harness/*.c))
$(eval $(call add_lib,harness,$(HARNESS_CORE_SRCS)))

# The program links both backends: the simulator and real QEMU's driver.
$(eval $(call add_prog,harness,harness/main.c harness/backends.c harness/backend_qemu.c,\
  $(B)/libharness.a $(B)/liboracle.a $(SIM_LINK),$(SIM_LDLIBS) $(JSONC_LIBS)))
COV_DIRS += harness

# Unit tests (cmocka): each harness/tests/test_*.c with the fake backend.
$(foreach t,$(patsubst harness/tests/%.c,%,$(wildcard harness/tests/test_*.c)),\
  $(eval $(call add_test,harness_$(t),harness/tests/$(t).c harness/tests/fake_backend.c,\
    $(B)/libharness.a $(B)/liboracle.a,$(JSONC_LIBS))))

# Replay every case against the simulator and compare with its golden.
conformance: $(B)/harness $(B)/vma   # vma-* cases run build/vma
	$(TEST_WRAPPER) $(B)/harness --tap $(sort $(wildcard cases/*.case))

# The real-QEMU backend against fake drivers (and the qemu_driver fuzz
# target's seeds and regressions).
$(eval $(call add_test,harness_qemu_driver_fuzz,harness/fuzz/test_qemu_driver_fuzz.c \
  harness/fuzz/qemu_driver_fuzz.c harness/backend_qemu.c,$(B)/libharness.a,$(JSONC_LIBS)))
# test_signal_cleanup runs the program itself.
$(B)/tests/harness_test_signal_cleanup: | $(B)/harness
