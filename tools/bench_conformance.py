#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Time every case on each backend, side by side (make bench).

  python3 tools/bench_conformance.py --harness build/harness [--runs N] CASE...

For the simulator: best wall time of N runs and the peak RSS of the harness
process. For real QEMU 7.2 (when installed): the wall time of one run. The
simulator's figures for cases/257.case are held against the targets of the
conformance issue: under 100 ms, under 64 MiB, at least 50x faster than QEMU.
The verdicts are printed; the exit status is non-zero only if a run fails.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests"))
from conformance_qemu import qemu_missing, qemu_skip_reason  # noqa: E402  (shared rules)

TARGET_MS = 100.0
TARGET_RSS_MIB = 64.0
TARGET_SPEEDUP = 50.0


def run_once(cmd):
    """Wall seconds and peak RSS (MiB) of one run of cmd; output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {stderr.strip()[:500]}")
    return wall, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--harness", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-qemu", action="store_true", help="simulator only")
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()

    have_qemu = not args.no_qemu and qemu_missing() is None
    print(f"{'case':<16} {'sim ms':>9} {'sim RSS MiB':>12} {'qemu s':>9} {'qemu/sim':>9}")
    verdicts = []
    for case in args.cases:
        name = os.path.splitext(os.path.basename(case))[0]
        sim_cmd = [args.harness, "--print", case]
        runs = [run_once(sim_cmd) for _ in range(args.runs)]
        sim_s = min(w for w, _ in runs)
        sim_rss = max(r for _, r in runs)
        qemu_s = None
        skip_why = qemu_skip_reason(case)
        if skip_why:
            print(f"  ({name} not run on QEMU: {skip_why})")
        elif have_qemu:
            qemu_s, _ = run_once([args.harness, "--backend", "qemu", "--print", case])
        ratio = qemu_s / sim_s if qemu_s else None
        qemu_col = f"{qemu_s:>9.2f}" if qemu_s is not None else f"{'-':>9}"
        ratio_col = f"{ratio:>8.0f}x" if ratio is not None else f"{'-':>9}"
        print(f"{name:<16} {sim_s * 1000:>9.1f} {sim_rss:>12.1f} {qemu_col} {ratio_col}")
        if name == "257":
            verdicts.append(("257 replay wall time", f"{sim_s * 1000:.1f} ms",
                             f"< {TARGET_MS:.0f} ms", sim_s * 1000 < TARGET_MS))
            verdicts.append(("257 replay peak RSS", f"{sim_rss:.1f} MiB",
                             f"< {TARGET_RSS_MIB:.0f} MiB", sim_rss < TARGET_RSS_MIB))
            if ratio is not None:
                verdicts.append(("257 speed-up over real QEMU", f"{ratio:.0f}x",
                                 f">= {TARGET_SPEEDUP:.0f}x", ratio >= TARGET_SPEEDUP))
            else:
                verdicts.append(("257 speed-up over real QEMU", "n/a",
                                 "QEMU not installed", None))
    for what, value, target, ok in verdicts:
        state = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
        print(f"{what:<30} {value:>12}   target {target}: {state}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        sys.stderr.write(f"bench_conformance: {e}\n")
        sys.exit(1)
