# SPDX-License-Identifier: GPL-2.0-or-later
"""A small Python client of tools/qemu_driver.py, for observation scripts
and the driver's self-test (the harness uses harness/backend_qemu.c)."""

import json
import os
import subprocess
import sys

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qemu_driver.py")


class DriverFailed(Exception):
    pass


class Session:
    def __init__(self, log=print):
        self.p = subprocess.Popen([sys.executable, DRIVER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        hello = json.loads(self.p.stdout.readline())
        self.test_dir, self.pid = hello["test_dir"], hello["pid"]
        self.log = log

    def path(self, name):
        return "%s/%s-%s" % (self.test_dir, self.pid, name)

    def filt(self, s):
        return s.replace(self.test_dir, "TEST_DIR").replace(self.pid + "-", "PID-")

    def call(self, op, **kw):
        kw["op"] = op
        self.p.stdin.write(json.dumps(kw) + "\n")
        self.p.stdin.flush()
        r = json.loads(self.p.stdout.readline())
        if not r["ok"]:
            raise DriverFailed(r["error"])
        return r["result"]

    def qmp(self, execute, quiet=False, **arguments):
        r = self.call("qmp", execute=execute, arguments=arguments or None)
        if not quiet:
            self.log(self.filt(json.dumps({"execute": execute, "arguments": arguments}, sort_keys=True)))
            self.log(self.filt(json.dumps(r, sort_keys=True)))
        return r

    def hmp(self, line, quiet=False):
        return self.qmp("human-monitor-command", quiet=quiet, **{"command-line": line})

    def event(self, timeout=10.0):
        return self.call("next_event", timeout=timeout)

    def events_until(self, pred, timeout=10.0, show=True):
        """Log events (timestamps dropped) until pred(ev) holds; return them."""
        out = []
        while True:
            ev = self.event(timeout)
            if ev is None:
                self.log("(no event within %gs)" % timeout)
                return out
            ev.pop("timestamp", None)
            out.append(ev)
            if show:
                self.log(self.filt(json.dumps(ev, sort_keys=True)))
            if pred(ev):
                return out

    def drain(self, timeout=0.3, show=True):
        return self.events_until(lambda ev: False, timeout, show)

    def bitmaps(self, show=True):
        r = self.qmp("query-named-block-nodes", quiet=True)["return"]
        bm = {n["node-name"]: n["dirty-bitmaps"] for n in r if n.get("dirty-bitmaps")}
        if show:
            for node in sorted(bm):
                self.log("  %s: %s" % (node, "; ".join(
                    "%s g=%d count=%d%s%s" % (b.get("name", "(anon)"), b["granularity"], b["count"],
                                              " busy" if b["busy"] else "",
                                              " rec" if b["recording"] else "")
                    for b in bm[node])))
        return bm

    def close(self):
        try:
            self.call("quit")
        finally:
            self.p.stdin.close()
            self.p.wait(30)
