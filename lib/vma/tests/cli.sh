#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The `vma` command: exit codes, output formats, stdin/stdout, map files,
# and no partial archive or directory left behind on failure.
#
# usage: lib/vma/tests/cli.sh [BUILD_DIR]      (run from the repo root)
set -eu

B=${1:-build}
VMA=$B/vma
T=$(mktemp -d "${TMPDIR:-/tmp}/vma-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

fail() { echo "cli: FAIL: $*" >&2; exit 1; }
expect_rc() {   # rc command...: run, require exit status rc
    want=$1; shift
    set +e; "$@" >"$T/out" 2>"$T/err"; rc=$?; set -e
    [ "$rc" = "$want" ] || { cat "$T/err" >&2; fail "'$*' exited $rc, expected $want"; }
}
contains() { grep -q -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }

# Usage and help.
expect_rc 2 "$VMA"
expect_rc 0 "$VMA" --help; contains "$T/out" "vma extract"
expect_rc 0 "$VMA" help
expect_rc 0 "$VMA" create --help
expect_rc 2 "$VMA" bogus; contains "$T/err" "unknown command 'bogus'"
expect_rc 2 "$VMA" list
expect_rc 2 "$VMA" list -x a.vma
expect_rc 2 "$VMA" config
expect_rc 2 "$VMA" config -z a.vma
expect_rc 2 "$VMA" create "$T/x.vma"
expect_rc 2 "$VMA" create -q "$T/x.vma" a
expect_rc 2 "$VMA" create --speed 12Q "$T/x.vma" "$T/nothing"
expect_rc 2 "$VMA" extract "$T/x.vma"
expect_rc 2 "$VMA" extract -k "$T/x.vma" "$T/d"
expect_rc 2 "$VMA" verify
expect_rc 2 "$VMA" verify -k "$T/x.vma"
[ ! -e "$T/x.vma" ] || fail "usage error created an archive"

# Sources.
head -c 200000 /dev/urandom > "$T/a.raw"
truncate -s 5000000 "$T/b.raw"
printf 'abc' | dd of="$T/b.raw" bs=1 seek=4000000 conv=notrunc 2>/dev/null
head -c 70000 /dev/urandom > "$T/vm.bin"
printf 'memory: 512\n' > "$T/qemu-server.conf"
printf 'fw\n' > "$T/qemu-server.fw"

# create, with options; list/config/verify.
expect_rc 0 "$VMA" create -v --speed 1G -c "$T/qemu-server.conf" -c "$T/qemu-server.fw" \
    "$T/x.vma" drive-scsi0="$T/a.raw" "$T/b.raw" vmstate="$T/vm.bin"
contains "$T/err" "image drive-scsi0: size=200000 zeros=0 saved=200000"
contains "$T/err" "progress 100%"
expect_rc 0 "$VMA" list "$T/x.vma"
contains "$T/out" "^CFG: size: 12 name: qemu-server.conf$"
contains "$T/out" "^CFG: size: 3 name: qemu-server.fw$"
contains "$T/out" "^DEV: dev_id=1 size: 200000 devname: drive-scsi0$"
contains "$T/out" "^DEV: dev_id=2 size: 5000000 devname: disk1$"
contains "$T/out" "^VMSTATE: dev_id=3 memory: 70000$"
[ "$(tail -n 1 "$T/out" | cut -c1-7)" = "CTIME: " ] || fail "CTIME is not the last line"
expect_rc 0 "$VMA" config "$T/x.vma"
cmp -s "$T/out" "$T/qemu-server.conf" || fail "vma config output"
expect_rc 0 "$VMA" config -c qemu-server.fw "$T/x.vma"
cmp -s "$T/out" "$T/qemu-server.fw" || fail "vma config -c output"
expect_rc 0 "$VMA" config -a "$T/x.vma"
[ "$(cat "$T/out")" = "$(cat "$T/qemu-server.conf" "$T/qemu-server.fw")" ] || fail "config -a"
expect_rc 1 "$VMA" config -c nope "$T/x.vma"; contains "$T/err" "unable to find configuration data 'nope'"
expect_rc 0 "$VMA" verify -v "$T/x.vma"; contains "$T/err" "archive is valid"
expect_rc 0 "$VMA" verify - < "$T/x.vma"
expect_rc 0 "$VMA" list - < "$T/x.vma"

# create refuses an existing archive and leaves it alone.
echo keep > "$T/exists.vma"
expect_rc 1 "$VMA" create "$T/exists.vma" "$T/a.raw"
[ "$(cat "$T/exists.vma")" = keep ] || fail "existing archive overwritten"
# a failing create leaves nothing: missing image, bad config, duplicate name
expect_rc 1 "$VMA" create "$T/y.vma" "$T/a.raw" "$T/missing.raw"; contains "$T/err" "missing.raw"
expect_rc 1 "$VMA" create -c "$T/nope.conf" "$T/y.vma" "$T/a.raw"
expect_rc 1 "$VMA" create "$T/y.vma" d="$T/a.raw" d="$T/b.raw"; contains "$T/err" "registered twice"
expect_rc 1 "$VMA" create "$T/y.vma" "$T/a.raw" =x
[ ! -e "$T/y.vma" ] || fail "failed create left an archive"
ls -a "$T" | grep -q 'vma-tmp' && fail "temporary left behind"

# create to stdout, extract from stdin.
"$VMA" create - "$T/a.raw" > "$T/s.vma" || fail "create to stdout"
"$VMA" extract - "$T/s" < "$T/s.vma" || fail "extract from stdin"
cmp -s "$T/s/disk-disk0.raw" "$T/a.raw" || fail "stdout/stdin round trip"

# extract: layout, sparse output, refuses an existing directory.
expect_rc 0 "$VMA" extract -v "$T/x.vma" "$T/ex/"
contains "$T/out" "DEVINFO"
cmp -s "$T/ex/disk-drive-scsi0.raw" "$T/a.raw" || fail "disk a"
cmp -s "$T/ex/disk-disk1.raw" "$T/b.raw" || fail "disk b"
cmp -s "$T/ex/vmstate.bin" "$T/vm.bin" || fail "vmstate"
cmp -s "$T/ex/qemu-server.fw" "$T/qemu-server.fw" || fail "config file"
[ "$(du -k "$T/ex/disk-disk1.raw" | cut -f1)" -lt 100 ] || fail "restored image is not sparse"
expect_rc 1 "$VMA" extract "$T/x.vma" "$T/ex"; contains "$T/err" "already exists"

# A 5 GiB sparse image: offsets past 2^31 and 2^32, holes stay holes.
truncate -s 5368709120 "$T/big.raw"
for off in 0 2147483653 4295067296 5368709117; do
    printf 'MRK' | dd of="$T/big.raw" bs=1 seek=$off conv=notrunc 2>/dev/null
done
expect_rc 0 "$VMA" create "$T/big.vma" big="$T/big.raw"
[ "$(stat -c %s "$T/big.vma")" -lt 4000000 ] || fail "sparse image made a large archive"
expect_rc 0 "$VMA" extract "$T/big.vma" "$T/big"
[ "$(stat -c %s "$T/big/disk-big.raw")" = 5368709120 ] || fail "big image size"
[ "$(du -k "$T/big/disk-big.raw" | cut -f1)" -lt 1000 ] || fail "big image is not sparse"
for off in 0 2147483653 4295067296 5368709117; do
    [ "$(dd if="$T/big/disk-big.raw" bs=1 skip=$off count=3 2>/dev/null)" = MRK ] \
        || fail "marker at $off"
done
[ "$(dd if="$T/big/disk-big.raw" bs=1 skip=4295067299 count=8 2>/dev/null | od -An -tx1 | tr -d ' ')" \
    = 0000000000000000 ] || fail "zeroes after a marker"
rm -rf "$T/big" "$T/big.vma" "$T/big.raw"

# A corrupt archive: extract leaves no directory, no temporary.
cp "$T/x.vma" "$T/bad.vma"
truncate -s -1000 "$T/bad.vma"
expect_rc 1 "$VMA" extract "$T/bad.vma" "$T/bad-out"; contains "$T/err" "truncated extent"
[ ! -e "$T/bad-out" ] || fail "failed extract left its directory"
ls -a "$T" | grep -q 'vma-tmp' && fail "failed extract left a temporary directory"
expect_rc 1 "$VMA" verify "$T/bad.vma"
expect_rc 1 "$VMA" list "$T/nonexistent.vma"

# Map file: restore one disk to a chosen path (existing, with zeroes), skip one.
head -c 5000000 /dev/urandom > "$T/target-b.raw"
printf '0:drive-scsi0=%s\n1:disk1=%s\ndone\n' "$T/mapped-a.raw" "$T/target-b.raw" > "$T/map"
expect_rc 0 "$VMA" extract -r "$T/map" "$T/x.vma" "$T/m"
contains "$T/out" "^DEV: dev_id=1"
cmp -s "$T/mapped-a.raw" "$T/a.raw" || fail "mapped disk a"
cmp -s "$T/target-b.raw" "$T/b.raw" || fail "mapped disk b with zeroes over old data"
printf 'format=raw:0:drive-scsi0=%s\nskip=disk1\n' "$T/mapped2.raw" > "$T/map2"
expect_rc 0 "$VMA" extract -r "$T/map2" "$T/x.vma" "$T/m2"
cmp -s "$T/mapped2.raw" "$T/a.raw" || fail "mapped2"
# bad map lines, unmapped devices: failure, and created targets are removed
printf 'garbage\n' > "$T/map3"
expect_rc 1 "$VMA" extract -r "$T/map3" "$T/x.vma" "$T/m3"; contains "$T/err" "line 1"
printf '0:drive-scsi0=%s\n' "$T/mapped3.raw" > "$T/map4"
expect_rc 1 "$VMA" extract -r "$T/map4" "$T/x.vma" "$T/m4"; contains "$T/err" "no line for device 'disk1'"
[ ! -e "$T/mapped3.raw" ] || fail "failed mapped extract left its created target"
expect_rc 1 "$VMA" extract -r "$T/nomap" "$T/x.vma" "$T/m5"
printf '0:drive-scsi0=%s\nskip=disk1\n' "$T/mapped6.raw" > "$T/map6"
expect_rc 1 "$VMA" extract -r "$T/map6" "$T/bad.vma" "$T/m6"
[ ! -e "$T/mapped6.raw" ] || fail "failed mapped extract left its created target"
[ ! -e "$T/m6" ] || fail "failed mapped extract left its directory"

echo "cli: OK"
