# SPDX-License-Identifier: GPL-2.0-or-later
# Observation script for sim/qemu-observations.md (runs real QEMU 7.2 via tools/qemu_driver.py).
import sys, json
sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__import__("os").path.abspath(__file__)), ".."))  # qemu_session
from qemu_session import Session

def blkdebug(path):
    return {"driver": "qcow2", "node-name": "drive0", "file": {"driver": "blkdebug", "image": {"driver": "file", "filename": path},
            "set-state": [{"event": "flush_to_disk", "state": 1, "new_state": 2}, {"event": "read_aio", "state": 2, "new_state": 3}],
            "inject-error": [{"event": "read_aio", "errno": 5, "state": 3, "immediately": False, "once": True}]}}

def run(name, w0, w1, show=False, sync="bitmap", mode="never"):
    s = Session(log=(print if show else (lambda *a: None)))
    S = 64 * 2**20
    s.call("img_create", fmt="qcow2", path=s.path("img"), size=S)
    s.call("img_create", fmt="qcow2", path=s.path("tgt"), size=S)
    s.call("launch")
    s.qmp("blockdev-add", **blkdebug(s.path("img")))
    s.qmp("blockdev-add", driver="qcow2", **{"node-name": "target0"}, file={"driver": "file", "filename": s.path("tgt")})
    for off, ln in w0:
        s.hmp('qemu-io drive0 "write -P0x11 %#x %#x"' % (off, ln), quiet=True)
    s.qmp("block-dirty-bitmap-add", node="drive0", name="bitmap0", granularity=65536)
    for off, ln in w1:
        s.hmp('qemu-io drive0 "write -P0x22 %#x %#x"' % (off, ln), quiet=True)
    s.hmp('qemu-io drive0 "flush"')
    s.qmp("blockdev-backup", device="drive0", target="target0", sync=sync, bitmap="bitmap0", **{"bitmap-mode": mode, "job-id": "backup_1",
          "auto-finalize": False, "filter-node-name": "backup-top", "x-perf": {"max-workers": 1}})
    evs = s.events_until(lambda e: e["event"] in ("BLOCK_JOB_PENDING", "BLOCK_JOB_COMPLETED"), show=show)
    if evs[-1]["event"] == "BLOCK_JOB_PENDING":
        s.qmp("job-finalize", id="backup_1")
    evs += s.events_until(lambda e: e["event"] == "JOB_STATUS_CHANGE" and e["data"]["status"] == "null", show=show)
    bm = s.bitmaps(show=False)
    s.call("shutdown")
    m = s.call("img", args=["map", "--output=json", s.path("img")])
    s.close()
    hostmap = [(e["start"] // 65536, e["length"] // 65536, e["offset"] // 65536) for e in json.loads(m["stdout"]) if e.get("data")]
    done = [e["data"] for e in evs if e["event"] in ("BLOCK_JOB_COMPLETED",)]
    print("%-10s w0=%s w1=%s" % (name, [(hex(o), hex(l)) for o, l in w0], [(hex(o), hex(l)) for o, l in w1]))
    print("    host map (guest cluster, n, host cluster): %s" % hostmap)
    print("    completed: %s; bitmap0 count after: %s" % (json.dumps(done), [b["count"] for b in bm.get("drive0", [])]))
    print("    statuses: %s" % " ".join(e["data"].get("status", e["event"]) for e in evs))

K = 0x10000
cases = {
    "257": ([(0, K), (0x100000, K), (0x2000000, K), (0x3ff0000, K)], [(0, K), (0xf8000, K), (0x2008000, K), (0x3fe0000, K)]),
    "A": ([], [(0x20000, K), (0, 2 * K), (0x100000, K)]),
    "B": ([], [(0, 3 * K), (0x100000, K)]),
    "C": ([], [(K, K), (0, K), (2 * K, K), (0x100000, K)]),
    "E": ([], [(0, 0x200000), (0x300000, K)]),
    "F": ([(0x20000, K), (0, K)], [(0, 3 * K), (0x100000, K)]),
    "G": ([(0, K)], [(0, 3 * K), (0x100000, K)]),
    "H": ([], [(0, 0x180000), (0x200000, K)]),
}
which = sys.argv[1:] or list(cases)
for name in which:
    for rep in range(3):
        run(name, *cases[name], show=(rep == 0 and name == "257"))
