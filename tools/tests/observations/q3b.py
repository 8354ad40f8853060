# SPDX-License-Identifier: GPL-2.0-or-later
# Observation script for sim/qemu-observations.md (runs real QEMU 7.2 via tools/qemu_driver.py).
import sys
sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__import__("os").path.abspath(__file__)), ".."))  # qemu_session
from qemu_session import Session
s = Session()
S = 64 * 2**20
for n in ("img", "t1", "t2", "t3"):
    s.call("img_create", fmt="qcow2", path=s.path(n), size=S)
s.call("launch")
s.qmp("blockdev-add", driver="qcow2", **{"node-name": "drive0"}, file={"driver": "file", "filename": s.path("img")}, quiet=True)
for n in ("t1", "t2", "t3"):
    s.qmp("blockdev-add", driver="qcow2", **{"node-name": n}, file={"driver": "file", "filename": s.path(n)}, quiet=True)
s.qmp("block-dirty-bitmap-add", node="drive0", name="bitmap0", granularity=65536)
s.hmp('qemu-io drive0 "write -P0x11 0 64k"')
s.hmp('qemu-io drive0 "write -P0x11 0x2000000 64k"')
s.qmp("blockdev-backup", device="drive0", target="t1", **{"job-id": "j1", "auto-finalize": False, "filter-node-name": "backup-top"}, speed=1, sync="full",
      bitmap="bitmap0", **{"bitmap-mode": "always"}, **{"x-perf": {"max-workers": 1}})
s.qmp("query-block-jobs")
s.qmp("blockdev-backup", device="drive0", target="t2", **{"job-id": "j1"}, sync="full")
s.qmp("blockdev-backup", device="t2", target="t3", **{"job-id": "j1"}, sync="full")
s.qmp("blockdev-backup", device="drive0", target="t2", **{"job-id": "j2"}, sync="bitmap", bitmap="bitmap0", **{"bitmap-mode": "on-success"})
s.qmp("blockdev-backup", device="drive0", target="t2", **{"job-id": "j2"}, sync="incremental", bitmap="bitmap0")
s.qmp("blockdev-backup", device="drive0", target="t2", **{"job-id": "j2"}, sync="full", bitmap="bitmap0", **{"bitmap-mode": "always"})
s.qmp("blockdev-backup", device="drive0", target="t2", **{"job-id": "j2"}, sync="none", bitmap="bitmap0", **{"bitmap-mode": "always"})
s.qmp("block-dirty-bitmap-add", node="drive0", name="bitmap0", granularity=65536)
s.qmp("job-finalize", id="j1")
s.qmp("job-dismiss", id="j1")
s.qmp("job-complete", id="j1")
s.hmp('qemu-io drive0 "write -P0x22 0 64k"')
s.hmp('qemu-io drive0 "bogus"')
s.hmp('qemu-io backup-top "write -P0x33 0x10000000 64k"')
s.log("QEMU log: %r" % s.call("qemu_log"))
s.qmp("block-job-set-speed", device="j1", speed=0)
s.events_until(lambda e: e["event"] == "BLOCK_JOB_PENDING")
s.qmp("job-dismiss", id="j1")
s.bitmaps()
s.qmp("job-cancel", id="j1")
s.events_until(lambda e: e["event"] == "JOB_STATUS_CHANGE" and e["data"]["status"] == "null")
s.bitmaps()
s.call("shutdown")
s.close()
