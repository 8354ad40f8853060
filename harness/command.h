/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The case language's commands, one table row each. A row says everything
 * the parser and the interpreter need: the name, the positional arity, the
 * keywords, an optional parse-time check and the function that runs it.
 * The file that owns a command (harness/cmd_*.c) defines its row; the
 * registry (harness/commands.c) lists the files' tables. To add a command,
 * add a row to its file's table (see cases/README.md "Adding a command").
 */
#ifndef BLOCKSIM_HARNESS_COMMAND_H
#define BLOCKSIM_HARNESS_COMMAND_H

#include "harness/case.h"

#include <stddef.h>
#include <string.h>

typedef struct interp interp;

/* The parser, as a command's parse-time check sees it. The first error
 * wins: after one, further calls do nothing and the want_* return -1. */
typedef struct parser case_parser;

/* A row of a command table. */
typedef struct case_command {
    const char *name;
    int min, max;               /* positional arguments; max -1: unbounded */
    const char *keys;           /* space-separated keyword arguments */
    /* A keyword whose value names a procedure (taking no arguments), linked
     * to stmt.proc after parsing; NULL: none. */
    const char *proc_key;
    /* Checks beyond arity and keywords, once those passed (pos: the
     * positional arguments). NULL: case_check_exprs(). */
    void (*check)(case_parser *p, const stmt *s, arg **pos, size_t npos);
    /* Runs the statement: 0, or -1 after a runtime error. */
    int (*exec)(interp *I, const stmt *s);
} case_command;

/* The row named `name` in any file's table, or NULL. */
const case_command *case_command_find(const char *name);
/* Every file's table, NULL-terminated; each table ends with a row whose
 * name is NULL. */
extern const case_command *const case_command_tables[];

/* Parse-time checks (harness/case_parse.c). */
void case_check_fail(case_parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* a must be a bare word (what: how the message names it); -1 otherwise. */
int case_want_word(case_parser *p, const arg *a, const char *what);
/* a must be an expression; -1 otherwise. */
int case_want_expr(case_parser *p, const arg *a, const char *what);
/* The default check: positional arguments and keyword values are
 * expressions, except that a row's proc_key names a procedure. */
void case_check_exprs(case_parser *p, const stmt *s, arg **pos, size_t npos);

/* qmp*, sh_qmp (cmd_qmp.c): arguments and keywords are expressions. */
void case_check_qmp(case_parser *p, const stmt *s, arg **pos, size_t npos);

/* Is statement s the command `name` (for rows sharing one exec)? */
static inline int stmt_is(const stmt *s, const char *name)
{
    return !strcmp(s->cmd->name, name);
}

/* The tables (one per file that owns commands). */
extern const case_command cmd_core_commands[];      /* cmd_core.c */
extern const case_command cmd_qmp_commands[];       /* cmd_qmp.c */
extern const case_command cmd_model_commands[];     /* cmd_model.c */
extern const case_command cmd_shell_commands[];     /* cmd_shell.c */
extern const case_command cmd_tools_commands[];     /* cmd_tools.c */
extern const case_command cmd_vma_commands[];       /* cmd_vma.c */
extern const case_command cmd_checks_commands[];    /* cmd_checks.c */
extern const case_command cmd_img_commands[];       /* cmd_img.c */

#endif
