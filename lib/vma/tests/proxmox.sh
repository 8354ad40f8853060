#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Archives written by Proxmox's own `vma` (lib/vma/tests/data, see its
# README.md) read by ours: the same listing, verify -v and extract -v text
# (progress lines included), the same files, directly and from a pipe; and
# the divergences tools/tests/PROXMOX-INTEROP.md found, kept fixed.
#
# usage: lib/vma/tests/proxmox.sh [BUILD_DIR]      (run from the repo root)
set -eu

B=${1:-build}
VMA=$(cd "$B" && pwd)/vma
DATA=$(pwd)/lib/vma/tests/data
T=$(mktemp -d "${TMPDIR:-/tmp}/vma-proxmox.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
TZ=UTC
export TZ

fail() { echo "proxmox: FAIL: $*" >&2; exit 1; }
# Progress lines as Proxmox prints them, the duration (whole seconds) aside.
normalized() { sed 's/duration [0-9]* sec/duration S sec/' "$1"; }

zstd -dc "$DATA/pve-mixed.vma.zst" > "$T/pve-mixed.vma" || fail "zstd"
cp "$DATA/pve-config-only.vma" "$DATA/pve-dup-config.vma" "$T/"

cd "$T"
for a in pve-mixed pve-config-only pve-dup-config; do
    for src in "$a.vma" "$DATA/$a.vma.zst" -; do
        [ -e "$src" ] || [ "$src" = - ] || continue
        in=$a.vma; [ "$src" = - ] || in=$src
        cat "$in" | "$VMA" list "$src" > out 2> err || fail "list $src"
        cmp -s out "$DATA/$a.list" || { diff out "$DATA/$a.list" >&2; fail "list $src"; }
        cat "$in" | "$VMA" verify -v "$src" > out 2> err || fail "verify -v $src"
        [ ! -s err ] || fail "verify -v $src wrote to stderr: $(cat err)"
        normalized out > out.np
        cmp -s out.np "$DATA/$a.verify-v" || { diff out.np "$DATA/$a.verify-v" >&2; fail "verify -v $src"; }
        cat "$in" | "$VMA" verify "$src" > out 2> err || fail "verify $src"
        [ ! -s out ] && [ ! -s err ] || fail "verify $src is not silent"
        rm -rf TARGET
        cat "$in" | "$VMA" extract -v "$src" TARGET > out 2> err || fail "extract $src"
        normalized out > out.np
        cmp -s out.np "$DATA/$a.extract-v" || { diff out.np "$DATA/$a.extract-v" >&2; fail "extract -v $src"; }
        (cd TARGET && ls | sort > ../got.ls && sha256sum -c --quiet "$DATA/$a.sha256") \
            || fail "extract $src: files differ"
        sed 's/^[0-9a-f]*  //' "$DATA/$a.sha256" | cmp -s - got.ls || fail "extract $src: file set"
    done
done

# No progress line when no cluster is read (a config-only archive).
"$VMA" extract -v pve-config-only.vma C > out
grep -q '^progress' out && fail "progress line without data"
grep -q '^vma archive contains no image data$' out || fail "config-only summary"

# config: the first blob of a name, as Proxmox; extract keeps the last one.
[ "$("$VMA" config -c dup.conf pve-dup-config.vma)" = first ] || fail "config -c dup.conf"
[ "$(cat TARGET/dup.conf)" = second ] || fail "extract of two dup.conf"
set +e; "$VMA" config -c nope pve-dup-config.vma > out 2> err; rc=$?; set -e
[ "$rc" = 255 ] || fail "config of a missing blob exited $rc, Proxmox exits 255"

# Our create, fed the same inputs, records what Proxmox's did: sizes as
# QEMU reports them, the vmstate's too (the 9000-byte input is 9216).
mkdir in
rm -rf X; "$VMA" extract pve-mixed.vma X > /dev/null
long=$(ls X | sed -n 's/^disk-\(drive-L*\)\.raw$/\1/p')
head -c 70003 X/disk-drive-scsi0.raw > in/scsi0.raw
head -c 100 X/disk-tiny.raw > in/tiny.raw
head -c 4101 X/disk-"$long".raw > in/long.raw
head -c 9000 X/vmstate.bin > in/vmstate.bin
"$VMA" create -v ours.vma -c X/qemu-server.conf -c X/empty.conf -c X/qemu-server.fw \
    -d format=raw:drive-scsi0=in/scsi0.raw -d format=raw:tiny=in/tiny.raw \
    -d format=raw:"$long"=in/long.raw -d format=raw:drive-sparse=X/disk-drive-sparse.raw \
    -d format=raw:vmstate=in/vmstate.bin 2> err || fail "create"
grep '^image ' err | cmp -s - "$DATA/pve-mixed.create-v" \
    || { cat err >&2; fail "create -v: per-image summary differs from Proxmox's"; }
"$VMA" list ours.vma | sed '$d' > out
sed '$d' "$DATA/pve-mixed.list" | cmp -s - out || { diff out "$DATA/pve-mixed.list" >&2; fail "create: listing"; }
rm -rf Y; "$VMA" extract ours.vma Y > /dev/null
(cd Y && sha256sum -c --quiet "$DATA/pve-mixed.sha256") || fail "create: extract of ours"

# The restore-map flow: stdout equals Proxmox's (listing, progress, summary;
# no DEVINFO under -r), targets written in place, skipped drives untouched.
truncate -s 70144 s0.raw; truncate -s 512 t0.raw
printf 'format=raw:cache=none:0:drive-scsi0=s0.raw\n1:tiny=t0.raw\nskip=%s\nskip=drive-sparse\ndone\n' \
    "$long" > map
"$VMA" extract -v -r map pve-mixed.vma RT > out || fail "extract -r"
normalized out | cmp -s - "$DATA/pve-mixed.restore-r" || { diff out "$DATA/pve-mixed.restore-r" >&2; fail "extract -r stdout"; }
cmp -s s0.raw X/disk-drive-scsi0.raw && cmp -s t0.raw X/disk-tiny.raw || fail "extract -r targets"
[ "$(ls RT | tr '\n' ' ')" = "empty.conf qemu-server.conf qemu-server.fw vmstate.bin " ] \
    || fail "extract -r directory: $(ls RT)"

# -r to existing targets: up to 4 MiB over the device is fine, one byte
# more is refused (Proxmox: "unexpected size"), the target left as it was.
truncate -s $((70144 + 4194304)) ok.raw
truncate -s $((70144 + 4194305)) over.raw
for t in ok over; do
    printf '0:drive-scsi0=%s/%s.raw\nskip=tiny\nskip=%s\nskip=drive-sparse\ndone\n' \
        "$T" "$t" "$long" > map.$t
    set +e; "$VMA" extract -r map.$t pve-mixed.vma R.$t > out 2> err; rc=$?; set -e
    case $t in
    ok) [ "$rc" = 0 ] || fail "target 4 MiB over the device refused: $(cat err)"
        cmp -s -n 70144 ok.raw X/disk-drive-scsi0.raw || fail "target at the limit: data" ;;
    over) [ "$rc" = 1 ] || fail "target 4 MiB + 1 over the device accepted"
        grep -q "more than 4 MiB over" err || fail "over-limit message: $(cat err)"
        [ "$(stat -c %s over.raw)" = $((70144 + 4194305)) ] || fail "refused target resized"
        [ ! -e R.over ] || fail "refused restore left its directory" ;;
    esac
done

# create exec:COMMAND writes into COMMAND's stdin, as Proxmox's writer
# (popen); a command that fails or stops reading fails the create.
"$VMA" create "exec:cat > piped.vma" -c X/qemu-server.conf -d format=raw:t=in/tiny.raw \
    || fail "create exec:"
[ ! -e "exec:cat > piped.vma" ] || fail "exec: taken as a file name"
"$VMA" verify piped.vma || fail "archive written through exec:"
[ "$("$VMA" config piped.vma)" = "$(cat X/qemu-server.conf)" ] || fail "exec: config"
set +e; "$VMA" create "exec:cat > /dev/null; exit 3" -d format=raw:t=in/tiny.raw 2> err
rc=$?; set -e
[ "$rc" = 1 ] && grep -q "exited 3" err || fail "failing exec: command: rc $rc, $(cat err)"
set +e; "$VMA" create "exec:exit 0" -d format=raw:s=in/scsi0.raw 2> err; rc=$?; set -e
[ "$rc" = 1 ] && grep -q "Broken pipe" err || fail "exec: command not reading: rc $rc, $(cat err)"

echo "proxmox: OK (3 archives from Proxmox's writer; file, .zst and pipe)"
