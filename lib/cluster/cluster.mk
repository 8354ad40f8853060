# SPDX-License-Identifier: GPL-2.0-or-later
# lib/cluster: the cluster engine (dirty bitmaps, copy state, copy-before-write, backup job).
CLUSTER_SRCS := $(wildcard lib/cluster/*.c)
$(eval $(call add_lib,cluster,$(CLUSTER_SRCS)))
COV_DIRS += lib/cluster
