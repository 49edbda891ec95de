/* SPDX-License-Identifier: MIT */
/* strict.c: splits and classifies SQL the way Aurora DSQL would refuse it (see strict.h). */
#include "strict.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_BYTES 63 /* PostgreSQL cuts identifiers at NAMEDATALEN - 1 bytes */

/* ------------------------------------------------------------------------------------------ */
/* Lexer                                                                                       */
/* ------------------------------------------------------------------------------------------ */

enum tok_type {
    TK_END,    /* no more input */
    TK_WORD,   /* unquoted identifier or keyword */
    TK_QIDENT, /* "quoted identifier" or U&"..." */
    TK_STRING, /* '...', E'...', B'...', X'...', N'...', U&'...' */
    TK_DOLLAR, /* $tag$...$tag$ */
    TK_PARAM,  /* $1 */
    TK_NUMBER,
    TK_CHAR, /* any other single character: ( ) , ; . = ... */
};

struct tok {
    enum tok_type type;
    size_t off, len; /* the raw text */
    int escapes;     /* TK_STRING: backslash escapes (E'') */
};

struct cur {
    const char *s;
    size_t n;
    size_t pos; /* where the next token starts looking */
    struct tok t; /* the current token */
};

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int is_ident_cont(unsigned char c)
{
    return is_ident_start(c) || is_digit(c) || c == '$';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Skips blanks, -- comments and nested block comments. */
static size_t skip_blank(const char *s, size_t n, size_t p)
{
    for (;;) {
        if (p < n && is_space((unsigned char)s[p])) {
            p++;
        } else if (p + 1 < n && s[p] == '-' && s[p + 1] == '-') {
            while (p < n && s[p] != '\n' && s[p] != '\r')
                p++;
        } else if (p + 1 < n && s[p] == '/' && s[p + 1] == '*') {
            unsigned depth = 1;
            p += 2;
            while (p < n && depth > 0) {
                if (p + 1 < n && s[p] == '/' && s[p + 1] == '*') {
                    depth++;
                    p += 2;
                } else if (p + 1 < n && s[p] == '*' && s[p + 1] == '/') {
                    depth--;
                    p += 2;
                } else {
                    p++;
                }
            }
        } else {
            return p;
        }
    }
}

/* From the opening quote q at s[p], returns the offset just past the closing one. */
static size_t scan_quoted(const char *s, size_t n, size_t p, char q, int escapes)
{
    p++;
    while (p < n) {
        if (escapes && s[p] == '\\') {
            p += (p + 1 < n) ? 2 : 1;
        } else if (s[p] == q) {
            if (p + 1 < n && s[p + 1] == q)
                p += 2;
            else
                return p + 1;
        } else {
            p++;
        }
    }
    return n;
}

/* The length of a dollar-quote delimiter ($$ or $tag$) at s[p], 0 if there is none. */
static size_t dollar_delim(const char *s, size_t n, size_t p)
{
    size_t q = p + 1;
    if (q < n && s[q] == '$')
        return 2;
    if (q >= n || !is_ident_start((unsigned char)s[q]))
        return 0;
    while (q < n && (is_ident_start((unsigned char)s[q]) || is_digit((unsigned char)s[q])))
        q++;
    return (q < n && s[q] == '$') ? q + 1 - p : 0;
}

static size_t find(const char *s, size_t n, size_t from, const char *what, size_t wlen)
{
    for (size_t p = from; p + wlen <= n; p++) {
        if (memcmp(s + p, what, wlen) == 0)
            return p;
    }
    return n;
}

/* Reads the token at or after p into *t; returns the offset after it. */
static size_t lex(const char *s, size_t n, size_t p, struct tok *t)
{
    memset(t, 0, sizeof *t);
    p = skip_blank(s, n, p);
    t->off = p;
    if (p >= n) {
        t->type = TK_END;
        return n;
    }
    unsigned char c = (unsigned char)s[p];
    size_t e;
    if (is_ident_start(c)) {
        e = p + 1;
        while (e < n && is_ident_cont((unsigned char)s[e]))
            e++;
        /* One-letter prefixes: E'..' B'..' X'..' N'..' U&'..' U&"..". */
        if (e == p + 1 && e < n && s[e] == '\'' && strchr("eEbBxXnN", (char)c)) {
            t->type = TK_STRING;
            t->escapes = (c == 'e' || c == 'E');
            e = scan_quoted(s, n, e, '\'', t->escapes);
        } else if (e == p + 1 && (c == 'u' || c == 'U') && e + 1 < n && s[e] == '&' &&
                   (s[e + 1] == '\'' || s[e + 1] == '"')) {
            t->type = s[e + 1] == '"' ? TK_QIDENT : TK_STRING;
            e = scan_quoted(s, n, e + 1, s[e + 1], 0);
        } else {
            t->type = TK_WORD;
        }
    } else if (c == '"') {
        t->type = TK_QIDENT;
        e = scan_quoted(s, n, p, '"', 0);
    } else if (c == '\'') {
        t->type = TK_STRING;
        e = scan_quoted(s, n, p, '\'', 0);
    } else if (c == '$' && p + 1 < n && is_digit((unsigned char)s[p + 1])) {
        t->type = TK_PARAM;
        e = p + 1;
        while (e < n && is_digit((unsigned char)s[e]))
            e++;
    } else if (c == '$' && dollar_delim(s, n, p) > 0) {
        size_t dl = dollar_delim(s, n, p);
        size_t close = find(s, n, p + dl, s + p, dl);
        t->type = TK_DOLLAR;
        e = close < n ? close + dl : n;
    } else if (is_digit(c) || (c == '.' && p + 1 < n && is_digit((unsigned char)s[p + 1]))) {
        t->type = TK_NUMBER;
        e = p + 1;
        while (e < n && (is_ident_cont((unsigned char)s[e]) || s[e] == '.') && s[e] != '$')
            e++;
    } else {
        t->type = TK_CHAR;
        e = p + 1;
    }
    t->len = e - p;
    return e;
}

static void adv(struct cur *c)
{
    c->pos = lex(c->s, c->n, c->pos, &c->t);
}

static void cur_init(struct cur *c, const char *s, size_t n)
{
    c->s = s;
    c->n = n;
    c->pos = 0;
    adv(c);
}

static int tok_kw(const struct cur *c, const struct tok *t, const char *kw)
{
    size_t kl = strlen(kw);
    if (t->type != TK_WORD || t->len != kl)
        return 0;
    for (size_t i = 0; i < kl; i++) {
        if (lower(c->s[t->off + i]) != kw[i])
            return 0;
    }
    return 1;
}

static int is_kw(const struct cur *c, const char *kw)
{
    return tok_kw(c, &c->t, kw);
}

/* Is the current token one of a NULL-terminated list of keywords? */
static int is_kw_in(const struct cur *c, const char *const *kws)
{
    for (; *kws; kws++) {
        if (is_kw(c, *kws))
            return 1;
    }
    return 0;
}

static int accept(struct cur *c, const char *kw)
{
    if (!is_kw(c, kw))
        return 0;
    adv(c);
    return 1;
}

static int is_char(const struct cur *c, char ch)
{
    return c->t.type == TK_CHAR && c->s[c->t.off] == ch;
}

static int at_end(const struct cur *c)
{
    return c->t.type == TK_END || is_char(c, ';');
}

/* The token after the current one, without moving. */
static struct tok peek(const struct cur *c)
{
    struct tok t;
    lex(c->s, c->n, c->pos, &t);
    return t;
}

static int is_name(const struct cur *c)
{
    return c->t.type == TK_WORD || c->t.type == TK_QIDENT;
}

/*
 * The value PostgreSQL gives the current token as a name: an unquoted word downcased (ASCII),
 * a quoted identifier unquoted, a string constant's content; cut as PostgreSQL cuts names, at
 * 63 bytes without splitting a UTF-8 sequence. buf holds at least NAME_MAX_BYTES + 1 bytes.
 */
static const char *tok_value(const struct cur *c, char *buf, size_t size)
{
    char v[NAME_MAX_BYTES + 8]; /* a little more than kept, to see where a character ends */
    const struct tok *t = &c->t;
    const char *s = c->s + t->off;
    size_t o = 0;
    if (t->type == TK_WORD) {
        for (size_t i = 0; i < t->len && o + 1 < sizeof v; i++)
            v[o++] = lower(s[i]);
    } else if (t->type == TK_QIDENT || t->type == TK_STRING) {
        char q = t->type == TK_QIDENT ? '"' : '\'';
        size_t i = 0;
        while (i < t->len && s[i] != q) /* skip a prefix: E, U&, ... */
            i++;
        i++;
        while (i < t->len && o + 1 < sizeof v) {
            if (t->escapes && s[i] == '\\' && i + 1 < t->len) {
                v[o++] = s[i + 1];
                i += 2;
            } else if (s[i] == q) {
                if (i + 1 < t->len && s[i + 1] == q) {
                    v[o++] = q;
                    i += 2;
                } else {
                    break;
                }
            } else {
                v[o++] = s[i++];
            }
        }
    } else if (t->type == TK_DOLLAR) {
        size_t dl = dollar_delim(c->s, c->n, t->off);
        for (size_t i = dl; i + dl < t->len && o + 1 < sizeof v; i++)
            v[o++] = s[i];
    }
    v[o] = '\0';
    if (o > NAME_MAX_BYTES) {
        o = NAME_MAX_BYTES;
        while (o > 0 && ((unsigned char)v[o] & 0xC0) == 0x80)
            o--;
    }
    if (o >= size)
        o = size - 1;
    memcpy(buf, v, o);
    buf[o] = '\0';
    return buf;
}

/* Moves past the parenthesised group that starts at the current '('. */
static void skip_parens(struct cur *c)
{
    unsigned depth = 0;
    do {
        if (is_char(c, '('))
            depth++;
        else if (is_char(c, ')'))
            depth--;
        adv(c);
    } while (depth > 0 && c->t.type != TK_END);
}

/* Moves past a possibly qualified name (a.b.c). */
static void skip_qualified_name(struct cur *c)
{
    if (!is_name(c))
        return;
    adv(c);
    while (is_char(c, '.')) {
        adv(c);
        if (is_name(c) || is_char(c, '*'))
            adv(c);
    }
}

/*
 * Moves to the end of the current list item: the next ',' or ')' at this nesting level, or
 * the end. Does not consume it.
 */
static void skip_item(struct cur *c)
{
    while (!at_end(c) && !is_char(c, ',') && !is_char(c, ')')) {
        if (is_char(c, '('))
            skip_parens(c);
        else
            adv(c);
    }
}

/* Parses an unsigned integer literal (decimal with _ separators, 0x, 0o, 0b). -1 if not. */
static long long number_value(const struct cur *c)
{
    const char *s = c->s + c->t.off;
    size_t len = c->t.len, i = 0;
    unsigned base = 10;
    unsigned long long v = 0;
    if (c->t.type != TK_NUMBER)
        return -1;
    if (len > 2 && s[0] == '0' && strchr("xXoObB", s[1])) {
        base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'o' || s[1] == 'O') ? 8 : 2;
        i = 2;
    }
    for (; i < len; i++) {
        unsigned d;
        char ch = lower(s[i]);
        if (ch == '_')
            continue;
        if (is_digit((unsigned char)ch))
            d = (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            d = (unsigned)(ch - 'a' + 10);
        else
            return -1;
        if (d >= base || v > (1ULL << 40))
            return -1;
        v = v * base + d;
    }
    return (long long)v;
}

/* ------------------------------------------------------------------------------------------ */
/* Splitter                                                                                    */
/* ------------------------------------------------------------------------------------------ */

int dsql_strict_split(const char *sql, size_t sql_len, size_t *pos, size_t *off, size_t *len)
{
    size_t p = *pos, first = 0, last = 0;
    int have = 0;
    unsigned depth = 0, begin_depth = 0, words = 0;
    int routine = 0; /* the statement is CREATE [OR REPLACE] FUNCTION|PROCEDURE */
    char w[4] = {0}; /* first letters of the first words, enough to recognise that prefix */
    struct tok t;

    if (sql == NULL || p >= sql_len) {
        *pos = sql_len;
        return 0;
    }
    for (;;) {
        p = lex(sql, sql_len, p, &t);
        if (t.type == TK_END)
            break;
        if (t.type == TK_CHAR && sql[t.off] == ';' && depth == 0 && begin_depth == 0) {
            if (have)
                break;
            words = 0;
            routine = 0;
            continue;
        }
        if (!have)
            first = t.off;
        have = 1;
        last = t.off + t.len;
        if (t.type == TK_CHAR && sql[t.off] == '(')
            depth++;
        else if (t.type == TK_CHAR && sql[t.off] == ')' && depth > 0)
            depth--;
        if (t.type != TK_WORD)
            continue;
        /*
         * psql's rule: in CREATE [OR REPLACE] {FUNCTION|PROCEDURE}, a BEGIN (ATOMIC) ... END
         * body holds semicolons, and CASE ... END nests inside it.
         */
        struct cur c = {sql, sql_len, p, t};
        if (words < sizeof w) {
            static const char *const prefix[] = {"create", "or", "replace", "function",
                                                 "procedure", NULL};
            w[words] = is_kw_in(&c, prefix) ? lower(sql[t.off]) : '?';
            if (w[0] == 'c' && ((words == 1 && (w[1] == 'f' || w[1] == 'p')) ||
                                (words == 3 && w[1] == 'o' && w[2] == 'r' &&
                                 (w[3] == 'f' || w[3] == 'p'))))
                routine = 1;
        }
        words++;
        if (!routine || depth > 0)
            continue;
        if (is_kw(&c, "begin"))
            begin_depth++;
        else if (is_kw(&c, "case") && begin_depth > 0)
            begin_depth++;
        else if (is_kw(&c, "end") && begin_depth > 0)
            begin_depth--;
    }
    *pos = p;
    if (!have)
        return 0;
    *off = first;
    *len = last - first;
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Classifier                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static void set_error(dsql_strict_error *e, const char *sqlstate, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void set_error(dsql_strict_error *e, const char *sqlstate, const char *fmt, va_list ap)
{
    memcpy(e->sqlstate, sqlstate, 5);
    e->sqlstate[5] = '\0';
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

static void reject(dsql_strict_stmt *out, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reject(dsql_strict_stmt *out, const char *sqlstate, const char *fmt, ...)
{
    va_list ap;
    if (out->rejected)
        return; /* the first refusal found is the one DSQL reports */
    out->rejected = 1;
    va_start(ap, fmt);
    set_error(&out->error, sqlstate, fmt, ap);
    va_end(ap);
}

static void unsupported_node(dsql_strict_stmt *out, const char *node)
{
    reject(out, "0A000", "unsupported statement: %s", node);
}

static const char *const DML_WORDS[] = {"insert", "update", "delete", "merge", NULL};

/* SELECT ... INTO new_table is CREATE TABLE AS in disguise. Scans to the end. */
static void check_select_into(struct cur *c, dsql_strict_stmt *out)
{
    while (!at_end(c)) {
        if (is_char(c, '(')) {
            skip_parens(c);
            continue;
        }
        if (is_kw(c, "into"))
            unsupported_node(out, "CreateTableAs");
        adv(c);
    }
}

/* WITH [RECURSIVE] name [(cols)] AS [[NOT] MATERIALIZED] (body) [SEARCH|CYCLE ...], ... main */
static void classify_with(struct cur *c, dsql_strict_stmt *out)
{
    static const char *const main_words[] = {"select", "insert", "update", "delete", "merge",
                                             "values", "table", NULL};
    int dml = 0;
    adv(c);
    accept(c, "recursive");
    for (;;) {
        if (!is_name(c))
            goto out;
        adv(c);
        if (is_char(c, '('))
            skip_parens(c);
        if (!accept(c, "as"))
            goto out;
        accept(c, "not");
        accept(c, "materialized");
        if (!is_char(c, '('))
            goto out;
        adv(c);
        if (is_kw_in(c, DML_WORDS))
            dml = 1;
        /* to the body's closing parenthesis */
        for (unsigned depth = 1; depth > 0;) {
            if (c->t.type == TK_END)
                goto out;
            if (is_char(c, '('))
                depth++;
            else if (is_char(c, ')'))
                depth--;
            adv(c);
        }
        if (is_kw(c, "search") || is_kw(c, "cycle")) {
            while (!at_end(c) && !is_char(c, ',') && !is_kw_in(c, main_words)) {
                if (is_char(c, '('))
                    skip_parens(c);
                else
                    adv(c);
            }
        }
        if (!is_char(c, ','))
            break;
        adv(c);
    }
    if (is_kw_in(c, DML_WORDS))
        dml = 1;
    else if (is_kw(c, "select"))
        check_select_into(c, out);
out:
    if (dml)
        out->kind = DSQL_STRICT_DML;
}

/* Any SERIALIZABLE among transaction modes: DSQL runs repeatable read only. */
static void check_isolation(struct cur *c, dsql_strict_stmt *out)
{
    while (!at_end(c)) {
        if (is_kw(c, "serializable"))
            reject(out, "0A000", "Unsupported isolation level: SERIALIZABLE");
        adv(c);
    }
}

/* After COMMIT/ROLLBACK [WORK|TRANSACTION]: [AND [NO] CHAIN]. */
static void parse_chain(struct cur *c, dsql_strict_stmt *out)
{
    if (accept(c, "and"))
        out->chain = !accept(c, "no") && is_kw(c, "chain");
}

static int param_allowed(const char *name)
{
    static const char *const allowed[] = {"application_name", "client_encoding", "datestyle",
                                          "extra_float_digits", "intervalstyle", "timezone",
                                          "search_path", "role", "disable_sync_create_index",
                                          NULL};
    for (const char *const *a = allowed; *a; a++) {
        if (strcasecmp(name, *a) == 0)
            return 1;
    }
    return strncasecmp(name, "enable_", 7) == 0;
}

/* Reads var_name: ColId ('.' ColId)*, as PostgreSQL names a parameter. */
static const char *read_param_name(struct cur *c, char *buf, size_t size)
{
    char part[NAME_MAX_BYTES + 1];
    size_t o = 0;
    buf[0] = '\0';
    while (is_name(c)) {
        tok_value(c, part, sizeof part);
        o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? "." : "", part);
        if (o >= size)
            o = size - 1;
        adv(c);
        if (!is_char(c, '.'))
            break;
        adv(c);
    }
    return buf;
}

static void reject_param(dsql_strict_stmt *out, const char *name)
{
    if (name[0] != '\0' && !param_allowed(name))
        reject(out, "0A000", "setting configuration parameter \"%s\" not supported", name);
}

/* SET [SESSION | LOCAL] ...: the name PostgreSQL's grammar gives each form. */
static void classify_set(struct cur *c, dsql_strict_stmt *out)
{
    char name[2 * (NAME_MAX_BYTES + 1) + 8];
    adv(c);
    if (is_kw(c, "local")) {
        adv(c);
    } else if (is_kw(c, "session")) {
        struct tok next = peek(c);
        if (!tok_kw(c, &next, "characteristics") && !tok_kw(c, &next, "authorization"))
            adv(c);
    }
    if (accept(c, "transaction")) {
        if (is_kw(c, "snapshot")) {
            reject_param(out, "TRANSACTION SNAPSHOT");
            return;
        }
        check_isolation(c, out);
        reject_param(out, "TRANSACTION");
    } else if (accept(c, "session")) {
        if (accept(c, "characteristics")) {
            check_isolation(c, out);
            reject_param(out, "SESSION CHARACTERISTICS");
        } else {
            reject_param(out, "session_authorization");
        }
    } else if (accept(c, "time")) {
        reject_param(out, "timezone");
    } else if (accept(c, "names")) {
        reject_param(out, "client_encoding");
    } else if (accept(c, "schema")) {
        reject_param(out, "search_path");
    } else if (accept(c, "catalog")) {
        reject_param(out, "catalog");
    } else if (accept(c, "xml")) {
        reject_param(out, "xmloption");
    } else if (is_kw(c, "constraints")) {
        return; /* SET CONSTRAINTS is not a parameter */
    } else {
        reject_param(out, read_param_name(c, name, sizeof name));
    }
}

static void classify_reset(struct cur *c, dsql_strict_stmt *out)
{
    char name[2 * (NAME_MAX_BYTES + 1) + 8];
    adv(c);
    if (is_kw(c, "all"))
        return;
    if (accept(c, "time"))
        reject_param(out, "timezone");
    else if (accept(c, "transaction"))
        reject_param(out, "transaction_isolation");
    else if (accept(c, "session"))
        reject_param(out, "session_authorization");
    else
        reject_param(out, read_param_name(c, name, sizeof name));
}

static void classify_show(struct cur *c, dsql_strict_stmt *out)
{
    char name[2 * (NAME_MAX_BYTES + 1) + 8];
    adv(c);
    read_param_name(c, name, sizeof name);
    /* PostgreSQL 16, which DSQL runs, has neither. */
    if (strcasecmp(name, "lc_collate") == 0 || strcasecmp(name, "lc_ctype") == 0)
        reject(out, "42704", "unrecognized configuration parameter \"%s\"", name);
}

static const char *const SERIAL_TYPES[] = {"serial",   "serial4",     "bigserial", "serial8",
                                           "smallserial", "serial2", NULL};

static const char *const COLUMN_CONSTRAINTS[] = {"not",        "default",   "check",
                                                 "unique",     "primary",   "references",
                                                 "generated",  "constraint", NULL};

#define IDENTITY_MSG                                                                           \
    "identity column is not supported without an explicit cache size. please define CACHE "   \
    "greater than or equal to 65536 or equal to 1"
#define SEQUENCE_MSG                                                                           \
    "CREATE SEQUENCE is not supported without an explicit cache size. please define CACHE "   \
    "greater than or equal to 65536 or equal to 1"

static int cache_ok(long long v)
{
    return v == 1 || v >= 65536;
}

/*
 * Scans sequence options to the end of the current item (or of the parenthesised group the
 * cursor is inside, when in_parens): returns the CACHE value, -1 when absent, -2 when not a
 * literal we can read (then the caller lets it pass).
 */
static long long scan_cache(struct cur *c, int in_parens)
{
    long long v = -1;
    while (!at_end(c) && !(in_parens && is_char(c, ')'))) {
        if (is_char(c, '(')) {
            skip_parens(c);
            continue;
        }
        if (is_kw(c, "cache")) {
            adv(c);
            v = number_value(c);
            if (v < 0)
                v = -2;
            continue;
        }
        adv(c);
    }
    return v;
}

/*
 * One column definition, from its type to the end of the item. in_alter: ALTER TABLE ADD
 * COLUMN, where DSQL refuses any constraint; else CREATE TABLE, where identity columns need
 * a CACHE and the bigint type.
 */
static void check_column(struct cur *c, dsql_strict_stmt *out, int in_alter)
{
    char type[NAME_MAX_BYTES + 1] = "";
    const char *shown = NULL; /* how PostgreSQL displays the type, for the identity check */
    int qualified = 0, constraint = 0, identity = 0;
    long long cache = -1;

    if (is_name(c)) {
        tok_value(c, type, sizeof type);
        adv(c);
        if (is_char(c, '.')) {
            qualified = strcmp(type, "pg_catalog") != 0 ? 2 : 1;
            adv(c);
            if (is_name(c)) {
                tok_value(c, type, sizeof type);
                adv(c);
            }
        }
    }
    if (!qualified) {
        for (const char *const *s = SERIAL_TYPES; *s; s++) {
            if (strcmp(type, *s) == 0) {
                reject(out, "42704", "type \"%s\" does not exist", type);
                return;
            }
        }
    }
    if (qualified < 2) {
        if (!strcmp(type, "int") || !strcmp(type, "integer") || !strcmp(type, "int4"))
            shown = "integer";
        else if (!strcmp(type, "smallint") || !strcmp(type, "int2"))
            shown = "smallint";
        else if (!strcmp(type, "bigint") || !strcmp(type, "int8"))
            shown = "bigint";
    }
    while (!at_end(c) && !is_char(c, ',') && !is_char(c, ')')) {
        if (is_char(c, '(')) {
            skip_parens(c);
            continue;
        }
        if (is_kw_in(c, COLUMN_CONSTRAINTS))
            constraint = 1;
        if (is_kw(c, "identity")) {
            identity = 1;
            adv(c);
            if (is_char(c, '(')) {
                adv(c);
                cache = scan_cache(c, 1);
                if (is_char(c, ')'))
                    adv(c);
            }
            continue;
        }
        adv(c);
    }
    if (in_alter) {
        if (constraint)
            reject(out, "0A000", "ALTER TABLE ADD COLUMN with constraint not supported");
    } else if (identity) {
        if (cache != -2 && !cache_ok(cache))
            reject(out, "0A000", IDENTITY_MSG);
        else if (shown && strcmp(shown, "bigint") != 0)
            reject(out, "0A000", "datatype %s not supported, identity column type must be bigint",
                   shown);
    }
}

static const char *const TABLE_CONSTRAINTS[] = {"constraint", "check",   "unique", "primary",
                                                "foreign",    "exclude", "like",   NULL};

/* CREATE TABLE's parenthesised element list, cursor on '('. */
static void check_table_elements(struct cur *c, dsql_strict_stmt *out)
{
    adv(c);
    while (!at_end(c) && !is_char(c, ')') && !out->rejected) {
        if (is_kw_in(c, TABLE_CONSTRAINTS)) {
            skip_item(c);
        } else {
            adv(c); /* the column name */
            check_column(c, out, 0);
        }
        if (!is_char(c, ','))
            break;
        adv(c);
    }
}

static void classify_create_table(struct cur *c, dsql_strict_stmt *out, int temp, int unlogged)
{
    adv(c);
    if (accept(c, "if")) {
        accept(c, "not");
        accept(c, "exists");
    }
    skip_qualified_name(c);
    struct cur elements = *c;
    /* An AS outside parentheses makes it CREATE TABLE AS, which DSQL names before TEMP. */
    while (!at_end(c)) {
        if (is_char(c, '(')) {
            skip_parens(c);
            continue;
        }
        if (is_kw(c, "as")) {
            unsupported_node(out, "CreateTableAs");
            return;
        }
        adv(c);
    }
    if (temp)
        reject(out, "0A000", "TEMPORARY or TEMP table not supported for CREATE TABLE");
    else if (unlogged)
        reject(out, "0A000", "UNLOGGED table not supported for CREATE TABLE");
    else if (is_char(&elements, '('))
        check_table_elements(&elements, out);
}

static void classify_create_sequence(struct cur *c, dsql_strict_stmt *out)
{
    adv(c);
    if (accept(c, "if")) {
        accept(c, "not");
        accept(c, "exists");
    }
    skip_qualified_name(c);
    long long cache = scan_cache(c, 0);
    if (cache != -2 && !cache_ok(cache))
        reject(out, "0A000", SEQUENCE_MSG);
}

/* Cursor on INDEX. DSQL builds indexes only with CREATE INDEX ASYNC. */
static void classify_create_index(struct cur *c, dsql_strict_stmt *out)
{
    adv(c);
    if (is_kw(c, "async")) {
        out->async_off = c->t.off;
        out->async_len = c->t.len;
        adv(c);
        if (is_kw(c, "concurrently"))
            reject(out, "0A000", "CONCURRENTLY not supported for CREATE INDEX");
    } else if (is_kw(c, "concurrently")) {
        reject(out, "0A000", "CONCURRENTLY not supported for CREATE INDEX");
    } else {
        reject(out, "0A000", "unsupported mode. please use CREATE INDEX ASYNC.");
    }
}

static void classify_create_type(struct cur *c, dsql_strict_stmt *out)
{
    adv(c);
    skip_qualified_name(c);
    if (accept(c, "as")) {
        if (is_kw(c, "enum"))
            reject(out, "0A000", "CREATE TYPE not supported");
        else if (is_kw(c, "range"))
            unsupported_node(out, "CreateRange");
        else if (is_char(c, '('))
            unsupported_node(out, "CompositeType");
    } else if (at_end(c) || is_char(c, '(')) {
        reject(out, "0A000", "CREATE TYPE not supported"); /* shell or base type */
    }
}

/* CREATE FUNCTION/PROCEDURE: DSQL runs LANGUAGE sql only. */
static void classify_create_routine(struct cur *c, dsql_strict_stmt *out)
{
    char lang[NAME_MAX_BYTES + 1];
    while (!at_end(c)) {
        if (is_char(c, '(')) {
            skip_parens(c);
            continue;
        }
        /* LANGUAGE precedes a BEGIN ATOMIC or RETURN body */
        if (is_kw(c, "begin") || is_kw(c, "return"))
            return;
        if (is_kw(c, "language")) {
            adv(c);
            if (is_name(c) || c->t.type == TK_STRING || c->t.type == TK_DOLLAR) {
                tok_value(c, lang, sizeof lang);
                if (strcmp(lang, "sql") != 0)
                    reject(out, "0A000", "CREATE FUNCTION with language %s not supported", lang);
            }
            return;
        }
        adv(c);
    }
}

static void classify_create(struct cur *c, dsql_strict_stmt *out)
{
    int temp = 0, unlogged = 0;
    out->kind = DSQL_STRICT_DDL;
    adv(c);
    if (accept(c, "or"))
        accept(c, "replace");
    for (;;) {
        if (accept(c, "global") || accept(c, "local")) {
            continue;
        } else if (accept(c, "temp") || accept(c, "temporary")) {
            temp = 1;
        } else if (accept(c, "unlogged")) {
            unlogged = 1;
        } else {
            break;
        }
    }
    if (is_kw(c, "table")) {
        classify_create_table(c, out, temp, unlogged);
    } else if (is_kw(c, "materialized")) {
        unsupported_node(out, "CreateTableAs");
    } else if (is_kw(c, "sequence")) {
        classify_create_sequence(c, out);
    } else if (is_kw(c, "index")) {
        classify_create_index(c, out);
    } else if (accept(c, "unique")) {
        if (is_kw(c, "index"))
            classify_create_index(c, out);
    } else if (is_kw(c, "extension")) {
        unsupported_node(out, "CreateExtension");
    } else if (is_kw(c, "trigger") || (accept(c, "constraint") && is_kw(c, "trigger"))) {
        reject(out, "0A000", "CREATE TRIGGER not supported");
    } else if (is_kw(c, "database")) {
        unsupported_node(out, "Createdb");
    } else if (is_kw(c, "tablespace")) {
        unsupported_node(out, "CreateTableSpace");
    } else if (accept(c, "foreign")) {
        if (is_kw(c, "table"))
            unsupported_node(out, "CreateForeignTable");
    } else if (is_kw(c, "type")) {
        classify_create_type(c, out);
    } else if (is_kw(c, "function") || is_kw(c, "procedure")) {
        classify_create_routine(c, out);
    }
}

/* ALTER TABLE ... ADD [CONSTRAINT name] CHECK|FOREIGN KEY|PRIMARY KEY|UNIQUE|EXCLUDE ... */
static void check_add_constraint(struct cur *c, dsql_strict_stmt *out)
{
    int ok = 0;
    if (accept(c, "constraint"))
        adv(c); /* its name */
    if (is_kw(c, "check") || is_kw(c, "foreign")) {
        while (!at_end(c) && !is_char(c, ',')) {
            if (is_char(c, '(')) {
                skip_parens(c);
                continue;
            }
            if (accept(c, "not")) {
                ok |= is_kw(c, "valid");
                continue;
            }
            adv(c);
        }
    } else if (accept(c, "primary") || accept(c, "unique")) {
        accept(c, "key");
        ok = is_kw(c, "using"); /* ... USING INDEX existing_index */
    }
    if (!ok)
        reject(out, "0A000", "unsupported ALTER TABLE ADD CONSTRAINT statement");
}

static void classify_alter_table(struct cur *c, dsql_strict_stmt *out)
{
    static const char *const constraint_starts[] = {"constraint", "check",   "unique", "primary",
                                                    "foreign",    "exclude", NULL};
    int async = 0;
    adv(c);
    if (is_kw(c, "async")) {
        out->async_off = c->t.off;
        out->async_len = c->t.len;
        async = 1;
        adv(c);
    }
    if (is_kw(c, "all"))
        return; /* ALTER TABLE ALL IN TABLESPACE */
    if (accept(c, "if"))
        accept(c, "exists");
    accept(c, "only");
    skip_qualified_name(c);
    if (is_char(c, '*'))
        adv(c);
    while (!at_end(c) && !out->rejected) {
        if (accept(c, "add")) {
            if (is_kw_in(c, constraint_starts)) {
                check_add_constraint(c, out);
            } else {
                accept(c, "column");
                if (accept(c, "if")) {
                    accept(c, "not");
                    accept(c, "exists");
                }
                adv(c); /* the column name */
                check_column(c, out, 1);
            }
        } else if (accept(c, "alter")) {
            accept(c, "column");
            adv(c); /* the column name */
            if (is_kw(c, "type") || (accept(c, "set") && accept(c, "data") && is_kw(c, "type")))
                reject(out, "0A000",
                       "unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement");
        } else if (is_kw(c, "validate") && !async) {
            reject(out, "0A000", "unsupported ALTER TABLE VALIDATE CONSTRAINT statement");
        }
        while (!at_end(c) && !is_char(c, ',')) {
            if (is_char(c, '('))
                skip_parens(c);
            else
                adv(c);
        }
        if (is_char(c, ','))
            adv(c);
    }
}

static void classify_at(struct cur *c, dsql_strict_stmt *out);

/* EXPLAIN [ANALYZE] runs the statement when ANALYZE is on: then it is what it explains. */
static void classify_explain(struct cur *c, dsql_strict_stmt *out)
{
    int analyze = 0;
    adv(c);
    if (is_char(c, '(')) {
        adv(c);
        while (!at_end(c) && !is_char(c, ')')) {
            if (is_kw(c, "analyze") || is_kw(c, "analyse")) {
                adv(c);
                analyze = !(is_kw(c, "false") || is_kw(c, "off") ||
                            (c->t.type == TK_NUMBER && number_value(c) == 0));
                continue;
            }
            adv(c);
        }
        adv(c);
    } else {
        for (;;) {
            if (accept(c, "analyze") || accept(c, "analyse"))
                analyze = 1;
            else if (!accept(c, "verbose"))
                break;
        }
    }
    dsql_strict_stmt inner;
    memset(&inner, 0, sizeof inner);
    classify_at(c, &inner);
    if (analyze && inner.kind == DSQL_STRICT_DML)
        out->kind = DSQL_STRICT_DML;
}

static void classify_at(struct cur *c, dsql_strict_stmt *out)
{
    out->kind = DSQL_STRICT_OTHER;
    if (c->t.type != TK_WORD)
        return; /* ( SELECT ... ) and anything odd */

    if (is_kw(c, "select")) {
        check_select_into(c, out);
    } else if (is_kw(c, "with")) {
        classify_with(c, out);
    } else if (is_kw_in(c, DML_WORDS)) {
        out->kind = DSQL_STRICT_DML;
    } else if (is_kw(c, "copy")) {
        /* COPY ... FROM writes, COPY ... TO reads: the first FROM or TO outside parentheses */
        adv(c);
        while (!at_end(c) && !is_kw(c, "from") && !is_kw(c, "to")) {
            if (is_char(c, '('))
                skip_parens(c);
            else
                adv(c);
        }
        if (is_kw(c, "from"))
            out->kind = DSQL_STRICT_DML;
    } else if (is_kw(c, "begin") || is_kw(c, "start")) {
        int start = is_kw(c, "start");
        adv(c);
        if (start && !accept(c, "transaction"))
            return;
        out->kind = DSQL_STRICT_BEGIN;
        check_isolation(c, out);
    } else if (is_kw(c, "commit") || is_kw(c, "end")) {
        adv(c);
        if (is_kw(c, "prepared"))
            return; /* COMMIT PREPARED: the backend refuses it (no prepared transactions) */
        out->kind = DSQL_STRICT_COMMIT;
        if (!accept(c, "work"))
            accept(c, "transaction");
        parse_chain(c, out);
    } else if (is_kw(c, "rollback") || is_kw(c, "abort")) {
        adv(c);
        if (is_kw(c, "prepared"))
            return;
        if (!accept(c, "work"))
            accept(c, "transaction");
        if (is_kw(c, "to")) {
            reject(out, "0A000", "unsupported transaction statement: ROLLBACK TO");
            return;
        }
        out->kind = DSQL_STRICT_ROLLBACK;
        parse_chain(c, out);
    } else if (is_kw(c, "savepoint")) {
        reject(out, "0A000", "unsupported transaction statement: SAVEPOINT");
    } else if (is_kw(c, "release")) {
        reject(out, "0A000", "unsupported transaction statement: RELEASE");
    } else if (is_kw(c, "truncate")) {
        unsupported_node(out, "Truncate");
    } else if (is_kw(c, "vacuum")) {
        reject(out, "0A000", "unsupported VACUUM statement");
    } else if (is_kw(c, "lock")) {
        unsupported_node(out, "Lock");
    } else if (is_kw(c, "prepare")) {
        adv(c);
        if (!is_kw(c, "transaction")) /* PREPARE TRANSACTION: the backend refuses it */
            unsupported_node(out, "Prepare");
    } else if (is_kw(c, "declare")) {
        unsupported_node(out, "DeclareCursor");
    } else if (is_kw(c, "listen")) {
        unsupported_node(out, "Listen");
    } else if (is_kw(c, "notify")) {
        unsupported_node(out, "Notify");
    } else if (is_kw(c, "unlisten")) {
        unsupported_node(out, "Unlisten");
    } else if (is_kw(c, "set")) {
        classify_set(c, out);
    } else if (is_kw(c, "reset")) {
        classify_reset(c, out);
    } else if (is_kw(c, "show")) {
        classify_show(c, out);
    } else if (is_kw(c, "create")) {
        classify_create(c, out);
    } else if (is_kw(c, "alter")) {
        adv(c);
        if (is_kw(c, "system")) {
            unsupported_node(out, "AlterSystem");
            return;
        }
        out->kind = DSQL_STRICT_DDL;
        if (is_kw(c, "table"))
            classify_alter_table(c, out);
    } else if (is_kw(c, "drop")) {
        out->kind = DSQL_STRICT_DDL;
    } else if (is_kw(c, "explain")) {
        classify_explain(c, out);
    }
}

/* Is the case-insensitive word w (lower case) somewhere in s[0, n)? A cheap pre-filter. */
static int mentions(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    for (size_t p = 0; p + wl <= n; p++) {
        if (lower(s[p]) == w[0] && strncasecmp(s + p, w, wl) == 0)
            return 1;
    }
    return 0;
}

/*
 * The string constant compared with the column `col` somewhere in the statement
 * (`col = 'x'` or `'x' = col`), as pg_dump's `... FROM pg_settings WHERE name = 'x'`. Its value
 * goes into buf; NULL when there is none.
 */
static const char *compared_constant(const char *stmt, size_t len, const char *col, char *buf,
                                     size_t size)
{
    struct cur c;
    struct tok prev2 = {0}, prev1 = {0};
    cur_init(&c, stmt, len);
    while (c.t.type != TK_END) {
        int eq = prev1.type == TK_CHAR && stmt[prev1.off] == '=' && prev1.len == 1;
        if (eq && c.t.type == TK_STRING && tok_kw(&c, &prev2, col))
            return tok_value(&c, buf, size);
        if (eq && tok_kw(&c, &c.t, col) && prev2.type == TK_STRING) {
            struct cur at = c;
            at.t = prev2;
            return tok_value(&at, buf, size);
        }
        prev2 = prev1;
        prev1 = c.t;
        adv(&c);
    }
    return NULL;
}

/*
 * set_config(name, value, is_local) anywhere in a statement sets a parameter as SET does, and
 * DSQL refuses it for the same names. The name is decided when it is a string constant, or in
 * pg_dump's form `set_config(name, ...) FROM pg_settings WHERE name = '<constant>'`; any other
 * name (an expression) cannot be judged from the text and passes.
 */
static void check_set_config(const char *stmt, size_t len, dsql_strict_stmt *out)
{
    char name[NAME_MAX_BYTES + 1];
    struct cur c;
    if (!mentions(stmt, len, "set_config"))
        return;
    cur_init(&c, stmt, len);
    while (c.t.type != TK_END && !out->rejected) {
        struct tok next = peek(&c);
        if (!is_kw(&c, "set_config") || next.type != TK_CHAR || stmt[next.off] != '(') {
            adv(&c);
            continue;
        }
        adv(&c);
        adv(&c); /* now on the first argument */
        struct tok after = peek(&c);
        int alone = after.type == TK_CHAR && stmt[after.off] == ',';
        const char *value = NULL;
        if (alone && (c.t.type == TK_STRING || c.t.type == TK_DOLLAR)) {
            value = tok_value(&c, name, sizeof name);
        } else if (alone && c.t.type == TK_WORD) {
            char col[NAME_MAX_BYTES + 1];
            tok_value(&c, col, sizeof col);
            value = compared_constant(stmt, len, col, name, sizeof name);
        }
        if (value != NULL)
            reject_param(out, value);
    }
}

void dsql_strict_classify(const char *stmt, size_t len, dsql_strict_stmt *out)
{
    struct cur c;
    memset(out, 0, sizeof *out);
    cur_init(&c, stmt ? stmt : "", stmt ? len : 0);
    if (at_end(&c)) {
        out->kind = DSQL_STRICT_EMPTY;
        return;
    }
    classify_at(&c, out);
    if (!out->rejected)
        check_set_config(stmt, len, out);
    if (out->rejected)
        out->kind = DSQL_STRICT_OTHER;
}

/* ------------------------------------------------------------------------------------------ */
/* Session                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void new_transaction(dsql_strict_session *s)
{
    s->ddl = 0;
    s->dml = 0;
    s->rows = 0;
}

void dsql_strict_session_init(dsql_strict_session *s)
{
    memset(s, 0, sizeof *s);
    s->status = 'I';
}

static int refuse(dsql_strict_session *s, dsql_strict_error *err, const char *sqlstate,
                  const char *msg)
{
    if (err && err->message != msg) {
        memcpy(err->sqlstate, sqlstate, 6);
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    /* The backend fails the statement: a block becomes failed, an implicit one rolls back. */
    if (s->status == 'T')
        s->status = 'E';
    else if (s->status == 'I')
        new_transaction(s);
    return DSQL_STRICT_REJECT;
}

int dsql_strict_admit(dsql_strict_session *s, const dsql_strict_stmt *st, dsql_strict_error *err)
{
    if (st->rejected)
        return refuse(s, err, st->error.sqlstate, st->error.message);
    switch (st->kind) {
    case DSQL_STRICT_BEGIN:
        if (s->status == 'I')
            s->status = 'T'; /* statements before it in the same Query join the block */
        return DSQL_STRICT_PASS;
    case DSQL_STRICT_COMMIT:
    case DSQL_STRICT_ROLLBACK:
        s->status = (st->chain && s->status != 'I') ? 'T' : 'I';
        new_transaction(s);
        return DSQL_STRICT_PASS;
    default:
        break;
    }
    if (s->status == 'E')
        return DSQL_STRICT_PASS; /* the backend answers 25P02 itself */
    if (st->kind == DSQL_STRICT_DDL) {
        if (s->ddl > 0)
            return refuse(s, err, "0A000", "multiple ddl statements not supported in a transaction");
        if (s->dml)
            return refuse(s, err, "0A000", "ddl and dml are not supported in the same transaction");
        s->ddl++;
    } else if (st->kind == DSQL_STRICT_DML) {
        if (s->ddl > 0)
            return refuse(s, err, "0A000", "ddl and dml are not supported in the same transaction");
        s->dml = 1;
    }
    return DSQL_STRICT_PASS;
}

int dsql_strict_check(dsql_strict_session *s, const char *stmt, size_t len,
                      dsql_strict_stmt *st_out, dsql_strict_error *err)
{
    dsql_strict_stmt st;
    dsql_strict_classify(stmt, len, &st);
    if (st_out)
        *st_out = st;
    return dsql_strict_admit(s, &st, err);
}

/* The last space-separated field of a tag as a row count; 0 if it is not a number. */
static uint64_t tag_rows(const char *tag)
{
    const char *p = strrchr(tag, ' ');
    uint64_t v = 0;
    if (p == NULL || p[1] == '\0')
        return 0;
    for (p++; *p; p++) {
        if (!is_digit((unsigned char)*p))
            return 0;
        if (v < UINT64_MAX / 10)
            v = v * 10 + (uint64_t)(*p - '0');
    }
    return v;
}

int dsql_strict_command_complete(dsql_strict_session *s, const char *tag, dsql_strict_error *err)
{
    int copy_in = s->copy_in;
    uint64_t rows = 0;
    s->copy_in = 0;
    if (tag == NULL || s->status == 'E')
        return DSQL_STRICT_PASS;
    if (strncmp(tag, "INSERT ", 7) == 0 || strncmp(tag, "UPDATE ", 7) == 0 ||
        strncmp(tag, "DELETE ", 7) == 0 || strncmp(tag, "MERGE ", 6) == 0 ||
        (copy_in && strncmp(tag, "COPY ", 5) == 0))
        rows = tag_rows(tag);
    s->rows = (s->rows > UINT64_MAX - rows) ? UINT64_MAX : s->rows + rows;
    if (s->rows <= DSQL_STRICT_ROW_CAP)
        return DSQL_STRICT_PASS;
    if (err) {
        memcpy(err->sqlstate, "54000", 6);
        snprintf(err->message, sizeof err->message, "transaction row limit exceeded");
    }
    return DSQL_STRICT_REJECT;
}

void dsql_strict_copy_in(dsql_strict_session *s)
{
    s->copy_in = 1;
}

void dsql_strict_ready(dsql_strict_session *s, char status)
{
    s->copy_in = 0;
    if (status != 'I' && status != 'T' && status != 'E')
        return;
    s->status = status;
    if (status == 'I')
        new_transaction(s);
}

/* ------------------------------------------------------------------------------------------ */
/* The DO statement that makes the backend raise a refusal                                     */
/* ------------------------------------------------------------------------------------------ */

size_t dsql_strict_raise_sql(const dsql_strict_error *err, char *buf, size_t size)
{
    char body[2 * DSQL_STRICT_MSG_MAX + 128];
    char tag[32];
    size_t o = 0, tl;
    unsigned n = 0;

    if (err == NULL || buf == NULL || strlen(err->sqlstate) != 5)
        return 0;
    for (int i = 0; i < 5; i++) {
        char ch = err->sqlstate[i];
        if (!is_digit((unsigned char)ch) && !(ch >= 'A' && ch <= 'Z'))
            return 0;
    }
    /* An E'' literal means the same whatever standard_conforming_strings says. */
    o = (size_t)snprintf(body, sizeof body,
                         "BEGIN RAISE EXCEPTION USING ERRCODE = '%s', MESSAGE = E'", err->sqlstate);
    for (size_t i = 0; i < sizeof err->message && err->message[i]; i++) {
        char ch = err->message[i];
        if (ch == '\'' || ch == '\\')
            body[o++] = ch;
        body[o++] = ch;
    }
    o += (size_t)snprintf(body + o, sizeof body - o, "'; END");
    /* A dollar tag that the body does not contain. */
    do {
        tl = (size_t)snprintf(tag, sizeof tag, "$dsql%u$", n++);
    } while (find(body, o, 0, tag, tl) < o);
    if (3 + 2 * tl + o + 1 > size)
        return 0;
    return (size_t)snprintf(buf, size, "DO %s%s%s", tag, body, tag);
}
