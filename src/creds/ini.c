/* SPDX-License-Identifier: MIT */
/* ini.c: a transcription of configparser.RawConfigParser._read plus botocore's profile map. */
#include "creds/ini.h"

#include "base/log.h"
#include "creds/shlex.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* Python's notion of white space and line breaks, on UTF-8                                    */
/* ------------------------------------------------------------------------------------------ */

/* Byte length of the white-space character (str.isspace) starting at p, 0 if none. */
static size_t ws_at(const unsigned char *p, const unsigned char *end)
{
    size_t n = (size_t)(end - p);
    if (n == 0)
        return 0;
    unsigned c = p[0];
    if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20))
        return 1;
    if (c == 0xc2 && n >= 2 && (p[1] == 0x85 || p[1] == 0xa0))
        return 2;
    if (n >= 3) {
        unsigned b = p[1], d = p[2];
        if (c == 0xe1 && b == 0x9a && d == 0x80) /* U+1680 */
            return 3;
        if (c == 0xe2 && b == 0x80 && (d <= 0x8a || d == 0xa8 || d == 0xa9 || d == 0xaf))
            return d >= 0x80 ? 3 : 0;            /* U+2000..200A, 2028, 2029, 202F */
        if (c == 0xe2 && b == 0x81 && d == 0x9f) /* U+205F */
            return 3;
        if (c == 0xe3 && b == 0x80 && d == 0x80) /* U+3000 */
            return 3;
    }
    return 0;
}

/* Byte length of the white-space character that ends just before end, 0 if none. */
static size_t ws_before(const unsigned char *start, const unsigned char *end)
{
    for (size_t k = 1; k <= 3 && (size_t)(end - start) >= k; k++)
        if (ws_at(end - k, end) == k)
            return k;
    return 0;
}

/* Strips white space at both ends of [*b, *e). Returns the number of code points stripped in
 * front (configparser's indent level counts characters). */
static size_t strip(const char **b, const char **e)
{
    const unsigned char *p = (const unsigned char *)*b, *q = (const unsigned char *)*e;
    size_t lead = 0, k;
    while (p < q && (k = ws_at(p, q)) > 0) {
        p += k;
        lead++;
    }
    while (q > p && (k = ws_before(p, q)) > 0)
        q -= k;
    *b = (const char *)p;
    *e = (const char *)q;
    return lead;
}

/* Byte length of the line break at p as str.splitlines sees it (for nested values), 0 if none. */
static size_t splitlines_break_at(const unsigned char *p, const unsigned char *end)
{
    size_t n = (size_t)(end - p);
    unsigned c = p[0];
    if (c == '\r' && n >= 2 && p[1] == '\n')
        return 2;
    if (c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e))
        return 1;
    if (c == 0xc2 && n >= 2 && p[1] == 0x85)
        return 2;
    if (c == 0xe2 && n >= 3 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
        return 3;
    return 0;
}

/* Strict UTF-8 as Python's decoder: no overlongs, no surrogates, nothing past U+10FFFF. */
static int utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return 0;
        }
        if (n - i < len || p[i + 1] < lo || p[i + 1] > hi)
            return 0;
        for (size_t k = 2; k < len; k++)
            if (p[i + k] < 0x80 || p[i + k] > 0xbf)
                return 0;
        i += len;
    }
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* The parsed structure                                                                        */
/* ------------------------------------------------------------------------------------------ */

static void entry_cleanup(dsql_ini_entry *e)
{
    dsql_free_secret(e->key);
    dsql_free_secret(e->value);
    for (size_t i = 0; i < e->nsub; i++)
        entry_cleanup(&e->sub[i]);
    free(e->sub);
    memset(e, 0, sizeof *e);
}

static void section_cleanup(dsql_ini_section *s)
{
    for (size_t i = 0; i < s->n; i++)
        entry_cleanup(&s->entries[i]);
    free(s->entries);
    dsql_free_secret(s->name);
    memset(s, 0, sizeof *s);
}

void dsql_ini_free(dsql_ini *ini)
{
    if (ini == NULL)
        return;
    for (size_t i = 0; i < ini->nsections; i++)
        section_cleanup(&ini->sections[i]);
    free(ini->sections);
    section_cleanup(&ini->defaults);
    free(ini->path);
    free(ini);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap == 0 ? 8 : *cap * 2;
    void *p = realloc(*arr, ncap * elem);
    if (p == NULL)
        return -1;
    memset((char *)p + *cap * elem, 0, (ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return 0;
}

static char *dup_range(const char *b, const char *e)
{
    char *s = malloc((size_t)(e - b) + 1);
    if (s != NULL) {
        memcpy(s, b, (size_t)(e - b));
        s[e - b] = '\0';
    }
    return s;
}

const dsql_ini_section *dsql_ini_section_find(const dsql_ini *ini, const char *name)
{
    if (ini == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < ini->nsections; i++)
        if (strcmp(ini->sections[i].name, name) == 0)
            return &ini->sections[i];
    return NULL;
}

static const dsql_ini_entry *section_get(const dsql_ini_section *s, const char *key)
{
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->entries[i].key, key) == 0)
            return &s->entries[i];
    return NULL;
}

const dsql_ini_entry *dsql_ini_lookup(const dsql_ini *ini, const dsql_ini_section *s,
                                      const char *key)
{
    if (s == NULL || key == NULL)
        return NULL;
    char k[128];
    size_t n = strlen(key);
    if (n >= sizeof k)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        k[i] = (key[i] >= 'A' && key[i] <= 'Z') ? (char)(key[i] + 32) : key[i];
    const dsql_ini_entry *e = section_get(s, k);
    if (e == NULL && ini != NULL && s != &ini->defaults)
        e = section_get(&ini->defaults, k);
    return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Parsing                                                                                     */
/* ------------------------------------------------------------------------------------------ */

struct parser {
    dsql_ini *ini;
    const char *path;
    dsql_error *err;
    dsql_ini_section *cur; /* the current section, NULL before the first header */
    dsql_ini_entry *opt;   /* the key whose value is being read, NULL after a header */
    dsql_buf value;        /* its value so far, pieces joined by '\n' */
    unsigned *piece_lines; /* the line each piece of the value came from */
    size_t npieces, pieces_cap;
};

static int perr(struct parser *ps, unsigned line, const char *what)
{
    return dsql_seterr(ps->err, DSQL_ERR_CONFIG, "%s: line %u: %s", ps->path, line, what);
}

static int nomem(struct parser *ps)
{
    return dsql_seterr(ps->err, DSQL_ERR_NOMEM, "out of memory");
}

static int add_piece(struct parser *ps, const char *b, const char *e, unsigned line)
{
    if (grow((void **)&ps->piece_lines, &ps->pieces_cap, ps->npieces, sizeof(unsigned)) != 0)
        return nomem(ps);
    if (ps->npieces > 0)
        dsql_buf_putc(&ps->value, '\n');
    dsql_buf_append(&ps->value, b, (size_t)(e - b));
    ps->piece_lines[ps->npieces++] = line;
    return dsql_buf_failed(&ps->value) ? nomem(ps) : DSQL_OK;
}

/* The line of the value's piece that contains byte offset off. */
static unsigned piece_line(const struct parser *ps, size_t off)
{
    size_t piece = 0;
    for (size_t i = 0; i < off && i < ps->value.len; i++)
        if (ps->value.data[i] == '\n')
            piece++;
    return piece < ps->npieces ? ps->piece_lines[piece] : 0;
}

/* botocore's _parse_nested: one `name = value` per line, split on the first '='. */
static int parse_nested(struct parser *ps, dsql_ini_entry *opt, const char *v, size_t n)
{
    const unsigned char *p = (const unsigned char *)v, *end = p + n;
    while (p < end) {
        const unsigned char *ls = p;
        size_t br = 0;
        while (p < end && (br = splitlines_break_at(p, end)) == 0)
            p++;
        const char *b = (const char *)ls, *e = (const char *)p;
        p += br;
        strip(&b, &e);
        if (b == e)
            continue;
        const char *eq = memchr(b, '=', (size_t)(e - b));
        if (eq == NULL)
            return perr(ps, piece_line(ps, (size_t)(b - v)),
                        "a line of a nested sub-section is not 'name = value'");
        const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
        strip(&kb, &ke);
        strip(&vb, &ve);
        char *key = dup_range(kb, ke);
        char *val = dup_range(vb, ve);
        if (key == NULL || val == NULL) {
            dsql_free_secret(key);
            dsql_free_secret(val);
            return nomem(ps);
        }
        dsql_ini_entry *dup = NULL;
        for (size_t i = 0; i < opt->nsub; i++)
            if (strcmp(opt->sub[i].key, key) == 0)
                dup = &opt->sub[i];
        if (dup != NULL) { /* a Python dict: the later one wins */
            free(key);
            dsql_free_secret(dup->value);
            dup->value = val;
            continue;
        }
        /* Nested sub-sections are a handful of lines: grow one entry at a time. */
        dsql_ini_entry *ns = realloc(opt->sub, (opt->nsub + 1) * sizeof *ns);
        if (ns == NULL) {
            free(key);
            dsql_free_secret(val);
            return nomem(ps);
        }
        opt->sub = ns;
        dsql_ini_entry *ne = &opt->sub[opt->nsub++];
        memset(ne, 0, sizeof *ne);
        ne->key = key;
        ne->value = val;
        ne->line = piece_line(ps, (size_t)(b - v));
    }
    return DSQL_OK;
}

/* Ends the value being read (configparser's _join_multiline_values plus botocore's nesting). */
static int finish_value(struct parser *ps)
{
    if (ps->opt == NULL)
        return DSQL_OK;
    int rc = DSQL_OK;
    const char *b = ps->value.data, *e = b + ps->value.len;
    size_t k; /* rstrip, as _join_multiline_values does */
    while (e > b && (k = ws_before((const unsigned char *)b, (const unsigned char *)e)) > 0)
        e -= k;
    if (e > b && b[0] == '\n') {
        rc = parse_nested(ps, ps->opt, b, (size_t)(e - b));
    } else {
        ps->opt->value = dup_range(b, e);
        if (ps->opt->value == NULL)
            rc = nomem(ps);
    }
    ps->opt = NULL;
    dsql_buf_cleanup(&ps->value);
    ps->npieces = 0;
    return rc;
}

/* The '[name]' of a stripped line, as configparser's SECTCRE `\[(?P<header>.+)\]` matches it. */
static int section_header(const char *b, const char *e, const char **nb, const char **ne)
{
    if (e - b < 3 || *b != '[')
        return 0;
    for (const char *q = e - 1; q >= b + 2; q--) {
        if (*q == ']') {
            *nb = b + 1;
            *ne = q;
            return 1;
        }
    }
    return 0;
}

static int start_section(struct parser *ps, const char *nb, const char *ne, unsigned line)
{
    dsql_ini *ini = ps->ini;
    size_t n = (size_t)(ne - nb);
    if (n == 7 && memcmp(nb, "DEFAULT", 7) == 0) {
        ps->cur = &ini->defaults;
        return DSQL_OK;
    }
    for (size_t i = 0; i < ini->nsections; i++) {
        if (strlen(ini->sections[i].name) == n && memcmp(ini->sections[i].name, nb, n) == 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "section [%.*s] is defined twice (first on line %u)",
                     n > 64 ? 64 : (int)n, nb, ini->sections[i].line);
            return perr(ps, line, msg);
        }
    }
    if (grow((void **)&ini->sections, &ini->cap, ini->nsections, sizeof *ini->sections) != 0)
        return nomem(ps);
    dsql_ini_section *s = &ini->sections[ini->nsections];
    s->name = dup_range(nb, ne);
    if (s->name == NULL)
        return nomem(ps);
    s->line = line;
    ini->nsections++;
    ps->cur = s;
    return DSQL_OK;
}

static const char *section_label(const struct parser *ps)
{
    return ps->cur == &ps->ini->defaults ? "DEFAULT" : ps->cur->name;
}

static int start_option(struct parser *ps, const char *b, const char *e, unsigned line)
{
    /* OPTCRE: the first '=' or ':' splits; the key is what precedes it, right-stripped. */
    const char *d = b;
    while (d < e && *d != '=' && *d != ':')
        d++;
    if (d == e)
        return perr(ps, line, "expected 'key = value', a [section] header or a comment");
    const char *kb = b, *ke = d, *vb = d + 1, *ve = e;
    strip(&kb, &ke);
    strip(&vb, &ve);
    if (kb == ke)
        return perr(ps, line, "empty key before the '=' or ':'");
    char *key = dup_range(kb, ke);
    if (key == NULL)
        return nomem(ps);
    for (char *c = key; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    dsql_ini_section *s = ps->cur;
    const dsql_ini_entry *dup = section_get(s, key);
    if (dup != NULL) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "key '%.64s' is defined twice in section [%.64s] (first on "
                 "line %u)",
                 key, section_label(ps), dup->line);
        free(key);
        return perr(ps, line, msg);
    }
    if (grow((void **)&s->entries, &s->cap, s->n, sizeof *s->entries) != 0) {
        free(key);
        return nomem(ps);
    }
    dsql_ini_entry *opt = &s->entries[s->n++];
    opt->key = key;
    opt->line = line;
    ps->opt = opt;
    return add_piece(ps, vb, ve, line);
}

static int parse_line(struct parser *ps, const char *lb, const char *le, unsigned line,
                      size_t *indent_level)
{
    const char *b = lb, *e = le;
    size_t indent = strip(&b, &e);
    if (b == e || *b == '#' || *b == ';') {
        /* An empty line belongs to the value being read; a comment line does not. */
        if (b == e && ps->cur != NULL && ps->opt != NULL)
            return add_piece(ps, b, b, line);
        return DSQL_OK;
    }
    if (ps->cur != NULL && ps->opt != NULL && indent > *indent_level)
        return add_piece(ps, b, e, line);
    *indent_level = indent;
    int rc = finish_value(ps);
    if (rc != DSQL_OK)
        return rc;
    const char *nb, *ne;
    if (section_header(b, e, &nb, &ne))
        return start_section(ps, nb, ne, line);
    if (ps->cur == NULL)
        return perr(ps, line, "text before the first [section] header");
    return start_option(ps, b, e, line);
}

int dsql_ini_parse(const char *text, size_t len, const char *path, dsql_ini **out, dsql_error *err)
{
    struct parser ps;
    memset(&ps, 0, sizeof ps);
    ps.path = path == NULL ? "(config)" : path;
    ps.err = err;
    dsql_buf_init(&ps.value);
    int rc = DSQL_OK;
    ps.ini = calloc(1, sizeof *ps.ini);
    if (ps.ini == NULL || (ps.ini->path = strdup(ps.path)) == NULL ||
        (ps.ini->defaults.name = strdup("DEFAULT")) == NULL) {
        rc = nomem(&ps);
        goto out;
    }
    ps.ini->found = 1;

    size_t indent_level = 0;
    unsigned line = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *lb = p;
        while (p < end && *p != '\n' && *p != '\r')
            p++;
        const char *le = p;
        if (p < end)
            p += (*p == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
        line++;
        if (memchr(lb, '\0', (size_t)(le - lb)) != NULL) {
            rc = perr(&ps, line, "contains a NUL byte");
            goto out;
        }
        if (!utf8_valid((const unsigned char *)lb, (size_t)(le - lb))) {
            rc = perr(&ps, line, "is not valid UTF-8");
            goto out;
        }
        rc = parse_line(&ps, lb, le, line, &indent_level);
        if (rc != DSQL_OK)
            goto out;
    }
    rc = finish_value(&ps);
out:
    dsql_buf_cleanup(&ps.value);
    free(ps.piece_lines);
    if (rc == DSQL_OK) {
        *out = ps.ini;
    } else {
        dsql_ini_free(ps.ini);
    }
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Files                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static int is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* os.path.expandvars: $name and ${name}; unknown variables are left as they are. */
static void expand_vars(dsql_buf *out, const char *s)
{
    while (*s) {
        if (*s == '$') {
            const char *nb = NULL, *ne = NULL, *next = NULL;
            if (s[1] == '{') {
                const char *close = strchr(s + 2, '}');
                if (close != NULL) {
                    nb = s + 2;
                    ne = close;
                    next = close + 1;
                }
            } else if (is_word_char(s[1])) {
                nb = s + 1;
                ne = nb;
                while (is_word_char(*ne))
                    ne++;
                next = ne;
            }
            if (nb != NULL) {
                char name[256];
                const char *val = NULL;
                if ((size_t)(ne - nb) < sizeof name) {
                    memcpy(name, nb, (size_t)(ne - nb));
                    name[ne - nb] = '\0';
                    val = getenv(name);
                }
                if (val != NULL) {
                    dsql_buf_puts(out, val);
                    s = next;
                    continue;
                }
                dsql_buf_append(out, s, (size_t)(next - s));
                s = next;
                continue;
            }
        }
        dsql_buf_putc(out, *s++);
    }
}

/* os.path.expanduser. */
static void expand_user(dsql_buf *out, const char *s)
{
    if (*s != '~') {
        dsql_buf_puts(out, s);
        return;
    }
    const char *slash = strchr(s + 1, '/');
    size_t ulen = slash == NULL ? strlen(s + 1) : (size_t)(slash - (s + 1));
    const char *rest = s + 1 + ulen;
    char home_buf[4096];
    const char *home = NULL;
    struct passwd pw, *res = NULL;
    char pwbuf[4096];
    if (ulen == 0) {
        home = getenv("HOME");
        if (home == NULL && getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &res) == 0 &&
            res != NULL)
            home = res->pw_dir;
    } else if (ulen < 256) {
        char user[256];
        memcpy(user, s + 1, ulen);
        user[ulen] = '\0';
        if (getpwnam_r(user, &pw, pwbuf, sizeof pwbuf, &res) == 0 && res != NULL)
            home = res->pw_dir;
    }
    if (home == NULL || strlen(home) >= sizeof home_buf) {
        dsql_buf_puts(out, s);
        return;
    }
    strcpy(home_buf, home);
    size_t hl = strlen(home_buf);
    while (hl > 0 && home_buf[hl - 1] == '/')
        home_buf[--hl] = '\0';
    if (hl == 0 && *rest == '\0') {
        dsql_buf_putc(out, '/');
        return;
    }
    dsql_buf_puts(out, home_buf);
    dsql_buf_puts(out, rest);
}

char *dsql_expand_path(const char *path)
{
    dsql_buf a, b;
    dsql_buf_init(&a);
    dsql_buf_init(&b);
    expand_vars(&a, path == NULL ? "" : path);
    char *r = NULL;
    if (!dsql_buf_failed(&a)) {
        expand_user(&b, a.data);
        r = dsql_buf_steal(&b);
    }
    dsql_buf_cleanup(&a);
    dsql_buf_cleanup(&b);
    return r;
}

/* Whether a parsed file holds a secret: a secret access key or a session token anywhere. */
static int holds_secrets(const dsql_ini *ini)
{
    static const char *const keys[] = {"aws_secret_access_key", "aws_session_token",
                                       "aws_security_token"};
    for (size_t i = 0; i <= ini->nsections; i++) {
        const dsql_ini_section *s = i < ini->nsections ? &ini->sections[i] : &ini->defaults;
        for (size_t j = 0; j < s->n; j++)
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
                if (s->entries[j].key != NULL && strcmp(s->entries[j].key, keys[k]) == 0)
                    return 1;
    }
    return 0;
}

/*
 * As ssh does for a private key and libpq for ~/.pgpass (and the AWS CLI when it writes the
 * credentials file): a file with secrets that the group or others may access is worth a
 * warning, shown without DSQLAUTH_LOG. It is only a warning, since botocore uses such files
 * as they are. Once per file (device and inode) per process, however often it is read.
 */
static void check_permissions(const char *path, const struct stat *st, const dsql_ini *ini)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static struct {
        dev_t dev;
        ino_t ino;
    } warned[16];
    static size_t nwarned;
    if ((st->st_mode & 077) == 0 || !holds_secrets(ini))
        return;
    pthread_mutex_lock(&lock);
    int seen = 0;
    for (size_t i = 0; i < nwarned && !seen; i++)
        seen = warned[i].dev == st->st_dev && warned[i].ino == st->st_ino;
    if (!seen && nwarned < sizeof warned / sizeof warned[0]) {
        warned[nwarned].dev = st->st_dev;
        warned[nwarned].ino = st->st_ino;
        nwarned++;
    }
    pthread_mutex_unlock(&lock);
    if (!seen)
        dsql_log_security("%s holds AWS secret keys and is %s by %s (mode %04o); run "
                          "chmod 600 %s",
                          path, (st->st_mode & 044) ? "readable" : "accessible",
                          (st->st_mode & 070) && (st->st_mode & 007) ? "its group and others"
                          : (st->st_mode & 070)                      ? "its group"
                                                                     : "others",
                          (unsigned)(st->st_mode & 07777), path);
}

static int empty_ini(const char *path, int found, dsql_ini **out, dsql_error *err)
{
    dsql_ini *ini = calloc(1, sizeof *ini);
    if (ini == NULL || (ini->path = strdup(path)) == NULL ||
        (ini->defaults.name = strdup("DEFAULT")) == NULL) {
        dsql_ini_free(ini);
        return dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
    }
    ini->found = found;
    *out = ini;
    return DSQL_OK;
}

int dsql_ini_load(const char *path, dsql_ini **out, dsql_error *err)
{
    char *full = dsql_expand_path(path);
    if (full == NULL)
        return dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
    int rc = DSQL_OK;
    int fd = -1;
    dsql_buf text;
    dsql_buf_init(&text);
    struct stat st;
    /* os.path.isfile: anything that is not (a link to) a regular file does not exist. */
    if (full[0] == '\0' || stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = empty_ini(full, 0, out, err);
        goto out;
    }
    if (st.st_size > DSQL_INI_MAX_SIZE) {
        rc = dsql_seterr(err, DSQL_ERR_CONFIG, "%s: the file is larger than %d KiB", full,
                         DSQL_INI_MAX_SIZE / 1024);
        goto out;
    }
    do {
        fd = open(full, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        /* configparser.read() skips files it cannot open; so does botocore. */
        dsql_log(DSQL_LOG_WARN, "%s: cannot be read (%s); treated as empty, as the AWS CLI does",
                 full, strerror(errno));
        rc = empty_ini(full, 1, out, err);
        goto out;
    }
    for (;;) {
        if (dsql_buf_reserve(&text, 65536) != 0) {
            rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
            goto out;
        }
        ssize_t r = read(fd, text.data + text.len, text.cap - text.len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = dsql_seterr(err, DSQL_ERR_CONFIG, "%s: read failed: %s", full, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        text.len += (size_t)r;
        text.data[text.len] = '\0';
        if (text.len > DSQL_INI_MAX_SIZE) {
            rc = dsql_seterr(err, DSQL_ERR_CONFIG, "%s: the file is larger than %d KiB", full,
                             DSQL_INI_MAX_SIZE / 1024);
            goto out;
        }
    }
    rc = dsql_ini_parse(text.data, text.len, full, out, err);
    if (rc == DSQL_OK) {
        struct stat now;
        check_permissions(full, fstat(fd, &now) == 0 ? &now : &st, *out);
    }
out:
    if (fd >= 0)
        close(fd);
    dsql_buf_cleanup(&text);
    free(full);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Profiles                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL ? v : dflt;
}

int dsql_aws_files_load(dsql_aws_files *f, dsql_error *err)
{
    memset(f, 0, sizeof *f);
    int rc = dsql_ini_load(env_or("AWS_CONFIG_FILE", "~/.aws/config"), &f->config, err);
    if (rc == DSQL_OK)
        rc = dsql_ini_load(env_or("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
                           &f->credentials, err);
    if (rc != DSQL_OK)
        dsql_aws_files_cleanup(f);
    return rc;
}

void dsql_aws_files_cleanup(dsql_aws_files *f)
{
    if (f == NULL)
        return;
    dsql_ini_free(f->config);
    dsql_ini_free(f->credentials);
    f->config = NULL;
    f->credentials = NULL;
}

int dsql_aws_profile_name(const char *arg, char *buf, size_t len, int *named, int *from_arg)
{
    const char *name = "default";
    *named = 0;
    *from_arg = 0;
    const char *v;
    if (arg != NULL && *arg != '\0') {
        name = arg;
        *named = 1;
        *from_arg = 1;
    } else if ((v = getenv("AWS_DEFAULT_PROFILE")) != NULL || (v = getenv("AWS_PROFILE")) != NULL) {
        name = v;
        *named = 1;
    }
    if (strlen(name) >= len)
        return -1;
    strcpy(buf, name);
    return 0;
}

/* True when a header `<word> NAME` splits (shlex) into exactly two words, the second name. */
static int second_word_is(const char *section, const char *name)
{
    dsql_words w = {NULL, 0};
    if (dsql_shlex_split(section, &w, NULL) != DSQL_OK)
        return 0;
    int match = w.argc == 2 && strcmp(w.argv[1], name) == 0;
    dsql_shlex_free(&w);
    return match;
}

/*
 * build_profile_map's if/elif chain: a header starting with "profile" can only be a profile,
 * one starting with "sso-session" only an sso-session (the first word is not checked beyond
 * that prefix, so "[profiles x]" is profile x, as in botocore), and "default" is the default
 * profile. Sections are walked in file order and assigned, so the last match wins.
 */
static const dsql_ini_section *config_section(const dsql_ini *config, int sso, const char *name)
{
    if (config == NULL || name == NULL)
        return NULL;
    const dsql_ini_section *found = NULL;
    for (size_t i = 0; i < config->nsections; i++) {
        const char *n = config->sections[i].name;
        int match;
        if (strncmp(n, "profile", 7) == 0)
            match = !sso && second_word_is(n, name);
        else if (strncmp(n, "sso-session", 11) == 0)
            match = sso && second_word_is(n, name);
        else
            match = !sso && strcmp(n, "default") == 0 && strcmp(name, "default") == 0;
        if (match)
            found = &config->sections[i];
    }
    return found;
}

const dsql_ini_section *dsql_aws_config_profile(const dsql_ini *config, const char *profile)
{
    return config_section(config, 0, profile);
}

const dsql_ini_section *dsql_aws_config_sso_session(const dsql_ini *config, const char *name)
{
    return config_section(config, 1, name);
}

int dsql_aws_profile_exists(const dsql_aws_files *f, const char *profile)
{
    return dsql_aws_config_profile(f->config, profile) != NULL ||
           dsql_ini_section_find(f->credentials, profile) != NULL;
}

const char *dsql_aws_profile_get(const dsql_aws_files *f, const char *profile, const char *key,
                                 const dsql_ini **from)
{
    const dsql_ini *src = f->credentials;
    const dsql_ini_entry *e = dsql_ini_lookup(src, dsql_ini_section_find(src, profile), key);
    if (e == NULL) {
        src = f->config;
        e = dsql_ini_lookup(src, dsql_aws_config_profile(src, profile), key);
    }
    if (from != NULL)
        *from = e != NULL ? src : NULL;
    return e == NULL ? NULL : e->value;
}

int dsql_aws_profile_not_found(const dsql_aws_files *f, const char *profile, dsql_error *err)
{
    return dsql_seterr(err, DSQL_ERR_CONFIG,
                       "profile '%s' not found in %s or %s; check AWS_PROFILE / --profile", profile,
                       f->config != NULL ? f->config->path : "~/.aws/config",
                       f->credentials != NULL ? f->credentials->path : "~/.aws/credentials");
}
