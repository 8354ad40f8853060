# SPDX-License-Identifier: GPL-2.0-or-later
# lib/vma's fuzz target for the vma command line and restore maps (issue
# 14), owned by the module: tools/fuzz.mk's generic rule builds and runs it
# (make fuzz FUZZ_TARGETS=vma_cli), and its regression test is in make check.
FUZZ_MODULE_TARGETS += vma_cli
fuzz_src_vma_cli  := lib/vma/fuzz/fuzz_vma_cli.c lib/vma/fuzz/vma_cli_fuzz.c
fuzz_libs_vma_cli := $(B)/libvma.a $(B)/libcluster.a $(VMA_LIBS)
fuzz_dir_vma_cli  := lib/vma/fuzz

$(eval $(call add_test,vma_cli_fuzz_regressions,lib/vma/fuzz/test_vma_cli_fuzz_regressions.c lib/vma/fuzz/vma_cli_fuzz.c,$(VMA_LINK),$(VMA_LIBS)))
