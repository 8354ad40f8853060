#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Time every case on each backend, side by side (make bench).

  python3 tools/bench_conformance.py --harness build/harness [--runs N]
      [--conformance-cmd "make -s conformance"] CASE...

For the simulator: the median wall time of N whole-process runs (default 10)
and the peak RSS of the harness process. For real QEMU 7.2 (when installed):
the wall time of one run (257: the median of three). Then the targets of the performance issue, each
with PASS or FAIL, every baseline measured in this same run:
  - cases/257.case: median <= 20 ms, and >= 250x faster than real QEMU;
  - the same procedure on an 8 GiB image: <= 1.5x the 64 MiB replay;
  - peak RSS <= 32 MiB for both;
  - with valgrind installed, the 8 GiB ratio again in instructions (callgrind,
    one run each), which does not depend on the machine's load;
  - the conformance command (make conformance) under 3 s.
The 8 GiB variant is cases/257.case run with -D SIZE=8 GiB. Its transcript
has no golden in golden/: the first run blesses one into a scratch
directory and the timed runs compare against it, so they also check that
the replay is deterministic.
The exit status is non-zero only if a run fails.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests"))
from conformance_qemu import qemu_missing, qemu_skip_reason  # noqa: E402  (shared rules)

TARGET_MS = 20.0
TARGET_RSS_MIB = 32.0
TARGET_SPEEDUP = 250.0
TARGET_BIG_RATIO = 1.5
TARGET_CONFORMANCE_S = 3.0
QEMU_RUNS_257 = 3      # real QEMU runs of 257 whose median is the speed-up's baseline
BIG_SIZE = "8 * 1024 * 1024 * 1024"


def peak_rss(cmd):
    """Peak RSS (MiB) of one run of cmd, measured by GNU time: the rusage of
    a child forked from this Python process also counts the pages it had
    before exec (some 15 MiB of interpreter), which would hide the figure."""
    gnu_time = "/usr/bin/time"
    if not os.access(gnu_time, os.X_OK):
        return run_once(cmd)[1]     # an upper bound
    r = subprocess.run([gnu_time, "-f", "maxrss %M"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    lines = r.stderr.decode(errors="replace").strip().splitlines()
    if r.returncode != 0 or not lines or not lines[-1].startswith("maxrss "):
        raise RuntimeError(f"{' '.join(cmd)} under {gnu_time}: exit {r.returncode}")
    return int(lines[-1].split()[1]) / 1024.0


def instructions(cmd):
    """Instructions one run of cmd executes, counted by valgrind's callgrind:
    unlike wall time, the same on a loaded machine as on an idle one. None
    without valgrind."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        return None
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as tmp:
        r = subprocess.run([valgrind, "--tool=callgrind",
                            f"--callgrind-out-file={tmp}/callgrind.out"] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} under callgrind: exit {r.returncode}")
        with open(f"{tmp}/callgrind.out") as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    raise RuntimeError(f"{' '.join(cmd)} under callgrind: no instruction count")


def timed_runs(cmd, runs):
    """Median wall seconds of runs whole-process runs, and the peak RSS (MiB).
    The median CPU time (user + system) goes to timed_runs.cpu: on a loaded
    machine it shows what the wall time would be without waiting for a CPU."""
    walls, cpus = [], []
    for _ in range(runs):
        walls.append(run_once(cmd)[0])
        cpus.append(run_once.cpu)
    timed_runs.cpu = statistics.median(cpus)
    return statistics.median(walls), peak_rss(cmd)


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
    run_once.cpu = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--harness", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--no-qemu", action="store_true", help="simulator only")
    ap.add_argument("--conformance-cmd", help="command whose wall time is the conformance target")
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()

    have_qemu = not args.no_qemu and qemu_missing() is None
    try:
        load = " (load average %.1f on %d CPUs)" % (os.getloadavg()[0], os.cpu_count())
    except OSError:
        load = ""
    print(f"wall times are medians of {args.runs} whole-process runs{load}")
    print(f"{'case':<16} {'sim ms':>9} {'cpu ms':>8} {'sim RSS MiB':>12} {'qemu s':>9} {'qemu/sim':>9}")
    verdicts = []
    base_257 = None
    for case in args.cases:
        name = os.path.splitext(os.path.basename(case))[0]
        sim_s, sim_rss = timed_runs([args.harness, case], args.runs)
        qemu_s = None
        skip_why = qemu_skip_reason(case)
        if skip_why:
            print(f"  ({name} not run on QEMU: {skip_why})")
        elif have_qemu:
            qemu_cmd = [args.harness, "--backend", "qemu", "--print", case]
            if name == "257":
                # the target's baseline: a median, as real QEMU's time varies
                qemu_s = statistics.median(run_once(qemu_cmd)[0] for _ in range(QEMU_RUNS_257))
            else:
                qemu_s, _ = run_once(qemu_cmd)
        ratio = qemu_s / sim_s if qemu_s else None
        qemu_col = f"{qemu_s:>9.2f}" if qemu_s is not None else f"{'-':>9}"
        ratio_col = f"{ratio:>8.0f}x" if ratio is not None else f"{'-':>9}"
        print(f"{name:<16} {sim_s * 1000:>9.1f} {timed_runs.cpu * 1000:>8.1f} {sim_rss:>12.1f} "
              f"{qemu_col} {ratio_col}")
        if name == "257":
            base_257 = (case, sim_s, sim_rss)
            verdicts.append((f"257 replay, median of {args.runs}", f"{sim_s * 1000:.1f} ms",
                             f"<= {TARGET_MS:.0f} ms", sim_s * 1000 <= TARGET_MS))
            verdicts.append(("257 replay peak RSS", f"{sim_rss:.1f} MiB",
                             f"<= {TARGET_RSS_MIB:.0f} MiB", sim_rss <= TARGET_RSS_MIB))
            if ratio is not None:
                verdicts.append(("257 speed-up over real QEMU",
                                 f"{ratio:.0f}x ({qemu_s:.2f} s, median of {QEMU_RUNS_257})",
                                 f">= {TARGET_SPEEDUP:.0f}x", ratio >= TARGET_SPEEDUP))
            else:
                verdicts.append(("257 speed-up over real QEMU", "n/a",
                                 "QEMU not installed", None))
    if base_257:
        case, small_s, _ = base_257
        scratch = tempfile.mkdtemp(prefix="bench-257-8g-")
        try:
            # the same case with -D SIZE=...: its transcript is blessed into
            # the scratch directory, which the timed runs compare against
            big = [args.harness, "-D", f"SIZE={BIG_SIZE}", "--golden-dir", scratch, case]
            run_once(big[:1] + ["--bless"] + big[1:])
            big_s, big_rss = timed_runs(big, args.runs)
            big_cpu = timed_runs.cpu
            small_ins = instructions([args.harness, case])
            big_ins = instructions(big) if small_ins is not None else None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        print(f"{'257-8g (bench)':<16} {big_s * 1000:>9.1f} {big_cpu * 1000:>8.1f} "
              f"{big_rss:>12.1f}")
        if small_ins is not None:
            print(f"instructions (callgrind, one run): 257 {small_ins / 1e6:.1f} M, "
                  f"257-8g {big_ins / 1e6:.1f} M")
        verdicts.append(("257 on 8 GiB vs 64 MiB", f"{big_s / small_s:.2f}x ({big_s * 1000:.0f} ms)",
                         f"<= {TARGET_BIG_RATIO}x", big_s / small_s <= TARGET_BIG_RATIO))
        if small_ins is not None:
            # the same ratio in instructions, which the machine's load leaves alone
            verdicts.append(("  the same in instructions", f"{big_ins / small_ins:.2f}x",
                             f"<= {TARGET_BIG_RATIO}x", big_ins / small_ins <= TARGET_BIG_RATIO))
        verdicts.append(("257 on 8 GiB peak RSS", f"{big_rss:.1f} MiB",
                         f"<= {TARGET_RSS_MIB:.0f} MiB", big_rss <= TARGET_RSS_MIB))
    if args.conformance_cmd:
        start = time.perf_counter()
        r = subprocess.run(args.conformance_cmd, shell=True, stdout=subprocess.DEVNULL)
        took = time.perf_counter() - start
        if r.returncode != 0:
            raise RuntimeError(f"{args.conformance_cmd} exited {r.returncode}")
        verdicts.append(("make conformance", f"{took:.2f} s", f"< {TARGET_CONFORMANCE_S:.0f} s",
                         took < TARGET_CONFORMANCE_S))
    for what, value, target, ok in verdicts:
        state = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
        print(f"{what:<30} {value:>20}   target {target}: {state}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        sys.stderr.write(f"bench_conformance: {e}\n")
        sys.exit(1)
