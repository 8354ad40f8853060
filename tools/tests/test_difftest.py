#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Self-test of tools/difftest.py without QEMU: first differences, signatures,
the findings file, step splitting and the minimiser (over a fake oracle)."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import difftest  # noqa: E402


CASE = """# header
# step 0: setup
let SIZE = 8388608
launch

# step 1: a
log "a"

# step 2: b
group "w" = 0x11@0x0:0x200 0x22@0x1000:0x200 0x33@0x2000:0x200
log "b"

# step 3: c
log "c"
"""


class FakeMinimiser(difftest.Minimiser):
    """Diverges while the case still logs "b" and writes 0x22."""

    def __init__(self, budget=100):
        super().__init__("harness", "/tmp", "x", None, budget)
        self.calls = 0

    def diverges(self, text):
        if self.budget <= 0:
            return False
        self.budget -= 1
        self.calls += 1
        return 'log "b"' in text and "0x22@" in text


class TestDifftest(unittest.TestCase):
    def test_first_diff(self):
        self.assertIsNone(difftest.first_diff("a\nb\n", "a\nb\n"))
        self.assertEqual(difftest.first_diff("a\nb\n", "a\nc\n"), (2, "b", "c"))
        self.assertEqual(difftest.first_diff("a\n", "a\nb\n"), (2, "", "b"))
        self.assertEqual(difftest.first_diff("a", "a\nb"), (2, "<end of transcript>", "b"))

    def test_signature_ignores_numbers(self):
        self.assertEqual(difftest.signature((1, "len 65536", "len 0")),
                         difftest.signature((9, "len 131072", "len 7")))
        self.assertNotEqual(difftest.signature((1, "a", "b")), difftest.signature((1, "a", "c")))

    def test_findings(self):
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write("# x\n\n## QEMU forgets the offset\nSignature: `QEMU: .*offset\": 0`\n")
        try:
            found = difftest.load_findings(f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(len(found), 1)
        self.assertEqual(difftest.known(found, (3, '"offset": 5', '"offset": 0')),
                         "QEMU forgets the offset")
        self.assertIsNone(difftest.known(found, (3, '"offset": 0', '"offset": 5')))
        self.assertEqual(difftest.load_findings("/nonexistent/FINDINGS.md"), [])

    def test_split_steps(self):
        prefix, chunks = difftest.split_steps(CASE)
        self.assertEqual(prefix, "# header\n")
        self.assertEqual(len(chunks), 4)
        self.assertTrue(chunks[2].startswith("# step 2: b\n"))
        self.assertEqual(prefix + "".join(chunks), CASE)

    def test_minimise(self):
        m = FakeMinimiser()
        out = m.minimise(CASE)
        self.assertIn("# step 0: setup", out)
        self.assertIn('log "b"', out)
        self.assertNotIn('log "a"', out)
        self.assertNotIn('log "c"', out)
        # single writes dropped, the one that matters kept
        self.assertIn('group "w" = 0x22@0x1000:0x200', out)
        # the image halved down to 1 MiB
        self.assertIn("let SIZE = 1048576", out)
        self.assertLess(m.calls, 30)

    def test_budget(self):
        m = FakeMinimiser(budget=0)
        self.assertEqual(m.minimise(CASE), CASE)


if __name__ == "__main__":
    unittest.main()
