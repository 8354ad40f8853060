/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lexer and parser of the scenario language. The lexer turns the whole file
 * into tokens first; newlines inside (), [] and {} are dropped so a long
 * JSON value can span lines. The parser is recursive descent and stops at
 * the first error.
 */
#include "harness/case.h"
#include "harness/command.h"
#include "harness/case_funcs.h"
#include "harness/sbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_EOF, T_NL, T_INT, T_STR, T_VAR, T_WORD, T_PUNCT } tok_kind;

typedef struct token {
    tok_kind kind;
    int line, col;
    int spaced;         /* whitespace (or a line break) comes right before it */
    int width;          /* columns it spans (strings: set after lexing it) */
    char *text;         /* spelling (T_INT, T_VAR name, T_WORD, T_PUNCT) */
    int64_t ival;
    str_part *parts;    /* T_STR, handed over to the expression */
    size_t nparts;
} token;

typedef struct parser {
    const char *file;
    token *t;
    size_t n, cap, pos;
    char *err;
    program *prog;
    const struct parser *includer;  /* the file whose `include` this is */
    int depth;                      /* includes above this file */
    int nest;           /* nesting constructs open around the current token */
} parser;

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        abort();
    return p;
}

static void *xrealloc(void *p, size_t sz)
{
    p = realloc(p, sz);
    if (!p)
        abort();
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (!d)
        abort();
    return d;
}

static void fail(parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(parser *p, int line, int col, const char *fmt, ...)
{
    if (p->err)
        return;     /* keep the first error */
    sbuf b = {0};
    sbuf_printf(&b, "%s:%d:%d: error: ", p->file, line, col);
    va_list ap;
    va_start(ap, fmt);
    char *msg;
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    sbuf_adds(&b, msg);
    free(msg);
    p->err = sbuf_take(&b);
}

/* ------------------------------------------------------------------ */
/* Lexer                                                                */
/* ------------------------------------------------------------------ */

static token *push_tok(parser *p, tok_kind k, int line, int col)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        p->t = xrealloc(p->t, p->cap * sizeof(*p->t));
    }
    token *t = &p->t[p->n++];
    memset(t, 0, sizeof(*t));
    t->spaced = p->n == 1 || p->t[p->n - 2].line != line ||
                p->t[p->n - 2].col + p->t[p->n - 2].width != col;
    t->kind = k;
    t->line = line;
    t->col = col;
    return t;
}

static int is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static void free_parts(str_part *parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(parts[i].text);
    free(parts);
}

static void add_part(str_part **parts, size_t *n, int is_var, sbuf *text)
{
    *parts = xrealloc(*parts, (*n + 1) * sizeof(**parts));
    (*parts)[*n].is_var = is_var;
    (*parts)[*n].text = sbuf_take(text);
    (*n)++;
}

static void utf8_encode(sbuf *b, unsigned cp)
{
    if (cp < 0x80) {
        sbuf_addc(b, (char)cp);
    } else if (cp < 0x800) {
        sbuf_addc(b, (char)(0xc0 | (cp >> 6)));
        sbuf_addc(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        sbuf_addc(b, (char)(0xe0 | (cp >> 12)));
        sbuf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        sbuf_addc(b, (char)(0x80 | (cp & 0x3f)));
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A string literal starting at s[*i] == '"'. */
static void lex_string(parser *p, const char *s, size_t *i, int line, int *col)
{
    int scol = *col;
    size_t j = *i + 1;
    int c = scol + 1;
    sbuf text = {0};
    str_part *parts = NULL;
    size_t nparts = 0;

    for (;;) {
        char ch = s[j];
        if (ch == '\0' || ch == '\n') {
            fail(p, line, scol, "unterminated string");
            goto out;
        }
        if (ch == '"') {
            j++;
            c++;
            break;
        }
        if (ch == '\\') {
            char e = s[j + 1];
            int ecol = c;
            j += 2;
            c += 2;
            switch (e) {
            case 'n': sbuf_addc(&text, '\n'); break;
            case 't': sbuf_addc(&text, '\t'); break;
            case 'r': sbuf_addc(&text, '\r'); break;
            case '\\': sbuf_addc(&text, '\\'); break;
            case '"': sbuf_addc(&text, '"'); break;
            case '$': sbuf_addc(&text, '$'); break;
            case 'u': {
                unsigned cp = 0;
                for (int k = 0; k < 4; k++) {
                    int h = hexval(s[j]);
                    if (h < 0) {
                        fail(p, line, ecol, "\\u needs four hex digits");
                        goto out;
                    }
                    cp = cp * 16 + (unsigned)h;
                    j++;
                    c++;
                }
                if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
                    fail(p, line, ecol, "\\u%04x is not a character this language accepts", cp);
                    goto out;
                }
                utf8_encode(&text, cp);
                break;
            }
            default:
                fail(p, line, ecol, "unknown escape '\\%c' in string",
                     e && e != '\n' ? e : ' ');
                goto out;
            }
            continue;
        }
        if (ch == '$' && s[j + 1] == '{') {
            int vcol = c;
            size_t k = j + 2;
            if (!is_ident_start(s[k])) {
                fail(p, line, vcol, "expected a variable name after '${'");
                goto out;
            }
            while (is_ident(s[k]))
                k++;
            if (s[k] != '}') {
                fail(p, line, vcol, "missing '}' after '${%.*s'", (int)(k - j - 2), s + j + 2);
                goto out;
            }
            if (text.len)
                add_part(&parts, &nparts, 0, &text);
            sbuf_addn(&text, s + j + 2, k - j - 2);
            add_part(&parts, &nparts, 1, &text);
            c += (int)(k + 1 - j);
            j = k + 1;
            continue;
        }
        sbuf_addc(&text, ch);
        j++;
        c++;
    }
    if (text.len || nparts == 0)
        add_part(&parts, &nparts, 0, &text);
    token *t = push_tok(p, T_STR, line, scol);
    t->width = c - scol;
    t->parts = parts;
    t->nparts = nparts;
    parts = NULL;
    nparts = 0;
out:
    sbuf_free(&text);
    free_parts(parts, nparts);
    *i = j;
    *col = c;
}

static const char *const puncts[] = {
    "==", "!=", "<=", ">=", "<", ">", "=", "+", "-", "*", "/", "%",
    "(", ")", "[", "]", "{", "}", ",", ":", "@", NULL
};

static void lex(parser *p, const char *s)
{
    size_t i = 0;
    int line = 1, col = 1, depth = 0;

    while (!p->err) {
        char ch = s[i];
        if (ch == '\0') {
            push_tok(p, T_EOF, line, col);
            return;
        }
        if (ch == ' ' || ch == '\t' || ch == '\r') {
            i++;
            col++;
        } else if (ch == '#') {
            while (s[i] && s[i] != '\n')
                i++;
        } else if (ch == '\\') {
            /* a backslash ending a line joins the next line to it */
            size_t j = i + 1;
            while (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')
                j++;
            if (s[j] != '\n') {
                fail(p, line, col, "'\\' must end its line (line continuation)");
                return;
            }
            i = j + 1;
            line++;
            col = 1;
        } else if (ch == '\n') {
            if (depth == 0)
                push_tok(p, T_NL, line, col);
            i++;
            line++;
            col = 1;
        } else if (ch == '"') {
            lex_string(p, s, &i, line, &col);
        } else if (ch >= '0' && ch <= '9') {
            size_t j = i;
            int base = 10;
            if (ch == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
                base = 16;
                j += 2;
            }
            size_t start = j;
            while (hexval(s[j]) >= 0 && (base == 16 || (s[j] >= '0' && s[j] <= '9')))
                j++;
            if (j == start || is_ident(s[j])) {
                fail(p, line, col, "malformed number '%.*s'",
                     (int)(j - i + (s[j] ? 1 : 0)), s + i);
                return;
            }
            char *text = xstrndup(s + i, j - i);
            errno = 0;
            unsigned long long v = strtoull(text + (base == 16 ? 2 : 0), NULL, base);
            if (errno || v > INT64_MAX) {
                fail(p, line, col, "number '%s' is too large", text);
                free(text);
                return;
            }
            token *t = push_tok(p, T_INT, line, col);
            t->width = (int)(j - i);
            t->text = text;
            t->ival = (int64_t)v;
            col += (int)(j - i);
            i = j;
        } else if (ch == '$') {
            size_t j = i + 1;
            if (!is_ident_start(s[j])) {
                fail(p, line, col, "expected a variable name after '$'");
                return;
            }
            while (is_ident(s[j]))
                j++;
            token *t = push_tok(p, T_VAR, line, col);
            t->width = (int)(j - i);
            t->text = xstrndup(s + i + 1, j - i - 1);
            col += (int)(j - i);
            i = j;
        } else if (is_ident_start(ch)) {
            size_t j = i;
            while (is_ident(s[j]) || s[j] == '-')
                j++;
            token *t = push_tok(p, T_WORD, line, col);
            t->width = (int)(j - i);
            t->text = xstrndup(s + i, j - i);
            col += (int)(j - i);
            i = j;
        } else {
            const char *const *q;
            for (q = puncts; *q; q++)
                if (strncmp(s + i, *q, strlen(*q)) == 0)
                    break;
            if (!*q) {
                fail(p, line, col, "unexpected character '%c'", ch);
                return;
            }
            if (strchr("([{", **q))
                depth++;
            else if (strchr(")]}", **q) && depth > 0)
                depth--;
            token *t = push_tok(p, T_PUNCT, line, col);
            t->width = (int)strlen(*q);
            t->text = xstrndup(*q, strlen(*q));
            col += (int)strlen(*q);
            i += strlen(*q);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Parser helpers                                                       */
/* ------------------------------------------------------------------ */

static token *peek(parser *p)
{
    return &p->t[p->pos];
}

static token *peek2(parser *p)
{
    return p->pos + 1 < p->n ? &p->t[p->pos + 1] : &p->t[p->n - 1];
}

static token *next(parser *p)
{
    token *t = &p->t[p->pos];
    if (t->kind != T_EOF)
        p->pos++;
    return t;
}

static int is_punct(const token *t, const char *s)
{
    return t->kind == T_PUNCT && strcmp(t->text, s) == 0;
}

static int is_word(const token *t, const char *s)
{
    return t->kind == T_WORD && strcmp(t->text, s) == 0;
}

static int at_eol(parser *p)
{
    return peek(p)->kind == T_NL || peek(p)->kind == T_EOF;
}

static const char *describe(const token *t)
{
    switch (t->kind) {
    case T_EOF: return "end of file";
    case T_NL: return "end of line";
    case T_STR: return "a string";
    default: return t->text;
    }
}

static int expect_punct(parser *p, const char *s)
{
    token *t = peek(p);
    if (!is_punct(t, s)) {
        fail(p, t->line, t->col, "expected '%s', found '%s'", s, describe(t));
        return -1;
    }
    next(p);
    return 0;
}

static int expect_eol(parser *p)
{
    token *t = peek(p);
    if (t->kind == T_NL) {
        next(p);
        return 0;
    }
    if (t->kind == T_EOF)
        return 0;
    fail(p, t->line, t->col, "unexpected '%s' at end of statement", describe(t));
    return -1;
}

/* Words that are expression literals or operators, never bare words. */
static int is_expr_word(const token *t)
{
    static const char *const w[] = { "true", "false", "null", "none", "not", NULL };
    if (t->kind != T_WORD)
        return 0;
    for (const char *const *q = w; *q; q++)
        if (strcmp(t->text, *q) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Expressions                                                          */
/* ------------------------------------------------------------------ */

static void expr_free(expr *e);

static expr *new_expr(expr_kind k, const token *t)
{
    expr *e = xcalloc(1, sizeof(*e));
    e->kind = k;
    e->line = t->line;
    e->col = t->col;
    e->depth = 1;
    return e;
}

/* Recursion and the expression tree both stay within CASE_MAX_NESTING, so
 * neither the parser nor the evaluator can run out of stack. */
static int nest_enter(parser *p, const token *t)
{
    if (++p->nest > CASE_MAX_NESTING) {
        fail(p, t->line, t->col, "nested more than %d levels deep", CASE_MAX_NESTING);
        return -1;
    }
    return 0;
}

/* e's depth from its children; NULL (e freed) past the limit. */
static expr *deepen(parser *p, expr *e)
{
    int d = 0;
    for (size_t i = 0; i < e->nitems; i++)
        if (e->items[i]->depth > d)
            d = e->items[i]->depth;
    if (e->l && e->l->depth > d)
        d = e->l->depth;
    if (e->r && e->r->depth > d)
        d = e->r->depth;
    e->depth = d + 1;
    if (e->depth > CASE_MAX_NESTING) {
        fail(p, e->line, e->col, "expression nested more than %d levels deep",
             CASE_MAX_NESTING);
        expr_free(e);
        return NULL;
    }
    return e;
}

static expr *parse_expr(parser *p);


static expr *parse_list(parser *p, const token *open, const char *close, int object)
{
    expr *e = new_expr(object ? E_OBJ : E_LIST, open);
    while (!p->err && !is_punct(peek(p), close)) {
        token *t = peek(p);
        char *key = NULL;
        if (object) {
            if (t->kind != T_STR || t->nparts != 1 || t->parts[0].is_var) {
                fail(p, t->line, t->col, "expected a plain string as object key, found '%s'",
                     describe(t));
                break;
            }
            next(p);
            key = t->parts[0].text;
            t->parts[0].text = NULL;
            if (expect_punct(p, ":") < 0) {
                free(key);
                break;
            }
        }
        expr *v = parse_expr(p);
        if (!v) {
            free(key);
            break;
        }
        e->items = xrealloc(e->items, (e->nitems + 1) * sizeof(*e->items));
        e->keys = xrealloc(e->keys, (e->nitems + 1) * sizeof(*e->keys));
        e->items[e->nitems] = v;
        e->keys[e->nitems] = key;
        e->nitems++;
        if (is_punct(peek(p), ","))
            next(p);
        else if (!is_punct(peek(p), close)) {
            t = peek(p);
            fail(p, t->line, t->col, "expected ',' or '%s', found '%s'", close, describe(t));
        }
    }
    if (!p->err)
        next(p);
    if (p->err) {
        expr_free(e);
        return NULL;
    }
    return deepen(p, e);
}

static expr *parse_primary(parser *p);

static expr *parse_atom_inner(parser *p)
{
    token *t = next(p);
    expr *e;
    switch (t->kind) {
    case T_INT:
        e = new_expr(E_INT, t);
        e->ival = t->ival;
        return e;
    case T_STR:
        e = new_expr(E_STR, t);
        e->parts = t->parts;
        e->nparts = t->nparts;
        t->parts = NULL;
        t->nparts = 0;
        return e;
    case T_VAR:
        e = new_expr(E_VAR, t);
        e->name = xstrndup(t->text, strlen(t->text));
        return e;
    case T_WORD:
        if (!strcmp(t->text, "true"))
            return new_expr(E_TRUE, t);
        if (!strcmp(t->text, "false"))
            return new_expr(E_FALSE, t);
        if (!strcmp(t->text, "null"))
            return new_expr(E_NULL, t);
        if (!strcmp(t->text, "none"))
            return new_expr(E_NONE, t);
        if (is_punct(peek(p), "(") && !peek(p)->spaced) {
            size_t amin, amax;
            if (case_func_arity(t->text, &amin, &amax) < 0) {
                fail(p, t->line, t->col, "unknown function '%s'", t->text);
                return NULL;
            }
            token *open = next(p);
            e = parse_list(p, open, ")", 0);
            if (!e)
                return NULL;
            e->kind = E_FUNC;
            e->line = t->line;
            e->col = t->col;
            e->name = xstrndup(t->text, strlen(t->text));
            if (e->nitems < amin || e->nitems > amax) {
                if (amin == amax)
                    fail(p, t->line, t->col, "%s() takes %zu argument%s, got %zu", t->text, amin,
                         amin == 1 ? "" : "s", e->nitems);
                else
                    fail(p, t->line, t->col, "%s() takes %zu to %zu arguments, got %zu", t->text,
                         amin, amax, e->nitems);
                expr_free(e);
                return NULL;
            }
            return e;
        }
        fail(p, t->line, t->col, "expected an expression, found word '%s' (variables need '$')",
             t->text);
        return NULL;
    case T_PUNCT:
        if (!strcmp(t->text, "(")) {
            e = parse_expr(p);
            if (e && expect_punct(p, ")") < 0) {
                expr_free(e);
                return NULL;
            }
            return e;
        }
        if (!strcmp(t->text, "["))
            return parse_list(p, t, "]", 0);
        if (!strcmp(t->text, "{"))
            return parse_list(p, t, "}", 1);
        if (!strcmp(t->text, "-")) {
            expr *x = parse_primary(p);
            if (!x)
                return NULL;
            e = new_expr(E_NEG, t);
            e->l = x;
            return deepen(p, e);
        }
        break;
    default:
        break;
    }
    fail(p, t->line, t->col, "expected an expression, found '%s'", describe(t));
    return NULL;
}

/* Every bracket, unary minus and function call recurses through here. */
static expr *parse_atom(parser *p)
{
    expr *e = NULL;
    if (nest_enter(p, peek(p)) == 0)
        e = parse_atom_inner(p);
    p->nest--;
    return e;
}

/* An atom with its subscripts. A '[' only subscripts when it touches the
 * value before it: "$s[0]" indexes, "$s [0]" is two arguments. */
static expr *parse_primary(parser *p)
{
    expr *e = parse_atom(p);
    while (e && is_punct(peek(p), "[") && !peek(p)->spaced) {
        token *t = next(p);
        expr *i = parse_expr(p);
        if (!i || expect_punct(p, "]") < 0) {
            expr_free(i);
            expr_free(e);
            return NULL;
        }
        expr *x = new_expr(E_INDEX, t);
        x->l = e;
        x->r = i;
        e = deepen(p, x);
    }
    return e;
}

static expr *binary(const token *t, expr_op op, expr *l, expr *r)
{
    expr *e = new_expr(E_BIN, t);
    e->op = op;
    e->l = l;
    e->r = r;
    return e;  /* the caller checks its depth: it has the parser */
}

typedef struct op_entry {
    const char *spelling;
    expr_op op;
    int level;      /* higher binds tighter */
} op_entry;

static const op_entry ops[] = {
    { "or", OP_OR, 1 }, { "and", OP_AND, 2 },
    { "==", OP_EQ, 4 }, { "!=", OP_NE, 4 }, { "<", OP_LT, 4 }, { "<=", OP_LE, 4 },
    { ">", OP_GT, 4 }, { ">=", OP_GE, 4 },
    { "+", OP_ADD, 5 }, { "-", OP_SUB, 5 },
    { "*", OP_MUL, 6 }, { "/", OP_DIV, 6 }, { "%", OP_MOD, 6 },
    { NULL, 0, 0 }
};

static const op_entry *find_op(const token *t)
{
    if (t->kind != T_PUNCT && t->kind != T_WORD)
        return NULL;
    for (const op_entry *o = ops; o->spelling; o++)
        if (!strcmp(o->spelling, t->text))
            return o;
    return NULL;
}

/* Precedence climbing; level 3 is the prefix 'not'. */
static expr *parse_level(parser *p, int level)
{
    expr *l;
    if (level <= 3 && is_word(peek(p), "not")) {
        token *t = next(p);
        expr *x = nest_enter(p, t) == 0 ? parse_level(p, 3) : NULL;
        p->nest--;
        if (!x)
            return NULL;
        l = new_expr(E_NOT, t);
        l->l = x;
        l = deepen(p, l);
    } else {
        l = parse_primary(p);
    }
    while (l) {
        const op_entry *o = find_op(peek(p));
        if (!o || o->level < level)
            break;
        token *t = next(p);
        /* comparisons do not chain: a == b == c is an error */
        expr *r = parse_level(p, o->level + 1);
        if (!r) {
            expr_free(l);
            return NULL;
        }
        l = deepen(p, binary(t, o->op, l, r));
        if (l && o->level == 4) {
            const op_entry *o2 = find_op(peek(p));
            if (o2 && o2->level == 4) {
                token *t2 = peek(p);
                fail(p, t2->line, t2->col, "comparisons cannot be chained; use 'and'");
                expr_free(l);
                return NULL;
            }
        }
    }
    return l;
}

static expr *parse_expr(parser *p)
{
    if (p->err)
        return NULL;
    return parse_level(p, 1);
}

static void expr_free(expr *e)
{
    if (!e)
        return;
    free(e->name);
    free_parts(e->parts, e->nparts);
    for (size_t i = 0; i < e->nitems; i++) {
        expr_free(e->items[i]);
        if (e->keys)
            free(e->keys[i]);
    }
    free(e->items);
    free(e->keys);
    expr_free(e->l);
    expr_free(e->r);
    free(e);
}

/* ------------------------------------------------------------------ */
/* Statements                                                           */
/* ------------------------------------------------------------------ */

static void block_free(block *b);

static void stmt_free(stmt *s)
{
    if (!s)
        return;
    free(s->name);
    expr_free(s->e);
    for (size_t i = 0; i < s->ngitems; i++) {
        free(s->gitems[i].pattern);
        expr_free(s->gitems[i].off);
        expr_free(s->gitems[i].len);
    }
    free(s->gitems);
    for (size_t i = 0; i < s->nargs; i++) {
        free(s->args[i].key);
        free(s->args[i].word);
        expr_free(s->args[i].e);
    }
    free(s->args);
    for (size_t i = 0; i < s->nconds; i++) {
        expr_free(s->conds[i]);
        block_free(&s->bodies[i]);
    }
    free(s->conds);
    free(s->bodies);
    block_free(&s->else_body);
    block_free(&s->body);
    free(s);
}

static void block_free(block *b)
{
    for (size_t i = 0; i < b->n; i++)
        stmt_free(b->v[i]);
    free(b->v);
    b->v = NULL;
    b->n = 0;
}

static void block_add(block *b, stmt *s)
{
    b->v = xrealloc(b->v, (b->n + 1) * sizeof(*b->v));
    b->v[b->n++] = s;
}

static stmt *new_stmt(stmt_kind k, const token *t)
{
    stmt *s = xcalloc(1, sizeof(*s));
    s->kind = k;
    s->line = t->line;
    s->col = t->col;
    s->name = xstrndup(t->text, strlen(t->text));
    return s;
}

static int key_allowed(const char *keys, const char *key)
{
    size_t n = strlen(key);
    for (const char *k = keys; *k;) {
        const char *sp = strchr(k, ' ');
        size_t len = sp ? (size_t)(sp - k) : strlen(k);
        if (len == n && !strncmp(k, key, n))
            return 1;
        k += len + (sp ? 1 : 0);
    }
    return 0;
}

/* Arguments up to the end of the line: bare words, expressions, key=value. */
static void parse_args(parser *p, stmt *s)
{
    while (!p->err && !at_eol(p)) {
        token *t = peek(p);
        arg a = { .line = t->line, .col = t->col };
        if (t->kind == T_WORD && is_punct(peek2(p), "=")) {
            a.key = xstrndup(t->text, strlen(t->text));
            next(p);
            next(p);
            t = peek(p);
        }
        if (t->kind == T_WORD && !is_expr_word(t) &&
            !(is_punct(peek2(p), "(") && !peek2(p)->spaced)) {
            a.word = xstrndup(t->text, strlen(t->text));
            next(p);
        } else {
            a.e = parse_expr(p);
            if (!a.e) {
                free(a.key);
                return;
            }
        }
        s->args = xrealloc(s->args, (s->nargs + 1) * sizeof(*s->args));
        s->args[s->nargs++] = a;
    }
}

int case_want_word(case_parser *p, const arg *a, const char *what)
{
    if (p->err)
        return -1;
    if (!a->word) {
        fail(p, a->line, a->col, "expected %s (a bare word)", what);
        return -1;
    }
    return 0;
}

int case_want_expr(case_parser *p, const arg *a, const char *what)
{
    if (p->err)
        return -1;
    if (!a->e) {
        fail(p, a->line, a->col, "expected %s, found word '%s' (variables need '$', strings quotes)",
             what, a->word);
        return -1;
    }
    return 0;
}

void case_check_fail(case_parser *p, int line, int col, const char *fmt, ...)
{
    if (p->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg;
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    fail(p, line, col, "%s", msg);
    free(msg);
}

void case_check_exprs(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    for (size_t i = 0; i < npos; i++)
        if (case_want_expr(p, pos[i], "an expression") < 0)
            return;
    for (size_t i = 0; i < s->nargs; i++) {
        const arg *a = &s->args[i];
        if (!a->key)
            continue;
        if (s->cmd->proc_key && !strcmp(a->key, s->cmd->proc_key))
            case_want_word(p, a, "a procedure name");
        else
            case_want_expr(p, a, "an expression");
        if (p->err)
            return;
    }
}

/* Keywords may sit anywhere on the line; the commands read their positional
 * arguments as s->args[0..], so those go first (each group keeps its order). */
static void positional_first(stmt *s)
{
    if (!s->nargs)
        return;
    arg *v = xcalloc(s->nargs, sizeof(*v));
    size_t n = 0;
    for (int key = 0; key < 2; key++)
        for (size_t i = 0; i < s->nargs; i++)
            if (!s->args[i].key == !key)
                v[n++] = s->args[i];
    free(s->args);
    s->args = v;
}

static stmt *parse_command(parser *p, token *t)
{
    const case_command *spec = case_command_find(t->text);
    if (!spec) {
        fail(p, t->line, t->col, "unknown command '%s'", t->text);
        return NULL;
    }
    stmt *s = new_stmt(S_CMD, t);
    s->cmd = spec;
    parse_args(p, s);
    if (p->err)
        goto bad;

    arg **pos = xcalloc(s->nargs, sizeof(*pos));
    size_t npos = 0;
    for (size_t i = 0; i < s->nargs && !p->err; i++) {
        arg *a = &s->args[i];
        if (!a->key) {
            pos[npos++] = a;
            continue;
        }
        if (!key_allowed(spec->keys, a->key))
            fail(p, a->line, a->col, "%s has no argument '%s'", spec->name, a->key);
        for (size_t j = 0; j < i && !p->err; j++)
            if (s->args[j].key && !strcmp(s->args[j].key, a->key))
                fail(p, a->line, a->col, "argument '%s' given twice", a->key);
    }
    if (!p->err && ((int)npos < spec->min || (spec->max >= 0 && (int)npos > spec->max))) {
        if (spec->min == spec->max)
            fail(p, t->line, t->col, "%s takes %d argument%s, got %zu", spec->name, spec->min,
                 spec->min == 1 ? "" : "s", npos);
        else if (spec->max < 0)
            fail(p, t->line, t->col, "%s takes at least %d argument%s, got %zu", spec->name,
                 spec->min, spec->min == 1 ? "" : "s", npos);
        else
            fail(p, t->line, t->col, "%s takes %d to %d arguments, got %zu", spec->name,
                 spec->min, spec->max, npos);
    }
    if (!p->err) {
        if (spec->check)
            spec->check(p, s, pos, npos);
        else
            case_check_exprs(p, s, pos, npos);
    }
    free(pos);
    if (p->err)
        goto bad;
    positional_first(s);
    return s;
bad:
    stmt_free(s);
    return NULL;
}

static int parse_block(parser *p, block *b, const char *opener, const token *open_tok);

static stmt *parse_if(parser *p, token *t)
{
    stmt *s = new_stmt(S_IF, t);
    for (;;) {
        expr *c = parse_expr(p);
        if (!c || expect_eol(p) < 0) {
            expr_free(c);
            break;
        }
        s->conds = xrealloc(s->conds, (s->nconds + 1) * sizeof(*s->conds));
        s->bodies = xrealloc(s->bodies, (s->nconds + 1) * sizeof(*s->bodies));
        s->conds[s->nconds] = c;
        memset(&s->bodies[s->nconds], 0, sizeof(block));
        s->nconds++;
        if (parse_block(p, &s->bodies[s->nconds - 1], "if", t) < 0)
            break;
        token *end = next(p);   /* elif, else or end */
        if (is_word(end, "elif"))
            continue;
        if (is_word(end, "else")) {
            if (expect_eol(p) < 0 || parse_block(p, &s->else_body, "if", t) < 0)
                break;
            end = next(p);
            if (!is_word(end, "end")) {
                fail(p, end->line, end->col, "expected 'end' after 'else' block, found '%s'",
                     end->text);
                break;
            }
        }
        if (expect_eol(p) < 0)
            break;
        return s;
    }
    stmt_free(s);
    return NULL;
}

static stmt *parse_statement_or_proc(parser *p, int *was_proc);

static int parse_block_inner(parser *p, block *b, const char *opener, const token *open_tok);

/* Statements up to (not including) the elif/else/end that closes opener. */
static int parse_block(parser *p, block *b, const char *opener, const token *open_tok)
{
    int r = -1;
    if (nest_enter(p, open_tok) == 0)
        r = parse_block_inner(p, b, opener, open_tok);
    p->nest--;
    return r;
}

static int parse_block_inner(parser *p, block *b, const char *opener, const token *open_tok)
{
    for (;;) {
        while (peek(p)->kind == T_NL)
            next(p);
        token *t = peek(p);
        if (t->kind == T_EOF) {
            fail(p, open_tok->line, open_tok->col, "'%s' is never closed with 'end'", opener);
            return -1;
        }
        if (is_word(t, "end"))
            return 0;
        if (is_word(t, "elif") || is_word(t, "else")) {
            if (strcmp(opener, "if")) {
                fail(p, t->line, t->col, "'%s' without 'if'", t->text);
                return -1;
            }
            return 0;
        }
        if (is_word(t, "proc") || is_word(t, "include")) {
            fail(p, t->line, t->col, "%s", is_word(t, "proc")
                 ? "procedures must be defined at top level" : "include must be at top level");
            return -1;
        }
        int was_proc;
        stmt *s = parse_statement_or_proc(p, &was_proc);
        if (!s)
            return -1;
        block_add(b, s);
    }
}

static int add_proc(parser *p, proc *pr)
{
    for (size_t i = 0; i < p->prog->nprocs; i++) {
        if (!strcmp(p->prog->procs[i]->name, pr->name)) {
            fail(p, pr->line, pr->col, "procedure '%s' already defined at line %d", pr->name,
                 p->prog->procs[i]->line);
            return -1;
        }
    }
    p->prog->procs = xrealloc(p->prog->procs, (p->prog->nprocs + 1) * sizeof(*p->prog->procs));
    p->prog->procs[p->prog->nprocs++] = pr;
    return 0;
}

static void proc_free(proc *pr)
{
    free(pr->name);
    for (size_t i = 0; i < pr->nparams; i++)
        free(pr->params[i]);
    free(pr->params);
    block_free(&pr->body);
    free(pr);
}

static int parse_proc(parser *p, token *t)
{
    token *n = next(p);
    if (n->kind != T_WORD || is_expr_word(n)) {
        fail(p, n->line, n->col, "expected a procedure name, found '%s'", describe(n));
        return -1;
    }
    proc *pr = xcalloc(1, sizeof(*pr));
    pr->name = xstrndup(n->text, strlen(n->text));
    pr->line = n->line;
    pr->col = n->col;
    while (!at_eol(p)) {
        token *a = next(p);
        if (a->kind != T_WORD || is_expr_word(a)) {
            fail(p, a->line, a->col, "expected a parameter name, found '%s'", describe(a));
            proc_free(pr);
            return -1;
        }
        for (size_t i = 0; i < pr->nparams; i++) {
            if (!strcmp(pr->params[i], a->text)) {
                fail(p, a->line, a->col, "parameter '%s' given twice", a->text);
                proc_free(pr);
                return -1;
            }
        }
        pr->params = xrealloc(pr->params, (pr->nparams + 1) * sizeof(*pr->params));
        pr->params[pr->nparams++] = xstrndup(a->text, strlen(a->text));
    }
    next(p);
    int r = parse_block(p, &pr->body, "proc", t);
    if (r == 0) {
        next(p);    /* end */
        r = expect_eol(p);
    }
    if (r < 0 || add_proc(p, pr) < 0) {
        proc_free(pr);
        return -1;
    }
    return 0;
}

static stmt *parse_group(parser *p, token *t)
{
    stmt *s = new_stmt(S_GROUP, t);
    s->e = parse_primary(p);
    if (!s->e || expect_punct(p, "=") < 0)
        goto bad;
    while (!at_eol(p)) {
        token *pt = next(p);
        if (pt->kind != T_INT) {
            fail(p, pt->line, pt->col, "expected a write PATTERN@OFFSET[:LEN], found '%s'",
                 describe(pt));
            goto bad;
        }
        if (pt->ival > 0xff) {
            fail(p, pt->line, pt->col, "pattern %s is not a byte", pt->text);
            goto bad;
        }
        group_item it = { .line = pt->line, .col = pt->col };
        if (expect_punct(p, "@") < 0)
            goto bad;
        it.off = parse_primary(p);
        if (!it.off)
            goto bad;
        if (is_punct(peek(p), ":")) {
            next(p);
            it.len = parse_primary(p);
            if (!it.len) {
                expr_free(it.off);
                goto bad;
            }
        }
        it.pattern = xstrndup(pt->text, strlen(pt->text));
        s->gitems = xrealloc(s->gitems, (s->ngitems + 1) * sizeof(*s->gitems));
        s->gitems[s->ngitems++] = it;
    }
    expect_eol(p);      /* `group K =` with no write: an empty group */
    if (p->err)
        goto bad;
    return s;
bad:
    stmt_free(s);
    return NULL;
}

static int parse_include(parser *p, token *t);

/* One statement, including its end of line. NULL on error, or for 'proc'
 * (stored in the program), in which case p->err stays NULL. */
static stmt *parse_statement_or_proc(parser *p, int *was_proc)
{
    token *t = next(p);
    *was_proc = 0;
    if (t->kind != T_WORD) {
        fail(p, t->line, t->col, "expected a statement, found '%s'", describe(t));
        return NULL;
    }
    if (is_word(t, "end") || is_word(t, "elif") || is_word(t, "else")) {
        fail(p, t->line, t->col, "'%s' without an open block", t->text);
        return NULL;
    }
    if (is_word(t, "proc")) {
        *was_proc = 1;
        parse_proc(p, t);
        return NULL;
    }
    if (is_word(t, "include")) {
        *was_proc = 1;
        parse_include(p, t);
        return NULL;
    }
    if (is_word(t, "let")) {
        token *n = next(p);
        if (n->kind != T_WORD || is_expr_word(n)) {
            fail(p, n->line, n->col, "expected a variable name (without '$'), found '%s'",
                 describe(n));
            return NULL;
        }
        if (expect_punct(p, "=") < 0)
            return NULL;
        stmt *s = new_stmt(S_LET, n);
        s->line = t->line;
        s->col = t->col;
        s->e = parse_expr(p);
        if (!s->e || expect_eol(p) < 0) {
            stmt_free(s);
            return NULL;
        }
        return s;
    }
    if (is_word(t, "group"))
        return parse_group(p, t);
    if (is_word(t, "if"))
        return parse_if(p, t);
    if (is_word(t, "for")) {
        token *n = next(p);
        if (n->kind != T_WORD || is_expr_word(n)) {
            fail(p, n->line, n->col, "expected a loop variable name, found '%s'", describe(n));
            return NULL;
        }
        token *in = next(p);
        if (!is_word(in, "in")) {
            fail(p, in->line, in->col, "expected 'in', found '%s'", describe(in));
            return NULL;
        }
        stmt *s = new_stmt(S_FOR, n);
        s->line = t->line;
        s->col = t->col;
        s->e = parse_expr(p);
        if (!s->e || expect_eol(p) < 0 || parse_block(p, &s->body, "for", t) < 0) {
            stmt_free(s);
            return NULL;
        }
        next(p);    /* end */
        if (expect_eol(p) < 0) {
            stmt_free(s);
            return NULL;
        }
        return s;
    }
    if (is_word(t, "call")) {
        token *n = next(p);
        if (n->kind != T_WORD || is_expr_word(n)) {
            fail(p, n->line, n->col, "expected a procedure name, found '%s'", describe(n));
            return NULL;
        }
        stmt *s = new_stmt(S_CALL, n);
        s->line = t->line;
        s->col = t->col;
        parse_args(p, s);
        for (size_t i = 0; i < s->nargs && !p->err; i++) {
            if (s->args[i].key)
                fail(p, s->args[i].line, s->args[i].col,
                     "procedure arguments are positional (no '%s=')", s->args[i].key);
            else
                case_want_expr(p, &s->args[i], "an argument expression");
        }
        if (p->err || expect_eol(p) < 0) {
            stmt_free(s);
            return NULL;
        }
        return s;
    }
    stmt *s = parse_command(p, t);
    if (s && expect_eol(p) < 0) {
        stmt_free(s);
        return NULL;
    }
    return s;
}

static proc *find_proc(program *prog, const char *name)
{
    for (size_t i = 0; i < prog->nprocs; i++)
        if (!strcmp(prog->procs[i]->name, name))
            return prog->procs[i];
    return NULL;
}

/* Procedures may be used before their definition: link calls afterwards. */
static void resolve_block(parser *p, block *b)
{
    for (size_t i = 0; i < b->n && !p->err; i++) {
        stmt *s = b->v[i];
        p->file = s->file;      /* errors name the file the statement came from */
        if (s->kind == S_CALL) {
            s->proc = find_proc(p->prog, s->name);
            if (!s->proc)
                fail(p, s->line, s->col, "call of unknown procedure '%s'", s->name);
            else if (s->proc->nparams != s->nargs)
                fail(p, s->line, s->col, "procedure '%s' takes %zu argument%s, got %zu",
                     s->name, s->proc->nparams, s->proc->nparams == 1 ? "" : "s", s->nargs);
        } else if (s->kind == S_CMD && s->cmd->proc_key) {
            const arg *a = stmt_kwarg(s, s->cmd->proc_key);
            if (a) {
                s->proc = find_proc(p->prog, a->word);
                if (!s->proc)
                    fail(p, a->line, a->col, "unknown procedure '%s'", a->word);
                else if (s->proc->nparams)
                    fail(p, a->line, a->col, "%s procedure '%s' must take no arguments",
                         s->cmd->proc_key, a->word);
            }
        } else if (s->kind == S_IF) {
            for (size_t k = 0; k < s->nconds; k++)
                resolve_block(p, &s->bodies[k]);
            resolve_block(p, &s->else_body);
        } else if (s->kind == S_FOR) {
            resolve_block(p, &s->body);
        }
    }
}

const arg *stmt_kwarg(const stmt *s, const char *key)
{
    for (size_t i = 0; i < s->nargs; i++)
        if (s->args[i].key && !strcmp(s->args[i].key, key))
            return &s->args[i];
    return NULL;
}

void case_free(program *prog)
{
    if (!prog)
        return;
    block_free(&prog->top);
    for (size_t i = 0; i < prog->nprocs; i++)
        proc_free(prog->procs[i]);
    free(prog->procs);
    for (size_t i = 0; i < prog->nfiles; i++)
        free(prog->files[i]);
    free(prog->files);
    free(prog->file);
    free(prog);
}

/* ------------------------------------------------------------------ */
/* Files and includes                                                   */
/* ------------------------------------------------------------------ */

#define MAX_INCLUDE_DEPTH 16
#define MAX_CASE_FILE_BYTES (16 << 20)

/* Every statement of a block (recursively) came from `file`. */
static void stamp_block(block *b, const char *file)
{
    for (size_t i = 0; i < b->n; i++) {
        stmt *s = b->v[i];
        s->file = file;
        for (size_t k = 0; k < s->nconds; k++)
            stamp_block(&s->bodies[k], file);
        stamp_block(&s->else_body, file);
        stamp_block(&s->body, file);
    }
}

/* The program keeps every file name its statements point to. */
static const char *add_file(program *prog, const char *name)
{
    prog->files = xrealloc(prog->files, (prog->nfiles + 1) * sizeof(*prog->files));
    prog->files[prog->nfiles] = xstrndup(name, strlen(name));
    return prog->files[prog->nfiles++];
}

/* Lexes and parses one file's text into p->prog: its top-level statements
 * go to the end of prog->top, its procedures to prog->procs. */
static void parse_text(parser *p, const char *text)
{
    lex(p, text);
    while (!p->err && peek(p)->kind != T_EOF) {
        if (peek(p)->kind == T_NL) {
            next(p);
            continue;
        }
        size_t nprocs = p->prog->nprocs;
        int was_proc;
        stmt *s = parse_statement_or_proc(p, &was_proc);
        if (s) {
            block one = { &s, 1 };
            stamp_block(&one, p->file);
            block_add(&p->prog->top, s);
        }
        if (!p->err && p->prog->nprocs > nprocs) {
            proc *pr = p->prog->procs[p->prog->nprocs - 1];
            if (!pr->file) {
                pr->file = p->file;
                stamp_block(&pr->body, p->file);
            }
        }
    }
    for (size_t i = 0; i < p->n; i++) {
        free(p->t[i].text);
        free_parts(p->t[i].parts, p->t[i].nparts);
    }
    free(p->t);
    p->t = NULL;
    p->n = p->cap = p->pos = 0;
}

/* A whole file, at most MAX_CASE_FILE_BYTES of text without NUL bytes.
 * NULL and *err ("PATH: why") on failure. */
static char *slurp_case_file(const char *path, char **err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (asprintf(err, "%s: cannot open: %s", path, strerror(errno)) < 0)
            abort();
        return NULL;
    }
    sbuf b = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && b.len <= MAX_CASE_FILE_BYTES)
        sbuf_addn(&b, buf, n);
    int bad = ferror(f);
    fclose(f);
    const char *why = bad ? "cannot be read"
                    : b.len > MAX_CASE_FILE_BYTES ? "larger than 16 MiB"
                    : memchr(sbuf_str(&b), '\0', b.len) ? "contains a NUL byte" : NULL;
    if (why) {
        sbuf_free(&b);
        if (asprintf(err, "%s:1:1: error: file %s", path, why) < 0)
            abort();
        return NULL;
    }
    return sbuf_take(&b);
}

/* `include "PATH"`: PATH relative to the including file's directory. The
 * included file's procedures join the program and its top-level statements
 * (parameters, groups, anything else) run where the include stands. */
static int parse_include(parser *p, token *t)
{
    token *n = next(p);
    if (n->kind != T_STR || n->nparts != 1 || n->parts[0].is_var || !n->parts[0].text[0]) {
        fail(p, n->line, n->col, "include needs a file name as a plain string, found %s",
             describe(n));
        return -1;
    }
    if (expect_eol(p) < 0)
        return -1;
    const char *rel = n->parts[0].text;
    char *path;
    const char *slash = strrchr(p->file, '/');
    if (rel[0] == '/' || !slash) {
        path = xstrndup(rel, strlen(rel));
    } else if (asprintf(&path, "%.*s/%s", (int)(slash - p->file), p->file, rel) < 0) {
        abort();
    }
    if (p->depth >= MAX_INCLUDE_DEPTH) {
        fail(p, t->line, t->col, "includes nested more than %d deep", MAX_INCLUDE_DEPTH);
        free(path);
        return -1;
    }
    /* A cycle: this file is already being read further up. */
    char *real = realpath(path, NULL);
    for (const parser *q = p; q && real; q = q->includer) {
        char *qreal = realpath(q->file, NULL);
        int same = qreal && !strcmp(qreal, real);
        free(qreal);
        if (same) {
            fail(p, t->line, t->col, "include cycle: %s is already being included", path);
            free(real);
            free(path);
            return -1;
        }
    }
    free(real);
    char *err = NULL;
    char *text = slurp_case_file(path, &err);
    if (!text) {
        fail(p, t->line, t->col, "cannot include %s", err);
        free(err);
        free(path);
        return -1;
    }
    parser sub = { .file = add_file(p->prog, path), .prog = p->prog, .includer = p,
                   .depth = p->depth + 1 };
    free(path);
    parse_text(&sub, text);
    free(text);
    if (sub.err) {
        if (asprintf(&p->err, "%s\n%s:%d:%d: note: included from here", sub.err, p->file,
                     t->line, t->col) < 0)
            abort();
        free(sub.err);
        return -1;
    }
    return 0;
}

program *case_parse_string(const char *file, const char *text, char **err)
{
    parser p = {0};
    p.prog = xcalloc(1, sizeof(*p.prog));
    p.prog->file = xstrndup(file, strlen(file));
    p.file = add_file(p.prog, file);
    parse_text(&p, text);
    if (!p.err) {
        resolve_block(&p, &p.prog->top);
        for (size_t i = 0; i < p.prog->nprocs && !p.err; i++)
            resolve_block(&p, &p.prog->procs[i]->body);
    }
    if (p.err) {
        case_free(p.prog);
        *err = p.err;
        return NULL;
    }
    return p.prog;
}

program *case_parse_file(const char *path, char **err)
{
    char *text = slurp_case_file(path, err);
    if (!text)
        return NULL;
    program *prog = case_parse_string(path, text, err);
    free(text);
    return prog;
}

/* The expression of `let NAME = VALUE`, parsed on its own; NULL and *err. */
static expr *define_value(const char *name, const char *value, char **err)
{
    char *src, *label;
    if (asprintf(&src, "let %s = %s\n", name, value) < 0 || asprintf(&label, "-D %s", name) < 0)
        abort();
    program *val = case_parse_string(label, src, err);
    free(src);
    free(label);
    expr *e = NULL;
    if (val && (val->top.n != 1 || val->top.v[0]->kind != S_LET)) {
        if (asprintf(err, "-D %s: the value must be one expression", name) < 0)
            abort();
    } else if (val) {
        e = val->top.v[0]->e;
        val->top.v[0]->e = NULL;
    }
    case_free(val);
    return e;
}

int case_define(program *prog, const char *definition, char **err)
{
    const char *eq = strchr(definition, '=');
    size_t nlen = eq ? (size_t)(eq - definition) : 0;
    int ok = nlen > 0 && is_ident_start(definition[0]);
    for (size_t i = 1; ok && i < nlen; i++)
        ok = is_ident(definition[i]);
    if (!ok) {
        if (asprintf(err, "-D %s: expected NAME=VALUE (VALUE an expression: 32768, "
                     "'\"raw\"', '8 * 1024 * 1024')", definition) < 0)
            abort();
        return -1;
    }
    char *name = xstrndup(definition, nlen);
    /* Check the value once even if no let matches, so the error says why. */
    expr *e = define_value(name, eq + 1, err);
    int found = 0;
    for (size_t i = 0; e && i < prog->top.n; i++) {
        stmt *s = prog->top.v[i];
        if (s->kind != S_LET || strcmp(s->name, name))
            continue;
        expr_free(s->e);
        s->e = found ? define_value(name, eq + 1, err) : e;
        found++;
    }
    if (e && !found) {
        expr_free(e);
        if (asprintf(err, "-D %s: %s has no top-level 'let %s'", name, prog->file, name) < 0)
            abort();
    }
    free(name);
    return found ? 0 : -1;
}
