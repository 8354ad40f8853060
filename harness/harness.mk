# SPDX-License-Identifier: GPL-2.0-or-later
# harness: the scenario language, the interpreter, the iotests-style renderer,
# the diff, and $(B)/harness (the conformance runner).

harness_objs = $(patsubst %.c,$(B)/objs/%.o,$(1))

# Everything but the entry point and the backends goes into a library, so
# unit tests can link it against a fake backend.
HARNESS_CORE_SRCS := $(filter-out harness/main.c harness/backends.c harness/backend_qemu.c,\
                       $(wildcard harness/*.c))
$(B)/libharness.a: $(call harness_objs,$(HARNESS_CORE_SRCS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
LIBS += $(B)/libharness.a

# The program links both backends: the simulator and real QEMU's driver.
HARNESS_PROG_SRCS := harness/main.c harness/backends.c harness/backend_qemu.c
HARNESS_LINK := $(B)/libharness.a $(B)/liboracle.a $(SIM_LINK)
$(B)/harness: $(call harness_objs,$(HARNESS_PROG_SRCS)) $(HARNESS_LINK)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(HARNESS_LINK) $(SIM_LDLIBS) $(JSONC_LIBS)
PROGS += $(B)/harness
COV_DIRS += harness

# Unit tests (cmocka): each harness/tests/test_*.c with the fake backend.
HARNESS_TEST_LINK := $(B)/libharness.a $(B)/liboracle.a
define harness_test
$(B)/tests/harness_$(1): $(call harness_objs,harness/tests/$(1).c harness/tests/fake_backend.c) $(HARNESS_TEST_LINK)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(HARNESS_TEST_LINK) -lcmocka $(JSONC_LIBS)
UNIT_TESTS += $(B)/tests/harness_$(1)
endef
$(foreach t,$(patsubst harness/tests/%.c,%,$(wildcard harness/tests/test_*.c)),\
  $(eval $(call harness_test,$(t))))

# Replay every case against the simulator and compare with its golden.
conformance: $(B)/harness $(B)/vma   # vma-* cases run build/vma
	$(TEST_WRAPPER) $(B)/harness --tap $(sort $(wildcard cases/*.case))
