/* SPDX-License-Identifier: MIT */
/* strict.c: DSQL's rules per statement and per session: parsing, the parse cache, admission. */
#include "strict.h"

#include "rules.h"
#include "sqltree.h"

#include <stdio.h>
#include <stdlib.h>
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
    size_t pos;   /* where the next token starts looking */
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

/* The token after the current one, without moving. */
static struct tok peek(const struct cur *c)
{
    struct tok t;
    lex(c->s, c->n, c->pos, &t);
    return t;
}

/* ------------------------------------------------------------------------------------------ */
/* DSQL's ASYNC keyword                                                                        */
/* ------------------------------------------------------------------------------------------ */

/*
 * PostgreSQL's grammar has no ASYNC: `CREATE INDEX ASYNC i ON t (a)` fails to parse, and
 * `CREATE INDEX ASYNC ON t (a)` parses as an index named "async". So ASYNC is found on tokens
 * first (strings, comments, dollar quotes and quoted identifiers are single tokens, so a word
 * inside them never matches): an unquoted `async` right after CREATE [UNIQUE] INDEX, or after
 * ALTER TABLE when what follows is not an action (then `async` is a table's name). Its offsets
 * go into offs (at most max).
 */
static size_t find_async(const char *s, size_t n, size_t *offs, size_t max)
{
    static const char *const actions[] = {
        "add",    "drop",    "alter",  "rename", "validate", "set",     "owner",
        "enable", "disable", "attach", "detach", "inherit",  "no",      "cluster",
        "reset",  "replica", "force",  "of",     "not",      "options", NULL};
    struct cur c;
    struct tok prev2 = {0}, prev1 = {0};
    size_t found = 0;
    cur_init(&c, s, n);
    while (c.t.type != TK_END && found < max) {
        if (is_kw(&c, "async")) {
            int after_index = tok_kw(&c, &prev1, "index") &&
                              (tok_kw(&c, &prev2, "create") || tok_kw(&c, &prev2, "unique"));
            int after_table = tok_kw(&c, &prev1, "table") && tok_kw(&c, &prev2, "alter");
            if (after_table) {
                struct tok next = peek(&c);
                struct cur at = c;
                at.t = next;
                after_table =
                    next.type == TK_QIDENT || (next.type == TK_WORD && !is_kw_in(&at, actions));
            }
            if (after_index || after_table)
                offs[found++] = c.t.off;
        }
        prev2 = prev1;
        prev1 = c.t;
        adv(&c);
    }
    return found;
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

/* ------------------------------------------------------------------------------------------ */
/* Parsing                                                                                     */
/* ------------------------------------------------------------------------------------------ */

#define MAX_ASYNC 64

int dsql_strict_parse(const char *text, size_t len, dsql_strict_stmt **out, size_t *n)
{
    size_t offs[MAX_ASYNC], nasync = 0;
    char *copy = NULL;
    const char *sql = text;
    int rc = -1;
    *out = NULL;
    *n = 0;
    if (text == NULL)
        text = sql = "";
    if (memchr(text, '\0', len) != NULL)
        len = strlen(text); /* PostgreSQL reads a query up to its first NUL */
    if (mentions(text, len, "async"))
        nasync = find_async(text, len, offs, MAX_ASYNC);
    if (nasync > 0 || text[len] != '\0') {
        copy = malloc(len + 1);
        if (copy == NULL)
            goto out;
        memcpy(copy, text, len);
        copy[len] = '\0';
        for (size_t i = 0; i < nasync; i++)
            memset(copy + offs[i], ' ', 5);
        sql = copy;
    }
    rc = sqltree_parse(sql, len, offs, nasync, out, n);
    if (rc == 1 && nasync > 0) {
        /* The backend answers it, but it must see the text without DSQL's ASYNC, so that its
         * syntax error is DSQL's (CREATE INDEX ASYNC public.i ...: at or near "."). */
        *out = calloc(1, sizeof **out);
        if (*out == NULL) {
            rc = -1;
            goto out;
        }
        (*out)->kind = DSQL_STRICT_OTHER;
        (*out)->len = len;
        (*out)->async_off = offs[0];
        (*out)->async_len = 5;
        *n = 1;
        rc = 0;
    }
out:
    free(copy);
    return rc;
}

void dsql_strict_classify(const char *stmt, size_t len, dsql_strict_stmt *out)
{
    dsql_strict_stmt *all = NULL;
    size_t n = 0;
    char *copy = NULL;
    memset(out, 0, sizeof *out);
    out->kind = DSQL_STRICT_EMPTY;
    /* Only the text given: the caller's buffer may go on past len. */
    copy = malloc(len + 1);
    if (copy == NULL)
        return;
    if (len > 0)
        memcpy(copy, stmt, len);
    copy[len] = '\0';
    int rc = dsql_strict_parse(copy, len, &all, &n);
    if (rc == 0 && n > 0)
        *out = all[0];
    else if (rc != 0)
        out->kind = DSQL_STRICT_OTHER; /* the backend answers what it cannot parse */
    free(all);
    free(copy);
}

/* ------------------------------------------------------------------------------------------ */
/* Shadows: answers without locks                                                              */
/* ------------------------------------------------------------------------------------------ */

static int is_punct(const struct cur *c, char ch)
{
    return c->t.type == TK_CHAR && c->s[c->t.off] == ch;
}

/* Moves past [ONLY] name[.name...] [*] [[AS] alias]; returns the end of what it passed. */
static size_t skip_target(struct cur *c, const char *stop)
{
    size_t end = c->t.off;
    if (is_kw(c, "only"))
        adv(c);
    while (c->t.type == TK_WORD || c->t.type == TK_QIDENT) {
        end = c->t.off + c->t.len;
        adv(c);
        if (!is_punct(c, '.'))
            break;
        adv(c);
    }
    if (is_punct(c, '*')) {
        end = c->t.off + 1;
        adv(c);
    }
    if (is_kw(c, "as"))
        adv(c);
    if ((c->t.type == TK_WORD && !is_kw(c, stop) && !is_kw(c, "where")) || c->t.type == TK_QIDENT) {
        end = c->t.off + c->t.len;
        adv(c);
    }
    return end;
}

/* Appends s[0, n) to out at *o (capacity size); -1 when it does not fit. */
static int put(char *out, size_t size, size_t *o, const char *s, size_t n)
{
    if (*o + n + 1 > size)
        return -1;
    memcpy(out + *o, s, n);
    *o += n;
    out[*o] = '\0';
    return 0;
}

size_t dsql_strict_shadow(const char *sql, const dsql_strict_stmt *st, char *out, size_t size)
{
    const char *s = sql + st->off;
    size_t n = st->len, o = 0;
    struct cur c;
    if (size == 0)
        return 0;
    out[0] = '\0';
    cur_init(&c, s, n);
    if (st->flags & (DSQL_STRICT_UPDATE | DSQL_STRICT_DELETE)) {
        int update = (st->flags & DSQL_STRICT_UPDATE) != 0;
        if (!is_kw(&c, update ? "update" : "delete"))
            return 0;
        adv(&c);
        if (!update) {
            if (!is_kw(&c, "from"))
                return 0;
            adv(&c);
        }
        size_t rel = c.t.off, rel_end = skip_target(&c, update ? "set" : "where");
        unsigned depth = 0;
        while (c.t.type != TK_END && !(depth == 0 && is_kw(&c, "where"))) {
            depth += is_punct(&c, '(');
            depth -= is_punct(&c, ')') && depth > 0;
            adv(&c);
        }
        if (put(out, size, &o, "SELECT count(*) FROM ", 21) != 0 ||
            put(out, size, &o, s + rel, rel_end - rel) != 0)
            return 0;
        if (is_kw(&c, "where")) {
            adv(&c);
            struct tok next = peek(&c);
            if (is_kw(&c, "current") && tok_kw(&c, &next, "of"))
                return 0; /* WHERE CURRENT OF a cursor: no cursors here */
            if (put(out, size, &o, " WHERE ", 7) != 0 ||
                put(out, size, &o, s + c.t.off, n - c.t.off) != 0)
                return 0;
        }
        return o;
    }
    if (!(st->flags & DSQL_STRICT_LOCKING) || put(out, size, &o, s, n) != 0)
        return 0;
    unsigned depth = 0;
    int blanked = 0;
    while (c.t.type != TK_END) {
        depth += is_punct(&c, '(');
        depth -= is_punct(&c, ')') && depth > 0;
        struct tok next = peek(&c);
        if (depth > 0 || !is_kw(&c, "for") ||
            !(tok_kw(&c, &next, "update") || tok_kw(&c, &next, "key") || tok_kw(&c, &next, "no") ||
              tok_kw(&c, &next, "share"))) {
            adv(&c);
            continue;
        }
        size_t from = c.t.off, to = c.t.off + c.t.len;
        adv(&c);
        static const char *const words[] = {"update", "key",  "no",     "share", "of",
                                            "nowait", "skip", "locked", NULL};
        while (c.t.type != TK_END &&
               (is_kw_in(&c, words) || is_punct(&c, ',') || is_punct(&c, '.') ||
                c.t.type == TK_QIDENT ||
                (c.t.type == TK_WORD && !is_kw(&c, "for") && !is_kw(&c, "limit") &&
                 !is_kw(&c, "offset") && !is_kw(&c, "fetch")))) {
            to = c.t.off + c.t.len;
            adv(&c);
        }
        memset(out + from, ' ', to - from);
        blanked = 1;
    }
    return blanked ? o : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The parse cache                                                                             */
/* ------------------------------------------------------------------------------------------ */

#define CACHE_SLOTS 64      /* per session */
#define CACHE_MAX_TEXT 8192 /* longer texts are parsed every time */

typedef struct cache_slot {
    uint64_t hash;
    char *text;
    size_t len;
    dsql_strict_stmt *stmts;
    size_t n;
    int rc;
} cache_slot;

struct dsql_strict_cache {
    cache_slot slot[CACHE_SLOTS];  /* by text */
    cache_slot shape[CACHE_SLOTS]; /* by number_shape() of the text */
    uint64_t hits, misses;
};

dsql_strict_cache *dsql_strict_cache_new(void)
{
    return calloc(1, sizeof(dsql_strict_cache));
}

static void slot_clear(cache_slot *s)
{
    free(s->text);
    free(s->stmts);
    memset(s, 0, sizeof *s);
}

void dsql_strict_cache_free(dsql_strict_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        slot_clear(&c->slot[i]);
        slot_clear(&c->shape[i]);
    }
    free(c);
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int is_ident(unsigned char ch)
{
    return ch == '_' || ch == '$' || ch >= 0x80 || (ch >= '0' && ch <= '9') ||
           ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
}

/* The end of the dollar quote that opens at text[i] ($$ or $tag$), or 0 when none opens there. */
static size_t dollar_quote_end(const char *text, size_t len, size_t i)
{
    size_t t = i + 1;
    if (t < len && text[t] >= '0' && text[t] <= '9')
        return 0; /* $1: a parameter */
    while (t < len && text[t] != '$' && is_ident((unsigned char)text[t]))
        t++;
    if (t >= len || text[t] != '$')
        return 0;
    size_t tag = t + 1 - i;
    for (size_t j = t + 1; j + tag <= len; j++)
        if (text[j] == '$' && memcmp(text + j, text + i, tag) == 0)
            return j + tag;
    return len;
}

/*
 * The shape of a text: out (len bytes) is text with every digit of a number made '0', numbers
 * being digits that start a token (not inside a name, a parameter such as $1, a quoted string
 * or name, or a comment). Same length, so every offset of a statement holds. Returns how many
 * digits changed. A lexing mistake can only merge texts whose parse trees differ in a constant
 * or a name the rules do not read, since only statements whose verdict read no constant are
 * kept by shape, and no rule matches a name with a digit after a non-name character.
 */
static size_t number_shape(const char *text, size_t len, char *out)
{
    size_t changed = 0, i = 0;
    memcpy(out, text, len);
    while (i < len) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\'' || ch == '"') { /* '' and "" inside just close and reopen */
            size_t j = i + 1;
            int escapes = ch == '\'' && i > 0 && (text[i - 1] | 0x20) == 'e';
            while (j < len && (unsigned char)text[j] != ch)
                j += escapes && text[j] == '\\' ? 2 : 1;
            i = j + 1;
        } else if (ch == '-' && i + 1 < len && text[i + 1] == '-') {
            while (i < len && text[i] != '\n')
                i++;
        } else if (ch == '/' && i + 1 < len && text[i + 1] == '*') {
            int depth = 0;
            do {
                if (text[i] == '/' && i + 1 < len && text[i + 1] == '*')
                    depth++, i += 2;
                else if (text[i] == '*' && i + 1 < len && text[i + 1] == '/')
                    depth--, i += 2;
                else
                    i++;
            } while (i < len && depth > 0);
        } else if (ch == '$' && dollar_quote_end(text, len, i) != 0) {
            i = dollar_quote_end(text, len, i);
        } else if (ch >= '0' && ch <= '9') {
            for (; i < len && text[i] >= '0' && text[i] <= '9'; i++)
                if (text[i] != '0')
                    out[i] = '0', changed++;
        } else if (is_ident(ch)) {
            while (i < len && is_ident((unsigned char)text[i]))
                i++;
        } else {
            i++;
        }
    }
    return changed;
}

/* Looks text (hashed h) up in the slots table; NULL when it is not there. */
static cache_slot *cache_find(cache_slot *table, uint64_t h, const char *text, size_t len)
{
    cache_slot *s = &table[h % CACHE_SLOTS];
    if (s->text != NULL && s->hash == h && s->len == len && memcmp(s->text, text, len) == 0)
        return s;
    return NULL;
}

/* Keeps stmts (taken) for text, hashed h, in the slot of table it falls in. */
static void cache_keep(cache_slot *table, uint64_t h, const char *text, size_t len, int rc,
                       dsql_strict_stmt *stmts, size_t n)
{
    cache_slot *s = &table[h % CACHE_SLOTS];
    slot_clear(s);
    s->rc = rc;
    s->stmts = stmts;
    s->n = n;
    if (len <= CACHE_MAX_TEXT && (s->text = malloc(len + 1)) != NULL) {
        memcpy(s->text, text, len);
        s->text[len] = '\0';
        s->hash = h;
        s->len = len;
    }
}

/* Whether a verdict on stmts holds for every text of the same shape. */
static int shape_free(int rc, const dsql_strict_stmt *stmts, size_t n)
{
    if (rc != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (stmts[i].rejected || (stmts[i].flags & DSQL_STRICT_READS_CONSTANT))
            return 0;
    return 1;
}

int dsql_strict_cache_parse(dsql_strict_cache *c, const char *text, size_t len,
                            const dsql_strict_stmt **out, size_t *n)
{
    uint64_t h = fnv1a(text, len), hs = 0;
    cache_slot *s = cache_find(c->slot, h, text, len);
    char *shape = NULL;
    /* A text PostgreSQL cuts at a NUL is kept by its exact text only. */
    if (s == NULL && len <= CACHE_MAX_TEXT && memchr(text, '\0', len) == NULL) {
        if ((shape = malloc(len + 1)) == NULL)
            return -1;
        if (number_shape(text, len, shape) > 0) {
            hs = fnv1a(shape, len);
            s = cache_find(c->shape, hs, shape, len);
        } else {
            free(shape);
            shape = NULL;
        }
    }
    if (s != NULL) {
        free(shape);
        c->hits++;
        *out = s->stmts;
        *n = s->n;
        return s->rc;
    }
    c->misses++;
    dsql_strict_stmt *stmts = NULL, *copy;
    size_t count = 0;
    int rc = dsql_strict_parse(text, len, &stmts, &count);
    if (rc >= 0 && shape != NULL && shape_free(rc, stmts, count) &&
        (copy = malloc((count ? count : 1) * sizeof *copy)) != NULL) {
        memcpy(copy, stmts, count * sizeof *copy);
        cache_keep(c->shape, hs, shape, len, rc, copy, count);
    }
    free(shape);
    if (rc < 0)
        return rc;
    cache_keep(c->slot, h, text, len, rc, stmts, count);
    *out = stmts;
    *n = count;
    return rc;
}

void dsql_strict_cache_stats(const dsql_strict_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c->hits;
    *misses = c->misses;
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

static int refuse(dsql_strict_session *s, dsql_strict_error *err, enum rule_id id,
                  const dsql_strict_error *given)
{
    if (err != NULL && given != NULL && err != given)
        *err = *given;
    else if (err != NULL && given == NULL)
        rule_format(id, NULL, err->sqlstate, err->message, sizeof err->message);
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
        return refuse(s, err, RULE_COUNT, &st->error);
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
            return refuse(s, err, RULE_MULTIPLE_DDL, NULL);
        if (s->dml)
            return refuse(s, err, RULE_DDL_AND_DML, NULL);
        s->ddl++;
    } else if (st->kind == DSQL_STRICT_DML) {
        if (s->ddl > 0)
            return refuse(s, err, RULE_DDL_AND_DML, NULL);
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
    if (err)
        rule_format(RULE_ROW_CAP, NULL, err->sqlstate, err->message, sizeof err->message);
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
