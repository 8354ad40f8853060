# SPDX-License-Identifier: GPL-2.0-or-later
# sim: the deterministic in-memory model of QEMU 7.2's block layer
# (bs_backend_sim_new, see harness/backend.h).
SIM_SRCS := $(wildcard sim/*.c)
$(eval $(call add_lib,sim,$(SIM_SRCS)))
COV_DIRS += sim

SIM_TEST_LIBS := $(B)/libsim.a $(B)/libcluster.a
$(foreach t,$(patsubst sim/tests/%.c,%,$(wildcard sim/tests/test_*.c)),\
  $(eval $(call add_test,sim_$(t),sim/tests/$(t).c,$(SIM_TEST_LIBS),$(JSONC_LIBS))))
