# SPDX-License-Identifier: GPL-2.0-or-later
# sim: the deterministic in-memory model of QEMU 7.2's block layer
# (bs_backend_sim_new, see harness/backend.h).
SIM_SRCS := $(wildcard sim/*.c)
$(eval $(call add_lib,sim,$(SIM_SRCS)))
COV_DIRS += sim

# What a program that links the simulator needs: the VMA backup
# (sim/pve_backup.c) brings lib/vma and its libraries.
SIM_LINK := $(B)/libsim.a $(B)/libvma.a $(B)/libcluster.a
SIM_LDLIBS := $(VMA_LIBS) $(JSONC_LIBS)
SIM_TEST_LIBS := $(SIM_LINK)
# The NBD server's tests speak to it through libnbd too, when libnbd-dev is
# installed (without it those tests report SKIPPED). nbdinfo (libnbd-bin)
# and qemu-img / qemu-io (qemu-utils) are the real clients of the cases.
DEB_PACKAGES += libnbd-dev libnbd-bin qemu-utils
NBD_LIBS := $(shell pkg-config --libs libnbd 2>/dev/null)
$(foreach t,$(patsubst sim/tests/%.c,%,$(wildcard sim/tests/test_*.c)),\
  $(eval $(call add_test,sim_$(t),sim/tests/$(t).c,$(SIM_TEST_LIBS),$(SIM_LDLIBS) \
    $(if $(filter test_nbd_server,$(t)),$(NBD_LIBS)))))
$(B)/objs/sim/tests/test_nbd_server.o: ALL_CFLAGS += $(if $(NBD_LIBS),-DBLOCKSIM_HAVE_LIBNBD)

# Fuzzing (tools/fuzz.mk): QMP scripts on a fresh simulator, and the
# regression test that replays their findings.
$(eval $(call add_fuzz,sim_qmp,sim/fuzz/fuzz_sim_qmp.c sim/fuzz/sim_fuzz.c,$(SIM_LINK) $(SIM_LDLIBS)))
$(eval $(call add_test,sim_fuzz_regressions,sim/fuzz/test_sim_fuzz_regressions.c sim/fuzz/sim_fuzz.c,$(SIM_LINK),$(SIM_LDLIBS)))


# The layers of sim/ (sim/README.md): no file includes or calls a higher
# layer's (tools/check_layers.py, with its own test).
.PHONY: check-layers
check-layers: $(B)/libsim.a
	$(PYTHON) tools/tests/test_check_layers.py
	$(PYTHON) tools/check_layers.py --objs $(B)/objs/sim sim
CHECK_EXTRA += check-layers
