/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scenario language (see cases/README.md): a parsed case file.
 * The parser checks everything it can without running the case: syntax,
 * command names and arities, keyword arguments, procedure names and
 * parameter counts. Errors read "FILE:LINE:COL: error: MESSAGE".
 */
#ifndef BLOCKSIM_HARNESS_CASE_H
#define BLOCKSIM_HARNESS_CASE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    E_INT, E_STR, E_VAR, E_TRUE, E_FALSE, E_NULL, E_NONE,
    E_LIST, E_OBJ, E_BIN, E_NOT, E_NEG, E_FUNC, E_INDEX
} expr_kind;

typedef enum {
    OP_OR, OP_AND, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD
} expr_op;

/* A piece of a string literal: text, or the name of an interpolated ${var}. */
typedef struct str_part {
    int is_var;
    char *text;
} str_part;

typedef struct expr {
    expr_kind kind;
    int line, col;
    int64_t ival;               /* E_INT */
    char *name;                 /* E_VAR, E_FUNC */
    str_part *parts;            /* E_STR */
    size_t nparts;
    struct expr **items;        /* E_LIST items, E_OBJ values, E_FUNC args */
    char **keys;                /* E_OBJ keys */
    size_t nitems;
    expr_op op;                 /* E_BIN */
    struct expr *l, *r;         /* E_BIN, E_INDEX (l[r]); E_NOT/E_NEG use l */
    int depth;                  /* levels of the tree below and including it */
} expr;

/* A command argument: a bare word or an expression, maybe with "key=". */
typedef struct arg {
    char *key;
    char *word;
    expr *e;
    int line, col;
} arg;

/* PATTERN@OFFSET[:LEN] in a group; pattern keeps its spelling. */
typedef struct group_item {
    char *pattern;
    expr *off, *len;            /* len NULL: use $WRITE_LEN */
    int line, col;
} group_item;

typedef struct stmt stmt;
typedef struct block {
    stmt **v;
    size_t n;
} block;

typedef enum { S_LET, S_GROUP, S_CALL, S_IF, S_FOR, S_CMD } stmt_kind;

typedef enum {
    C_LOG, C_BLANK, C_FILES, C_IMG_CREATE, C_LAUNCH, C_SHUTDOWN,
    C_QMP_LOG, C_QMP_RETURN, C_QMP, C_HMP_IO, C_WRITE, C_BITMAPS,
    C_MODEL, C_CHECK, C_RUN_JOB, C_COMPARE,
    /* VMA archives (cases/vma-*.case) */
    C_RUN, C_EVENT_WAIT, C_IMAGE, C_CHECK_IMAGE, C_WRITE_FILE,
    /* shell-style tests (bash iotests) */
    C_SHELL_TEST, C_QEMU_IO_RUN, C_VM_SESSION, C_SH_QMP, C_IMG_MAP,
    /* unittest-style checks */
    C_QMP_GET, C_EVENT_GET, C_EXPECT, C_EXPECT_EQ, C_EXPECT_QMP, C_EXPECT_QMP_ABSENT,
    C_IMG_COMPARE_LOG, C_QEMU_IMG, C_QEMU_IMG_INFO, C_EVENTS_PENDING,
    C_SH_CMD, C_QEMU_NBD, C_QEMU_NBD_STOP,
    /* iotests' sock_dir files and QemuIoInteractive (299) */
    C_SOCK_FILE, C_QEMU_IO_OPEN, C_QEMU_IO_CMD, C_QEMU_IO_CLOSE,
    /* iotest 242: qemu-img info and qemu-io as iotests log them, a poked byte */
    C_IMG_INFO_LOG, C_FILE_XOR, C_QEMU_IO_LOG,
    /* silent asserts and the VM's log (iotests 283, copy-before-write) */
    C_ASSERT, C_VM_LOG
} cmd_id;

struct proc;

struct stmt {
    stmt_kind kind;
    int line, col;
    char *name;                 /* let/for variable, call target, command word */
    expr *e;                    /* let value, group name, for list */
    group_item *gitems;         /* S_GROUP */
    size_t ngitems;
    arg *args;                  /* S_CALL, S_CMD */
    size_t nargs;
    expr **conds;               /* S_IF: conds[i] guards bodies[i] */
    block *bodies;
    size_t nconds;
    block else_body;
    block body;                 /* S_FOR */
    cmd_id cmd;                 /* S_CMD */
    struct proc *proc;          /* S_CALL target; C_RUN_JOB pre_finalize */
    const char *file;           /* the file it was read from (owned by the program) */
};

typedef struct proc {
    char *name;
    char **params;
    size_t nparams;
    block body;
    int line, col;
    const char *file;
} proc;

typedef struct program {
    char *file;
    block top;
    proc **procs;
    size_t nprocs;
    char **files;               /* the case file, then every file it includes */
    size_t nfiles;
} program;

/* How deep expressions (brackets, unary operators, chains of binary
 * operators) and blocks may nest; deeper input is an error, not a crash. */
#define CASE_MAX_NESTING 1000

/* NULL and *err (malloc'd) on failure. */
program *case_parse_file(const char *path, char **err);
program *case_parse_string(const char *file, const char *text, char **err);
void case_free(program *p);
/* `-D NAME=VALUE`: every top-level `let NAME` (the case's own or an included
 * file's) binds VALUE, an expression of the language, instead. -1 and *err
 * when the definition is malformed or the case has no top-level let NAME. */
int case_define(program *p, const char *definition, char **err);
/* The value of arg `key` of a command statement, or NULL. */
const arg *stmt_kwarg(const stmt *s, const char *key);

#endif
