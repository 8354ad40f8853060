// SPDX-License-Identifier: GPL-2.0-or-later
/* The pieces behind Proxmox's forms: the command-line parser, the restore
 * map parser, --speed, the name rule, QEMU's disk size and config-only
 * archives. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vma/tests/vma_test_util.h"
#include "vma/vma_backup.h"
#include "vma/vma_cli.h"
#include "vma/vma_map.h"

#define assert_msg(err, text) \
    do { \
        if (!strstr((err).msg, (text))) { \
            fail_msg("message '%s' lacks '%s'", (err).msg, (text)); \
        } \
    } while (0)

static int parse(vma_cli *cli, const char *const *args)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = (char *)"vma";
    while (*args) {
        argv[argc++] = (char *)*args++;
    }
    argv[argc] = NULL;
    return vma_cli_parse(cli, argc, argv);
}

static void test_cli_forms(void **state)
{
    vma_cli cli;

    (void)state;
    /* create: options after the archive, -d with and without format. */
    const char *create[] = { "create", "x.vma", "drive-scsi0=a.raw", "-c", "q.conf",
                             "-d", "format=raw:drive-virtio1=b.raw", "-d", "e=c.raw",
                             "--speed", "2M", "-v", NULL };
    assert_int_equal(parse(&cli, create), VMA_CLI_OK);
    assert_int_equal(cli.cmd, VMA_CMD_CREATE);
    assert_string_equal(cli.archive, "x.vma");
    assert_int_equal(cli.nconfigs, 1);
    assert_string_equal(cli.configs[0], "q.conf");
    assert_int_equal(cli.ndevs, 3);
    assert_string_equal(cli.devs[0], "drive-virtio1=b.raw");
    assert_string_equal(cli.formats[0], "raw");
    assert_string_equal(cli.devs[1], "e=c.raw");
    assert_null(cli.formats[1]);
    assert_string_equal(cli.devs[2], "drive-scsi0=a.raw");
    assert_int_equal(cli.speed, 2u << 20);
    assert_true(cli.verbose);
    vma_cli_free(&cli);

    /* config-only create */
    const char *cfgonly[] = { "create", "x.vma", "-c", "q.conf", NULL };
    assert_int_equal(parse(&cli, cfgonly), VMA_CLI_OK);
    assert_int_equal(cli.ndevs, 0);
    vma_cli_free(&cli);

    /* qmrestore's extract */
    const char *extract[] = { "extract", "-v", "-r", "/tmp/fifo", "-", "/tmp/dir",
                              "-d", "drive-scsi0,drive-scsi1", NULL };
    assert_int_equal(parse(&cli, extract), VMA_CLI_OK);
    assert_int_equal(cli.cmd, VMA_CMD_EXTRACT);
    assert_string_equal(cli.archive, "-");
    assert_string_equal(cli.dir, "/tmp/dir");
    assert_string_equal(cli.map, "/tmp/fifo");
    assert_string_equal(cli.drive_list, "drive-scsi0,drive-scsi1");
    assert_true(cli.verbose);
    vma_cli_free(&cli);

    const char *config[] = { "config", "x.vma", "-c", "qemu-server.fw", NULL };
    assert_int_equal(parse(&cli, config), VMA_CLI_OK);
    assert_string_equal(cli.configs[0], "qemu-server.fw");
    vma_cli_free(&cli);

    const char *verify[] = { "verify", "x.vma", "-v", NULL };
    assert_int_equal(parse(&cli, verify), VMA_CLI_OK);
    assert_true(cli.verbose);
    vma_cli_free(&cli);

    const char *help[] = { "list", "--help", NULL };
    assert_int_equal(parse(&cli, help), VMA_CLI_HELP);
    vma_cli_free(&cli);
}

static void test_cli_errors(void **state)
{
    static const struct {
        const char *args[8];
        const char *msg;
    } bad[] = {
        { { NULL }, "no command" },
        { { "frob", NULL }, "unknown command 'frob'" },
        { { "list", NULL }, "no archive" },
        { { "list", "a", "b", NULL }, "expected one archive" },
        { { "list", "-q", "a", NULL }, "unknown option '-q'" },
        { { "extract", "a", NULL }, "expected an archive and a target directory" },
        { { "extract", "-r", NULL }, "needs an argument" },
        { { "extract", "-d", "x", "-d", "y", "a", "b", NULL }, "-d given twice" },
        { { "create", "a", NULL }, "nothing to back up" },
        { { "create", "-d", "noeq", "a", NULL }, "expected [format=<fmt>:]" },
        { { "create", "-d", "format=raw", "a", NULL }, "expected format=<fmt>:" },
        { { "create", "--speed", "17179869184G", "a", "b", NULL }, "bad --speed" },
        { { "create", "--bogus", "a", "b", NULL }, "unknown option '--bogus'" },
        { { "config", "-c", "a", "-c", "b", "x", NULL }, "-c given twice" },
    };
    vma_cli cli;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&cli, bad[i].args), VMA_CLI_USAGE);
        if (!strstr(cli.msg, bad[i].msg)) {
            fail_msg("case %zu: '%s' lacks '%s'", i, cli.msg, bad[i].msg);
        }
        vma_cli_free(&cli);
    }
}

static void test_speed(void **state)
{
    uint64_t v = 0;

    (void)state;
    assert_int_equal(vma_parse_speed("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(vma_parse_speed("3k", &v), 0);
    assert_int_equal(v, 3072);
    assert_int_equal(vma_parse_speed("17179869183G", &v), 0);
    assert_int_equal(v, 17179869183ull << 30);
    assert_int_equal(vma_parse_speed("17179869184G", &v), -1);
    assert_int_equal(vma_parse_speed("18446744073709551615", &v), 0);
    assert_int_equal(vma_parse_speed("18446744073709551616", &v), -1);
    assert_int_equal(vma_parse_speed("-1", &v), -1);
    assert_int_equal(vma_parse_speed(" 1", &v), -1);
    assert_int_equal(vma_parse_speed("1T", &v), -1);
    assert_int_equal(vma_parse_speed("", &v), -1);
}

static void test_map(void **state)
{
    const char text[] =
        "format=raw:throttling.bps=1048576:throttling.group=g1:cache=none:1:drive-scsi0=/dev/a\n"
        "  cache=writethrough:format=raw:0:drive-efidisk0=/x/y=z.raw \r\n"
        "skip=drive-scsi1\n"
        "done\n"
        "garbage after done is never read\n";
    vma_map map = { 0 };
    vma_error err = { 0 };
    const vma_map_entry *e;

    (void)state;
    assert_int_equal(vma_map_parse(&map, text, sizeof(text) - 1, "t", &err), 0);
    assert_int_equal(map.count, 3);
    e = vma_map_find(&map, "drive-scsi0");
    assert_non_null(e);
    assert_string_equal(e->path, "/dev/a");
    assert_string_equal(e->format, "raw");
    assert_int_equal(e->throttling_bps, 1048576);
    assert_string_equal(e->throttling_group, "g1");
    assert_string_equal(e->cache, "none");
    assert_true(e->write_zeroes);
    e = vma_map_find(&map, "drive-efidisk0");
    assert_non_null(e);
    assert_string_equal(e->path, "/x/y=z.raw");
    assert_string_equal(e->cache, "writethrough");
    assert_false(e->write_zeroes);
    assert_null(e->throttling_group);
    e = vma_map_find(&map, "drive-scsi1");
    assert_non_null(e);
    assert_null(e->path);
    assert_null(vma_map_find(&map, "nope"));
    vma_map_free(&map);

    /* An empty line ends the map too. */
    assert_int_equal(vma_map_parse(&map, "0:a=b\n\n0:c=d\n", 14, "t", &err), 0);
    assert_int_equal(map.count, 1);
    vma_map_free(&map);
}

static void test_map_errors(void **state)
{
    static const struct {
        const char *text;
        const char *msg;
    } bad[] = {
        { "garbage\n", "t line 1: cannot parse 'garbage'" },
        { "0:a=b\n2:c=d\n", "t line 2: cannot parse" },
        { "cache=none:cache=none:0:a=b\n", "option 'cache' given twice" },
        { "format=raw\n", "option 'format' is not followed by ':'" },
        { "format=:0:a=b\n", "option 'format' has an empty value" },
        { "throttling.bps=12x:0:a=b\n", "throttling.bps '12x' is not a number" },
        { "throttling.bps=18446744073709551616:0:a=b\n", "below 2^64" },
        { "throttling.bps=-1:0:a=b\n", "is not a number" },
        { "0:=b\n", "no device name before '='" },
        { "0:a=\n", "no path after 'a='" },
        { "0:a=b\n1:a=c\n", "device 'a' is mapped twice" },
        { "skip=..\n", "line 1: device name '..' cannot be used" },
        { "0:a\033b=c\n", "control character 0x1b" },
        { "skip=\n", "device name is empty" },
    };
    vma_error err = { 0 };
    vma_map map = { 0 };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_true(vma_map_parse(&map, bad[i].text, strlen(bad[i].text), "t", &err) < 0);
        if (!strstr(err.msg, bad[i].msg)) {
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].msg);
        }
        vma_map_free(&map);
    }
    /* NUL inside a line; a line one byte over the limit. */
    assert_true(vma_map_parse(&map, "0:a=b\0c\n", 8, "t", &err) < 0);
    assert_msg(err, "line 1 contains a NUL byte");
    size_t n = VMA_MAP_LINE_MAX + 1;
    char *huge = malloc(n + 1);
    assert_non_null(huge);
    memset(huge, 'x', n);
    memcpy(huge, "0:", 2);
    huge[10] = '=';
    huge[n] = '\n';
    assert_true(vma_map_parse(&map, huge, n + 1, "t", &err) < 0);
    assert_msg(err, "line 1 is longer than");
    /* ... and exactly at the limit it is one line, parsed whole. */
    assert_int_equal(vma_map_parse(&map, huge, n - 1, "t", &err), 0);
    assert_int_equal(map.count, 1);
    assert_int_equal(strlen(map.entries[0].path), n - 1 - 11);
    vma_map_free(&map);
    free(huge);
}

static void test_map_file(void **state)
{
    char *dir = tu_mkdtemp("map");
    char *path = tu_path(dir, "map");
    vma_map map = { 0 };
    vma_error err = { 0 };
    size_t n = VMA_MAP_LINE_MAX + 100;
    char *text = malloc(n + 20);

    (void)state;
    /* A line longer than any fixed buffer is an error, never two lines. */
    assert_non_null(text);
    memcpy(text, "0:", 2);
    memset(text + 2, 'd', n - 2);
    memcpy(text + n, "=/p\n0:x=/q\n", 11);
    tu_write_file(path, text, n + 11);
    assert_true(vma_map_read(&map, path, &err) < 0);
    assert_msg(err, "line 1 is longer than");
    assert_int_equal(map.count, 0);
    vma_map_free(&map);
    tu_write_file(path, "0:a=/p\ndone\n", 12);
    assert_int_equal(vma_map_read(&map, path, &err), 0);
    assert_int_equal(map.count, 1);
    vma_map_free(&map);
    unlink(path);
    assert_true(vma_map_read(&map, path, &err) < 0);
    assert_msg(err, "cannot open map file");
    free(text);
    free(path);
    tu_rmrf(dir);
    free(dir);
}

static void test_names(void **state)
{
    vma_error err = { 0 };
    char *esc;
    char *longest = malloc(VMA_MAX_BLOB_SIZE + 1);

    (void)state;
    assert_int_equal(vma_name_check("device", "drive-scsi0", &err), 0);
    assert_int_equal(vma_name_check("device", "...", &err), 0);
    assert_true(vma_name_check("device", "..", &err) < 0);
    assert_true(vma_name_check("device", ".", &err) < 0);
    assert_true(vma_name_check("device", "", &err) < 0);
    assert_true(vma_name_check("device", "a/b", &err) < 0);
    assert_true(vma_name_check("device", "a\nb", &err) < 0);
    assert_msg(err, "control character 0x0a at byte 1");
    assert_true(vma_name_check("config", "\x7f", &err) < 0);
    /* 65534 bytes (+NUL) is the largest blob; one more is refused. */
    assert_non_null(longest);
    memset(longest, 'n', VMA_MAX_BLOB_SIZE);
    longest[VMA_MAX_BLOB_SIZE - 1] = 0;
    assert_int_equal(vma_name_check("device", longest, &err), 0);
    longest[VMA_MAX_BLOB_SIZE - 1] = 'n';
    longest[VMA_MAX_BLOB_SIZE] = 0;
    assert_true(vma_name_check("device", longest, &err) < 0);
    free(longest);

    esc = vma_name_escape("a\033[1m\\b\n");
    assert_string_equal(esc, "a\\x1b[1m\\\\b\\x0a");
    free(esc);
    esc = vma_name_escape("plain-name");
    assert_string_equal(esc, "plain-name");
    free(esc);
}

static void test_qemu_size(void **state)
{
    (void)state;
    assert_int_equal(vma_qemu_disk_size(1), 512);
    assert_int_equal(vma_qemu_disk_size(511), 512);
    assert_int_equal(vma_qemu_disk_size(512), 512);
    assert_int_equal(vma_qemu_disk_size(513), 1024);
    assert_int_equal(vma_qemu_disk_size(1000003), 1000448);
}

/* vma create records QEMU's size and pads with zeros; config-only
 * archives are a header and one empty extent; both read back. */
static void test_sizes_and_config_only(void **state)
{
    char *dir = tu_mkdtemp("sizes");
    char *img = tu_path(dir, "img.raw");
    char *conf = tu_path(dir, "qemu-server.conf");
    char *archive = tu_path(dir, "a.vma");
    char *cfgonly = tu_path(dir, "c.vma");
    char *out = tu_path(dir, "out");
    char *cout = tu_path(dir, "cout");
    char *disk = tu_path(out, "disk-d.raw");
    char spec[4200];
    const char *specs[1] = { spec };
    const char *confs[1] = { conf };
    vma_create_options opts = { .config_paths = confs, .config_count = 1 };
    vma_error err = { 0 };
    uint8_t *data = tu_image(1000003, 100, 7), *got;
    size_t len;
    vma_reader *r;

    (void)state;
    tu_write_file(img, data, 1000003);
    tu_write_file(conf, "memory: 1\n", 10);
    snprintf(spec, sizeof(spec), "d=%s", img);
    assert_int_equal(vma_create_archive(archive, specs, 1, NULL, &err), 0);
    r = vma_reader_open(archive, &err);
    assert_non_null(r);
    assert_int_equal(vma_reader_device(r, 1)->size, 1000448);
    vma_reader_free(r);
    assert_int_equal(vma_extract_archive(archive, out, NULL, &err), 0);
    got = tu_read_file(disk, &len);
    assert_non_null(got);
    assert_int_equal(len, 1000448);
    assert_memory_equal(got, data, 1000003);
    for (size_t i = 1000003; i < len; i++) {
        assert_int_equal(got[i], 0);
    }
    free(got);

    assert_int_equal(vma_create_archive(cfgonly, NULL, 0, &opts, &err), 0);
    got = tu_read_file(cfgonly, &len);
    assert_int_equal(len, 12288 + 512 + 512);
    assert_memory_equal(got + 12288 + 512, "VMAE", 4);
    assert_int_equal(got[12288 + 512 + 6] | got[12288 + 512 + 7], 0);   /* no blocks */
    free(got);
    r = vma_reader_open(cfgonly, &err);
    assert_non_null(r);
    assert_int_equal(vma_reader_device_count(r), 0);
    assert_int_equal(vma_reader_config_count(r), 1);
    assert_int_equal(vma_reader_restore(r, &err), 0);
    assert_int_equal(vma_reader_extent_count(r), 1);
    vma_reader_free(r);
    assert_int_equal(vma_extract_archive(cfgonly, cout, NULL, &err), 0);
    free(disk);
    disk = tu_path(cout, "qemu-server.conf");
    assert_true(tu_file_equals(disk, "memory: 1\n", 10));
    /* Nothing at all is still refused. */
    assert_true(vma_create_archive(cfgonly, NULL, 0, NULL, &err) < 0);
    assert_msg(err, "no images and no config");

    free(data);
    free(img);
    free(conf);
    free(archive);
    free(cfgonly);
    free(out);
    free(cout);
    free(disk);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_forms),
        cmocka_unit_test(test_cli_errors),
        cmocka_unit_test(test_speed),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_map_errors),
        cmocka_unit_test(test_map_file),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_qemu_size),
        cmocka_unit_test(test_sizes_and_config_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
