#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Independent VMA v1 reader and writer (Python 3 standard library only).

Written from the format description (../shared/notes/vma-format.md), not
from lib/vma, so the two implementations check each other.

    vma_reader.py list ARCHIVE
    vma_reader.py verify ARCHIVE
    vma_reader.py extract ARCHIVE DIR
    vma_reader.py create [-c CONFIG]... [--shuffle SEED] [--extent-clusters N]
                         ARCHIVE [[NAME=]IMAGE...]

Device sizes are recorded as QEMU reports them (a raw file rounded up to
512 bytes, the padding zeros); the reader takes any size and archives with
configs but no device.

ARCHIVE may be '-' (stdin for reading, stdout for create). The reader never
seeks. Exit status: 0 ok, 1 bad archive or I/O error, 2 usage error.
"""

import argparse
import hashlib
import os
import random
import shutil
import struct
import sys
import tempfile
import time
import uuid

BLOCK = 4096
CLUSTER = 65536
EXTENT_HEADER = 512
SLOTS = 59
FIXED_HEADER = 12288
MAX_HEADER = 64 * 1024 * 1024
DEV_INFO_AT = 4096
CONFIG_NAMES_AT = 2044
CONFIG_DATA_AT = 3068


class VmaError(Exception):
    """The archive breaks the format."""


def read_exact(stream, n):
    """Read up to n bytes, fewer only at EOF."""
    parts = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def md5_with_zeroed(buf, at):
    copy = bytearray(buf)
    copy[at:at + 16] = bytes(16)
    return hashlib.md5(copy).digest()


class Archive:
    """Parsed header plus a streaming extent walk."""

    def __init__(self, stream):
        self.stream = stream
        self.configs = []          # (name, bytes) in header order
        self.devices = {}          # dev_id -> (name, size)
        self.vmstate_id = 0
        self._parse_header()

    # -- header -----------------------------------------------------------
    def _parse_header(self):
        fixed = read_exact(self.stream, FIXED_HEADER)
        if not fixed:
            raise VmaError("archive is empty")
        if fixed[:4] != b"VMA\0":
            raise VmaError("bad magic at byte 0: %r" % fixed[:4])
        if len(fixed) < FIXED_HEADER:
            raise VmaError("header truncated: %d of %d bytes" % (len(fixed), FIXED_HEADER))
        (version,) = struct.unpack_from(">I", fixed, 4)
        if version != 1:
            raise VmaError("version %d at byte 4, expected 1" % version)
        (hsize,) = struct.unpack_from(">I", fixed, 56)
        if hsize <= FIXED_HEADER or hsize % 512 or hsize > MAX_HEADER:
            raise VmaError("header_size %d at byte 56 out of range" % hsize)
        rest = read_exact(self.stream, hsize - FIXED_HEADER)
        if len(rest) < hsize - FIXED_HEADER:
            raise VmaError("header truncated: header_size %d, archive has %d bytes"
                           % (hsize, FIXED_HEADER + len(rest)))
        head = fixed + rest
        if md5_with_zeroed(head, 32) != head[32:48]:
            raise VmaError("header checksum (bytes 32..47) does not match")
        self.header_size = hsize
        self.offset = hsize
        self.uuid = head[8:24]
        (self.ctime,) = struct.unpack_from(">q", head, 24)
        boff, bsize = struct.unpack_from(">II", head, 48)
        if not FIXED_HEADER <= boff < hsize:
            raise VmaError("blob_buffer_offset %d at byte 48 out of range" % boff)
        if boff + bsize > hsize:
            raise VmaError("blob_buffer_size %d at byte 52 exceeds the header" % bsize)
        blobs = head[boff:boff + bsize]
        starts = {}
        pos = 1
        while pos < bsize:
            if pos + 2 > bsize:
                raise VmaError("blob at %d: length cut off by the buffer end" % pos)
            (length,) = struct.unpack_from("<H", blobs, pos)
            if pos + 2 + length > bsize:
                raise VmaError("blob at %d (len %d) overruns the blob buffer" % (pos, length))
            starts[pos] = blobs[pos + 2:pos + 2 + length]
            pos += 2 + length

        def blob(ptr, what):
            if ptr not in starts:
                raise VmaError("%s points at %d where no blob starts" % (what, ptr))
            return starts[ptr]

        def string(ptr, what):
            data = blob(ptr, what)
            if len(data) < 2 or data[-1] != 0 or 0 in data[:-1]:
                raise VmaError("%s is not a NUL-terminated string" % what)
            return data[:-1].decode("utf-8", "surrogateescape")

        for i in range(256):
            nptr, dptr = (struct.unpack_from(">I", head, CONFIG_NAMES_AT + 4 * i)[0],
                          struct.unpack_from(">I", head, CONFIG_DATA_AT + 4 * i)[0])
            if not nptr and not dptr:
                continue
            if not nptr or not dptr:
                raise VmaError("config entry %d has only one of name/data" % i)
            self.configs.append((string(nptr, "config_names[%d]" % i),
                                 bytes(blob(dptr, "config_data[%d]" % i))))
        seen_names = set()
        for dev_id in range(256):
            at = DEV_INFO_AT + 32 * dev_id
            nptr, = struct.unpack_from(">I", head, at)
            size, = struct.unpack_from(">Q", head, at + 8)
            if not nptr and not size:
                continue
            if dev_id in (0, 255):
                raise VmaError("dev_info[%d] used but that dev_id is reserved" % dev_id)
            if not nptr:
                raise VmaError("dev_info[%d] has a size but no name" % dev_id)
            name = string(nptr, "dev_info[%d] name" % dev_id)
            if name in seen_names:
                raise VmaError("device name %r appears twice" % name)
            seen_names.add(name)
            if name == "vmstate":
                self.vmstate_id = dev_id
            elif size == 0:
                raise VmaError("device %r has size 0" % name)
            elif (size - 1) // CLUSTER >= 2 ** 32:
                raise VmaError("device %r too large" % name)
            self.devices[dev_id] = (name, size)
        # No device is fine: Proxmox writes config-only archives (a header
        # and one empty extent). Device sizes may be anything; vma create
        # records QEMU's (a multiple of 512), other writers need not.

    # -- extents ----------------------------------------------------------
    def clusters(self):
        """Yield (dev_id, cluster_no, {block_index: 4 KiB bytes}) after
        checking everything; raises VmaError on the first problem."""
        seen = {d: set() for d in self.devices if d != self.vmstate_id}
        next_vm = 0
        number = 0
        while True:
            at = self.offset
            head = read_exact(self.stream, EXTENT_HEADER)
            if not head:
                break
            where = "extent %d (offset %d)" % (number, at)
            if len(head) < EXTENT_HEADER:
                raise VmaError("%s: truncated extent header" % where)
            if head[:4] != b"VMAE":
                raise VmaError("%s: bad extent magic" % where)
            if md5_with_zeroed(head, 24) != head[24:40]:
                raise VmaError("%s: extent checksum does not match" % where)
            reserved, count = struct.unpack_from(">HH", head, 4)
            if reserved:
                raise VmaError("%s: reserved field is not zero" % where)
            if head[8:24] != self.uuid:
                raise VmaError("%s: uuid differs from the archive's" % where)
            entries = []
            total = 0
            for slot in range(SLOTS):
                (info,) = struct.unpack_from(">Q", head, 40 + 8 * slot)
                if info == 0:
                    continue
                mask, res, dev_id, cluster = info >> 48, (info >> 40) & 0xff, \
                    (info >> 32) & 0xff, info & 0xffffffff
                if res or not dev_id:
                    raise VmaError("%s: malformed blockinfo[%d]" % (where, slot))
                total += bin(mask).count("1")
                entries.append((slot, mask, dev_id, cluster))
            if total != count:
                raise VmaError("%s: block_count %d but masks hold %d blocks"
                               % (where, count, total))
            data = read_exact(self.stream, count * BLOCK)
            if len(data) < count * BLOCK:
                raise VmaError("%s: truncated extent data" % where)
            self.offset += EXTENT_HEADER + count * BLOCK
            pos = 0
            for slot, mask, dev_id, cluster in entries:
                if dev_id not in self.devices:
                    raise VmaError("%s: blockinfo[%d] has unknown dev_id %d"
                                   % (where, slot, dev_id))
                name, size = self.devices[dev_id]
                if dev_id == self.vmstate_id:
                    if cluster != next_vm:
                        raise VmaError("%s: vmstate cluster %d out of order (want %d)"
                                       % (where, cluster, next_vm))
                    next_vm += 1
                else:
                    if cluster * CLUSTER >= size:
                        raise VmaError("%s: cluster %d past the end of %r"
                                       % (where, cluster, name))
                    if cluster in seen[dev_id]:
                        raise VmaError("%s: cluster %d of %r seen twice"
                                       % (where, cluster, name))
                    seen[dev_id].add(cluster)
                blocks = {}
                for b in range(16):
                    if mask & (1 << b):
                        blocks[b] = data[pos:pos + BLOCK]
                        pos += BLOCK
                yield dev_id, cluster, blocks
            number += 1
        for dev_id, got in seen.items():
            name, size = self.devices[dev_id]
            want = (size + CLUSTER - 1) // CLUSTER
            if len(got) != want:
                missing = min(set(range(want)) - got)
                raise VmaError("device %r incomplete: cluster %d missing" % (name, missing))
        self.vmstate_clusters = next_vm

    def vmstate_length(self):
        full = self.vmstate_clusters * CLUSTER
        estimate = self.devices[self.vmstate_id][1]
        if self.vmstate_clusters and full - CLUSTER < estimate <= full:
            return estimate
        return full


def open_input(path):
    return sys.stdin.buffer if path == "-" else open(path, "rb")


def cmd_list(args):
    with open_input(args.archive) as f:
        a = Archive(f)
    for name, data in a.configs:
        print("CFG: size: %d name: %s" % (len(data), name))
    for dev_id in sorted(a.devices):
        name, size = a.devices[dev_id]
        if dev_id == a.vmstate_id:
            print("VMSTATE: dev_id=%d memory: %d" % (dev_id, size))
        else:
            print("DEV: dev_id=%d size: %d devname: %s" % (dev_id, size, name))
    print("CTIME: %s" % time.ctime(a.ctime))
    return 0


def cmd_verify(args):
    with open_input(args.archive) as f:
        a = Archive(f)
        for _ in a.clusters():
            pass
    return 0


def safe_name(name):
    if not name or "/" in name or name in (".", "..") or \
            any(ord(c) < 0x20 or ord(c) == 0x7f for c in name):
        raise VmaError("name %r cannot be a file name" % name)
    return name


def cmd_extract(args):
    target = args.dir.rstrip("/") or args.dir
    if os.path.lexists(target):
        raise VmaError("%s already exists" % target)
    parent = os.path.dirname(os.path.abspath(target))
    tmp = tempfile.mkdtemp(prefix=".vma-py-", dir=parent)
    try:
        with open_input(args.archive) as f:
            a = Archive(f)
            for name, data in a.configs:
                with open(os.path.join(tmp, safe_name(name)), "xb") as out:
                    out.write(data)
            files = {}
            for dev_id, (name, size) in a.devices.items():
                fname = "vmstate.bin" if dev_id == a.vmstate_id \
                    else "disk-%s.raw" % safe_name(name)
                files[dev_id] = open(os.path.join(tmp, fname), "xb")
            try:
                for dev_id, cluster, blocks in a.clusters():
                    out = files[dev_id]
                    limit = None if dev_id == a.vmstate_id else a.devices[dev_id][1]
                    for b, data in blocks.items():
                        pos = cluster * CLUSTER + b * BLOCK
                        if limit is not None:
                            if pos >= limit:
                                continue
                            data = data[:limit - pos]
                        out.seek(pos)          # output file only, never the archive
                        out.write(data)
                for dev_id, out in files.items():
                    length = a.vmstate_length() if dev_id == a.vmstate_id \
                        else a.devices[dev_id][1]
                    out.truncate(length)
            finally:
                for out in files.values():
                    out.close()
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return 0


# -- writer -------------------------------------------------------------------

def build_header(uid, ctime, configs, devices):
    """configs: [(name, bytes)], devices: {dev_id: (name, size)}."""
    blobs = bytearray(b"\0")               # offset 0 means "none"

    def add(data):
        if len(data) > 65535:
            raise VmaError("blob too large")
        off = len(blobs)
        blobs.extend(struct.pack("<H", len(data)))
        blobs.extend(data)
        return off

    head = bytearray(FIXED_HEADER)
    head[0:4] = b"VMA\0"
    struct.pack_into(">I", head, 4, 1)
    head[8:24] = uid
    struct.pack_into(">q", head, 24, ctime)
    for i, (name, data) in enumerate(configs):
        struct.pack_into(">I", head, CONFIG_NAMES_AT + 4 * i, add(name.encode() + b"\0"))
        struct.pack_into(">I", head, CONFIG_DATA_AT + 4 * i, add(data))
    for dev_id, (name, size) in devices.items():
        struct.pack_into(">IIQ", head, DEV_INFO_AT + 32 * dev_id,
                         add(name.encode() + b"\0"), 0, size)
    padded = (len(blobs) + 511) // 512 * 512
    struct.pack_into(">III", head, 48, FIXED_HEADER, len(blobs), FIXED_HEADER + padded)
    full = head + blobs + bytes(padded - len(blobs))
    full[32:48] = hashlib.md5(full).digest()
    return bytes(full)


class ExtentWriter:
    def __init__(self, out, uid, per_extent):
        self.out, self.uid, self.per_extent = out, uid, per_extent
        self.infos, self.data = [], bytearray()

    def add(self, dev_id, cluster, payload):
        payload = payload + bytes(CLUSTER - len(payload))
        mask = 0
        for b in range(16):
            block = payload[b * BLOCK:(b + 1) * BLOCK]
            if block.count(0) != BLOCK:
                mask |= 1 << b
                self.data.extend(block)
        self.infos.append(mask << 48 | dev_id << 32 | cluster)
        if len(self.infos) == self.per_extent:
            self.flush()

    def flush(self, empty_ok=False):
        if not self.infos and not empty_ok:
            return
        head = bytearray(EXTENT_HEADER)
        head[0:4] = b"VMAE"
        struct.pack_into(">H", head, 6, len(self.data) // BLOCK)
        head[8:24] = self.uid
        for i, info in enumerate(self.infos):
            struct.pack_into(">Q", head, 40 + 8 * i, info)
        head[24:40] = hashlib.md5(head).digest()
        self.out.write(head)
        self.out.write(self.data)
        self.infos, self.data = [], bytearray()


def cmd_create(args):
    configs = []
    for path in args.config:
        with open(path, "rb") as f:
            configs.append((os.path.basename(path), f.read()))
    devices, images = {}, {}
    for index, spec in enumerate(args.images, start=0):
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = "disk%d" % index, spec
        dev_id = index + 1
        size = os.path.getsize(path)
        if name != "vmstate":
            # QEMU reports a raw file rounded up to 512 bytes; the padding
            # reads as zeros.
            size = (size + 511) // 512 * 512
        devices[dev_id] = (name, size)
        images[dev_id] = path
    uid = uuid.uuid4().bytes
    header = build_header(uid, int(time.time()), configs, devices)
    order = []
    vm_id = 0
    for dev_id, (name, size) in devices.items():
        if name == "vmstate":
            vm_id = dev_id
        order.extend((dev_id, c) for c in range((size + CLUSTER - 1) // CLUSTER))
    if args.shuffle:
        random.Random(args.shuffle).shuffle(order)
        # vmstate clusters must stay in order: renumber them where they fell
        counter = iter(range(len(order)))
        order = [(d, next(counter) if d == vm_id else c) for d, c in order]
    out = sys.stdout.buffer if args.archive == "-" else open(args.archive, "xb")
    try:
        out.write(header)
        writer = ExtentWriter(out, uid, args.extent_clusters)
        handles = {d: open(p, "rb") for d, p in images.items()}
        for dev_id, cluster in order:
            f = handles[dev_id]
            f.seek(cluster * CLUSTER)
            writer.add(dev_id, cluster, f.read(CLUSTER))
        # A config-only archive is a header and one empty extent.
        writer.flush(empty_ok=not devices)
        for f in handles.values():
            f.close()
        if out is not sys.stdout.buffer:
            out.close()
    except BaseException:
        if out is not sys.stdout.buffer:
            out.close()
            os.unlink(args.archive)
        raise
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list")
    p.add_argument("archive")
    p = sub.add_parser("verify")
    p.add_argument("archive")
    p = sub.add_parser("extract")
    p.add_argument("archive")
    p.add_argument("dir")
    p = sub.add_parser("create")
    p.add_argument("-c", "--config", action="append", default=[])
    p.add_argument("--shuffle", type=int, default=0)
    p.add_argument("--extent-clusters", type=int, default=58, choices=range(1, SLOTS + 1),
                   metavar="N")
    p.add_argument("archive")
    p.add_argument("images", nargs="*")
    args = parser.parse_args(argv)
    handler = {"list": cmd_list, "verify": cmd_verify, "extract": cmd_extract,
               "create": cmd_create}[args.cmd]
    try:
        return handler(args)
    except (VmaError, OSError) as e:
        print("vma_reader.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
