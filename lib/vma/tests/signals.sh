#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Interrupted runs leave nothing: SIGINT, SIGTERM or SIGHUP during
# `vma create` (a file archive is written under .NAME.part-XXXXXX and
# linked to NAME only when complete) and during `vma extract` (it removes
# the directory and every file it made, map targets it created included).
# SIGKILL cannot be caught: what it leaves is the recognisable temporary.
#
# usage: lib/vma/tests/signals.sh [BUILD_DIR]      (run from the repo root)
set -eu

B=${1:-build}
# Background jobs of a script start with SIGINT ignored, and vma (like any
# program) keeps an ignored signal ignored (nohup): give it the default.
VMA="env --default-signal=INT,TERM,HUP $(cd "$B" && pwd)/vma"
T=$(mktemp -d "${TMPDIR:-/tmp}/vma-signals.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

fail() { echo "signals: FAIL: $*" >&2; exit 1; }

# Wait (up to 10 s) until a glob in $T matches.
wait_for() {
    i=0
    while [ $i -lt 200 ]; do
        # shellcheck disable=SC2086
        set -- $1
        [ -e "$1" ] && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

head -c 4000000 /dev/urandom > "$T/disk.raw"
printf 'memory: 512\n' > "$T/qemu-server.conf"

# create, slowed down by --speed so the signal lands mid-way.
for sig in INT TERM HUP; do
    mkdir "$T/c-$sig"
    $VMA create --speed 400K -c "$T/qemu-server.conf" "$T/c-$sig/x.vma" \
        drive-scsi0="$T/disk.raw" 2>/dev/null &
    pid=$!
    wait_for "$T/c-$sig/.x.vma.part-*" || { kill -9 $pid; fail "create ($sig) made no temporary"; }
    [ ! -e "$T/c-$sig/x.vma" ] || fail "partial archive under its own name"
    sleep 0.2
    kill -$sig $pid
    set +e; wait $pid; rc=$?; set -e
    [ $rc -gt 128 ] || fail "create after SIG$sig exited $rc (expected death by the signal)"
    [ -z "$(ls -A "$T/c-$sig")" ] || fail "create after SIG$sig left: $(ls -A "$T/c-$sig")"
done

# SIGKILL: the only leftover is the temporary, recognisable by its name.
mkdir "$T/c-KILL"
$VMA create --speed 400K "$T/c-KILL/x.vma" drive-scsi0="$T/disk.raw" 2>/dev/null &
pid=$!
wait_for "$T/c-KILL/.x.vma.part-*" || { kill -9 $pid; fail "create (KILL) made no temporary"; }
kill -9 $pid
set +e; wait $pid; set -e
ls -A "$T/c-KILL" | grep -qx '\.x\.vma\.part-[0-9a-f]\{6\}' || fail "SIGKILL leftover: $(ls -A "$T/c-KILL")"
[ ! -e "$T/c-KILL/x.vma" ] || fail "SIGKILL left an archive under its own name"

# extract from a fifo that delivers part of the archive and then stalls.
$VMA create -c "$T/qemu-server.conf" "$T/x.vma" drive-scsi0="$T/disk.raw" \
    drive-scsi1="$T/disk.raw" || fail "create"
mkfifo "$T/fifo"
for sig in INT TERM HUP; do
    printf '0:drive-scsi0=%s\n1:drive-scsi1=%s\ndone\n' "$T/new-$sig.raw" "$T/exist.raw" > "$T/map"
    head -c 4000256 /dev/urandom > "$T/exist.raw"
    $VMA extract -r "$T/map" - "$T/out-$sig" < "$T/fifo" > /dev/null 2>&1 &
    pid=$!
    exec 3> "$T/fifo"
    head -c 2000000 "$T/x.vma" >&3
    wait_for "$T/new-$sig.raw" || { kill -9 $pid; fail "extract ($sig) did not start"; }
    [ -e "$T/out-$sig/qemu-server.conf" ] || fail "no config during extract"
    sleep 0.2
    kill -$sig $pid
    set +e; wait $pid; rc=$?; set -e
    exec 3>&-
    [ $rc -gt 128 ] || fail "extract after SIG$sig exited $rc"
    [ ! -e "$T/out-$sig" ] || fail "extract after SIG$sig left its directory"
    [ ! -e "$T/new-$sig.raw" ] || fail "extract after SIG$sig left the target it created"
    [ -e "$T/exist.raw" ] || fail "extract after SIG$sig removed an existing target"
done

# Without a map: tmp-disk-* files and the directory go.
$VMA extract - "$T/plain" < "$T/fifo" > /dev/null 2>&1 &
pid=$!
exec 3> "$T/fifo"
head -c 2000000 "$T/x.vma" >&3
wait_for "$T/plain/tmp-disk-drive-scsi1.raw" || { kill -9 $pid; fail "plain extract did not start"; }
kill -TERM $pid
set +e; wait $pid; set -e
exec 3>&-
[ ! -e "$T/plain" ] || fail "plain extract after SIGTERM left $(ls -A "$T/plain")"

echo "signals: OK"
