#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The restore flow of Proxmox's qmrestore (qemu-server, restore_vma_archive),
# acted out against `vma`: the archive comes on stdin, the map through a
# fifo. As soon as stdout shows CTIME:, the config must already be in the
# target directory; the map (with format, throttling and cache options and
# "done") is written to the fifo; then progress and the summary follow, in
# that order (Proxmox prints no DEVINFO under -r). Pre-allocated volumes
# are written in place.
#
# usage: lib/vma/tests/qmrestore.sh [BUILD_DIR]      (run from the repo root)
set -eu

B=${1:-build}
VMA=$(cd "$B" && pwd)/vma
T=$(mktemp -d "${TMPDIR:-/tmp}/vma-qmrestore.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

fail() { echo "qmrestore: FAIL: $*" >&2; exit 1; }

head -c 3000000 /dev/urandom > "$T/scsi0.raw"
truncate -s 8388608 "$T/efidisk0.raw"
printf 'EFI' | dd of="$T/efidisk0.raw" bs=1 seek=4096 conv=notrunc 2>/dev/null
printf 'bootdisk: scsi0\nmemory: 2048\nscsi0: local:vm-100-disk-0,size=3000000\n' \
    > "$T/qemu-server.conf"
"$VMA" create "$T/vzdump.vma" -c "$T/qemu-server.conf" \
    drive-scsi0="$T/scsi0.raw" drive-efidisk0="$T/efidisk0.raw" || fail "create"

# The volumes qmrestore allocates first: pre-filled with garbage, one a bit
# larger than the disk (storage rounds up).
head -c 3000576 /dev/urandom > "$T/vm-100-disk-0.raw"
head -c 8388608 /dev/urandom > "$T/vm-100-disk-1.raw"
tail -c 256 "$T/vm-100-disk-0.raw" > "$T/disk0.tail"

mkfifo "$T/map.fifo" "$T/out.fifo"
"$VMA" extract -v -r "$T/map.fifo" - "$T/tmpdir" < "$T/vzdump.vma" \
    > "$T/out.fifo" 2> "$T/err" &
pid=$!

seen_ctime=0
: > "$T/lines"
while IFS= read -r line; do
    echo "$line" >> "$T/lines"
    case $line in
    CTIME:*)
        seen_ctime=1
        # qmrestore reads the config right now.
        cmp -s "$T/tmpdir/qemu-server.conf" "$T/qemu-server.conf" \
            || { kill "$pid"; fail "config not in the target directory at CTIME"; }
        grep -q '^DEV: dev_id=1 size: 3000320 devname: drive-scsi0$' "$T/lines" \
            || { kill "$pid"; fail "DEV line before CTIME"; }
        {
            printf 'format=raw:throttling.bps=536870912:throttling.group=drive-scsi0:cache=writeback:1:drive-scsi0=%s\n' \
                "$T/vm-100-disk-0.raw"
            printf 'format=raw:cache=writethrough:1:drive-efidisk0=%s\n' "$T/vm-100-disk-1.raw"
            printf 'done\n'
        } > "$T/map.fifo"
        ;;
    esac
done < "$T/out.fifo"
wait "$pid" || { cat "$T/err" >&2; fail "vma extract exited $?"; }
[ "$seen_ctime" = 1 ] || fail "no CTIME line"

# Order of stdout: listing, CTIME, progress, summary.
awk '
    /^CFG: / { if (state > 0) bad = "CFG after DEV"; next }
    /^DEV: / { if (state > 1) bad = "DEV after CTIME"; state = 1; next }
    /^CTIME: / { state = 2; next }
    /^DEVINFO / { bad = "DEVINFO under -r" }
    /^progress [0-9]+% \(read [0-9]+ bytes, duration [0-9]+ sec\)$/ {
        if (state < 2) bad = "progress before CTIME"; state = 4; progress++; next }
    /^total bytes read / { if (state != 4) bad = "summary out of place"; state = 5; next }
    /^space reduction due to 4K zero blocks / { if (state != 5) bad = "reduction out of place"; next }
    { bad = "unexpected line: " $0 }
    END {
        if (bad) { print bad; exit 1 }
        if (state != 5 || progress < 2) { print "missing lines"; exit 1 }
    }' "$T/lines" || { cat "$T/lines" >&2; fail "stdout order"; }
grep -q '^progress 100% ' "$T/lines" || fail "no 100% progress line"

# Written in place: data restored, the volume's size and tail untouched.
cmp -s -n 3000000 "$T/vm-100-disk-0.raw" "$T/scsi0.raw" || fail "scsi0 data"
[ "$(stat -c %s "$T/vm-100-disk-0.raw")" = 3000576 ] || fail "volume resized"
tail -c 256 "$T/vm-100-disk-0.raw" | cmp -s - "$T/disk0.tail" || fail "volume tail changed"
# 1: (write zeros): the garbage under zero blocks is overwritten.
cmp -s "$T/vm-100-disk-1.raw" "$T/efidisk0.raw" || fail "efidisk zeros not written"
[ "$(ls "$T/tmpdir")" = qemu-server.conf ] || fail "target directory: $(ls "$T/tmpdir")"

# A qmrestore that dies before writing the map (fifo closed empty): vma
# fails, and removes the directory it made.
"$VMA" extract -v -r "$T/map.fifo" - "$T/tmpdir2" < "$T/vzdump.vma" > "$T/out2" 2> "$T/err2" &
pid=$!
: > "$T/map.fifo"
if wait "$pid"; then fail "extract with an empty map succeeded"; fi
grep -q "no device name mapping for 'drive-scsi0'" "$T/err2" || fail "empty map message"
[ ! -e "$T/tmpdir2" ] || fail "failed restore left its directory"

echo "qmrestore: OK"
