#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Feed each kind of bad input to the real programs and print what they say.

    python3 tools/bad_input.py [--build build] [--out build/bad-input] [--wrapper CMD]

Writes malformed case files, corrupt VMA archives and wrong QMP arguments
into the scratch directory, runs `harness` and `vma` on them, and prints
Markdown tables (input, message, exit code): the source of the "Bad input"
section of CONTRIBUTING.md. Test tooling only (standard library).
"""
import argparse
import hashlib
import os
import shutil
import struct
import subprocess
import sys


WRAPPER = []


def run(cmd, cwd):
    p = subprocess.run(WRAPPER + cmd, cwd=cwd, capture_output=True, text=True)
    if WRAPPER and p.returncode == 99:
        sys.exit('%s: the wrapper reported an error:\n%s' % (' '.join(cmd), p.stderr))
    return p.returncode, p.stdout, p.stderr


def md(s):
    return s.replace('|', '\\|').replace('\n', ' ')


# ---- case files --------------------------------------------------------------

CASES = [
    ('unterminated string', 'let x = "abc\n'),
    ('bad `\\u` escape', 'log "\\u12"\n'),
    ('unknown escape', 'log "\\q"\n'),
    ('`${` without a name', 'log "${}"\n'),
    ('`${` not closed', 'log "${abc"\n'),
    ('`\\` not at the end of its line', 'log 1 \\ 2\n'),
    ('malformed number', 'let x = 12ab\n'),
    ('number too large', 'let x = 99999999999999999999\n'),
    ('`$` without a name', 'log $\n'),
    ('unexpected character', 'let x = 1 ; 2\n'),
    ('unbalanced bracket', 'let x = [1, 2\n'),
    ('missing `,` in a list', 'let x = [1 2]\n'),
    ('object key not a plain string', 'let x = {1: 2}\n'),
    ('trailing tokens', 'let x = 1 2\n'),
    ('bare word as a value', 'let x = abc\n'),
    ('chained comparison', 'let x = 1 < 2 < 3\n'),
    ('unknown function', 'let x = dirname("/a")\n'),
    ('function arity', 'let x = basename("/a", "/b")\n'),
    ('unknown command', 'frobnicate 1\n'),
    ('command arity', 'img_create "qcow2"\n'),
    ('unknown keyword argument', 'run_job "j" colour=1\n'),
    ('keyword argument twice', 'run_job "j" cancel=true cancel=false\n'),
    ('bare word where a value goes', 'img_create qcow2 "/x" 1\n'),
    ('unknown model operation', 'model m frob 1\n'),
    ('model operation arity', 'model m new\n'),
    ('block never closed', 'if true\nlog 1\n'),
    ('`else` block not ended', 'if true\nlog 1\nelse\nlog 2\nelse\n'),
    ('`elif` without `if`', 'elif true\n'),
    ('`end` without a block', 'end\n'),
    ('nested `proc`', 'proc a\nproc b\nend\nend\n'),
    ('procedure defined twice', 'proc a\nend\nproc a\nend\n'),
    ('parameter given twice', 'proc a x x\nend\n'),
    ('`let` without a name', 'let $x = 1\n'),
    ('`for` without `in`', 'for x [1]\nend\n'),
    ('group item malformed', 'group 0 = 0x49\n'),
    ('group pattern not a byte', 'group 0 = 0x1ff@0\n'),
    ('empty group', 'group 0 =\n'),
    ('call of an unknown procedure', 'call nowhere\n'),
    ('call arity', 'proc a x\nend\ncall a\n'),
    ('pre_finalize names an unknown procedure', 'run_job "j" pre_finalize=nowhere\n'),
    ('pre_finalize procedure takes arguments', 'proc p x\nend\nrun_job "j" pre_finalize=p\n'),
    ('QMP arguments not an object (at run time)', 'launch\nqmp query-jobs [1]\n'),
    ('NUL byte in the file', 'log 1\n\0\n'),
    ('undefined variable (at run time)', 'log $nope\n'),
    ('`qmp_return` gets an error reply (at run time)',
     'launch\nqmp_return blockdev-del {"node-name": "x"}\n'),
    ('brackets nested deeper than 1000', 'let x = ' + '[' * 1001 + ']' * 1001 + '\n'),
    ('`not` nested deeper than 1000', 'let x = ' + 'not ' * 1001 + '1\n'),
    ('operator chain deeper than 1000', 'let x = 1' + ' + 1' * 1000 + '\n'),
    ('blocks nested deeper than 1000', 'if true\n' * 1001 + 'end\n' * 1001),
    ('blocks and calls nested deeper than 4000 (at run time)',
     'proc p\n' + 'if true\n' * 50 + 'call p\n' + 'end\n' * 50 + 'end\ncall p\n'),
    ('value nested deeper than 1000 (at run time)',
     'let x = []\nfor i in [' + ','.join(['0'] * 1001) + ']\n  let x = [$x]\nend\n'),
    ('value over 16 MiB, `--max-value-size` (at run time)',
     'let x = "ab"\nfor i in [' + ','.join(['0'] * 30) + ']\n  let x = $x + $x\nend\n'),
    ('image models over 1 GiB, `--max-model-memory` (at run time)',
     'image m new (1024 * 1024 * 1024)\nimage c copy m\n'),
    ('QMP file name outside the test directory (at run time)',
     'launch\nqmp backup {"backup-file": "/tmp/x.vma"}\n'),
    ('relative QMP file name (at run time)',
     'launch\nqmp blockdev-add {"driver": "file", "node-name": "f", "filename": "x.img"}\n'),
    ('`run` argument outside the test directory (at run time)',
     'run vma create "/tmp/y.vma" "/etc/hostname"\n'),
    ('`run` argument climbing out with `..` (at run time)',
     'files a\nrun vma create $a "d=../../etc/hostname"\n'),
    ('`img_create` path outside the test directory (at run time)',
     'img_create "qcow2" "/tmp/z.qcow2" 1048576\n'),
    ('`qemu_io_run` image outside the test directory (at run time)',
     'qemu_io_run "/etc/hostname" "write 0 512"\n'),
    ('`img_map` NBD socket outside the test directory (at run time)',
     'img_map "nbd+unix:///e?socket=/tmp/other.sock"\n'),
]


def case_table(harness, out):
    d = os.path.join(out, 'cases')
    os.makedirs(d, exist_ok=True)
    rows = []
    for i, (what, text) in enumerate(CASES):
        name = 'bad%02d.case' % i
        with open(os.path.join(d, name), 'w') as f:
            f.write(text)
        rc, _, err = run([harness, '--print', '--golden-dir', d, name], d)
        msg = next((l for l in err.splitlines() if name in l and 'error' in l), err.strip())
        rows.append('| %s | `%s` | %d |' % (what, md(msg), rc))
    rc, _, err = run([harness, '--print', 'missing.case'], d)
    rows.append('| file missing | `%s` | %d |' % (md(err.splitlines()[1]), rc))
    rc, _, err = run([harness, '--frob'], d)
    rows.append('| unknown option | `%s` | %d |' % (md(err.splitlines()[0]), rc))
    return rows


# ---- archives ----------------------------------------------------------------

H_MD5, H_BLOB_OFF, H_BLOB_SIZE, H_HSIZE = 32, 48, 52, 56
H_CFG_NAMES, H_CFG_DATA, H_DEV = 2044, 3068, 4096
E_MD5 = 24


def fix_header_md5(b):
    hs = struct.unpack('>I', b[H_HSIZE:H_HSIZE + 4])[0]
    b[H_MD5:H_MD5 + 16] = bytes(16)
    b[H_MD5:H_MD5 + 16] = hashlib.md5(bytes(b[:hs])).digest()


def header_size(b):
    return struct.unpack('>I', b[H_HSIZE:H_HSIZE + 4])[0]


def fix_extent_md5(b, at):
    b[at + E_MD5:at + E_MD5 + 16] = bytes(16)
    b[at + E_MD5:at + E_MD5 + 16] = hashlib.md5(bytes(b[at:at + 512])).digest()


def put32(b, at, v):
    b[at:at + 4] = struct.pack('>I', v)


def put64(b, at, v):
    b[at:at + 8] = struct.pack('>Q', v)


def archive_mutations(good):
    hs = header_size(good)
    ext = hs                       # first extent
    blob = struct.unpack('>I', good[H_BLOB_OFF:H_BLOB_OFF + 4])[0]

    def hdr(fn):
        def m(b):
            fn(b)
            fix_header_md5(b)
        return m

    def extent(fn):
        def m(b):
            fn(b)
            fix_extent_md5(b, ext)
        return m

    def setb(at, data):
        def f(b):
            b[at:at + len(data)] = data
        return f

    def second_extent(b):
        return ext + 512 + 4096 * struct.unpack('>H', b[ext + 6:ext + 8])[0]

    def dup_cluster(b):
        # blockinfo[1] names the cluster of blockinfo[0] (same device)
        b[ext + 48 + 3:ext + 56] = b[ext + 40 + 3:ext + 48]
        fix_extent_md5(b, ext)

    return [
        ('empty file', lambda b: b.clear()),
        ('wrong magic', setb(0, b'XMA\0')),
        ('shorter than the fixed header', lambda b: b.__delitem__(slice(100, None))),
        ('unsupported version', hdr(lambda b: put32(b, 4, 2))),
        ('header_size not a multiple of 512', hdr(lambda b: put32(b, H_HSIZE, hs + 1))),
        ('header_size huge', hdr(lambda b: put32(b, H_HSIZE, 0xfffffe00))),
        ('header cut short', lambda b: b.__delitem__(slice(hs - 512, None))),
        ('header md5 mismatch', setb(200, b'\x01')),
        ('blob buffer offset out of range', hdr(lambda b: put32(b, H_BLOB_OFF, 100))),
        ('blob buffer past the header', hdr(lambda b: put32(b, H_BLOB_SIZE, hs))),
        ('blob length past the blob buffer', hdr(setb(blob + 1, b'\xff\xff'))),
        ('config name points between blobs', hdr(lambda b: put32(b, H_CFG_NAMES, 2))),
        ('config data without a name', hdr(lambda b: put32(b, H_CFG_DATA + 4, 1))),
        ('dev_info[0] in use', hdr(lambda b: put64(b, H_DEV + 8, 4096))),
        ('device size without a name', hdr(lambda b: put64(b, H_DEV + 32 * 9 + 8, 4096))),
        ('device size 0', hdr(lambda b: put64(b, H_DEV + 32 + 8, 0))),
        ('device beyond 2^32 clusters', hdr(lambda b: put64(b, H_DEV + 32 + 8, 1 << 49))),
        ('duplicate device name', hdr(lambda b: b.__setitem__(
            slice(H_DEV + 64, H_DEV + 68), b[H_DEV + 32:H_DEV + 36]))),
        ('no devices (the extents still name them)', hdr(lambda b: [b.__setitem__(slice(H_DEV + 32 * i, H_DEV + 32 * i + 32),
                                                    bytes(32)) for i in range(256)])),
        ('extent magic wrong', setb(ext, b'VMAX')),
        ('extent md5 mismatch', setb(ext + 100, b'\x01')),
        ('extent reserved field set', extent(setb(ext + 4, b'\x00\x01'))),
        ('extent of another archive (uuid)', extent(setb(ext + 8, b'\xee'))),
        ('blockinfo reserved byte set', extent(setb(ext + 40 + 2, b'\x01'))),
        ('blockinfo with dev_id 0', extent(setb(ext + 40 + 3, b'\x00'))),
        ('block_count does not match the masks', extent(lambda b: put32(b, ext + 4, 1))),
        ('blockinfo names an unused dev_id', extent(setb(ext + 40 + 3, b'\x09'))),
        ('cluster beyond the device', extent(setb(ext + 40 + 4, b'\x00\x01\x00\x00'))),
        ('cluster appears twice', dup_cluster),
        ('extent cut short', lambda b: b.__delitem__(slice(len(b) - 100, None))),
        ('device incomplete at the end', lambda b: b.__delitem__(slice(second_extent(b), None))),
        ('archive only a header', lambda b: b.__delitem__(slice(hs, None))),
    ]


def archive_table(vma, out):
    d = os.path.join(out, 'vma')
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'qemu-server.conf'), 'w') as f:
        f.write('memory: 512\n')
    with open(os.path.join(d, 'a.raw'), 'wb') as f:
        # 64 clusters: more than one extent (58 clusters each)
        f.write(b'\x49' * 4096 + bytes(61440) + b'\x6c' * 4096 + bytes(4 << 20) +
                b'\x76' * 4096)
    with open(os.path.join(d, 'b.raw'), 'wb') as f:
        f.write(b'\xaa' * 8192)
    good = os.path.join(d, 'good.vma')
    if os.path.exists(good):
        os.unlink(good)
    rc, _, err = run([vma, 'create', '-c', 'qemu-server.conf', 'good.vma',
                      'drive-scsi0=a.raw', 'drive-scsi1=b.raw'], d)
    if rc:
        sys.exit('vma create failed: ' + err)
    base = bytearray(open(good, 'rb').read())
    rows = []
    for i, (what, mutate) in enumerate(archive_mutations(base)):
        b = bytearray(base)
        mutate(b)
        name = 'bad%02d.vma' % i
        with open(os.path.join(d, name), 'wb') as f:
            f.write(b)
        rc, _, err = run([vma, 'verify', name], d)
        rows.append('| %s | `%s` | %d |' % (what, md(err.strip()), rc))
    rc, _, err = run([vma, 'verify', 'missing.vma'], d)
    rows.append('| archive missing | `%s` | %d |' % (md(err.strip()), rc))
    rc, _, err = run([vma, 'verify'], d)
    rows.append('| no archive given | `%s` | %d |' % (md(err.splitlines()[0]), rc))
    if os.path.isdir(os.path.join(d, 'x')):
        shutil.rmtree(os.path.join(d, 'x'))
    rc, _, err = run([vma, 'extract', 'bad30.vma', 'x'], d)
    rows.append('| `vma extract` of a cut archive | `%s` (no `x/` left behind: %s) | %d |'
                % (md(err.strip()), 'yes' if not os.path.exists(os.path.join(d, 'x')) else 'NO',
                   rc))
    return rows


def cli_table(vma, out):
    """The vma command line, restore maps, names, output and compressed input."""
    d = os.path.join(out, 'vma')
    good = os.path.join(d, 'good.vma')
    with open(os.path.join(d, 'small.raw'), 'wb') as f:
        f.write(b'\x01' * 4096)

    def fresh(*names):
        for n in names:
            p = os.path.join(d, n)
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.lexists(p):
                os.unlink(p)

    maps = {}

    def mapfile(text):
        # written just before its command runs
        name = 'map%d' % len(maps)
        maps[name] = text
        return name

    long_name = 'x' * 80000
    rows = []
    cases = [
        ('unknown option', ['list', '-x', 'good.vma']),
        ('--speed past 2^64', ['create', '--speed', '17179869184G', 'n.vma', 'a.raw']),
        ('image format other than raw', ['create', '-d', 'format=qcow2:d=a.raw', 'n.vma']),
        ('device name `..`', ['create', 'n.vma', '..=a.raw']),
        ('device name with ESC', ['create', 'n.vma', 'a\x1b[31m=a.raw']),
        ('map line unparsable', ['extract', '-r', mapfile('garbage\n'), 'good.vma', 'o']),
        ('map option twice', ['extract', '-r', mapfile('cache=none:cache=none:0:d=x\n'),
                              'good.vma', 'o']),
        ('map throttling.bps not a number',
         ['extract', '-r', mapfile('throttling.bps=1e9:0:drive-scsi0=x\n'), 'good.vma', 'o']),
        ('map line longer than the limit',
         ['extract', '-r', mapfile('0:%s=x\n' % long_name), 'good.vma', 'o']),
        ('map without a line for a device',
         ['extract', '-r', mapfile('0:drive-scsi0=t.raw\ndone\n'), 'good.vma', 'o']),
        ('map target format other than raw',
         ['extract', '-r', mapfile('format=vmdk:0:drive-scsi0=t.raw\nskip=drive-scsi1\n'),
          'good.vma', 'o']),
        ('map cache mode unknown',
         ['extract', '-r', mapfile('cache=fast:0:drive-scsi0=t.raw\nskip=drive-scsi1\n'),
          'good.vma', 'o']),
        ('existing map target smaller than the device',
         ['extract', '-r', mapfile('1:drive-scsi0=small.raw\nskip=drive-scsi1\n'),
          'good.vma', 'o']),
        ('target directory exists', ['extract', 'good.vma', '.']),
    ]
    for what, args in cases:
        fresh('n.vma', 'o', 't.raw')
        for a in args:
            if a in maps:
                with open(os.path.join(d, a), 'w') as f:
                    f.write(maps[a])
        rc, _, err = run([vma] + args, d)
        left = [n for n in ('n.vma', 'o', 't.raw') if os.path.lexists(os.path.join(d, n))]
        rows.append('| %s | `%s` | %d |' % (what, md(err.strip().splitlines()[0][:300]), rc))
        if left:
            rows[-1] += ' (left behind: %s)' % ', '.join(left)
    fresh('o')
    if os.path.exists('/dev/full'):
        with open('/dev/full', 'w') as full:
            p = subprocess.run(WRAPPER + [vma, 'list', 'good.vma'], cwd=d, stdout=full,
                               stderr=subprocess.PIPE, text=True)
        rows.append('| `vma list` to a full disk (`/dev/full`) | `%s` | %d |'
                    % (md(p.stderr.strip()), p.returncode))
    gz = os.path.join(d, 'good.vma.gz')
    subprocess.run(['gzip', '-kf', good], check=True)
    data = open(gz, 'rb').read()
    with open(os.path.join(d, 'cut.vma.gz'), 'wb') as f:
        f.write(data[:len(data) // 2])
    rc, _, err = run([vma, 'extract', 'cut.vma.gz', 'o'], d)
    rows.append('| truncated `.vma.gz` | `%s` (no `o/` left behind: %s) | %d |'
                % (md(err.strip()), 'yes' if not os.path.exists(os.path.join(d, 'o')) else 'NO',
                   rc))
    return rows


# ---- QMP arguments -------------------------------------------------------------

QMP = [
    ('missing member', 'blockdev-backup', '{"device": "drive0", "sync": "full"}'),
    ('unknown member', 'block-dirty-bitmap-add',
     '{"node": "drive0", "name": "b", "colour": 1}'),
    ('mistyped member', 'block-dirty-bitmap-add', '{"node": "drive0", "name": 7}'),
    ('mistyped nested member', 'blockdev-add',
     '{"driver": "qcow2", "node-name": "n", "file": {"driver": "file", "filename": 1}}'),
    ('integer out of range', 'block-dirty-bitmap-add',
     '{"node": "drive0", "name": "b", "granularity": -1}'),
    ('bad enum value', 'blockdev-backup',
     '{"device": "drive0", "target": "drive0", "sync": "sideways"}'),
    ('unknown node', 'block-dirty-bitmap-add', '{"node": "nowhere", "name": "b"}'),
    ('unknown bitmap', 'block-dirty-bitmap-remove', '{"node": "drive0", "name": "nope"}'),
    ('unknown job', 'job-finalize', '{"id": "nope"}'),
    ('unknown command', 'frobnicate', '{}'),
    ('node name taken', 'blockdev-add',
     '{"driver": "file", "node-name": "drive0", "filename": "${img}"}'),
    ('bad node name', 'blockdev-add',
     '{"driver": "file", "node-name": "1bad", "filename": "${img}"}'),
    ('invalid granularity', 'block-dirty-bitmap-add',
     '{"node": "drive0", "name": "b", "granularity": 1000}'),
    ('negative image size (accepted; the job then fails with `Could not resize file: Invalid '
     'argument`, as in QEMU)', 'blockdev-create',
     '{"job-id": "c", "options": {"driver": "file", "filename": "${img}2", "size": -1}}'),
    ('negative raw offset', 'blockdev-add',
     '{"driver": "raw", "node-name": "r", "file": "drive0", "offset": -1}'),
    ('raw window past its file', 'blockdev-add',
     '{"driver": "raw", "node-name": "r", "file": "drive0", "offset": 512, "size": 1048576}'),
    ('blkdebug rule with an unknown event', 'blockdev-add',
     '{"driver": "blkdebug", "node-name": "bd", "image": "drive0", '
     '"inject-error": [{"event": "nope"}]}'),
    ('(a VMA backup of drive0 starts)', 'backup',
     '{"backup-file": "${img}.vma", "devlist": "drive0"}'),
    ('node in use by the running backup', 'blockdev-del', '{"node-name": "drive0"}'),
    ('a second backup while one runs', 'backup',
     '{"backup-file": "${img}2.vma", "devlist": "drive0"}'),
]


def qmp_table(harness, out):
    d = os.path.join(out, 'qmp')
    os.makedirs(d, exist_ok=True)
    lines = ['files img', 'img_create "qcow2" $img 1048576', 'launch',
             'qmp blockdev-add {"driver": "qcow2", "node-name": "drive0", '
             '"file": {"driver": "file", "filename": $img}}']
    for _, cmd, args in QMP:
        lines.append('qmp_log %s %s' % (cmd, args.replace('"${img}"', '$img')
                                        .replace('"${img}2"', '($img + "2")')
                                        .replace('"${img}.vma"', '($img + ".vma")')
                                        .replace('"${img}2.vma"', '($img + "2.vma")')))
    with open(os.path.join(d, 'qmp.case'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    rc, stdout, err = run([harness, '--print', '--golden-dir', d, 'qmp.case'], d)
    replies = [l for l in stdout.splitlines() if l.startswith('{"error"') or
               l.startswith('{"return"')]
    rows = []
    for (what, cmd, args), reply in zip(QMP, replies):
        shown = (args.replace('"${img}2"', '$img + "2"').replace('"${img}"', '$img')
                 .replace('"${img}.vma"', '$img + ".vma"')
                 .replace('"${img}2.vma"', '$img + "2.vma"'))
        rows.append('| %s | `%s %s` | `%s` |' % (what, cmd, md(shown), md(reply)))
    if len(replies) != len(QMP):
        rows.append('| (run stopped) | | `%s` |' % md(err.strip()))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--out', default='build/bad-input')
    ap.add_argument('--wrapper', default='',
                    help='prefix for every command, e.g. "valgrind -q --error-exitcode=99 '
                    '--leak-check=full --errors-for-leak-kinds=all"; its exit code 99 fails')
    a = ap.parse_args()
    WRAPPER.extend(a.wrapper.split())
    out = os.path.abspath(a.out)
    harness = os.path.abspath(os.path.join(a.build, 'harness'))
    vma = os.path.abspath(os.path.join(a.build, 'vma'))
    print('Malformed case files (`harness --print FILE`):\n')
    print('| input | message (stderr) | exit |\n| --- | --- | --- |')
    print('\n'.join(case_table(harness, out)))
    print('\nCorrupt archives (`vma verify FILE`):\n')
    print('| input | message (stderr) | exit |\n| --- | --- | --- |')
    print('\n'.join(archive_table(vma, out)))
    print('\nThe vma command line, restore maps, names, output (`vma ...`):\n')
    print('| input | message (stderr) | exit |\n| --- | --- | --- |')
    print('\n'.join(cli_table(vma, out)))
    print('\nWrong QMP arguments (simulator, `qmp_log` in a case):\n')
    print('| input | command | reply |\n| --- | --- | --- |')
    print('\n'.join(qmp_table(harness, out)))


if __name__ == '__main__':
    main()
