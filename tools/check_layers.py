#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hold sim/ to its layers: a file may use only its own layer and the ones
below it (sim/README.md draws them).

Two checks, both against the table LAYERS below:
  includes  every sim/*.c and sim/*.h: no #include "sim/X.h" (or "X.h") of a
            higher layer;
  calls     with --objs DIR (the built sim objects): no undefined symbol of an
            object that a higher layer's object defines (nm), so a call
            upward cannot hide behind a declaration in a lower header.
A sim/ file in no layer is an error too: a new file says where it belongs.

usage: check_layers.py [--objs DIR] [SIMDIR]
Exit 0 when clean, 1 with one line per violation, 2 on a usage error.
"""
import fnmatch
import os
import re
import subprocess
import sys

# Bottom up. A name is a file's base name without .c/.h (patterns allowed).
LAYERS = [
    ("base", ["util", "error", "data", "qapi", "machine", "event", "schedule"]),
    ("files", ["store", "fs", "l2_map", "qcow2_snapshot", "vmdk_image"]),
    ("graph", ["node", "blockdev", "dirty_bitmap", "persist", "qcow2_meta",
               "qcow2_bitmap", "drv_*", "blkdebug_break", "copy_before_write", "snapshot_access",
               "throttle"]),
    ("backends", ["blk", "drive", "device", "drive_add"]),
    ("jobs", ["job", "job_*", "backup", "backup_error", "create", "commit", "commit_active", "stream",
              "drive_backup", "mirror", "copy_merge", "backup_workers", "pve_backup"]),
    ("commands", ["qmp", "qmp_*", "transaction", "snapshot", "reopen", "resize",
                  "hmp", "nbd", "nbd_server", "qemu_nbd", "drv_nbd", "iothread",
                  "tools", "qemu_img", "qemu_img_create", "qemu_img_bitmap", "qemu_img_proc", "qemu_img_commit", "qemu_img_snapshot", "qemu_img_check", "runstate", "schedule_io"]),
    ("backend", ["backend_sim", "sim_int"]),
]

# "sim/X.h", or "X.h" beside the file (the same header, found relative to it)
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"(?:sim/)?([A-Za-z0-9_]+)\.h"', re.M)


def layer_of(name, layers=LAYERS):
    """(index, layer name) of a file base name, or None."""
    for i, (lname, members) in enumerate(layers):
        # exact names win over patterns of lower layers ("job" vs "job_*")
        if name in members:
            return i, lname
    for i, (lname, members) in enumerate(layers):
        if any(fnmatch.fnmatchcase(name, m) for m in members):
            return i, lname
    return None


def check_includes(simdir, layers=LAYERS):
    errors = []
    for fn in sorted(os.listdir(simdir)):
        base, ext = os.path.splitext(fn)
        if ext not in (".c", ".h"):
            continue
        path = os.path.join(simdir, fn)
        mine = layer_of(base, layers)
        if mine is None:
            errors.append(f"{path}: in no layer; add '{base}' to LAYERS in tools/check_layers.py")
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            inc = m.group(1)
            theirs = layer_of(inc, layers)
            line = text.count("\n", 0, m.start()) + 1
            if theirs is None:
                errors.append(f"{path}:{line}: includes sim/{inc}.h, which is in no layer")
            elif theirs[0] > mine[0]:
                errors.append(f"{path}:{line}: layer '{mine[1]}' includes sim/{inc}.h of "
                              f"higher layer '{theirs[1]}'")
    return errors


def nm_symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRCGS":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
    return defined, undefined


def check_calls(objdir, layers=LAYERS, simdir=None):
    """simdir: only objects of its .c files count (a renamed file leaves a
    stale object behind in the build tree)."""
    errors = []
    owner, needs = {}, {}
    for fn in sorted(os.listdir(objdir)):
        if not fn.endswith(".o"):
            continue
        base = fn[:-2]
        if simdir and not os.path.exists(os.path.join(simdir, base + ".c")):
            continue
        defined, undefined = nm_symbols(os.path.join(objdir, fn))
        for sym in defined:
            owner[sym] = base
        needs[base] = undefined
    for base, undefined in sorted(needs.items()):
        mine = layer_of(base, layers)
        if mine is None:
            errors.append(f"{objdir}/{base}.o: in no layer; add '{base}' to LAYERS "
                          "in tools/check_layers.py")
            continue
        for sym in sorted(undefined):
            other = owner.get(sym)
            if other is None or other == base:
                continue
            theirs = layer_of(other, layers)
            if theirs is not None and theirs[0] > mine[0]:
                errors.append(f"sim/{base}.c: layer '{mine[1]}' calls {sym}() of "
                              f"sim/{other}.c in higher layer '{theirs[1]}'")
    return errors


def main(argv):
    args = argv[1:]
    objdir = None
    if args[:1] == ["--objs"]:
        if len(args) < 2:
            print(__doc__, file=sys.stderr)
            return 2
        objdir = args[1]
        args = args[2:]
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print(__doc__, file=sys.stderr)
        return 2
    simdir = args[0] if args else "sim"
    errors = check_includes(simdir)
    if objdir:
        errors += check_calls(objdir, simdir=simdir)
    for e in errors:
        print(e)
    if errors:
        print(f"check_layers: {len(errors)} violation(s); the layers are in sim/README.md",
              file=sys.stderr)
        return 1
    print(f"check_layers: {simdir} keeps its layers" + (" (includes and calls)" if objdir else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
