# SPDX-License-Identifier: GPL-2.0-or-later
# lib/vma's fuzz target for the vma command line and restore maps (issue
# 14), owned by the module: tools/fuzz.mk's generic rule builds and runs it
# (make fuzz FUZZ_TARGETS=vma_cli), and its regression test is in make check.
$(eval $(call add_fuzz,vma_cli,lib/vma/fuzz/fuzz_vma_cli.c lib/vma/fuzz/vma_cli_fuzz.c,$(VMA_LINK) $(VMA_LIBS)))
$(eval $(call add_test,vma_cli_fuzz_regressions,lib/vma/fuzz/test_vma_cli_fuzz_regressions.c lib/vma/fuzz/vma_cli_fuzz.c,$(VMA_LINK),$(VMA_LIBS)))
