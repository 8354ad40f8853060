#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Drive real QEMU 7.2 for blocksim's differential backend.

harness/backend_qemu.c runs `python3 tools/qemu_driver.py` with pipes and
talks to it in JSON lines: one JSON object per line each way, strictly one
request then one response. Standard library only.

On start the driver makes a private test directory (mkdtemp) and prints

    {"hello": "blocksim-qemu-driver", "version": 1,
     "test_dir": "/tmp/blocksim-qemu-XXXX", "pid": "12345"}

`pid` is the driver's own process id; images are named TEST_DIR/PID-name,
as in iotests, and the C side's renderer filters both strings.

Requests: {"op": OP, ...arguments..., "timeout": seconds (optional)}.
Responses: {"ok": true, "result": VALUE} or {"ok": false, "error": TEXT}.
A QMP *command* error is not a driver error: it comes back as ok/result
holding QEMU's {"error": {...}} reply.

  op            arguments                           result
  launch        [args: extra QEMU argv]             null
  shutdown      -                                   null (no-op without a VM)
  quit_events   -                                   QMP quit, then the list of
                                                    every event until QEMU
                                                    exits (queued ones first)
  qmp           execute, [arguments]                the whole QMP reply
  next_event    timeout, [queued_only]              the next event, or null
                                                    when none came in time;
                                                    queued_only: only one that
                                                    arrived before the last
                                                    reply (QEMU's stream order)
  img_create    fmt, path, size, [backing,          null
                backing_fmt]
  img_rebase_unsafe  path, backing, [backing_fmt]   null (-F is the backing
                                                    image's own format unless
                                                    given)
  img_compare   a, b                                0 identical, 1 mismatch
  img           args (list)                         {"rc", "stdout", "stderr"}
                                                    (any qemu-img command;
                                                    for observations)
  qemu_log      -                                   QEMU's stdout+stderr so far
                                                    (qemu-io's own messages
                                                    land there, not in HMP)
  vm_log        -                                   the same, of the VM
                                                    launched last only
  quit          -                                   null, then the driver exits

Events: every event QEMU sends (while waiting for a reply or for an event)
is queued in arrival order; next_event pops the oldest. Events still queued
at shutdown are dropped (a new VM starts with an empty queue), so QEMU's own
SHUTDOWN event never reaches the caller.

QEMU runs as `qemu-system-x86_64 -machine none -nodefaults -display none`
with its monitor on a unix socket in the test directory (QEMU connects to a
socket the driver listens on, so there is no start-up race). Its stderr goes
to TEST_DIR/qemu.log and its tail is quoted in errors.

Timeouts: every op has a default (below); a request may override it. A QMP
command that times out leaves the monitor out of step, so the VM is killed
and the error says so. qemu-img runs under subprocess timeouts.

Clean-up runs on every exit path: quit, stdin EOF (the parent died), an
exception, SIGINT/SIGTERM/SIGHUP. It quits or kills QEMU, reaps it and
removes the test directory. QEMU also gets PR_SET_PDEATHSIG(SIGKILL), so it
dies with the driver even if the driver is SIGKILLed.
"""

import collections
import ctypes
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

QEMU = os.environ.get("BLOCKSIM_QEMU", "qemu-system-x86_64")
QEMU_IMG = os.environ.get("BLOCKSIM_QEMU_IMG", "qemu-img")

DEFAULT_TIMEOUT = {
    "launch": 30.0,
    "shutdown": 30.0,
    "qmp": 60.0,
    "next_event": 10.0,
    "img": 120.0,
}

PR_SET_PDEATHSIG = 1


class DriverError(Exception):
    pass


class Terminated(BaseException):
    """Raised from a signal handler so that `finally` blocks clean up."""


def _die_with_parent():
    # Runs in the child between fork and exec.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


class VM:
    def __init__(self, test_dir):
        self.test_dir = test_dir
        self.sock_path = os.path.join(test_dir, "qmp.sock")
        self.log_path = os.path.join(test_dir, "qemu.log")
        self.log_start = 0      # where the last launched VM's log begins
        self.proc = None
        self.conn = None
        self.buf = b""
        self.events = collections.deque()

    def running(self):
        return self.proc is not None

    def log_tail(self, n=2000):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
            return data[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def launch(self, extra, timeout):
        if self.proc is not None:
            raise DriverError("launch: the VM is already running")
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(self.sock_path)
            listener.listen(1)
            argv = [QEMU, "-machine", "none", "-nodefaults", "-display", "none",
                    "-chardev", "socket,id=mon,path=%s" % self.sock_path,
                    "-mon", "chardev=mon,mode=control"] + list(extra)
            log = open(self.log_path, "ab")
            self.log_start = log.seek(0, os.SEEK_END)
            try:
                self.proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    cwd=self.test_dir, preexec_fn=_die_with_parent)
            finally:
                log.close()
            deadline = time.monotonic() + timeout
            listener.settimeout(0.1)
            while True:
                try:
                    self.conn, _ = listener.accept()
                    break
                except socket.timeout:
                    pass
                if self.proc.poll() is not None:
                    raise DriverError("QEMU exited with %d before connecting: %s"
                                      % (self.proc.returncode, self.log_tail().strip()))
                if time.monotonic() > deadline:
                    raise DriverError("QEMU did not connect to QMP within %gs" % timeout)
        except BaseException:
            listener.close()
            self.kill()
            raise
        listener.close()
        try:
            self.conn.setblocking(False)
            self.buf = b""
            self.events.clear()
            greeting = self._read_msg(deadline)
            if "QMP" not in greeting:
                raise DriverError("unexpected QMP greeting: %s" % json.dumps(greeting))
            reply = self.command("qmp_capabilities", None, timeout)
            if "return" not in reply:
                raise DriverError("qmp_capabilities failed: %s" % json.dumps(reply))
        except BaseException:
            self.kill()
            raise

    def _read_msg(self, deadline):
        """One JSON message from QMP, or DriverError at EOF / deadline."""
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1:]
                if not line.strip():
                    continue
                try:
                    return json.loads(line.decode("utf-8"))
                except ValueError:
                    raise DriverError("bad JSON from QMP: %r" % line[:200])
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError()
            sel = selectors.DefaultSelector()
            sel.register(self.conn, selectors.EVENT_READ)
            try:
                ready = sel.select(left)
            finally:
                sel.close()
            if not ready:
                continue
            chunk = self.conn.recv(65536)
            if not chunk:
                rc = self.proc.wait(5) if self.proc else None
                raise DriverError("QEMU closed the monitor (exit %s): %s"
                                  % (rc, self.log_tail().strip()))
            self.buf += chunk

    def command(self, execute, arguments, timeout):
        if self.conn is None:
            raise DriverError("qmp %s: the VM is not running" % execute)
        msg = {"execute": execute}
        if arguments is not None:
            msg["arguments"] = arguments
        self.conn.setblocking(True)
        try:
            self.conn.sendall(json.dumps(msg).encode("utf-8") + b"\n")
        finally:
            self.conn.setblocking(False)
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self._read_msg(deadline)
            except TimeoutError:
                self.kill()
                raise DriverError("qmp %s: no reply within %gs; VM killed"
                                  % (execute, timeout))
            if "event" in reply:
                self.events.append(reply)
                continue
            return reply

    def next_event(self, timeout):
        if self.events:
            return self.events.popleft()
        if self.conn is None:
            return None
        try:
            ev = self._read_msg(time.monotonic() + timeout)
        except TimeoutError:
            return None
        if "event" not in ev:
            raise DriverError("unexpected QMP message: %s" % json.dumps(ev))
        return ev

    def quit_events(self, timeout):
        """QMP quit, then every event until QEMU closes the monitor."""
        if self.conn is None:
            raise DriverError("quit_events: the VM is not running")
        events = list(self.events)
        self.events.clear()
        msg = json.dumps({"execute": "quit"}).encode("utf-8") + b"\n"
        self.conn.setblocking(True)
        try:
            self.conn.sendall(msg)
        finally:
            self.conn.setblocking(False)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    m = self._read_msg(deadline)
                except (DriverError, OSError):
                    break       # QEMU is gone (EOF, or the connection reset)
                if "event" in m:
                    events.append(m)
        except TimeoutError:
            self.kill()
            raise DriverError("quit_events: QEMU did not exit within %gs; killed" % timeout)
        self.kill()
        return events

    def shutdown(self, timeout):
        if self.proc is None:
            return
        try:
            if self.conn is not None:
                self.command("quit", None, timeout)
            self.proc.wait(timeout)
        except (DriverError, OSError, subprocess.TimeoutExpired):
            pass
        finally:
            self.kill()

    def kill(self):
        """Make sure QEMU is gone and reaped; idempotent."""
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None
        if self.proc is not None:
            for sig, wait in ((None, 0), (signal.SIGTERM, 3), (signal.SIGKILL, 10)):
                if self.proc.poll() is not None:
                    break
                if sig is not None:
                    try:
                        self.proc.send_signal(sig)
                    except OSError:
                        pass
                try:
                    self.proc.wait(wait)
                except subprocess.TimeoutExpired:
                    pass
            self.proc = None
        self.events.clear()
        self.buf = b""


def run_img(args, timeout):
    try:
        p = subprocess.run([QEMU_IMG] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout,
                           preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired:
        raise DriverError("qemu-img %s: no exit within %gs" % (" ".join(args), timeout))
    return {"rc": p.returncode,
            "stdout": p.stdout.decode("utf-8", "replace"),
            "stderr": p.stderr.decode("utf-8", "replace")}


def img_checked(args, timeout, ok=(0,)):
    r = run_img(args, timeout)
    if r["rc"] not in ok:
        raise DriverError("qemu-img %s failed (%d): %s"
                          % (" ".join(args), r["rc"], (r["stderr"] or r["stdout"]).strip()))
    return r


def need(req, key, kind=str):
    v = req.get(key)
    if not isinstance(v, kind) or isinstance(v, bool):
        raise DriverError("%s: argument '%s' missing or not %s"
                          % (req.get("op"), key, kind.__name__))
    return v


def handle(vm, req):
    op = req.get("op")
    timeout = req.get("timeout")
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        timeout = DEFAULT_TIMEOUT.get(op, DEFAULT_TIMEOUT["img"])
    if op == "launch":
        vm.launch(req.get("args") or [], timeout)
        return None
    if op == "shutdown":
        vm.shutdown(timeout)
        return None
    if op == "quit_events":
        return vm.quit_events(timeout)
    if op == "qmp":
        args = req.get("arguments")
        if args is not None and not isinstance(args, dict):
            raise DriverError("qmp: 'arguments' must be an object")
        return vm.command(need(req, "execute"), args, timeout)
    if op == "next_event":
        if req.get("queued_only"):
            # only what arrived before the last reply (nothing is read)
            return vm.events.popleft() if vm.events else None
        return vm.next_event(timeout)
    if op == "img_create":
        args = ["create", "-q", "-f", need(req, "fmt")]
        if req.get("backing"):
            args += ["-b", need(req, "backing")]
            if req.get("backing_fmt"):
                args += ["-F", need(req, "backing_fmt")]
        args += [need(req, "path"), str(need(req, "size", int))]
        img_checked(args, timeout)
        return None
    if op == "img_rebase_unsafe":
        # QEMU 7.2 insists on a backing format (iotests passes -F imgfmt);
        # take the backing image's own, unless the request names one.
        backing = need(req, "backing")
        fmt = req.get("backing_fmt")
        if not fmt:
            info = img_checked(["info", "--output=json", "-U", backing], timeout)
            try:
                fmt = json.loads(info["stdout"])["format"]
            except (ValueError, KeyError, TypeError):
                raise DriverError("img_rebase_unsafe: cannot tell the format of %s" % backing)
        img_checked(["rebase", "-u", "-b", backing, "-F", fmt, need(req, "path")], timeout)
        return None
    if op == "img_compare":
        r = img_checked(["compare", need(req, "a"), need(req, "b")], timeout, ok=(0, 1))
        return r["rc"]
    if op == "qemu_log":
        return vm.log_tail(1 << 20)
    if op == "vm_log":
        try:
            with open(vm.log_path, "rb") as f:
                f.seek(vm.log_start)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""
    if op == "img":
        args = req.get("args")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise DriverError("img: 'args' must be a list of strings")
        return run_img(args, timeout)
    raise DriverError("unknown op %r" % (op,))


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def on_signal(signum, frame):
    raise Terminated(signum)


def main():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    test_dir = None
    vm = None
    try:
        test_dir = tempfile.mkdtemp(prefix="blocksim-qemu-")
        vm = VM(test_dir)
        send({"hello": "blocksim-qemu-driver", "version": 1,
              "test_dir": test_dir, "pid": str(os.getpid())})
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                req = json.loads(line)
                if not isinstance(req, dict):
                    raise DriverError("a request must be a JSON object")
                if req.get("op") == "quit":
                    send({"ok": True, "result": None})
                    break
                send({"ok": True, "result": handle(vm, req)})
            except (DriverError, ValueError, OSError) as e:
                send({"ok": False, "error": str(e) or e.__class__.__name__})
        return 0
    except Terminated:
        return 1
    except BrokenPipeError:
        return 1
    finally:
        # Ignore further signals while tearing down, so clean-up completes.
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        if vm is not None:
            vm.shutdown(5.0)
        if test_dir is not None:
            shutil.rmtree(test_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
