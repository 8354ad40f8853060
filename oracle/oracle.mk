# SPDX-License-Identifier: GPL-2.0-or-later
# oracle: the naive expected-bitmap model behind the transcript's checks.
ORACLE_SRCS := $(wildcard oracle/*.c)
$(eval $(call add_lib,oracle,$(ORACLE_SRCS)))
COV_DIRS += oracle

$(foreach t,$(patsubst oracle/tests/%.c,%,$(wildcard oracle/tests/test_*.c)),\
  $(eval $(call add_test,oracle_$(t),oracle/tests/$(t).c,$(B)/liboracle.a)))
