#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Differential run of generated cases: the simulator against real QEMU 7.2.

    difftest.py --harness build/harness --casegen build/casegen \
                --seed S --count N [--profile P] [--shard K/M] [--out DIR]

Generates N cases (build/casegen), then runs each on the simulator and twice
on real QEMU. A case whose two QEMU transcripts differ is unstable and set
aside. A stable case whose simulator transcript differs from QEMU's is a
divergence, unless its first differing lines match a signature in
golden/FINDINGS.md (a known QEMU nondeterminism or bug): those are counted
on their own line. Each divergence is minimised by delta debugging (drop
steps, then single writes, then halve the image size, while the divergence
keeps its signature) and written to DIR/NAME/: case.case (minimised),
original.case, sim.out, qemu.out, first-diff.txt.

With --shard K/M only the cases whose index is K-1 modulo M run, so a CI
matrix of M jobs covers a batch once. The last line is
    difftest: N generated, S stable, I identical, D diverged, U unstable
and the exit status is 1 when D > 0.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

QEMU_TIMEOUT = 300


def run(harness, backend, text, work, name):
    """(transcript, completed) of the case text on a backend."""
    path = os.path.join(work, name + ".case")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    try:
        p = subprocess.run([harness, "--backend", backend, "--self-check", "--print", path],
                           capture_output=True, timeout=QEMU_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "<timed out after %ds>\n" % QEMU_TIMEOUT, False
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    # a runtime error is part of what the backend did: keep it, minus paths
    for line in err.splitlines():
        if "runtime error" in line:
            out += "<" + line.split("runtime error:", 1)[1].strip() + ">\n"
    return out, p.returncode == 0


def first_diff(a, b):
    """(line number, line of a, line of b) of the first difference, or None."""
    la, lb = a.split("\n"), b.split("\n")
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "<end of transcript>"
        y = lb[i] if i < len(lb) else "<end of transcript>"
        if x != y:
            return i + 1, x, y
    return None


def signature(d):
    """What makes two divergences the same: the differing lines, numbers aside."""
    return re.sub(r"\d+", "#", d[1]), re.sub(r"\d+", "#", d[2])


def load_findings(path):
    """[(regex, title)] from the findings file's 'Signature:' lines."""
    found = []
    if not os.path.exists(path):
        return found
    title = "?"
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                title = line[3:].strip()
            m = re.match(r"^Signature: `(.+)`\s*$", line)
            if m:
                found.append((re.compile(m.group(1)), title))
    return found


def known(findings, d):
    text = "SIM: %s\nQEMU: %s" % (d[1], d[2])
    for rx, title in findings:
        if rx.search(text):
            return title
    return None


def split_steps(text):
    """(prefix, [step chunk]) at the '# step N:' lines; chunk 0 is the setup."""
    lines = text.splitlines(keepends=True)
    prefix, chunks = [], []
    for line in lines:
        if line.startswith("# step "):
            chunks.append([line])
        elif chunks:
            chunks[-1].append(line)
        else:
            prefix.append(line)
    return "".join(prefix), ["".join(c) for c in chunks]


class Minimiser:
    def __init__(self, harness, work, name, sig, budget):
        self.harness, self.work, self.name, self.sig = harness, work, name, sig
        self.budget = budget

    def diverges(self, text):
        """Does the case still diverge the same way? Costs one QEMU run."""
        if self.budget <= 0:
            return False
        self.budget -= 1
        sim, _ = run(self.harness, "sim", text, self.work, self.name + ".min")
        qemu, _ = run(self.harness, "qemu", text, self.work, self.name + ".min")
        d = first_diff(sim, qemu)
        return d is not None and signature(d) == self.sig

    def ddmin_steps(self, text):
        prefix, chunks = split_steps(text)
        setup, steps = chunks[:1], chunks[1:]
        n = 2
        while len(steps) >= 1 and self.budget > 0:
            size = max(1, len(steps) // n)
            reduced = False
            for start in range(0, len(steps), size):
                trial = steps[:start] + steps[start + size:]
                if self.diverges(prefix + "".join(setup + trial)):
                    steps, n, reduced = trial, max(n - 1, 2), True
                    break
            if not reduced:
                if size == 1:
                    break
                n = min(len(steps), 2 * n)
        return prefix + "".join(setup + steps)

    def drop_writes(self, text):
        """Drop single writes of each group line."""
        lines = text.split("\n")
        for i, line in enumerate(lines):
            m = re.match(r'^(\s*group \S+ =)((?: \S+)+)$', line)
            if not m:
                continue
            items = m.group(2).split()
            k = 0
            while len(items) > 1 and k < len(items) and self.budget > 0:
                trial = items[:k] + items[k + 1:]
                cand = lines[:i] + [m.group(1) + " " + " ".join(trial)] + lines[i + 1:]
                if self.diverges("\n".join(cand)):
                    items, lines = trial, cand
                else:
                    k += 1
        return "\n".join(lines)

    def shrink_size(self, text):
        """Halve the image while the divergence stays."""
        while self.budget > 0:
            m = re.search(r"^let SIZE = (\d+)$", text, re.M)
            if not m or int(m.group(1)) <= 1 << 20:
                return text
            cand = text[:m.start(1)] + str(int(m.group(1)) // 2) + text[m.end(1):]
            if not self.diverges(cand):
                return text
            text = cand
        return text

    def minimise(self, text):
        text = self.ddmin_steps(text)
        text = self.drop_writes(text)
        return self.shrink_size(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    ap.add_argument("--casegen", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--profile", default="mixed")
    ap.add_argument("--shard", default="1/1")
    ap.add_argument("--out", default="build/difftest")
    ap.add_argument("--findings", default="golden/FINDINGS.md")
    ap.add_argument("--budget", type=int, default=40, help="QEMU runs per minimisation")
    ap.add_argument("cases", nargs="*", help="run these case files instead of generating")
    a = ap.parse_args()
    m = re.match(r"^(\d+)/(\d+)$", a.shard)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        ap.error("--shard wants K/M with 1 <= K <= M")
    k, nshards = int(m.group(1)), int(m.group(2))
    if shutil.which("qemu-system-x86_64") is None or shutil.which("qemu-img") is None:
        print("difftest: real QEMU 7.2 is not installed", file=sys.stderr)
        return 2

    gen_dir = os.path.join(a.out, "cases")
    work = os.path.join(a.out, "work")
    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(work)
    if a.cases:
        os.makedirs(gen_dir)
        for c in a.cases:
            shutil.copy(c, gen_dir)
    else:
        p = subprocess.run([a.casegen, "--seed", str(a.seed), "--count", str(a.count),
                            "--profile", a.profile, "--out", gen_dir],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stderr, file=sys.stderr)
            return 2
        with open(os.path.join(a.out, "coverage.txt"), "w") as f:
            f.write(p.stdout)
    findings = load_findings(a.findings)

    names = sorted(f[:-5] for f in os.listdir(gen_dir) if f.endswith(".case"))
    mine = [n for i, n in enumerate(names) if i % nshards == k - 1]
    stable = identical = diverged = unstable = known_n = oracle = 0
    for name in mine:
        with open(os.path.join(gen_dir, name + ".case"), encoding="utf-8") as f:
            text = f.read()
        sim, sim_ok = run(a.harness, "sim", text, work, name)
        q1, _ = run(a.harness, "qemu", text, work, name)
        q2, _ = run(a.harness, "qemu", text, work, name)
        if q1 != q2:
            unstable += 1
            d = first_diff(q1, q2)
            print("unstable %s: QEMU line %d: %r vs %r" % (name, d[0], d[1], d[2]))
            continue
        stable += 1
        if not sim_ok and sim == q1:
            oracle += 1     # both backends fail a check: the generator's prediction
            print("oracle %s: a check fails on both backends" % name)
        d = first_diff(sim, q1)
        if d is None:
            identical += 1
            continue
        title = known(findings, d)
        if title:
            known_n += 1
            print("known %s: %s" % (name, title))
            continue
        diverged += 1
        print("DIVERGED %s at line %d\n  sim:  %s\n  qemu: %s" % (name, d[0], d[1], d[2]))
        mini = Minimiser(a.harness, work, name, signature(d), a.budget).minimise(text)
        msim, _ = run(a.harness, "sim", mini, work, name + ".min")
        mqemu, _ = run(a.harness, "qemu", mini, work, name + ".min")
        md = first_diff(msim, mqemu) or d
        dest = os.path.join(a.out, name)
        os.makedirs(dest, exist_ok=True)
        for fname, body in (("case.case", mini), ("original.case", text), ("sim.out", msim),
                            ("qemu.out", mqemu),
                            ("first-diff.txt", "line %d\nSIM: %s\nQEMU: %s\n" % md)):
            with open(os.path.join(dest, fname), "w", encoding="utf-8") as f:
                f.write(body)
        print("  minimised: %s (%d of %d lines)" % (os.path.join(dest, "case.case"),
                                                  mini.count("\n"), text.count("\n")))
    shutil.rmtree(work, ignore_errors=True)
    if known_n:
        print("difftest: %d known divergences (%s)" % (known_n, a.findings))
    if oracle:
        print("difftest: %d cases whose checks fail on both backends" % oracle)
    print("difftest: %d generated, %d stable, %d identical, %d diverged, %d unstable"
          % (len(mine), stable, identical, diverged, unstable))
    return 1 if diverged else 0


if __name__ == "__main__":
    sys.exit(main())
