#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Self-test of tools/qemu_driver.py: the protocol, and that QEMU and the
test directory go away on every exit path. Skips when QEMU is missing."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qemu_driver.py")
HAVE_QEMU = all(shutil.which(p) for p in ("qemu-system-x86_64", "qemu-img"))


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Driver:
    def __init__(self):
        self.p = subprocess.Popen([sys.executable, DRIVER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.hello = json.loads(self.p.stdout.readline())

    def req(self, **kw):
        self.p.stdin.write(json.dumps(kw) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def qemu_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.p.pid)], capture_output=True, text=True)
        return [int(x) for x in out.stdout.split()]


@unittest.skipUnless(HAVE_QEMU, "QEMU 7.2 not installed")
class TestDriver(unittest.TestCase):
    def test_protocol(self):
        d = Driver()
        td, pid = d.hello["test_dir"], d.hello["pid"]
        self.assertEqual(pid, str(d.p.pid))
        img = "%s/%s-img" % (td, pid)
        self.assertEqual(d.req(op="img_create", fmt="qcow2", path=img, size=1 << 20),
                         {"ok": True, "result": None})
        self.assertTrue(d.req(op="launch")["ok"])
        r = d.req(op="qmp", execute="blockdev-add",
                  arguments={"driver": "qcow2", "node-name": "drive0",
                             "file": {"driver": "file", "filename": img}})
        self.assertEqual(r["result"], {"return": {}})
        r = d.req(op="qmp", execute="human-monitor-command",
                  arguments={"command-line": 'qemu-io drive0 "write -P0x49 0 64k"'})
        self.assertEqual(r["result"], {"return": ""})
        r = d.req(op="qmp", execute="no-such-command")
        self.assertEqual(r["result"]["error"]["class"], "CommandNotFound")
        # stop/cont emit two events; they come back in order.
        d.req(op="qmp", execute="stop")
        d.req(op="qmp", execute="cont")
        evs = [d.req(op="next_event", timeout=5)["result"]["event"] for _ in range(2)]
        self.assertEqual(evs, ["STOP", "RESUME"])
        self.assertIsNone(d.req(op="next_event", timeout=0.2)["result"])
        self.assertTrue(d.req(op="shutdown")["ok"])
        self.assertEqual(d.req(op="img_compare", a=img, b=img)["result"], 0)
        other = "%s/%s-other" % (td, pid)
        d.req(op="img_create", fmt="qcow2", path=other, size=1 << 20)
        self.assertEqual(d.req(op="img_compare", a=img, b=other)["result"], 1)
        self.assertTrue(d.req(op="img_rebase_unsafe", path=other, backing=img)["ok"])
        self.assertEqual(d.req(op="img_compare", a=img, b=other)["result"], 0)
        self.assertFalse(d.req(op="bogus")["ok"])
        self.assertFalse(d.req(op="qmp", execute="query-status")["ok"])   # no VM
        d.req(op="quit")
        self.assertEqual(d.p.wait(30), 0)
        self.assertFalse(os.path.exists(td))

    def test_queued_only_and_quit_events(self):
        d = Driver()
        self.assertTrue(d.req(op="launch")["ok"])
        # STOP comes before stop's reply: queued; nothing else is
        d.req(op="qmp", execute="stop")
        r = d.req(op="next_event", queued_only=True)["result"]
        self.assertEqual(r["event"], "STOP")
        self.assertIsNone(d.req(op="next_event", queued_only=True)["result"])
        # quit: every event until QEMU is gone, SHUTDOWN among them
        [q] = d.qemu_pids()
        evs = d.req(op="quit_events")["result"]
        self.assertIn("SHUTDOWN", [e["event"] for e in evs])
        time.sleep(0.2)
        self.assertFalse(alive(q))
        self.assertFalse(d.req(op="quit_events")["ok"])     # no VM any more
        self.assertTrue(d.req(op="launch")["ok"])
        d.req(op="quit")
        self.assertEqual(d.p.wait(30), 0)

    def test_qmp_timeout_kills_vm(self):
        d = Driver()
        d.req(op="launch")
        [q] = d.qemu_pids()
        r = d.req(op="qmp", execute="query-status", timeout=1e-6)
        self.assertFalse(r["ok"])
        self.assertFalse(alive(q))
        self.assertTrue(d.req(op="launch")["ok"])   # a new VM can start
        d.p.stdin.close()
        d.p.wait(30)

    def exit_path(self, how):
        d = Driver()
        td = d.hello["test_dir"]
        self.assertTrue(d.req(op="launch")["ok"])
        [q] = d.qemu_pids()
        how(d)
        d.p.wait(30)
        time.sleep(0.2)
        self.assertFalse(alive(q), "QEMU survived")
        return td

    def test_stdin_eof(self):
        self.assertFalse(os.path.exists(self.exit_path(lambda d: d.p.stdin.close())))

    def test_sigterm(self):
        self.assertFalse(os.path.exists(self.exit_path(lambda d: d.p.send_signal(signal.SIGTERM))))

    def test_sigint(self):
        self.assertFalse(os.path.exists(self.exit_path(lambda d: d.p.send_signal(signal.SIGINT))))

    def test_sigkill_still_kills_qemu(self):
        # The directory cannot be removed by a SIGKILLed driver; QEMU still dies.
        td = self.exit_path(lambda d: d.p.kill())
        shutil.rmtree(td, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
