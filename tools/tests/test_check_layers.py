#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tools/check_layers.py finds upward includes, upward calls and files in
no layer, and passes a tree that keeps its layers."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import check_layers  # noqa: E402

LAYERS = [("low", ["a", "a_*"]), ("high", ["b"])]


def write(d, name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


class TestLayers(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.d)

    def test_downward_include_passes(self):
        write(self.d, "a.h", "int a(void);\n")
        write(self.d, "b.c", '#include "sim/a.h"\n')
        self.assertEqual(check_layers.check_includes(self.d, LAYERS), [])

    def test_upward_include_fails(self):
        write(self.d, "b.h", "int b(void);\n")
        write(self.d, "a_x.c", '\n#include "sim/b.h"\n')
        errs = check_layers.check_includes(self.d, LAYERS)
        self.assertEqual(len(errs), 1)
        self.assertIn("a_x.c:2: layer 'low' includes sim/b.h of higher layer 'high'", errs[0])

    def test_relative_include_counts(self):
        # "b.h" from a file in sim/ is sim/b.h
        write(self.d, "a.c", '#include "b.h"\n')
        errs = check_layers.check_includes(self.d, LAYERS)
        self.assertEqual(len(errs), 1)
        self.assertIn("includes sim/b.h of higher layer", errs[0])

    def test_file_in_no_layer_fails(self):
        write(self.d, "stray.c", "\n")
        errs = check_layers.check_includes(self.d, LAYERS)
        self.assertEqual(len(errs), 1)
        self.assertIn("stray", errs[0])

    @unittest.skipUnless(shutil.which("cc") and shutil.which("nm"), "needs cc and nm")
    def test_upward_call_fails(self):
        # a.c calls b(), defined in the higher layer: only nm can see it
        write(self.d, "a.c", "int b(void);\nint a(void) { return b(); }\n")
        write(self.d, "b.c", "int a(void);\nint b(void) { return 1; }\nint c(void) { return a(); }\n")
        for base in ("a", "b"):
            subprocess.run(["cc", "-c", "-o", os.path.join(self.d, base + ".o"),
                            os.path.join(self.d, base + ".c")], check=True)
        errs = check_layers.check_calls(self.d, LAYERS)
        self.assertEqual(errs, ["sim/a.c: layer 'low' calls b() of sim/b.c in higher layer 'high'"])

    def test_real_table_places_exact_names_first(self):
        # "job" is a jobs file even though "job_*" patterns exist elsewhere
        self.assertEqual(check_layers.layer_of("job")[1], "jobs")
        self.assertEqual(check_layers.layer_of("qmp_blk")[1], "commands")
        self.assertIsNone(check_layers.layer_of("no_such_file"))


if __name__ == "__main__":
    unittest.main()
