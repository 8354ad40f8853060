# SPDX-License-Identifier: GPL-2.0-or-later
# lib/vma: the VMA archive codec, its cluster-engine glue, the `vma` tool,
# tests and benchmark.
VMA_SRCS := $(wildcard lib/vma/*.c)
VMA_LIBS := -lmd -luuid -lzstd -lz -llzo2 -lpthread
VMA_LINK := $(B)/libvma.a $(B)/libcluster.a
$(eval $(call add_lib,vma,$(VMA_SRCS)))
COV_DIRS += lib/vma
DEB_PACKAGES += libmd-dev uuid-dev libzstd-dev zlib1g-dev liblzo2-dev zstd gzip lzop

# The command-line tool (sources under tools/, rule kept here).
$(eval $(call add_prog,vma,tools/vma.c,$(VMA_LINK),$(VMA_LIBS)))

# cmocka suites.
VMA_TEST_COMMON := lib/vma/tests/vma_test_util.c
$(eval $(call add_test,vma_roundtrip,lib/vma/tests/test_roundtrip.c $(VMA_TEST_COMMON),$(VMA_LINK),$(VMA_LIBS)))
$(eval $(call add_test,vma_reject,lib/vma/tests/test_reject.c $(VMA_TEST_COMMON),$(VMA_LINK),$(VMA_LIBS) -lpthread))
$(eval $(call add_test,vma_pit,lib/vma/tests/test_pit.c $(VMA_TEST_COMMON),$(VMA_LINK),$(VMA_LIBS)))
$(eval $(call add_test,vma_writer,lib/vma/tests/test_writer.c $(VMA_TEST_COMMON),$(VMA_LINK),$(VMA_LIBS)))
$(eval $(call add_test,vma_ops,lib/vma/tests/test_ops.c $(VMA_TEST_COMMON),$(VMA_LINK),$(VMA_LIBS)))
$(eval $(call add_test,vma_cli,lib/vma/tests/test_cli.c $(VMA_TEST_COMMON),$(VMA_LINK),$(VMA_LIBS)))
$(eval $(call add_test,vma_fastpaths,lib/vma/tests/test_fastpaths.c $(VMA_TEST_COMMON),$(VMA_LINK),$(VMA_LIBS)))
$(eval $(call add_test,vma_bounds,lib/vma/tests/test_bounds.c $(VMA_TEST_COMMON),$(VMA_LINK),$(VMA_LIBS)))

# Shell-level tests (lib/vma/tests/cli.sh, interop.sh) wrapped for `make check`;
# they run $(B)/vma and $(B)/tests/vma_roundtrip.
$(eval $(call add_test,vma_scripts,lib/vma/tests/test_scripts.c,,))
$(B)/tests/vma_scripts: $(B)/vma $(B)/tests/vma_roundtrip

# `make bench`: 2 GiB create/extract beside cp, .zst extract beside the pipe, in
# rounds (VMA_BENCH_MB, VMA_BENCH_ROUNDS to change).
$(eval $(call add_bench,vma,lib/vma/bench/bench_vma.c,$(VMA_LINK),$(VMA_LIBS)))

# Fuzzing (tools/fuzz.mk): the archive reader and the header parser, and the
# regression test that replays their findings.
$(eval $(call add_fuzz,vma_reader,lib/vma/fuzz/fuzz_vma_reader.c lib/vma/fuzz/vma_fuzz.c,$(VMA_LINK) $(VMA_LIBS)))
$(eval $(call add_fuzz,vma_header,lib/vma/fuzz/fuzz_vma_header.c lib/vma/fuzz/vma_fuzz.c,$(VMA_LINK) $(VMA_LIBS)))
$(eval $(call add_test,vma_fuzz_regressions,lib/vma/fuzz/test_vma_fuzz_regressions.c lib/vma/fuzz/vma_fuzz.c,$(VMA_LINK),$(VMA_LIBS)))
# The vma_cli fuzz target and its regression test.
include lib/vma/fuzz/vma_cli_fuzz.mk
