# SPDX-License-Identifier: GPL-2.0-or-later
# lib/cluster: the cluster engine (dirty bitmaps, copy state, copy-before-write, backup job).
CLUSTER_SRCS := $(wildcard lib/cluster/*.c)
$(eval $(call add_lib,cluster,$(CLUSTER_SRCS)))
COV_DIRS += lib/cluster

CLUSTER_LIB := $(B)/libcluster.a
CLUSTER_TESTS := $(basename $(notdir $(wildcard lib/cluster/tests/test_*.c)))
$(foreach t,$(CLUSTER_TESTS),$(eval $(call add_test,cluster_$(t),lib/cluster/tests/$(t).c,$(CLUSTER_LIB))))
$(eval $(call add_bench,bench_cluster,lib/cluster/bench/bench_cluster.c,$(CLUSTER_LIB)))
