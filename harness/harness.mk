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

# The NBD cases again, with the real qemu-io / qemu-img (qemu-utils) as
# clients of the simulator's socket instead of the internal ones; reported
# as skipped where they are not installed.
NBD_CASES := $(sort $(shell grep -l -e nbd-server-start -e block-export-add cases/*.case))
.PHONY: conformance-real-clients
conformance-real-clients: $(B)/harness $(B)/vma
	$(TEST_WRAPPER) $(B)/harness --tap --nbd-clients real $(NBD_CASES)
CHECK_EXTRA += conformance-real-clients
