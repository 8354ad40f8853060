#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Interoperability between lib/vma (build/vma, the round-trip tests) and the
# independent Python implementation tools/vma_reader.py:
#   1. every archive the C round-trip tests make is verified and extracted by
#      Python, and the extraction compared with the expected files;
#   2. archives made by `vma create` (cluster engine) are read by Python;
#   3. archives written by Python (in order and shuffled) are verified and
#      extracted by `vma`, and compared with the sources.
#
# usage: lib/vma/tests/interop.sh [BUILD_DIR]      (run from the repo root)
set -eu

B=${1:-build}
PY=${PYTHON:-python3}
VMA=$B/vma
PYVMA="$PY tools/vma_reader.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/vma-interop.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

fail() { echo "interop: FAIL: $*" >&2; exit 1; }

# 1. C round-trip archives -> Python
mkdir "$T/rt"
VMA_INTEROP_DIR=$T/rt "$B/tests/vma_roundtrip" >/dev/null 2>&1 || fail "vma_roundtrip failed"
n=0
for a in "$T"/rt/*.vma; do
    $PYVMA verify "$a" || fail "python verify rejected $a"
    $PYVMA extract "$a" "$T/py-out" || fail "python extract failed on $a"
    diff -r "$T/py-out" "${a%.vma}.expect" >/dev/null || fail "python extract of $a differs"
    # and from a pipe
    $PYVMA verify - < "$a" || fail "python verify from a pipe rejected $a"
    rm -rf "$T/py-out"
    n=$((n + 1))
done
[ "$n" -ge 10 ] || fail "only $n round-trip archives"

# Sources for the tool-level checks: odd sizes, sparse, random, zero, vmstate.
head -c 1 /dev/urandom > "$T/one.raw"
head -c 65535 /dev/urandom > "$T/k64m1.raw"
head -c 65537 /dev/urandom > "$T/k64p1.raw"
truncate -s 33554432 "$T/sparse.raw"
printf 'data-in-the-middle' | dd of="$T/sparse.raw" bs=1 seek=20000000 conv=notrunc 2>/dev/null
head -c 1000000 /dev/zero > "$T/zero.raw"
head -c 300000 /dev/urandom > "$T/vmstate.bin"
printf 'name: vm\nmemory: 1024\n' > "$T/qemu-server.conf"
IMAGES="one=$T/one.raw k64m1=$T/k64m1.raw k64p1=$T/k64p1.raw sparse=$T/sparse.raw zero=$T/zero.raw vmstate=$T/vmstate.bin"

check_dir() {   # dir: compare an extraction with the sources
    for d in one k64m1 k64p1 sparse zero; do
        # QEMU's size: the file rounded up to 512, the padding zero
        sz=$(stat -c %s "$T/$d.raw")
        [ "$(stat -c %s "$1/disk-$d.raw")" = $(( (sz + 511) / 512 * 512 )) ] \
            || fail "$1/disk-$d.raw has the wrong size"
        cmp -s -n "$sz" "$1/disk-$d.raw" "$T/$d.raw" || fail "$1/disk-$d.raw differs"
        [ -z "$(tail -c +$((sz + 1)) "$1/disk-$d.raw" | tr -d '\000')" ] \
            || fail "$1/disk-$d.raw: padding not zero"
    done
    cmp -s -n 300000 "$1/vmstate.bin" "$T/vmstate.bin" || fail "$1/vmstate.bin differs"
    cmp -s "$1/qemu-server.conf" "$T/qemu-server.conf" || fail "$1/qemu-server.conf differs"
}

# 2. vma create -> Python
"$VMA" create -c "$T/qemu-server.conf" "$T/c.vma" $IMAGES || fail "vma create"
$PYVMA verify "$T/c.vma" || fail "python verify of vma create output"
$PYVMA extract "$T/c.vma" "$T/c-py" || fail "python extract of vma create output"
check_dir "$T/c-py"
[ "$($PYVMA list "$T/c.vma" | sed '$d')" = "$("$VMA" list "$T/c.vma" | sed '$d')" ] \
    || fail "list output differs"

# 3. Python create -> vma
for shuffle in 0 7 12345; do
    $PYVMA create -c "$T/qemu-server.conf" --shuffle $shuffle --extent-clusters 5 \
        "$T/p$shuffle.vma" $IMAGES || fail "python create"
    "$VMA" verify "$T/p$shuffle.vma" || fail "vma verify rejected python archive $shuffle"
    "$VMA" extract "$T/p$shuffle.vma" "$T/p$shuffle-out" || fail "vma extract $shuffle"
    check_dir "$T/p$shuffle-out"
    "$VMA" extract - "$T/p$shuffle-pipe" < "$T/p$shuffle.vma" || fail "vma extract from a pipe"
    check_dir "$T/p$shuffle-pipe"
done

# Config-only archives, both ways.
"$VMA" create -c "$T/qemu-server.conf" "$T/cfg.vma" || fail "vma create config-only"
$PYVMA verify "$T/cfg.vma" || fail "python rejected a config-only archive"
$PYVMA extract "$T/cfg.vma" "$T/cfg-py" || fail "python extract config-only"
cmp -s "$T/cfg-py/qemu-server.conf" "$T/qemu-server.conf" || fail "python config-only config"
$PYVMA create -c "$T/qemu-server.conf" "$T/pcfg.vma" || fail "python create config-only"
cmp -s "$T/pcfg.vma" "$T/cfg.vma" && fail "two archives with the same uuid?"
[ "$(stat -c %s "$T/pcfg.vma")" = "$(stat -c %s "$T/cfg.vma")" ] || fail "config-only layouts differ"
"$VMA" verify "$T/pcfg.vma" || fail "vma rejected python's config-only archive"
"$VMA" extract "$T/pcfg.vma" "$T/pcfg-out" || fail "vma extract of python's config-only archive"
cmp -s "$T/pcfg-out/qemu-server.conf" "$T/qemu-server.conf" || fail "config-only config from python"

# A Python archive with a flipped data-free header byte is rejected by vma.
cp "$T/p0.vma" "$T/bad.vma"
printf '\001' | dd of="$T/bad.vma" bs=1 seek=100 conv=notrunc 2>/dev/null
if "$VMA" verify "$T/bad.vma" 2>/dev/null; then fail "vma accepted a corrupt header"; fi
if $PYVMA verify "$T/bad.vma" 2>/dev/null; then fail "python accepted a corrupt header"; fi

echo "interop: OK ($n round-trip archives, vma->python, python->vma)"
