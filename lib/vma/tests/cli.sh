#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The `vma` command: exit codes, output formats, stdin/stdout, map files,
# and no partial archive or directory left behind on failure.
#
# usage: lib/vma/tests/cli.sh [BUILD_DIR]      (run from the repo root)
set -eu

B=${1:-build}
VMA=$(cd "$B" && pwd)/vma
T=$(mktemp -d "${TMPDIR:-/tmp}/vma-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

fail() { echo "cli: FAIL: $*" >&2; exit 1; }
expect_rc() {   # rc command...: run, require exit status rc
    want=$1; shift
    set +e; "$@" >"$T/out" 2>"$T/err"; rc=$?; set -e
    [ "$rc" = "$want" ] || { cat "$T/err" >&2; fail "'$*' exited $rc, expected $want"; }
}
contains() { grep -q -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }

# Usage: Proxmox's help text on stdout, exit 1; our reason on stderr.
expect_rc 1 "$VMA"; contains "$T/out" "^usage: vma command"
expect_rc 0 "$VMA" --help; contains "$T/out" "vma extract"
expect_rc 0 "$VMA" help
expect_rc 0 "$VMA" create --help
expect_rc 1 "$VMA" bogus; contains "$T/err" "unknown command 'bogus'"; contains "$T/out" "^usage:"
expect_rc 1 "$VMA" list
expect_rc 1 "$VMA" list -x a.vma; contains "$T/err" "unknown option '-x'"
expect_rc 1 "$VMA" config
expect_rc 1 "$VMA" config -z a.vma
expect_rc 1 "$VMA" config -c a -c b a.vma; contains "$T/err" "-c given twice"
expect_rc 1 "$VMA" create "$T/x.vma"; contains "$T/err" "nothing to back up"
expect_rc 1 "$VMA" create -q "$T/x.vma" a
expect_rc 1 "$VMA" create --speed 12Q "$T/x.vma" "$T/nothing"
# --speed past 2^64 (17179869184G wrapped to 0, unlimited) is refused
expect_rc 1 "$VMA" create --speed 17179869184G "$T/x.vma" "$T/nothing"; contains "$T/err" "bad --speed"
expect_rc 1 "$VMA" create --speed 18446744073709551616 "$T/x.vma" "$T/nothing"
expect_rc 1 "$VMA" create --speed -1 "$T/x.vma" "$T/nothing"
expect_rc 1 "$VMA" create -d "nodevname" "$T/x.vma"; contains "$T/err" "format=<fmt>"
expect_rc 1 "$VMA" create -d "format=:a=b" "$T/x.vma"
expect_rc 1 "$VMA" create -c; contains "$T/err" "needs an argument"
expect_rc 1 "$VMA" extract "$T/x.vma"
expect_rc 1 "$VMA" extract -k "$T/x.vma" "$T/d"
expect_rc 1 "$VMA" extract -r a -r b "$T/x.vma" "$T/d"
expect_rc 1 "$VMA" verify
expect_rc 1 "$VMA" verify -k "$T/x.vma"
expect_rc 1 "$VMA" verify a.vma b.vma
[ ! -e "$T/x.vma" ] || fail "usage error created an archive"
[ ! -e "$T/d" ] || fail "usage error created a directory"

# Sources.
head -c 200000 /dev/urandom > "$T/a.raw"
printf 'odd' >> "$T/a.raw"                  # 200003 bytes: QEMU reports 200192
truncate -s 5000000 "$T/b.raw"
printf 'abc' | dd of="$T/b.raw" bs=1 seek=4000000 conv=notrunc 2>/dev/null
head -c 70000 /dev/urandom > "$T/vm.bin"
printf 'memory: 512\n' > "$T/qemu-server.conf"
printf 'fw\n' > "$T/qemu-server.fw"

# create, with options; list/config/verify. Sizes are QEMU's: rounded up
# to 512 (200000 and 5000000 are multiples; a.raw's are not, see below).
expect_rc 0 "$VMA" create -v --speed 1G -c "$T/qemu-server.conf" -c "$T/qemu-server.fw" \
    "$T/x.vma" drive-scsi0="$T/a.raw" "$T/b.raw" vmstate="$T/vm.bin"
contains "$T/err" "image drive-scsi0: size=200192 zeros=61440 saved=138752"
contains "$T/err" "progress 100%"
[ ! -s "$T/out" ] || fail "create printed on stdout"
expect_rc 0 "$VMA" list "$T/x.vma"
contains "$T/out" "^CFG: size: 12 name: qemu-server.conf$"
contains "$T/out" "^CFG: size: 3 name: qemu-server.fw$"
contains "$T/out" "^DEV: dev_id=1 size: 200192 devname: drive-scsi0$"
contains "$T/out" "^DEV: dev_id=2 size: 5000192 devname: disk1$"
contains "$T/out" "^VMSTATE: dev_id=3 memory: 70144$"
[ "$(tail -n 1 "$T/out" | cut -c1-7)" = "CTIME: " ] || fail "CTIME is not the last line"
expect_rc 0 "$VMA" config "$T/x.vma"
cmp -s "$T/out" "$T/qemu-server.conf" || fail "vma config output"
expect_rc 0 "$VMA" config -c qemu-server.fw "$T/x.vma"
cmp -s "$T/out" "$T/qemu-server.fw" || fail "vma config -c output"
expect_rc 0 "$VMA" config -a "$T/x.vma"
[ "$(cat "$T/out")" = "$(cat "$T/qemu-server.conf" "$T/qemu-server.fw")" ] || fail "config -a"
expect_rc 255 "$VMA" config -c nope "$T/x.vma"; contains "$T/err" "unable to find configuration data 'nope'"
expect_rc 0 "$VMA" verify -v "$T/x.vma"; [ ! -s "$T/err" ] || fail "verify -v wrote to stderr"
contains "$T/out" "^DEV: dev_id=1 size: 200192 devname: drive-scsi0$"
contains "$T/out" "^progress 100% (read "
expect_rc 0 "$VMA" verify - < "$T/x.vma"
expect_rc 0 "$VMA" list - < "$T/x.vma"

# Options after the archive name (getopt permutes), -d format=raw:name=path.
expect_rc 0 "$VMA" create "$T/p.vma" drive-scsi0="$T/a.raw" -c "$T/qemu-server.conf" \
    -d format=raw:drive-virtio1="$T/b.raw"
expect_rc 0 "$VMA" list "$T/p.vma"
contains "$T/out" "devname: drive-virtio1$"; contains "$T/out" "devname: drive-scsi0$"
expect_rc 1 "$VMA" create -d format=qcow2:d="$T/a.raw" "$T/q.vma"
contains "$T/err" "cannot read format 'qcow2'"
[ ! -e "$T/q.vma" ] || fail "refused format left an archive"

# The padded tail reads as zeros: a.raw, then zeros up to 200192.
expect_rc 0 "$VMA" extract "$T/p.vma" "$T/pad"
[ "$(stat -c %s "$T/pad/disk-drive-scsi0.raw")" = 200192 ] || fail "padded size"
cmp -s -n 200003 "$T/pad/disk-drive-scsi0.raw" "$T/a.raw" || fail "padded data"
[ "$(tail -c 189 "$T/pad/disk-drive-scsi0.raw" | od -v -An -tx1 | tr -d ' \n' | tr -d 0)" = "" ] \
    || fail "padding is not zero"
head -c 100 /dev/urandom > "$T/tiny.raw"    # below 512: one padded sector
expect_rc 0 "$VMA" create "$T/tiny.vma" t="$T/tiny.raw"
expect_rc 0 "$VMA" list "$T/tiny.vma"; contains "$T/out" "^DEV: dev_id=1 size: 512 devname: t$"

# Config-only archives, both directions.
expect_rc 0 "$VMA" create -c "$T/qemu-server.conf" "$T/cfg.vma"
[ "$(stat -c %s "$T/cfg.vma")" = $((12288 + 512 + 512)) ] || fail "config-only archive layout"
expect_rc 0 "$VMA" list "$T/cfg.vma"; contains "$T/out" "^CFG: size: 12 name: qemu-server.conf$"
grep -q '^DEV' "$T/out" && fail "config-only archive lists a device"
expect_rc 0 "$VMA" config "$T/cfg.vma"; cmp -s "$T/out" "$T/qemu-server.conf" || fail "config-only config"
expect_rc 0 "$VMA" verify -v "$T/cfg.vma"; contains "$T/out" "vma archive contains no image data"
expect_rc 0 "$VMA" extract "$T/cfg.vma" "$T/cfg"
[ "$(ls "$T/cfg")" = qemu-server.conf ] || fail "config-only extract"

# One name rule both ways: create refuses what extract would refuse.
for bad in '..' '.' "$(printf 'a\033[31mb')" "$(printf 'new\nline')" 'a/b'; do
    expect_rc 1 "$VMA" create "$T/n.vma" "$bad=$T/a.raw"
done
[ ! -e "$T/n.vma" ] || fail "refused name left an archive"

# stdout errors are failures: list to a full disk, config into a closed pipe.
if [ -w /dev/full ]; then
    set +e; "$VMA" list "$T/x.vma" > /dev/full 2>"$T/err"; rc=$?; set -e
    [ "$rc" = 1 ] || fail "list > /dev/full exited $rc"
    contains "$T/err" "writing to standard output failed"
    set +e; "$VMA" config -a "$T/x.vma" > /dev/full 2>"$T/err"; rc=$?; set -e
    [ "$rc" = 1 ] || fail "config > /dev/full exited $rc"
fi
# (four 60000-byte blobs: more than a pipe buffer, so the writes must fail)
for i in 1 2 3 4; do head -c 60000 /dev/urandom > "$T/big$i.conf"; done
expect_rc 0 "$VMA" create -c "$T/big1.conf" -c "$T/big2.conf" -c "$T/big3.conf" \
    -c "$T/big4.conf" "$T/bigcfg.vma"
set +e
( trap '' PIPE; "$VMA" config -a "$T/bigcfg.vma" 2>"$T/err" | true )
set -e
contains "$T/err" "writing to standard output failed"

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
ls -a "$T" | grep -q '\.part-' && fail "temporary left behind"

# create to stdout, extract from stdin.
"$VMA" create - "$T/a.raw" > "$T/s.vma" || fail "create to stdout"
"$VMA" extract - "$T/s" < "$T/s.vma" || fail "extract from stdin"
cmp -s -n 200003 "$T/s/disk-disk0.raw" "$T/a.raw" || fail "stdout/stdin round trip"

# extract: layout, sparse output, refuses an existing directory.
expect_rc 0 "$VMA" extract -v "$T/x.vma" "$T/ex/"
contains "$T/out" "^DEVINFO $T/ex/tmp-disk-drive-scsi0.raw 200192$"
contains "$T/out" "^progress 100% (read "
contains "$T/out" "^total bytes read "
cmp -s -n 200003 "$T/ex/disk-drive-scsi0.raw" "$T/a.raw" || fail "disk a"
cmp -s -n 5000000 "$T/ex/disk-disk1.raw" "$T/b.raw" || fail "disk b"
ls "$T/ex" | grep -q '^tmp-' && fail "tmp-disk file left after extract"
cmp -s -n 70000 "$T/ex/vmstate.bin" "$T/vm.bin" || fail "vmstate"
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
ls -a "$T" | grep -q 'vma-tmp\|\.part-' && fail "failed extract left a temporary"
expect_rc 1 "$VMA" verify "$T/bad.vma"
expect_rc 1 "$VMA" list "$T/nonexistent.vma"

# Map file: restore one disk to a chosen path (existing, with zeroes), skip one.
head -c 5000192 /dev/urandom > "$T/target-b.raw"
printf '0:drive-scsi0=%s\n1:disk1=%s\ndone\n' "$T/mapped-a.raw" "$T/target-b.raw" > "$T/map"
expect_rc 0 "$VMA" extract -r "$T/map" "$T/x.vma" "$T/m"
contains "$T/out" "^DEV: dev_id=1"
grep -q "^DEVINFO" "$T/out" && fail "DEVINFO under -r (Proxmox prints none)"
cmp -s -n 200003 "$T/mapped-a.raw" "$T/a.raw" || fail "mapped disk a"
cmp -s -n 5000000 "$T/target-b.raw" "$T/b.raw" || fail "mapped disk b with zeroes over old data"
# An existing target is written in place, never truncated or resized.
head -c 6000000 /dev/urandom > "$T/bigger.raw"
tail -c 999808 "$T/bigger.raw" > "$T/bigger.tail"
printf 'format=raw:throttling.bps=1000000000:throttling.group=g:cache=writethrough:1:disk1=%s\nskip=drive-scsi0\ndone\n' \
    "$T/bigger.raw" > "$T/mapb"
expect_rc 0 "$VMA" extract -r "$T/mapb" "$T/x.vma" "$T/mb"
[ "$(stat -c %s "$T/bigger.raw")" = 6000000 ] || fail "existing target resized"
tail -c 999808 "$T/bigger.raw" | cmp -s - "$T/bigger.tail" || fail "data past the device changed"
# ... and it must hold the device.
head -c 4096 /dev/urandom > "$T/small.raw"
printf '1:disk1=%s\nskip=drive-scsi0\n' "$T/small.raw" > "$T/maps"
expect_rc 1 "$VMA" extract -r "$T/maps" "$T/x.vma" "$T/ms"; contains "$T/err" "has 4096 bytes"
[ "$(stat -c %s "$T/small.raw")" = 4096 ] || fail "refused target changed"
printf 'format=raw:0:drive-scsi0=%s\nskip=disk1\n' "$T/mapped2.raw" > "$T/map2"
expect_rc 0 "$VMA" extract -r "$T/map2" "$T/x.vma" "$T/m2"
cmp -s -n 200003 "$T/mapped2.raw" "$T/a.raw" || fail "mapped2"
# Formats other than raw are refused by name; unknown cache modes too.
printf 'format=qcow2:0:drive-scsi0=%s\nskip=disk1\n' "$T/q.qcow2" > "$T/mapq"
expect_rc 1 "$VMA" extract -r "$T/mapq" "$T/x.vma" "$T/mq"; contains "$T/err" "cannot write format 'qcow2'"
printf 'cache=fast:0:drive-scsi0=%s\nskip=disk1\n' "$T/q.raw" > "$T/mapc"
expect_rc 1 "$VMA" extract -r "$T/mapc" "$T/x.vma" "$T/mc"; contains "$T/err" "unknown cache mode 'fast'"
[ ! -e "$T/mq" ] && [ ! -e "$T/mc" ] && [ ! -e "$T/q.raw" ] || fail "refused map left files"
# -d: only the listed drives are restored.
expect_rc 0 "$VMA" extract -d disk1 "$T/x.vma" "$T/dl"
[ -e "$T/dl/disk-disk1.raw" ] && [ ! -e "$T/dl/disk-drive-scsi0.raw" ] || fail "-d drive list"
# bad map lines, unmapped devices: failure, and created targets are removed
printf 'garbage\n' > "$T/map3"
expect_rc 1 "$VMA" extract -r "$T/map3" "$T/x.vma" "$T/m3"; contains "$T/err" "line 1"
printf '0:drive-scsi0=%s\n' "$T/mapped3.raw" > "$T/map4"
expect_rc 1 "$VMA" extract -r "$T/map4" "$T/x.vma" "$T/m4"; contains "$T/err" "no device name mapping for 'disk1'"
[ ! -e "$T/mapped3.raw" ] || fail "failed mapped extract left its created target"
expect_rc 1 "$VMA" extract -r "$T/nomap" "$T/x.vma" "$T/m5"
printf '0:drive-scsi0=%s\nskip=disk1\n' "$T/mapped6.raw" > "$T/map6"
expect_rc 1 "$VMA" extract -r "$T/map6" "$T/bad.vma" "$T/m6"
[ ! -e "$T/mapped6.raw" ] || fail "failed mapped extract left its created target"
[ ! -e "$T/m6" ] || fail "failed mapped extract left its directory"
# A map line longer than the limit is an error, never split into two lines.
long=$(head -c 80000 /dev/zero | tr '\0' 'x')
printf '0:%s=%s\nskip=disk1\nskip=drive-scsi0\n' "$long" "$T/long.raw" > "$T/mapl"
expect_rc 1 "$VMA" extract -r "$T/mapl" "$T/x.vma" "$T/ml"; contains "$T/err" "line 1 is longer than"
[ ! -e "$T/ml" ] || fail "long map line left a directory"

# Target directory names of 240..255 bytes (mkdir takes them; so must we).
for n in 240 250 255; do
    name=$(head -c $n /dev/zero | tr '\0' 'd')
    expect_rc 0 "$VMA" extract "$T/x.vma" "$T/$name"
    [ -e "$T/$name/disk-disk1.raw" ] || fail "extract into a $n-byte name"
    rm -rf "${T:?}/$name"
    ( cd "$T" && "$VMA" create "$name" "a.raw" ) || fail "create a $n-byte archive name"
    rm -f "${T:?}/$name"
done

# Listings escape control characters in names from other writers (made
# here by editing a name in place and fixing the header md5).
python3 - "$T/x.vma" "$T/esc.vma" <<'PYEOF'
import hashlib, struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
hs = struct.unpack('>I', b[56:60])[0]
i = b.index(b'disk1\0', 12288, hs)
b[i:i + 5] = b'd\x1bk\n1'
b[32:48] = bytes(16)
b[32:48] = hashlib.md5(bytes(b[:hs])).digest()
open(sys.argv[2], 'wb').write(b)
PYEOF
expect_rc 0 "$VMA" list "$T/esc.vma"
contains "$T/out" '^DEV: dev_id=2 size: 5000192 devname: d\\x1bk\\x0a1$'
expect_rc 1 "$VMA" extract "$T/esc.vma" "$T/esc"; contains "$T/err" "control character"
[ ! -e "$T/esc" ] || fail "refused name left a directory"

echo "cli: OK"
