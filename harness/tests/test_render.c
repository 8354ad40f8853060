/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The renderer against what Python's json.dumps(sort_keys=True) prints
 * (expected strings were produced with CPython 3.11 and checked by hand). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/json_render.h"

static void render_is(const char *json, int indent, const char *want)
{
    json_object *o = json_tokener_parse(json);
    char *s = json_render_alloc(o, indent);
    assert_string_equal(s, want);
    free(s);
    json_object_put(o);
}

static void test_compact(void **state)
{
    render_is("{\"b\": 1, \"a\": {\"d\": [true, false, null], \"c\": \"x\"}}", -1,
              "{\"a\": {\"c\": \"x\", \"d\": [true, false, null]}, \"b\": 1}");
    render_is("[]", -1, "[]");
    render_is("{}", -1, "{}");
    render_is("[{}, []]", -1, "[{}, []]");
    render_is("-5", -1, "-5");
    render_is("18446744073709551615", -1, "18446744073709551615");
    render_is("-9223372036854775808", -1, "-9223372036854775808");
    /* keys sort by code point, not by locale: uppercase first */
    render_is("{\"b\": 1, \"B\": 2, \"a-b\": 3, \"a\": 4}", -1,
              "{\"B\": 2, \"a\": 4, \"a-b\": 3, \"b\": 1}");
    render_is("null", -1, "null");
}

static void test_indent(void **state)
{
    render_is("{\"bitmaps\": {}}", 2, "{\n  \"bitmaps\": {}\n}");
    render_is("{\"bitmaps\": {\"n\": [{\"b\": false, \"a\": 1}], \"e\": []}}", 2,
              "{\n  \"bitmaps\": {\n    \"e\": [],\n    \"n\": [\n      {\n"
              "        \"a\": 1,\n        \"b\": false\n      }\n    ]\n  }\n}");
    render_is("[1, [2, 3]]", 4, "[\n    1,\n    [\n        2,\n        3\n    ]\n]");
    render_is("[1]", 0, "[\n1\n]");
}

static void string_is(const char *in, size_t n, const char *want)
{
    sbuf b = {0};
    json_render_string(&b, in, n);
    assert_string_equal(sbuf_str(&b), want);
    sbuf_free(&b);
}

static void test_escapes(void **state)
{
    string_is("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
    string_is("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
    string_is("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
    string_is("\0z", 2, "\"\\u0000z\"");
    string_is("caf\xc3\xa9 \xe2\x82\xac", 9, "\"caf\\u00e9 \\u20ac\"");
    string_is("\xf0\x9f\x98\x80", 4, "\"\\ud83d\\ude00\"");
    string_is("\xdf\xbf", 2, "\"\\u07ff\"");
    string_is("\xf4\x8f\xbf\xbf", 4, "\"\\udbff\\udfff\"");
    /* malformed UTF-8: one replacement character per bad byte */
    string_is("a\xff" "b", 3, "\"a\\ufffdb\"");
    string_is("\xc3", 1, "\"\\ufffd\"");
    string_is("\xc3(", 2, "\"\\ufffd(\"");
    string_is("\xc0\x80", 2, "\"\\ufffd\\ufffd\"");            /* overlong */
    string_is("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");  /* surrogate */
    string_is("\xf8\x88\x80\x80\x80", 5,
              "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
    string_is("", 0, "\"\"");
    render_is("{\"k\\u00e9\": \"v\\r\\n\"}", -1, "{\"k\\u00e9\": \"v\\r\\n\"}");
}

static void double_is(double d, const char *want)
{
    sbuf b = {0};
    json_render_double(&b, d);
    assert_string_equal(sbuf_str(&b), want);
    sbuf_free(&b);
}

static void test_doubles(void **state)
{
    double_is(1.0, "1.0");
    double_is(0.5, "0.5");
    double_is(-2.25, "-2.25");
    double_is(0.1, "0.1");
    double_is(100.0, "100.0");
    double_is(123456.789, "123456.789");
    double_is(1e16, "1e+16");
    double_is(1.5e16, "1.5e+16");
    double_is(9999999999999998.0, "9999999999999998.0");
    double_is(0.0001, "0.0001");
    double_is(0.00001, "1e-05");
    double_is(1.25e-7, "1.25e-07");
    double_is(1e300, "1e+300");
    double_is(0.0, "0.0");
    double_is(NAN, "NaN");
    double_is(INFINITY, "Infinity");
    double_is(-INFINITY, "-Infinity");
    render_is("[1.5, 2e-10]", -1, "[1.5, 2e-10]");
}

static void filter_is(const char *in, const char *dir, const char *pid, const char *want)
{
    char *s = filter_testfiles(in, dir, pid);
    assert_string_equal(s, want);
    free(s);
}

static void test_filter(void **state)
{
    filter_is("\"/t/d/77-img\" and /t/d/77-a", "/t/d", "77", "\"TEST_DIR/PID-img\" and TEST_DIR/PID-a");
    filter_is("/t/d/77-img", "/t/d/", "77", "TEST_DIR/PID-img");
    filter_is("/t/d/78-img /t/d/img", "/t/d", "77", "/t/d/78-img /t/d/img");
    filter_is("x", NULL, "77", "x");
    filter_is("x", "/t", "", "x");
    filter_is("", "/t", "1", "");
}

static void test_qmp_args(void **state)
{
    json_object *o = json_tokener_parse(
        "{\"node_name\": \"d\", \"file\": {\"set-state\": [{\"new_state\": 2, "
        "\"state\": 1, \"x\": {\"a_b\": [{\"c_d\": 1}]}}], \"z_z\": 1, \"a_a\": [1]}, "
        "\"a-\": 1, \"a_\": 2}");
    sbuf b = {0};
    json_render_qmp_args(&b, o);
    /* ordered by the original keys ('-' < '_'), printed converted */
    assert_string_equal(sbuf_str(&b),
        "{\"a-\": 1, \"a-\": 2, \"file\": {\"a_a\": [1], \"set-state\": [{\"new-state\": 2, "
        "\"state\": 1, \"x\": {\"a_b\": [{\"c-d\": 1}]}}], \"z_z\": 1}, "
        "\"node-name\": \"d\"}");
    sbuf_free(&b);
    json_object *c = qmp_convert_top_keys(o);
    assert_true(json_object_object_get_ex(c, "node-name", NULL));
    json_object *f;
    assert_true(json_object_object_get_ex(c, "file", &f));
    assert_true(json_object_object_get_ex(f, "z_z", NULL));
    json_object_put(c);
    json_object_put(o);
    assert_null(qmp_convert_top_keys(NULL));
    o = json_object_new_int(3);
    c = qmp_convert_top_keys(o);
    assert_ptr_equal(c, o);
    json_object_put(c);
    json_object_put(o);
    b = (sbuf){0};
    o = json_tokener_parse("{\"e\": {}, \"l\": []}");
    json_render_qmp_args(&b, o);
    assert_string_equal(sbuf_str(&b), "{\"e\": {}, \"l\": []}");
    sbuf_free(&b);
    json_object_put(o);
}

static void test_sbuf(void **state)
{
    sbuf b = {0};
    assert_string_equal(sbuf_str(&b), "");
    char *e = sbuf_take(&b);
    assert_string_equal(e, "");
    free(e);
    for (int i = 0; i < 1000; i++)
        sbuf_printf(&b, "%d,", i % 10);
    assert_int_equal(b.len, 2000);
    sbuf_printf(&b, "%s", "");
    assert_int_equal(b.len, 2000);
    sbuf_free(&b);
    sbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_indent),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_qmp_args),
        cmocka_unit_test(test_sbuf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
