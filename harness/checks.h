/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unittest-style checks of the scenario language (expect, expect_eq,
 * expect_qmp, expect_qmp_absent, dictpath()): the assertions of iotests'
 * QMPTestCase, with its failure texts. Pure functions over json-c values,
 * so the interpreter and the unit tests share them.
 */
#ifndef BLOCKSIM_HARNESS_CHECKS_H
#define BLOCKSIM_HARNESS_CHECKS_H

struct json_object;

/* QMPTestCase.dictpath: walk PATH ("return[0]/offset": '/'-separated
 * members, each optionally indexed) through d. 0 and *out (borrowed; NULL
 * is JSON null) on success; -1 and *why (malloc'd, iotests' text) when the
 * path does not exist. */
int check_dictpath(struct json_object *d, const char *path, struct json_object **out,
                   char **why);

/* Python's == on JSON values: deep, ints and booleans compare by value
 * (True == 1), objects regardless of member order. */
int check_equal(struct json_object *a, struct json_object *b);

/* QMPTestCase.assert_qmp: the value at PATH equals VALUE; a non-empty list
 * VALUE means "any of these". 1 when it holds; else 0 and *why (malloc'd)
 * say what failed. *what (malloc'd) always describes the check. */
int check_assert_qmp(struct json_object *d, const char *path, struct json_object *value,
                     char **what, char **why);

/* QMPTestCase.assert_qmp_absent: PATH does not exist in d. */
int check_assert_qmp_absent(struct json_object *d, const char *path, char **what, char **why);

/* The transcript line of a check: "ok: WHAT" or "FAIL: WHAT: WHY"
 * (malloc'd). why may be NULL. */
char *check_line(int passed, const char *what, const char *why);

#endif
