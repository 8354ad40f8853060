# SPDX-License-Identifier: GPL-2.0-or-later
# tools: the real-QEMU driver and the differential run.
#
#   make conformance-qemu            every case on the simulator and on real
#                                    QEMU 7.2: sim vs golden, qemu vs golden,
#                                    sim vs qemu (TAP; no QEMU = SKIP)
#   make conformance-qemu CASES=cases/x.case QEMU_REPEAT=3
#                                    ... and QEMU must repeat itself 3 times
#   make bless-qemu CASE=cases/x.case   golden/x.out from real QEMU 7.2
#   make qemu-driver-test            self-test of tools/qemu_driver.py

DEB_PACKAGES += qemu-system-x86 qemu-utils

QEMU_DRIVER ?= tools/qemu_driver.py
CASES       ?= $(sort $(wildcard cases/*.case))
QEMU_REPEAT ?= 1

.PHONY: conformance-qemu bless-qemu qemu-driver-test

# harness/backend_qemu.c over the real driver (skips without QEMU).
$(eval $(call add_test,tools_backend_qemu,tools/tests/test_backend_qemu.c harness/backend_qemu.c,$(B)/libharness.a,$(JSONC_LIBS)))

conformance-qemu: $(B)/harness $(B)/vma   # vma-* cases run build/vma
	$(PYTHON) tools/tests/conformance_qemu.py --harness $(B)/harness \
	  --golden golden --out $(B)/conformance-qemu --repeat $(QEMU_REPEAT) $(CASES)

bless-qemu: $(B)/harness
	@test -n "$(CASE)" || { echo "usage: make bless-qemu CASE=cases/NAME.case" >&2; exit 2; }
	$(B)/harness --backend qemu --bless $(CASE)

qemu-driver-test:
	$(PYTHON) tools/tests/test_qemu_driver.py -v

# README: make check also holds the simulator against real QEMU when it is
# installed (without QEMU every QEMU comparison is a SKIP).
CHECK_EXTRA += qemu-driver-test conformance-qemu
