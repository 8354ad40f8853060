#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print one line-coverage summary line per source directory from an lcov
.info file:  python3 tools/coverage_summary.py build/cov/coverage.info DIR...

With no DIR, every directory that has covered sources is listed."""
import os
import sys


def parse(info_path):
    """Yield (source path, lines found, lines hit) per record."""
    path, found, hit = None, 0, 0
    with open(info_path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("SF:"):
                path, found, hit = line[3:], 0, 0
            elif line.startswith("DA:"):
                found += 1
                if int(line[3:].split(",")[1]) > 0:
                    hit += 1
            elif line == "end_of_record" and path is not None:
                yield path, found, hit
                path = None


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: coverage_summary.py FILE.info [DIR...]\n")
        return 2
    root = os.getcwd()
    totals = {}
    for path, found, hit in parse(argv[1]):
        rel = os.path.relpath(path, root)
        d = os.path.dirname(rel)
        f, h = totals.get(d, (0, 0))
        totals[d] = (f + found, h + hit)
    dirs = argv[2:] or sorted(totals)
    for d in dirs:
        f, h = totals.get(d, (0, 0))
        pct = 100.0 * h / f if f else 0.0
        print(f"{d}: lines {h}/{f} ({pct:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
