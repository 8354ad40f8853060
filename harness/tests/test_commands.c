/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command registry: every row well-formed, every name once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "harness/command.h"

/* Is word one of the space-separated words of list? */
static int listed(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *k = list; (k = strstr(k, word)) != NULL; k += n)
        if ((k == list || k[-1] == ' ') && (k[n] == ' ' || k[n] == '\0'))
            return 1;
    return 0;
}

static void test_rows(void **state)
{
    size_t rows = 0;
    for (const case_command *const *t = case_command_tables; *t; t++) {
        for (const case_command *c = *t; c->name; c++, rows++) {
            assert_non_null(c->exec);
            assert_non_null(c->keys);
            assert_true(c->min >= 0);
            assert_true(c->max == -1 || c->max >= c->min);
            assert_null(strstr(c->keys, "  "));
            if (c->proc_key)
                assert_true(listed(c->keys, c->proc_key));
            /* the name finds this row, and no other row has it */
            assert_ptr_equal(case_command_find(c->name), c);
        }
    }
    assert_true(rows >= 47);
    assert_null(case_command_find("no_such_command"));
    assert_null(case_command_find(""));
}

/* A command's keyword list is what the parser accepts. */
static void test_listed(void **state)
{
    assert_true(listed("a bc d", "bc"));
    assert_true(listed("a bc d", "a"));
    assert_true(listed("a bc d", "d"));
    assert_false(listed("a bc d", "b"));
    assert_false(listed("abc", "bc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listed),
        cmocka_unit_test(test_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
