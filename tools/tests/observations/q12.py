# SPDX-License-Identifier: GPL-2.0-or-later
# Observation script for sim/qemu-observations.md (runs real QEMU 7.2 via tools/qemu_driver.py).
import sys, json
sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__import__("os").path.abspath(__file__)), ".."))  # qemu_session
from qemu_session import Session

def setup(s, size, writes, gran=None, tgt_cluster=None):
    s.call("img_create", fmt="qcow2", path=s.path("img"), size=size)
    opts = {}
    s.call("img_create", fmt="qcow2", path=s.path("tgt"), size=size)
    s.call("launch")
    s.qmp("blockdev-add", driver="qcow2", **{"node-name": "drive0"}, file={"driver": "file", "filename": s.path("img")})
    s.qmp("blockdev-add", driver="qcow2", **{"node-name": "target0"}, file={"driver": "file", "filename": s.path("tgt")})
    if gran:
        s.qmp("block-dirty-bitmap-add", node="drive0", name="bitmap0", granularity=gran)
    for pat, off, ln in writes:
        s.hmp('qemu-io drive0 "write -P%s %s %s"' % (pat, off, ln), quiet=True)
    s.log("after writes:"); s.bitmaps()

def run(size, writes, sync, gran=None, later=(), speed=None):
    s = Session()
    s.log("##### size=%d sync=%s gran=%s writes=%s" % (size, sync, gran, writes))
    setup(s, size, writes, gran)
    args = {"device": "drive0", "target": "target0", "job-id": "j", "sync": sync, "filter-node-name": "backup-top",
            "auto-finalize": False, "x-perf": {"max-workers": 1}}
    if gran:
        args.update(bitmap="bitmap0", **{"bitmap-mode": "on-success"})
    if speed:
        args["speed"] = speed
    s.qmp("blockdev-backup", **args)
    if speed:
        s.log("while running (speed-limited):"); s.bitmaps()
        s.qmp("query-block-jobs")
        s.qmp("block-job-set-speed", device="j", speed=0)
    s.events_until(lambda e: e["event"] == "BLOCK_JOB_PENDING")
    s.log("pending:"); s.bitmaps()
    s.qmp("query-block-jobs")
    for pat, off, ln in later:
        s.log(s.hmp('qemu-io backup-top "write -P%s %s %s"' % (pat, off, ln), quiet=True))
    if later:
        s.log("pending, after writes through backup-top:"); s.bitmaps()
    s.qmp("job-finalize", id="j")
    s.events_until(lambda e: e["event"] == "JOB_STATUS_CHANGE" and e["data"]["status"] == "null")
    s.log("after job:"); s.bitmaps()
    s.call("shutdown")
    s.close()

W = [("0x49", 0, 0x10000), ("0x6c", 0x100000, 0x10000)]
which = sys.argv[1]
if which == "q1":
    for size in (48 * 2**20 + 32 * 2**10, 2**20 + 512):
        run(size, W, "full")
        run(size, W + [("0x77", size - 512, 512)], "full", later=[("0x11", size - 512, 512)], speed=1)
elif which == "q2":
    G1 = [("0x65", 0, 0x10000), ("0x77", 0xf8000, 0x10000), ("0x72", 0x2008000, 0x10000), ("0x69", 0x3fe0000, 0x10000)]
    G2 = [("0x74", 0x10000, 0x10000), ("0x69", 0xe8000, 0x10000), ("0x6e", 0x2018000, 0x10000), ("0x67", 0x3fe0000, 0x20000)]
    for g in (32768, 131072):
        run(64 * 2**20, G1, "bitmap", gran=g, later=G2)
        run(64 * 2**20, G1, "bitmap", gran=g, later=G2[:1], speed=1)
