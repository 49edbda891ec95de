/* SPDX-License-Identifier: MIT */
/* rewrite.c: is this libpq target Aurora DSQL, and which parameters to append (libc only). */
#include "shim/rewrite.h"

#include "base/log.h"
#include "sign/endpoint.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_USER "admin"
#define DEFAULT_DBNAME "postgres"
#define APPLICATION_NAME "dsqlauth"
#define MAX_HOSTS 64
#define MAX_APPENDED 16

/*
 * DSQL_PASSWORD_RULES: what happens to a password the caller gives for a DSQL target.
 * - none: a fresh token.
 * - a token this process issued earlier (psql `\c`, pg_dump -j workers and PQconninfo-based
 *   reconnects hand back the previous connection's password): a fresh token, since the old one
 *   may have expired.
 * - any other DSQL token (`...?Action=DbConnect...&X-Amz-Signature=...`): kept, the caller made
 *   it on purpose (another role, another account).
 * - anything else (typed at a prompt, PGPASSWORD, ~/.pgpass is never reached): replaced by a
 *   fresh token, with a warning in the log. Aurora DSQL accepts nothing but tokens, so a typed
 *   password can only fail, and it should not travel to AWS.
 */

/* ---- what this process issued: 64-bit FNV-1a hashes in lock-free rings (fork-safe) -------- */

#define RING_SLOTS 128

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h == 0 ? 1 : h;
}

static _Atomic uint64_t issued[RING_SLOTS];
static atomic_uint issued_next;

void dsql_token_remember(const char *token)
{
    unsigned i = atomic_fetch_add_explicit(&issued_next, 1, memory_order_relaxed);
    atomic_store_explicit(&issued[i % RING_SLOTS], fnv1a(token, strlen(token)),
                          memory_order_relaxed);
}

int dsql_token_issued(const char *password)
{
    uint64_t h = fnv1a(password, strlen(password));
    for (unsigned i = 0; i < RING_SLOTS; i++)
        if (atomic_load_explicit(&issued[i], memory_order_relaxed) == h)
            return 1;
    return 0;
}

int dsql_looks_like_token(const char *p)
{
    return strstr(p, "/?Action=DbConnect") != NULL && strstr(p, "X-Amz-Signature=") != NULL;
}

/*
 * The `options` values this process made: the hash of the whole value and the length of the
 * caller's part before what the shim added (" -c search_path=..."). psql's `\c` rebuilds a
 * connection from PQconninfo, options included; recognising our own addition lets the new
 * connection get what its own user needs (admin: nothing) while the caller's part stays.
 */
static _Atomic uint64_t options_made[RING_SLOTS];
static atomic_uint options_next;

static void options_remember(const char *value, size_t caller_len)
{
    unsigned i = atomic_fetch_add_explicit(&options_next, 1, memory_order_relaxed);
    /* The low 16 bits carry the caller's length; the rest, the hash. */
    uint64_t v = (fnv1a(value, strlen(value)) & ~(uint64_t)0xffff) | (caller_len & 0xffff);
    atomic_store_explicit(&options_made[i % RING_SLOTS], v, memory_order_relaxed);
}

/* The length of the caller's part of an options value we made, or -1 if we did not make it. */
static long options_caller_len(const char *value)
{
    uint64_t h = fnv1a(value, strlen(value)) & ~(uint64_t)0xffff;
    size_t len = strlen(value);
    for (unsigned i = 0; i < RING_SLOTS; i++) {
        uint64_t v = atomic_load_explicit(&options_made[i], memory_order_relaxed);
        if (v != 0 && (v & ~(uint64_t)0xffff) == h && (v & 0xffff) <= len)
            return (long)(v & 0xffff);
    }
    return -1;
}

/* ---- the analysed parameters ------------------------------------------------------------ */

struct kv {
    const char *key; /* borrowed: the caller's array or a parsed option */
    const char *val;
};

enum host_kind { HOST_OTHER, HOST_ENDPOINT, HOST_CLUSTER_ID, HOST_LISTED, HOST_VPCE };

struct dsql_conninfo {
    const dsql_pq_api *pq;
    const dsql_settings *s;
    const char *const *kw; /* the caller's arrays (or ours, below) */
    const char *const *val;
    int expand;
    const char *own_kw[8]; /* arrays made for the string and PQsetdbLogin forms */
    const char *own_val[8];
    PQconninfoOption *parsed; /* the expanded dbname, from the caller's PQconninfoParse */
    struct kv *eff;           /* the caller's effective settings, libpq's override order */
    size_t neff;
    int target;
    /* the result */
    const char **out_kw;
    const char **out_val;
    int out_expand;
    char *owned[MAX_APPENDED]; /* appended values we allocated (may hold tokens) */
    size_t nowned;
    int passfile_fd;
    char signed_for[DSQL_HOST_MAX]; /* the name the first host's token is signed for */
};

static void wipe_str(char *s)
{
    if (s != NULL)
        explicit_bzero(s, strlen(s));
}

static int is_connstring(const char *s)
{
    return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0 ||
           strchr(s, '=') != NULL;
}

static void eff_set(dsql_conninfo *ci, const char *key, const char *val)
{
    for (size_t i = 0; i < ci->neff; i++) {
        if (strcmp(ci->eff[i].key, key) == 0) {
            ci->eff[i].val = val;
            return;
        }
    }
    ci->eff[ci->neff].key = key;
    ci->eff[ci->neff].val = val;
    ci->neff++;
}

/* The caller's own setting of key (from the arrays or the expanded dbname), or NULL. */
static const char *caller_value(const dsql_conninfo *ci, const char *key)
{
    for (size_t i = 0; i < ci->neff; i++)
        if (strcmp(ci->eff[i].key, key) == 0)
            return ci->eff[i].val;
    return NULL;
}

/*
 * What libpq will use: the caller's setting, else the environment's (a settings field). A
 * connection string's "" (`user=`) hides the variable but is no setting either: libpq then uses
 * its built-in default (the login name for user, the user for dbname), so it is NULL here too.
 */
static const char *effective(const dsql_conninfo *ci, const char *key, const char *from_env)
{
    const char *v = caller_value(ci, key);
    if (v != NULL)
        return *v != '\0' ? v : NULL;
    return from_env;
}

static int hosts_listed(const dsql_settings *s, const char *host)
{
    if (s->hosts == NULL)
        return 0;
    char pat[DSQL_HOST_MAX];
    const char *p = s->hosts;
    while (*p != '\0') {
        size_t n = strcspn(p, ", \t\n");
        if (n > 0 && n < sizeof pat) {
            memcpy(pat, p, n);
            pat[n] = '\0';
            if (fnmatch(pat, host, FNM_CASEFOLD) == 0)
                return 1;
        }
        p += n;
        p += strspn(p, ", \t\n");
    }
    return 0;
}

static enum host_kind classify_host(const dsql_settings *s, const char *host)
{
    char region[DSQL_REGION_MAX];
    if (*host == '\0' || *host == '/' || *host == '@')
        return HOST_OTHER; /* the default, or a Unix-domain socket */
    if (dsql_hostname_region(host, region, sizeof region))
        return HOST_ENDPOINT;
    if (dsql_vpce_region(host, region, sizeof region))
        return HOST_VPCE;
    if (dsql_is_cluster_id(host))
        return HOST_CLUSTER_ID;
    if (hosts_listed(s, host))
        return HOST_LISTED;
    return HOST_OTHER;
}

int dsql_host_is_dsql(const dsql_settings *settings, const char *host)
{
    return host != NULL && classify_host(settings, host) != HOST_OTHER;
}

/* Splits a libpq host list on commas, as libpq does (no trimming). Returns the count or -1. */
static int split_hosts(const char *list, char hosts[][DSQL_HOST_MAX], int max)
{
    int n = 0;
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (n == max || len >= DSQL_HOST_MAX)
            return -1;
        memcpy(hosts[n], p, len);
        hosts[n][len] = '\0';
        n++;
        if (p[len] == '\0')
            return n;
        p += len + 1;
    }
}

static int classify(const dsql_conninfo *ci)
{
    const char *host = effective(ci, "host", ci->s->pghost);
    if (host == NULL)
        return DSQL_TARGET_OTHER; /* a Unix socket, or only hostaddr: nothing to sign for */
    char hosts[MAX_HOSTS][DSQL_HOST_MAX];
    int n = split_hosts(host, hosts, MAX_HOSTS);
    /* A list that mixes both kinds is DSQL too; the rewrite refuses it with a message. */
    for (int i = 0; i < n; i++)
        if (classify_host(ci->s, hosts[i]) != HOST_OTHER)
            return DSQL_TARGET_DSQL;
    return DSQL_TARGET_OTHER;
}

/*
 * Whether every keyword given a value is one libpq knows: its conninfo_array_parse refuses the
 * whole array otherwise (empty values are not looked at). The caller's libpq lists what it
 * knows when asked to parse an empty string. 1, 0, or -1 when out of memory.
 */
static int keywords_known(const dsql_conninfo *ci)
{
    char *errmsg = NULL;
    PQconninfoOption *all = ci->pq->conninfo_parse("", &errmsg);
    if (errmsg != NULL)
        ci->pq->freemem(errmsg);
    if (all == NULL)
        return -1;
    int known = 1;
    for (size_t i = 0; known && ci->kw[i] != NULL; i++) {
        if (ci->val[i] == NULL || ci->val[i][0] == '\0')
            continue;
        known = 0;
        for (PQconninfoOption *o = all; o->keyword != NULL && !known; o++)
            known = strcmp(o->keyword, ci->kw[i]) == 0;
    }
    ci->pq->conninfo_free(all);
    return known;
}

/* libpq's conninfo_array_parse, without defaults: fills ci->eff. -1: libpq will refuse it. */
static int analyse(dsql_conninfo *ci)
{
    size_t n = 0, first_dbname = SIZE_MAX;
    for (n = 0; ci->kw[n] != NULL; n++)
        if (first_dbname == SIZE_MAX && strcmp(ci->kw[n], "dbname") == 0 && ci->val[n] != NULL)
            first_dbname = n;
    size_t nparsed = 0;
    if (ci->expand && first_dbname != SIZE_MAX && is_connstring(ci->val[first_dbname])) {
        char *errmsg = NULL;
        ci->parsed = ci->pq->conninfo_parse(ci->val[first_dbname], &errmsg);
        if (errmsg != NULL)
            ci->pq->freemem(errmsg);
        if (ci->parsed == NULL)
            return -1;
        while (ci->parsed[nparsed].keyword != NULL)
            nparsed++;
    }
    ci->eff = calloc(n + nparsed + 1, sizeof *ci->eff);
    if (ci->eff == NULL)
        return -2;
    for (size_t i = 0; i < n; i++) {
        if (ci->val[i] == NULL || ci->val[i][0] == '\0')
            continue;
        if (i == first_dbname && ci->parsed != NULL) {
            for (PQconninfoOption *o = ci->parsed; o->keyword != NULL; o++)
                if (o->val != NULL)
                    eff_set(ci, o->keyword, o->val);
        } else {
            eff_set(ci, ci->kw[i], ci->val[i]);
        }
    }
    return 0;
}

/* A new, empty analysis (target OTHER), or NULL. */
static dsql_conninfo *conninfo_alloc(const dsql_pq_api *pq, const dsql_settings *s)
{
    dsql_conninfo *ci = calloc(1, sizeof *ci);
    if (ci != NULL) {
        ci->pq = pq;
        ci->s = s;
        ci->passfile_fd = -1;
        ci->target = DSQL_TARGET_OTHER;
    }
    return ci;
}

/* Analyses ci's arrays and hands it to *out; on out of memory frees it. */
static int conninfo_finish(dsql_conninfo *ci, const char *const *kw, const char *const *val,
                           int expand, dsql_conninfo **out)
{
    ci->kw = kw;
    ci->val = val;
    ci->expand = expand;
    int rc = 0;
    if (!ci->s->disabled) {
        rc = analyse(ci);
        ci->target = rc == 0 ? classify(ci) : DSQL_TARGET_OTHER;
    }
    /* Not a connection libpq makes (it refuses the whole array): nothing to sign for. Asked
     * only of DSQL targets, so that other connections pay nothing for it. */
    if (ci->target == DSQL_TARGET_DSQL) {
        int known = keywords_known(ci);
        rc = known < 0 ? -2 : rc;
        if (known == 0)
            ci->target = DSQL_TARGET_OTHER;
    }
    if (rc == -2) {
        dsql_conninfo_free(ci);
        *out = NULL;
        return DSQL_ERR_NOMEM;
    }
    *out = ci;
    return DSQL_OK;
}

int dsql_conninfo_from_params(const dsql_pq_api *pq, const dsql_settings *settings,
                              const char *const *keywords, const char *const *values,
                              int expand_dbname, dsql_conninfo **out)
{
    static const char *const none[] = {NULL};
    dsql_conninfo *ci = conninfo_alloc(pq, settings);
    if (ci == NULL)
        return DSQL_ERR_NOMEM;
    return conninfo_finish(ci, keywords != NULL ? keywords : none, values != NULL ? values : none,
                           expand_dbname, out);
}

/* Copies n keyword/value pairs into ci's own arrays and analyses them; refuse: leave as OTHER. */
static int conninfo_new_own(const dsql_pq_api *pq, const dsql_settings *s, const char *const *kw,
                            const char *const *val, size_t n, int expand, int refuse,
                            dsql_conninfo **out)
{
    dsql_conninfo *ci = conninfo_alloc(pq, s);
    if (ci == NULL)
        return DSQL_ERR_NOMEM;
    if (refuse) {
        *out = ci;
        return DSQL_OK;
    }
    for (size_t i = 0; i < n; i++) {
        ci->own_kw[i] = kw[i];
        ci->own_val[i] = val[i];
    }
    return conninfo_finish(ci, ci->own_kw, ci->own_val, expand, out);
}

int dsql_conninfo_from_string(const dsql_pq_api *pq, const dsql_settings *settings,
                              const char *conninfo, dsql_conninfo **out)
{
    /*
     * PQconnectdb(s) behaves as PQconnectdbParams({"dbname"}, {s}, 1) when s is a connection
     * string (the expansion parses it exactly as PQconnectdb does, "" values included), and as
     * PQconnectdbParams({}, {}, 0) when s is blank. libpq refuses anything else itself, so that
     * passes through.
     */
    const char *kw[] = {"dbname"};
    const char *val[] = {conninfo};
    if (conninfo == NULL)
        return conninfo_new_own(pq, settings, kw, val, 0, 0, 1, out);
    if (is_connstring(conninfo))
        return conninfo_new_own(pq, settings, kw, val, 1, 1, 0, out);
    int blank = conninfo[strspn(conninfo, " \t\n\r\f\v")] == '\0';
    return conninfo_new_own(pq, settings, kw, val, 0, 0, !blank, out);
}

int dsql_conninfo_from_setdb(const dsql_pq_api *pq, const dsql_settings *settings, const char *host,
                             const char *port, const char *options, const char *dbname,
                             const char *user, const char *password, dsql_conninfo **out)
{
    /* PQsetdbLogin: a connection-string dbName first, then each non-empty argument wins. */
    const char *kw[] = {"dbname", "host", "port", "options", "user", "password"};
    const char *val[] = {dbname, host, port, options, user, password};
    return conninfo_new_own(pq, settings, kw, val, 6, 1, 0, out);
}

int dsql_conninfo_target(const dsql_conninfo *ci)
{
    return ci->target;
}

const char *const *dsql_conninfo_keywords(const dsql_conninfo *ci)
{
    return ci->out_kw;
}

const char *const *dsql_conninfo_values(const dsql_conninfo *ci)
{
    return ci->out_val;
}

int dsql_conninfo_expand_dbname(const dsql_conninfo *ci)
{
    return ci->out_expand;
}

const char *dsql_conninfo_signed_for(const dsql_conninfo *ci)
{
    return ci->signed_for[0] != '\0' ? ci->signed_for : NULL;
}

void dsql_conninfo_free(dsql_conninfo *ci)
{
    if (ci == NULL)
        return;
    for (size_t i = 0; i < ci->nowned; i++) {
        wipe_str(ci->owned[i]);
        free(ci->owned[i]);
    }
    if (ci->parsed != NULL) {
        for (PQconninfoOption *o = ci->parsed; o->keyword != NULL; o++)
            if (o->val != NULL && strcmp(o->keyword, "password") == 0)
                wipe_str(o->val);
        ci->pq->conninfo_free(ci->parsed);
    }
    if (ci->passfile_fd >= 0)
        close(ci->passfile_fd);
    free(ci->eff);
    free(ci->out_kw);
    free(ci->out_val);
    free(ci);
}

/* ---- backend options (libpq's `options`, PostgreSQL's pg_split_opts rules) ---------------- */

/*
 * Calls visit(name, value, len, arg) for each `-c name=value` / `--name=value` setting of a
 * backend options string (words split at white space, a backslash escaping the next
 * character). Stops and returns 1 when visit does.
 */
static int options_each(const char *opts, int (*visit)(const char *word, size_t len, void *arg),
                        void *arg)
{
    const char *p = opts;
    int after_c = 0;
    while (*p != '\0') {
        p += strspn(p, " \t\n\r\f\v");
        if (*p == '\0')
            break;
        const char *w = p;
        while (*p != '\0' && strchr(" \t\n\r\f\v", *p) == NULL)
            p += (*p == '\\' && p[1] != '\0') ? 2 : 1;
        size_t n = (size_t)(p - w);
        if (after_c) {
            if (visit(w, n, arg))
                return 1;
        } else if (n > 2 && strncmp(w, "-c", 2) == 0) {
            if (visit(w + 2, n - 2, arg))
                return 1;
        } else if (n > 2 && strncmp(w, "--", 2) == 0) {
            if (visit(w + 2, n - 2, arg))
                return 1;
        }
        after_c = n == 2 && strncmp(w, "-c", 2) == 0;
    }
    return 0;
}

/* A setting's name, with PostgreSQL's '-' for '_' in `--name=value`, equals want. */
static int setting_is(const char *word, size_t len, const char *want, const char **value,
                      size_t *value_len)
{
    size_t n = strlen(want);
    if (len <= n || word[n] != '=')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = word[i] == '-' ? '_' : word[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != want[i])
            return 0;
    }
    *value = word + n + 1;
    *value_len = len - n - 1;
    return 1;
}

struct setting_search {
    const char *name;
    char *value; /* out, unescaped; NULL: only whether it is there */
    size_t value_max;
};

static int find_setting(const char *word, size_t len, void *arg)
{
    struct setting_search *s = arg;
    const char *v;
    size_t vlen;
    if (!setting_is(word, len, s->name, &v, &vlen))
        return 0;
    if (s->value != NULL) {
        size_t k = 0;
        for (size_t i = 0; i < vlen && k + 1 < s->value_max; i++) {
            if (v[i] == '\\' && i + 1 < vlen)
                i++;
            s->value[k++] = v[i];
        }
        s->value[k] = '\0';
    }
    return 1;
}

/* 1 if the options set name (e.g. search_path); its value, unescaped, into value if not NULL. */
static int options_get(const char *opts, const char *name, char *value, size_t value_max)
{
    struct setting_search s = {name, value, value_max};
    return opts != NULL && options_each(opts, find_setting, &s);
}

/* "<opts> -c search_path=<schema>", spaces and backslashes in the schema escaped as libpq wants. */
static char *options_with_search_path(const char *opts, size_t opts_len, const char *schema)
{
    size_t n = opts_len + 2 * strlen(schema) + 32;
    char *s = malloc(n);
    if (s == NULL)
        return NULL;
    size_t len = 0;
    if (opts_len > 0)
        len = (size_t)snprintf(s, n, "%.*s ", (int)opts_len, opts);
    len += (size_t)snprintf(s + len, n - len, "-c search_path=");
    for (const char *p = schema; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\\' || *p == '\t')
            s[len++] = '\\';
        s[len++] = *p;
    }
    s[len] = '\0';
    return s;
}

/* ---- the rewrite, step by step ------------------------------------------------------------ */

/* One rewrite's working state: the caller's analysed parameters in, the appended ones out. */
struct rewrite {
    dsql_conninfo *ci;
    const dsql_settings *s;
    const dsql_signer *signer;
    int flags;
    /* appended keywords, in order; their values are borrowed or owned by ci */
    const char *kw[MAX_APPENDED];
    const char *val[MAX_APPENDED];
    size_t n;
    /* caller's settings to leave out: the arrays then go out as ci->eff (expand 0) */
    const char *drop[2];
    size_t ndrop;
    /* hosts: the list as libpq will try it, and the name each entry's token is signed for */
    int nhosts;
    char hosts[MAX_HOSTS][DSQL_HOST_MAX];
    char sign_for[MAX_HOSTS][DSQL_HOST_MAX];
    int first_of[MAX_HOSTS]; /* the first entry signed for the same name */
    int ndistinct;
    int vpce; /* an entry is a PrivateLink vpce name: TLS cannot check the host name */
    /* identity */
    const char *user;
    int admin;
    char *tokens[MAX_HOSTS]; /* by first entry; wiped and freed at the end */
};

static void append(struct rewrite *rw, const char *kw, const char *val)
{
    rw->kw[rw->n] = kw;
    rw->val[rw->n] = val;
    rw->n++;
}

/* Keeps s for ci's lifetime (wiped on free) and returns it; NULL when s is NULL. */
static char *own(dsql_conninfo *ci, char *s)
{
    if (s != NULL)
        ci->owned[ci->nowned++] = s;
    return s;
}

static int nomem(dsql_error *err)
{
    return dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
}

static int join_hosts(char hosts[][DSQL_HOST_MAX], int n, char **out)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(hosts[i]) + 1;
    char *s = malloc(len);
    if (s == NULL)
        return -1;
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i > 0)
            strcat(s, ",");
        strcat(s, hosts[i]);
    }
    *out = s;
    return 0;
}

/*
 * Hosts: every entry must be DSQL's. A cluster id becomes its endpoint name; a name in upper
 * case or with a trailing dot is given to libpq normalised (libpq would send the dot in SNI and
 * compare it with the certificate); a PrivateLink `vpce-...` name stays, and its token is
 * signed for the cluster that `-c amzn-cluster-id=<id>` in the options names.
 */
static int step_hosts(struct rewrite *rw, dsql_error *err)
{
    dsql_conninfo *ci = rw->ci;
    const char *list = effective(ci, "host", rw->s->pghost);
    rw->nhosts = split_hosts(list, rw->hosts, MAX_HOSTS);
    if (rw->nhosts < 0)
        return dsql_seterr(err, DSQL_ERR_INVALID,
                           "the host list is longer than %d entries or has a name longer than "
                           "%d characters",
                           MAX_HOSTS, DSQL_HOST_MAX - 1);
    int changed = 0;
    for (int i = 0; i < rw->nhosts; i++) {
        char *h = rw->hosts[i];
        char norm[DSQL_HOST_MAX], region[DSQL_REGION_MAX];
        enum host_kind kind = classify_host(rw->s, h);
        switch (kind) {
        case HOST_OTHER:
            return dsql_seterr(err, DSQL_ERR_INVALID,
                               "the host list mixes Aurora DSQL endpoints with other hosts "
                               "(\"%s\"); connect to them separately",
                               h);
        case HOST_CLUSTER_ID: {
            int rc = rw->signer->endpoint(h, norm, sizeof norm, err);
            if (rc != DSQL_OK)
                return rc;
            break;
        }
        case HOST_ENDPOINT:
        case HOST_VPCE:
            if (dsql_normalize_host(h, norm, sizeof norm) != 0)
                snprintf(norm, sizeof norm, "%s", h);
            break;
        case HOST_LISTED:
            snprintf(norm, sizeof norm, "%s", h); /* the user's own name, as given */
            break;
        }
        if (strcmp(norm, h) != 0) {
            changed = 1;
            snprintf(h, DSQL_HOST_MAX, "%s", norm);
        }
        snprintf(rw->sign_for[i], DSQL_HOST_MAX, "%s", h);
        if (kind == HOST_VPCE) {
            char id[64];
            const char *opts = effective(ci, "options", rw->s->pgoptions);
            if (!options_get(opts, "amzn_cluster_id", id, sizeof id) || !dsql_is_cluster_id(id))
                return dsql_seterr(err, DSQL_ERR_INVALID,
                                   "%s is an AWS PrivateLink endpoint: name the cluster in the "
                                   "options, e.g. options='-c amzn-cluster-id=<cluster id>', so "
                                   "that the token can be signed for it",
                                   h);
            dsql_vpce_region(h, region, sizeof region);
            snprintf(rw->sign_for[i], DSQL_HOST_MAX, "%s.dsql.%s.on.aws", id, region);
            rw->vpce = 1;
        }
    }
    if (changed) {
        char *joined = NULL;
        if (join_hosts(rw->hosts, rw->nhosts, &joined) != 0)
            return nomem(err);
        append(rw, "host", own(ci, joined));
    }
    snprintf(ci->signed_for, sizeof ci->signed_for, "%s", rw->sign_for[0]);
    for (int i = 0; i < rw->nhosts; i++) {
        int j = 0;
        while (j < i && strcmp(rw->sign_for[j], rw->sign_for[i]) != 0)
            j++;
        rw->first_of[i] = j;
        rw->ndistinct += j == i;
    }
    return DSQL_OK;
}

/* Identity: DSQL's defaults (admin, postgres), not the login name libpq would use. */
static int step_identity(struct rewrite *rw, dsql_error *err)
{
    (void)err;
    rw->user = effective(rw->ci, "user", rw->s->pguser);
    if (rw->user == NULL) {
        rw->user = DEFAULT_USER;
        append(rw, "user", rw->user);
    }
    rw->admin = strcmp(rw->user, DEFAULT_USER) == 0;
    if (effective(rw->ci, "dbname", rw->s->pgdatabase) == NULL)
        append(rw, "dbname", DEFAULT_DBNAME);
    return DSQL_OK;
}

/* A .pgpass-format line's field: ':' and '\' escaped. */
static void passfile_field(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == ':' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
}

/*
 * libpq has one `password` for all hosts, but it reads the password file per host. A host list
 * with several distinct endpoints therefore gets a password file with a token for each, in a
 * memfd (mode 0600, never on disk), named as /proc/self/fd/N. libpq reads it inside
 * PQconnectStartParams (connectOptions2), so ci may close it once the real call returns.
 */
static int write_passfile(struct rewrite *rw, char **path)
{
    int fd = memfd_create("dsqlauth-passfile", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    rw->ci->passfile_fd = fd;
    if (fchmod(fd, 0600) != 0)
        return -1;
    int dup_fd = dup(fd);
    FILE *f = dup_fd < 0 ? NULL : fdopen(dup_fd, "w");
    if (f == NULL) {
        if (dup_fd >= 0)
            close(dup_fd);
        return -1;
    }
    /* Our buffer, not one stdio would malloc and free unwiped: it holds the tokens. */
    char iobuf[4096];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    for (int i = 0; i < rw->nhosts; i++) {
        passfile_field(f, rw->hosts[i]);
        fputs(":*:*:*:", f);
        passfile_field(f, rw->tokens[rw->first_of[i]]);
        fputc('\n', f);
    }
    int bad = ferror(f);
    int closed = fclose(f);
    explicit_bzero(iobuf, sizeof iobuf);
    if (closed != 0 || bad)
        return -1;
    char buf[64];
    snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
    *path = strdup(buf);
    return *path == NULL ? -1 : 0;
}

/* Password: DSQL_PASSWORD_RULES above. One token per distinct name signed for. */
static int step_password(struct rewrite *rw, dsql_error *err)
{
    if (rw->flags & DSQL_REWRITE_NO_TOKEN)
        return DSQL_OK;
    const char *pw = effective(rw->ci, "password", rw->s->pgpassword);
    if (pw != NULL && !dsql_token_issued(pw) && dsql_looks_like_token(pw)) {
        dsql_log(DSQL_LOG_INFO, "using the DSQL token the caller supplied");
        return DSQL_OK;
    }
    if (pw != NULL && !dsql_token_issued(pw))
        dsql_log(DSQL_LOG_WARN, "replacing the caller's password with an IAM token: "
                                "Aurora DSQL accepts only IAM tokens");
    for (int i = 0; i < rw->nhosts; i++) {
        if (rw->first_of[i] != i)
            continue; /* signed for the same name as an earlier entry */
        int rc = rw->signer->token(rw->sign_for[i], rw->user, &rw->tokens[i], err);
        if (rc != DSQL_OK)
            return rc;
        dsql_token_remember(rw->tokens[i]);
        dsql_log(DSQL_LOG_INFO, "signed a %s token for %s",
                 rw->admin ? "DbConnectAdmin" : "DbConnect", rw->sign_for[i]);
    }
    if (rw->ndistinct == 1) {
        char *t = own(rw->ci, strdup(rw->tokens[0]));
        if (t == NULL)
            return nomem(err);
        append(rw, "password", t);
        return DSQL_OK;
    }
    char *path = NULL;
    if (write_passfile(rw, &path) != 0)
        return dsql_seterr(err, DSQL_ERR_IO,
                           "cannot create the in-memory password file for a list of %d "
                           "endpoints (%s); connect to one endpoint at a time",
                           rw->ndistinct, strerror(errno));
    append(rw, "passfile", own(rw->ci, path));
    /* The caller's password must go, and "" cannot unset it. */
    rw->drop[rw->ndrop++] = "password";
    return DSQL_OK;
}

/* Once per process: the user turned verification off, so say it even without DSQLAUTH_LOG. */
static void warn_unverified(const char *mode, const char *host, const char *why)
{
    static atomic_int warned;
    if (atomic_exchange(&warned, 1))
        return;
    dsql_log_security("sslmode=%s for %s (%s): %s; anyone on the network path could impersonate "
                      "the endpoint and capture the IAM token. %s",
                      mode, host, why,
                      strcmp(mode, "verify-ca") == 0
                          ? "the server certificate's host name is not checked"
                          : "the server certificate is not verified",
                      strcmp(why, "DSQLAUTH_SSLMODE") == 0
                          ? "Unset DSQLAUTH_SSLMODE to verify the certificate "
                            "(sslmode=verify-full)"
                          : "Connect to the cluster's own endpoint name (PrivateLink with private "
                            "DNS, or a tunnel with hostaddr) for verify-full");
}

/*
 * TLS: verified, with a CA store. DSQLAUTH_SSLMODE may lower the floor to verify-ca or require
 * (never lower: DSQL refuses plaintext); a vpce name caps it at verify-ca, since the
 * certificate names the cluster, not the interface endpoint.
 */
static int step_tls(struct rewrite *rw, dsql_error *err)
{
    const dsql_settings *s = rw->s;
    if (s->ssl_floor < 0)
        return dsql_seterr(err, DSQL_ERR_CONFIG,
                           "DSQLAUTH_SSLMODE=%.32s is not accepted: Aurora DSQL needs TLS; use "
                           "verify-full (the default), verify-ca or require",
                           s->ssl_floor_value);
    int floor = s->ssl_floor;
    const char *why = "DSQLAUTH_SSLMODE";
    if (rw->vpce && floor > DSQL_SSL_VERIFY_CA) {
        floor = DSQL_SSL_VERIFY_CA;
        why = "an AWS PrivateLink vpce name";
    }
    const char *sslmode = effective(rw->ci, "sslmode", s->pgsslmode);
    int rank = sslmode != NULL ? dsql_sslmode_rank(sslmode) : -1;
    if (rank < floor || (rw->vpce && rank > floor)) {
        if (sslmode != NULL && rank < floor)
            dsql_log(DSQL_LOG_WARN, "raising sslmode=%s to %s: Aurora DSQL needs %s TLS", sslmode,
                     dsql_sslmode_name(floor),
                     floor == DSQL_SSL_VERIFY_FULL ? "verified" : "at least");
        rank = floor;
        append(rw, "sslmode", dsql_sslmode_name(floor));
    }
    if (rank < DSQL_SSL_VERIFY_FULL)
        warn_unverified(dsql_sslmode_name(rank), rw->hosts[0], why);
    int version = rw->ci->pq->lib_version();
    /* require: libpq verifies the chain anyway when it is given a root certificate. */
    if (caller_value(rw->ci, "sslrootcert") == NULL && rank >= DSQL_SSL_VERIFY_CA) {
        if (s->sslrootcert != NULL) {
            append(rw, "sslrootcert", s->sslrootcert);
        } else if (s->pgsslrootcert != NULL) {
            /* libpq reads it itself */
        } else if (version >= 160000) {
            append(rw, "sslrootcert", "system");
        } else if (s->ca_bundle != NULL) {
            append(rw, "sslrootcert", s->ca_bundle);
        } else {
            return dsql_seterr(err, DSQL_ERR_CONFIG,
                               "no CA certificate bundle found for sslmode=%s; set "
                               "DSQLAUTH_SSLROOTCERT to a PEM file that holds Amazon Root CA 1",
                               dsql_sslmode_name(rank));
        }
    }
    if (version >= 170000 && effective(rw->ci, "sslnegotiation", s->pgsslnegotiation) == NULL)
        append(rw, "sslnegotiation", "direct");
    return DSQL_OK;
}

/*
 * search_path for non-admin roles, merged into the options libpq would send. What an earlier
 * rewrite added to a value the caller hands back is taken off first, so that it is decided
 * afresh for this user; a search_path the caller sets itself is left alone.
 */
static int step_search_path(struct rewrite *rw, dsql_error *err)
{
    dsql_conninfo *ci = rw->ci;
    const char *mine = caller_value(ci, "options");
    const char *opts = effective(ci, "options", rw->s->pgoptions);
    size_t opts_len = opts != NULL ? strlen(opts) : 0;
    long made = mine != NULL && *mine != '\0' ? options_caller_len(mine) : -1;
    if (made >= 0) {
        opts_len = (size_t)made; /* the caller's own part */
        while (opts_len > 0 && strchr(" \t\n\r\f\v", opts[opts_len - 1]) != NULL)
            opts_len--;
    }
    char tmp[8];
    if (!rw->admin && !(made < 0 && options_get(opts, "search_path", tmp, sizeof tmp))) {
        char *merged = own(ci, options_with_search_path(opts, opts_len, rw->s->schema));
        if (merged == NULL)
            return nomem(err);
        options_remember(merged, opts_len);
        append(rw, "options", merged);
    } else if (made >= 0 && opts_len > 0) {
        char *caller_part = own(ci, strndup(opts, opts_len));
        if (caller_part == NULL)
            return nomem(err);
        append(rw, "options", caller_part);
    } else if (made >= 0) {
        rw->drop[rw->ndrop++] = "options"; /* "" cannot unset it */
    }
    return DSQL_OK;
}

/* application_name: the caller's, else one that shows the session came through dsqlauth. */
static int step_application_name(struct rewrite *rw, dsql_error *err)
{
    (void)err;
    if (effective(rw->ci, "application_name", rw->s->pgappname) == NULL &&
        caller_value(rw->ci, "fallback_application_name") == NULL)
        append(rw, "application_name", APPLICATION_NAME);
    return DSQL_OK;
}

static int dropped(const struct rewrite *rw, const char *key)
{
    for (size_t i = 0; i < rw->ndrop; i++)
        if (strcmp(rw->drop[i], key) == 0)
            return 1;
    return 0;
}

/* The arrays for the real call: the caller's (or its settings, flattened), then ours. */
static int assemble(struct rewrite *rw, dsql_error *err)
{
    dsql_conninfo *ci = rw->ci;
    int flatten = rw->ndrop > 0;
    size_t ncaller = 0;
    if (flatten) {
        ncaller = ci->neff;
    } else {
        while (ci->kw[ncaller] != NULL)
            ncaller++;
    }
    ci->out_kw = calloc(ncaller + rw->n + 1, sizeof *ci->out_kw);
    ci->out_val = calloc(ncaller + rw->n + 1, sizeof *ci->out_val);
    if (ci->out_kw == NULL || ci->out_val == NULL)
        return nomem(err);
    size_t k = 0;
    for (size_t i = 0; i < ncaller; i++) {
        const char *key = flatten ? ci->eff[i].key : ci->kw[i];
        if (flatten && dropped(rw, key))
            continue;
        ci->out_kw[k] = key;
        ci->out_val[k++] = flatten ? ci->eff[i].val : ci->val[i];
    }
    for (size_t i = 0; i < rw->n; i++) {
        ci->out_kw[k] = rw->kw[i];
        ci->out_val[k++] = rw->val[i];
    }
    ci->out_expand = flatten ? 0 : ci->expand;
    if (dsql_log_level() >= DSQL_LOG_DEBUG) {
        char line[1024] = "";
        for (size_t i = 0; i < rw->n; i++) {
            size_t n = strlen(line);
            int secret = strcmp(rw->kw[i], "password") == 0;
            snprintf(line + n, sizeof line - n, " %s=%s", rw->kw[i],
                     secret ? "<token>" : rw->val[i]);
        }
        dsql_log(DSQL_LOG_DEBUG, "appended:%s", line);
    }
    return DSQL_OK;
}

int dsql_conninfo_rewrite(dsql_conninfo *ci, const dsql_signer *signer, int flags, dsql_error *err)
{
    static int (*const steps[])(struct rewrite *, dsql_error *) = {
        step_hosts,       step_identity,         step_password, step_tls,
        step_search_path, step_application_name, assemble,
    };
    if (ci->target != DSQL_TARGET_DSQL)
        return dsql_seterr(err, DSQL_ERR_INVALID, "not an Aurora DSQL target");
    struct rewrite *rw = calloc(1, sizeof *rw);
    if (rw == NULL)
        return nomem(err);
    rw->ci = ci;
    rw->s = ci->s;
    rw->signer = signer;
    rw->flags = flags;
    int rc = DSQL_OK;
    for (size_t i = 0; rc == DSQL_OK && i < sizeof steps / sizeof steps[0]; i++)
        rc = steps[i](rw, err);
    for (int i = 0; i < rw->nhosts; i++)
        if (rw->tokens[i] != NULL)
            signer->token_free(rw->tokens[i]);
    free(rw);
    return rc;
}
