#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The differential run: every case on the simulator and on real QEMU 7.2.

    conformance_qemu.py --harness build/harness [--out DIR] [--repeat N] CASE...

For each case prints one TAP line per comparison:
    sim vs golden, qemu vs golden, sim vs qemu
(`ok`, `not ok` with the first differing line, or `ok ... # SKIP reason`
when a side could not run: a case that cannot run for want of QEMU is
skipped, never passed). With --repeat N, QEMU runs N times and its
transcripts must agree with each other (an extra `qemu repeatable` line).
A case with a comment line `# conformance-qemu: skip REASON` is not run on
QEMU (e.g. 223: its golden is QEMU 2018's, with commands 7.2 lacks); its
qemu comparisons are skipped with that reason.
Transcripts land in --out as NAME.sim.out, NAME.qemu.out (NAME.qemu.K.out).
With --shard K/M only every M-th case from the K-th on runs, so M jobs of
a CI matrix share a batch. Exit status: 1 if any comparison failed, else 0.
"""

import argparse
import os
import shutil
import subprocess
import sys


def qemu_missing():
    for prog in ("qemu-system-x86_64", "qemu-img"):
        if shutil.which(prog) is None:
            return "%s not installed" % prog
    return None


def qemu_skip_reason(case):
    """The case's own reason not to run on QEMU 7.2, or None."""
    with open(case, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("# conformance-qemu: skip"):
                return line.split("skip", 1)[1].strip() or "the case says so"
    return None


def run(harness, backend, case, out_path, timeout):
    """Transcript text, or None and a reason.

    The harness compares with a golden whenever it runs, so it is asked to
    bless into a scratch directory instead: it exits 0 exactly when the case
    ran to its end, whatever the golden says."""
    scratch = out_path + ".d"
    os.makedirs(scratch, exist_ok=True)
    try:
        p = subprocess.run([harness, "--backend", backend, "--print", "--bless",
                            "--golden-dir", scratch, case],
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timed out after %ds" % timeout
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    with open(out_path, "wb") as f:
        f.write(p.stdout)
    if p.returncode != 0:
        err = [l for l in p.stderr.decode("utf-8", "replace").splitlines()
               if "error" in l or "fail" in l.lower()]
        return None, "exit %d: %s" % (p.returncode, err[0] if err else "no message")
    return p.stdout.decode("utf-8", "replace"), None


def first_diff(a, b):
    """None if equal, else a one-line description of the first difference."""
    if a == b:
        return None
    la, lb = a.split("\n"), b.split("\n")
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return "line %d: %r != %r" % (i + 1, x[:100], y[:100])
    n = min(len(la), len(lb))
    longer = la if len(la) > len(lb) else lb
    return "line %d: one side ends; other has %r" % (n + 1, longer[n][:100])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--golden", default="golden")
    ap.add_argument("--out", default="build/conformance-qemu")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--shard", default="1/1",
                    help="K/M: run only the cases at positions K-1 modulo M (a CI matrix job)")
    ap.add_argument("cases", nargs="+")
    a = ap.parse_args()
    try:
        k, m = (int(x) for x in a.shard.split("/"))
        assert 1 <= k <= m
    except (ValueError, AssertionError):
        ap.error("--shard wants K/M with 1 <= K <= M")
    a.cases = [c for i, c in enumerate(a.cases) if i % m == k - 1]
    os.makedirs(a.out, exist_ok=True)

    no_qemu = qemu_missing()
    tests, failed = 0, 0
    lines = []

    def report(ok, what, note=""):
        nonlocal tests, failed
        tests += 1
        if ok is None:
            lines.append("ok %d - %s # SKIP %s" % (tests, what, note))
        elif ok:
            lines.append("ok %d - %s" % (tests, what))
        else:
            failed += 1
            lines.append("not ok %d - %s" % (tests, what))
            lines.append("  # %s" % note)
        print(lines[-1] if ok is not False else "\n".join(lines[-2:]), flush=True)

    print("TAP version 13", flush=True)
    print("1..%d" % (len(a.cases) * (3 + (a.repeat > 1))), flush=True)
    for case in a.cases:
        name = os.path.splitext(os.path.basename(case))[0]
        golden_path = os.path.join(a.golden, name + ".out")
        golden = None
        if os.path.exists(golden_path):
            with open(golden_path, encoding="utf-8", errors="replace") as f:
                golden = f.read()
        sim, sim_why = run(a.harness, "sim", case, os.path.join(a.out, name + ".sim.out"), a.timeout)
        qemu, qemu_why = None, None
        qruns = []
        skip_why = no_qemu or qemu_skip_reason(case)
        if not skip_why:
            for k in range(a.repeat):
                suffix = ".qemu.out" if k == 0 else ".qemu.%d.out" % k
                t, why = run(a.harness, "qemu", case, os.path.join(a.out, name + suffix), a.timeout)
                if t is None:
                    qemu, qemu_why = None, why
                    qruns = []
                    break
                qruns.append(t)
            if qruns:
                qemu = qruns[0]

        # Each side: (text, None) or (None, ("skip"|"fail", reason)).
        g = (golden, None) if golden is not None else (None, ("skip", "no golden"))
        sm = (sim, None) if sim is not None else (None, ("fail", "simulator " + sim_why))
        if skip_why:
            qm = (None, ("skip", skip_why))
        elif qemu is None:
            qm = (None, ("fail", "qemu " + qemu_why))
        else:
            qm = (qemu, None)

        def cmp(x, y, what):
            if x[0] is None or y[0] is None:
                kind, reason = x[1] if x[0] is None else y[1]
                report(None if kind == "skip" else False, what, reason)
                return
            d = first_diff(x[0], y[0])
            report(d is None, what, d or "")

        cmp(sm, g, "%s: sim vs golden" % name)
        cmp(qm, g, "%s: qemu vs golden" % name)
        cmp(sm, qm, "%s: sim vs qemu" % name)
        if a.repeat > 1:
            what = "%s: qemu repeatable x%d" % (name, a.repeat)
            if qm[0] is None:
                report(None if qm[1][0] == "skip" else False, what, qm[1][1])
            else:
                bad = [k for k in range(1, len(qruns)) if qruns[k] != qruns[0]]
                report(not bad, what, "run %d: %s" % (bad[0] + 1, first_diff(qruns[0], qruns[bad[0]]))
                       if bad else "")
    print("# %d comparisons, %d failed" % (tests, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
