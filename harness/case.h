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

/* A command's table row (harness/command.h). */
struct case_command;

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
    const struct case_command *cmd; /* S_CMD */
    struct proc *proc;          /* S_CALL target; a command's proc_key */
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
