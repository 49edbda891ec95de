/* SPDX-License-Identifier: MIT */
/* conninfo.c: is this libpq target Aurora DSQL, and which parameters to append (libc only). */
#include "conninfo.h"

#include "log.h"
#include "token.h"

#include <errno.h>
#include <fnmatch.h>
#include <malloc.h>
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
#define DEFAULT_SCHEMA "myschema"
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

/* ---- tokens this process issued: 64-bit FNV-1a hashes in a lock-free ring (fork-safe) ---- */

#define ISSUED_SLOTS 128
static _Atomic uint64_t issued[ISSUED_SLOTS];
static atomic_uint issued_next;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h == 0 ? 1 : h;
}

static void remember_issued(const char *token)
{
    unsigned i = atomic_fetch_add_explicit(&issued_next, 1, memory_order_relaxed);
    atomic_store_explicit(&issued[i % ISSUED_SLOTS], fnv1a(token), memory_order_relaxed);
}

static int was_issued(const char *token)
{
    uint64_t h = fnv1a(token);
    for (unsigned i = 0; i < ISSUED_SLOTS; i++)
        if (atomic_load_explicit(&issued[i], memory_order_relaxed) == h)
            return 1;
    return 0;
}

static int looks_like_token(const char *p)
{
    return strstr(p, "/?Action=DbConnect") != NULL && strstr(p, "X-Amz-Signature=") != NULL;
}

int dsql_shim_disabled(void)
{
    const char *v = getenv("DSQLAUTH_DISABLE");
    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

/* ---- the analysed parameters ------------------------------------------------------------ */

struct kv {
    const char *key; /* borrowed: the caller's array or a parsed option */
    const char *val;
};

enum host_kind { HOST_OTHER, HOST_ENDPOINT, HOST_CLUSTER_ID, HOST_LISTED };

struct dsql_conninfo {
    const dsql_pq_api *pq;
    const char *const *kw; /* the caller's arrays (or ours, below) */
    const char *const *val;
    int expand;
    const char *own_kw[8]; /* arrays made for the string and PQsetdbLogin forms */
    const char *own_val[8];
    PQconninfoOption *parsed; /* the expanded dbname, from the caller's PQconninfoParse */
    struct kv *eff;           /* the caller's effective settings, libpq's override order */
    size_t neff;
    int target;
    /* the rewrite */
    const char **out_kw;
    const char **out_val;
    int out_expand;
    char *owned[MAX_APPENDED]; /* appended values we allocated (may hold tokens) */
    size_t nowned;
    int passfile_fd;
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
 * What libpq will use: the caller's setting, else the environment variable. A connection
 * string's "" (`user=`) hides the variable but is no setting either: libpq then uses its
 * built-in default (the login name for user, the user for dbname), so it is NULL here too.
 */
static const char *effective(const dsql_conninfo *ci, const char *key, const char *envvar)
{
    const char *v = caller_value(ci, key);
    if (v != NULL)
        return *v != '\0' ? v : NULL;
    if (envvar != NULL) {
        v = getenv(envvar);
        if (v != NULL && *v == '\0')
            v = NULL;
    }
    return v;
}

static int hosts_listed(const char *host)
{
    const char *list = getenv("DSQLAUTH_HOSTS");
    if (list == NULL || *list == '\0')
        return 0;
    char pat[DSQL_HOST_MAX];
    const char *p = list;
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

static enum host_kind classify_host(const char *host)
{
    char region[DSQL_REGION_MAX];
    if (*host == '\0' || *host == '/' || *host == '@')
        return HOST_OTHER; /* the default, or a Unix-domain socket */
    if (dsql_hostname_region(host, region, sizeof region))
        return HOST_ENDPOINT;
    if (dsql_is_cluster_id(host))
        return HOST_CLUSTER_ID;
    if (hosts_listed(host))
        return HOST_LISTED;
    return HOST_OTHER;
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

/* How many entries of a host list are DSQL targets; -1 if it is not a usable list. */
static int count_dsql_hosts(const char *list, int *total)
{
    char hosts[MAX_HOSTS][DSQL_HOST_MAX];
    int n = split_hosts(list, hosts, MAX_HOSTS);
    int dsql = 0;
    for (int i = 0; i < n; i++)
        if (classify_host(hosts[i]) != HOST_OTHER)
            dsql++;
    *total = n;
    return n < 0 ? -1 : dsql;
}

int dsql_conninfo_host_is_dsql(const char *host_list)
{
    int total;
    return count_dsql_hosts(host_list, &total) == total && total > 0;
}

static int classify(const dsql_conninfo *ci)
{
    const char *host = effective(ci, "host", "PGHOST");
    int total;
    if (host == NULL)
        return DSQL_TARGET_OTHER; /* a Unix socket, or only hostaddr: nothing to sign for */
    /* A list that mixes both kinds is DSQL too; the rewrite refuses it with a message. */
    return count_dsql_hosts(host, &total) > 0 ? DSQL_TARGET_DSQL : DSQL_TARGET_OTHER;
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
static dsql_conninfo *conninfo_alloc(const dsql_pq_api *pq)
{
    dsql_conninfo *ci = calloc(1, sizeof *ci);
    if (ci != NULL) {
        ci->pq = pq;
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
    int rc = analyse(ci);
    ci->target = rc == 0 ? classify(ci) : DSQL_TARGET_OTHER;
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

int dsql_conninfo_from_params(const dsql_pq_api *pq, const char *const *keywords,
                              const char *const *values, int expand_dbname, dsql_conninfo **out)
{
    static const char *const none[] = {NULL};
    dsql_conninfo *ci = conninfo_alloc(pq);
    if (ci == NULL)
        return DSQL_ERR_NOMEM;
    return conninfo_finish(ci, keywords != NULL ? keywords : none,
                           values != NULL ? values : none, expand_dbname, out);
}

/* Copies n keyword/value pairs into ci's own arrays and analyses them; refuse: leave as OTHER. */
static int conninfo_new_own(const dsql_pq_api *pq, const char *const *kw,
                            const char *const *val, size_t n, int expand, int refuse,
                            dsql_conninfo **out)
{
    dsql_conninfo *ci = conninfo_alloc(pq);
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

int dsql_conninfo_from_string(const dsql_pq_api *pq, const char *conninfo, dsql_conninfo **out)
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
        return conninfo_new_own(pq, kw, val, 0, 0, 1, out);
    if (is_connstring(conninfo))
        return conninfo_new_own(pq, kw, val, 1, 1, 0, out);
    int blank = conninfo[strspn(conninfo, " \t\n\r\f\v")] == '\0';
    return conninfo_new_own(pq, kw, val, 0, 0, !blank, out);
}

int dsql_conninfo_from_setdb(const dsql_pq_api *pq, const char *host, const char *port,
                             const char *options, const char *dbname, const char *user,
                             const char *password, dsql_conninfo **out)
{
    /* PQsetdbLogin: a connection-string dbName first, then each non-empty argument wins. */
    const char *kw[] = {"dbname", "host", "port", "options", "user", "password"};
    const char *val[] = {dbname, host, port, options, user, password};
    return conninfo_new_own(pq, kw, val, 6, 1, 0, out);
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

/* ---- TLS: libpq's sslmodes from weakest to strongest, and the floor the shim enforces ---- */

enum { SSL_REQUIRE = 3, SSL_VERIFY_CA = 4, SSL_VERIFY_FULL = 5 };
static const char *const sslmodes[] = {"disable", "allow", "prefer", "require", "verify-ca",
                                       "verify-full"};

/* The rank of an sslmode value; -1 for one libpq does not know (libpq will refuse it). */
static int sslmode_rank(const char *mode)
{
    for (int i = 0; i < (int)(sizeof sslmodes / sizeof sslmodes[0]); i++)
        if (strcmp(mode, sslmodes[i]) == 0)
            return i;
    return -1;
}

/*
 * The weakest sslmode the shim lets through: verify-full, unless DSQLAUTH_SSLMODE names
 * verify-ca or require (TLS without host name or without any certificate verification, for
 * endpoints reached through a tunnel or a test CA). Never below require: Aurora DSQL refuses
 * unencrypted connections, so disable/allow/prefer could only fail or leak the token.
 * -1 with err filled for any other value.
 */
static int ssl_floor(dsql_error *err)
{
    const char *v = getenv("DSQLAUTH_SSLMODE");
    if (v == NULL || *v == '\0')
        return SSL_VERIFY_FULL;
    int r = sslmode_rank(v);
    if (r < SSL_REQUIRE) {
        dsql_seterr(err, DSQL_ERR_CONFIG,
                    "DSQLAUTH_SSLMODE=%.32s is not accepted: Aurora DSQL needs TLS; use "
                    "verify-full (the default), verify-ca or require",
                    v);
        return -1;
    }
    return r;
}

/* Once per process: the user turned verification off, so say it even without DSQLAUTH_LOG. */
static void warn_unverified(const char *mode, const char *host)
{
    static atomic_int warned;
    if (atomic_exchange(&warned, 1))
        return;
    dsql_log_security("sslmode=%s for %s (DSQLAUTH_SSLMODE): %s; anyone on the network path "
                      "could impersonate the endpoint and capture the IAM token. Unset "
                      "DSQLAUTH_SSLMODE to verify the certificate (sslmode=verify-full)",
                      mode, host,
                      strcmp(mode, "verify-ca") == 0
                          ? "the server certificate's host name is not checked"
                          : "the server certificate is not verified");
}

/* ---- the rewrite ------------------------------------------------------------------------ */

struct appended {
    const char *kw[MAX_APPENDED];
    const char *val[MAX_APPENDED];
    size_t n;
};

static void append(struct appended *a, const char *kw, const char *val)
{
    a->kw[a->n] = kw;
    a->val[a->n] = val;
    a->n++;
}

/* Keeps s for ci's lifetime (wiped on free) and returns it; NULL when s is NULL. */
static char *own(dsql_conninfo *ci, char *s)
{
    if (s != NULL)
        ci->owned[ci->nowned++] = s;
    return s;
}

/* The system CA bundle for libpq < 16, which has no sslrootcert=system. */
static const char *system_ca_bundle(void)
{
    static const char *const candidates[] = {
        "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Alpine */
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* Fedora, RHEL 7+ */
        "/etc/pki/tls/certs/ca-bundle.crt",                  /* RHEL, CentOS */
        "/etc/ssl/ca-bundle.pem",                            /* openSUSE */
        "/etc/ssl/cert.pem",                                 /* Alpine, macOS, BSD */
    };
    const char *env = getenv("SSL_CERT_FILE");
    if (env != NULL && *env != '\0' && access(env, R_OK) == 0)
        return env;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (access(candidates[i], R_OK) == 0)
            return candidates[i];
    return NULL;
}

/* 1 if a backend options string already sets search_path (`-c search_path=`, `--search_path=`). */
static int options_set_search_path(const char *opts)
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
        if (after_c && n >= 12 && strncmp(w, "search_path=", 12) == 0)
            return 1;
        if ((n >= 14 && strncmp(w, "-csearch_path=", 14) == 0) ||
            (n >= 14 && (strncmp(w, "--search_path=", 14) == 0 ||
                         strncmp(w, "--search-path=", 14) == 0)))
            return 1;
        after_c = n == 2 && strncmp(w, "-c", 2) == 0;
    }
    return 0;
}

/* "<opts> -c search_path=<schema>", spaces and backslashes in the schema escaped as libpq wants. */
static char *options_with_search_path(const char *opts, const char *schema)
{
    size_t n = (opts != NULL ? strlen(opts) : 0) + 2 * strlen(schema) + 32;
    char *s = malloc(n);
    if (s == NULL)
        return NULL;
    size_t len = 0;
    if (opts != NULL && *opts != '\0')
        len = (size_t)snprintf(s, n, "%s ", opts);
    len += (size_t)snprintf(s + len, n - len, "-c search_path=");
    for (const char *p = schema; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\\' || *p == '\t')
            s[len++] = '\\';
        s[len++] = *p;
    }
    s[len] = '\0';
    return s;
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
static int write_passfile(dsql_conninfo *ci, char hosts[][DSQL_HOST_MAX], char **tokens, int n,
                          char **path)
{
    int fd = memfd_create("dsqlauth-passfile", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    ci->passfile_fd = fd;
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
    for (int i = 0; i < n; i++) {
        passfile_field(f, hosts[i]);
        fputs(":*:*:*:", f);
        passfile_field(f, tokens[i]);
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

static const char *password_action(const char *pw)
{
    if (pw == NULL)
        return "new";
    if (was_issued(pw))
        return "renew";
    if (looks_like_token(pw))
        return "keep";
    return "replace";
}

int dsql_conninfo_rewrite(dsql_conninfo *ci, const dsql_signer *signer, int flags,
                          dsql_error *err)
{
    int rc = DSQL_OK;
    struct appended a = {.n = 0};
    char hosts[MAX_HOSTS][DSQL_HOST_MAX];
    char *tokens[MAX_HOSTS] = {0};
    int ndistinct = 0, first_of[MAX_HOSTS]; /* first_of[i]: the first entry naming host i */
    int nhosts = 0;

    if (ci->target != DSQL_TARGET_DSQL) {
        rc = dsql_seterr(err, DSQL_ERR_INVALID, "not an Aurora DSQL target");
        goto out;
    }
    nhosts = split_hosts(effective(ci, "host", "PGHOST"), hosts, MAX_HOSTS);

    /* Hosts: every entry must be DSQL; cluster ids become endpoint names. */
    int expanded = 0;
    for (int i = 0; i < nhosts; i++) {
        enum host_kind k = classify_host(hosts[i]);
        if (k == HOST_OTHER) {
            rc = dsql_seterr(err, DSQL_ERR_INVALID,
                      "the host list mixes Aurora DSQL endpoints with other hosts (\"%s\"); "
                      "connect to them separately",
                      hosts[i]);
            goto out;
        }
        if (k == HOST_CLUSTER_ID) {
            char endpoint[DSQL_HOST_MAX];
            rc = signer->endpoint(hosts[i], endpoint, sizeof endpoint, err);
            if (rc != DSQL_OK)
                goto out;
            strcpy(hosts[i], endpoint);
            expanded = 1;
        }
    }
    if (expanded) {
        char *list = NULL;
        if (join_hosts(hosts, nhosts, &list) != 0)
            goto nomem;
        append(&a, "host", own(ci, list));
    }
    for (int i = 0; i < nhosts; i++) {
        int j = 0;
        while (j < i && strcasecmp(hosts[j], hosts[i]) != 0)
            j++;
        first_of[i] = j;
        ndistinct += j == i;
    }

    /* User and database: DSQL's defaults, not the login name libpq would use. */
    const char *user = effective(ci, "user", "PGUSER");
    if (user == NULL) {
        user = DEFAULT_USER;
        append(&a, "user", user);
    }
    int admin = strcmp(user, DEFAULT_USER) == 0;
    if (effective(ci, "dbname", "PGDATABASE") == NULL)
        append(&a, "dbname", DEFAULT_DBNAME);

    /* Password. */
    int flatten = 0;
    if (!(flags & DSQL_REWRITE_NO_TOKEN)) {
        const char *pw = effective(ci, "password", "PGPASSWORD");
        const char *action = password_action(pw);
        if (strcmp(action, "keep") == 0) {
            dsql_log(DSQL_LOG_INFO, "using the DSQL token the caller supplied");
        } else {
            if (strcmp(action, "replace") == 0)
                dsql_log(DSQL_LOG_WARN, "replacing the caller's password with an IAM token: "
                                        "Aurora DSQL accepts only IAM tokens");
            for (int i = 0; i < nhosts; i++) {
                if (first_of[i] != i)
                    continue; /* same endpoint as an earlier entry */
                rc = signer->token(hosts[i], user, &tokens[i], err);
                if (rc != DSQL_OK)
                    goto out;
                remember_issued(tokens[i]);
                dsql_log(DSQL_LOG_INFO, "signed a %s token for %s",
                         admin ? "DbConnectAdmin" : "DbConnect", hosts[i]);
            }
            if (ndistinct == 1) {
                char *t = strdup(tokens[0]);
                if (t == NULL)
                    goto nomem;
                append(&a, "password", own(ci, t));
            } else {
                char *tok_by_host[MAX_HOSTS];
                for (int i = 0; i < nhosts; i++)
                    tok_by_host[i] = tokens[first_of[i]];
                char *path = NULL;
                if (write_passfile(ci, hosts, tok_by_host, nhosts, &path) != 0) {
                    rc = dsql_seterr(err, DSQL_ERR_IO,
                              "cannot create the in-memory password file for a list of %d "
                              "endpoints (%s); connect to one endpoint at a time",
                              ndistinct, strerror(errno));
                    goto out;
                }
                append(&a, "passfile", own(ci, path));
                flatten = 1; /* the caller's password must go, and "" cannot unset it */
            }
        }
    }

    /* TLS: verified, with a CA store, unless DSQLAUTH_SSLMODE lowers the floor. */
    int floor = ssl_floor(err);
    if (floor < 0) {
        rc = DSQL_ERR_CONFIG;
        goto out;
    }
    const char *sslmode = effective(ci, "sslmode", "PGSSLMODE");
    int caller_rank = sslmode != NULL ? sslmode_rank(sslmode) : -1;
    const char *mode = sslmode;
    if (caller_rank < floor) {
        mode = sslmodes[floor];
        if (sslmode != NULL)
            dsql_log(DSQL_LOG_WARN, "raising sslmode=%s to %s: Aurora DSQL needs %s TLS",
                     sslmode, mode, floor == SSL_VERIFY_FULL ? "verified" : "at least");
        append(&a, "sslmode", mode);
    }
    if (sslmode_rank(mode) < SSL_VERIFY_FULL)
        warn_unverified(mode, hosts[0]);
    int libpq_version = ci->pq->lib_version();
    /* require: libpq verifies the chain anyway when it is given a root certificate. */
    if (caller_value(ci, "sslrootcert") == NULL && sslmode_rank(mode) >= SSL_VERIFY_CA) {
        const char *mine = getenv("DSQLAUTH_SSLROOTCERT");
        const char *pgenv = getenv("PGSSLROOTCERT");
        if (mine != NULL && *mine != '\0') {
            append(&a, "sslrootcert", mine);
        } else if (pgenv != NULL && *pgenv != '\0') {
            /* libpq reads it itself */
        } else if (libpq_version >= 160000) {
            append(&a, "sslrootcert", "system");
        } else {
            const char *bundle = system_ca_bundle();
            if (bundle == NULL) {
                rc = dsql_seterr(err, DSQL_ERR_CONFIG,
                          "no CA certificate bundle found for sslmode=%s; set "
                          "DSQLAUTH_SSLROOTCERT to a PEM file that holds Amazon Root CA 1",
                          mode);
                goto out;
            }
            append(&a, "sslrootcert", bundle);
        }
    }
    if (libpq_version >= 170000 && effective(ci, "sslnegotiation", "PGSSLNEGOTIATION") == NULL)
        append(&a, "sslnegotiation", "direct");

    /* search_path for non-admin roles, merged into the options libpq would send. */
    if (!admin) {
        const char *schema = getenv("DSQLAUTH_SCHEMA");
        if (schema == NULL || *schema == '\0')
            schema = DEFAULT_SCHEMA;
        const char *opts = effective(ci, "options", "PGOPTIONS");
        if (opts == NULL || !options_set_search_path(opts)) {
            char *merged = own(ci, options_with_search_path(opts, schema));
            if (merged == NULL)
                goto nomem;
            append(&a, "options", merged);
        }
    }

    if (effective(ci, "application_name", "PGAPPNAME") == NULL &&
        caller_value(ci, "fallback_application_name") == NULL)
        append(&a, "application_name", APPLICATION_NAME);

    /* The arrays for the real call: the caller's (or its flattened settings), then ours. */
    size_t ncaller = 0;
    if (flatten) {
        ncaller = ci->neff;
    } else {
        while (ci->kw[ncaller] != NULL)
            ncaller++;
    }
    ci->out_kw = calloc(ncaller + a.n + 1, sizeof *ci->out_kw);
    ci->out_val = calloc(ncaller + a.n + 1, sizeof *ci->out_val);
    if (ci->out_kw == NULL || ci->out_val == NULL)
        goto nomem;
    size_t k = 0;
    for (size_t i = 0; i < ncaller; i++) {
        const char *key = flatten ? ci->eff[i].key : ci->kw[i];
        const char *v = flatten ? ci->eff[i].val : ci->val[i];
        if (flatten && (strcmp(key, "password") == 0 || strcmp(key, "passfile") == 0))
            continue;
        ci->out_kw[k] = key;
        ci->out_val[k++] = v;
    }
    for (size_t i = 0; i < a.n; i++) {
        ci->out_kw[k] = a.kw[i];
        ci->out_val[k++] = a.val[i];
    }
    ci->out_expand = flatten ? 0 : ci->expand;
    if (dsql_log_level() >= DSQL_LOG_DEBUG) {
        char line[1024] = "";
        for (size_t i = 0; i < a.n; i++) {
            size_t n = strlen(line);
            int secret = strcmp(a.kw[i], "password") == 0;
            snprintf(line + n, sizeof line - n, " %s=%s", a.kw[i], secret ? "<token>" : a.val[i]);
        }
        dsql_log(DSQL_LOG_DEBUG, "appended:%s", line);
    }
    rc = DSQL_OK;
    goto out;
nomem:
    rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
out:
    for (int i = 0; i < nhosts; i++)
        if (tokens[i] != NULL)
            signer->token_free(tokens[i]);
    return rc;
}

/* ---- a failed connection that carries our message --------------------------------------- */

/*
 * libpq has no call that makes a PGconn with an arbitrary error message, and none of its own
 * messages starts with text the caller controls. So: ask the caller's libpq for a connection
 * whose only keyword is unknown; PQconnectStartParams then fails while parsing options, before
 * any I/O, with CONNECTION_BAD, no password_needed (psql does not prompt) and the message
 * `invalid connection option "<keyword>"`. The keyword is our message, so the buffer is large
 * enough to hold it; we then find libpq's PQExpBufferData {data, len, maxlen} for the message
 * inside the PGconn by value (data == PQerrorMessage(conn), len == its length) and move our
 * text to the front. The layout of PQExpBufferData is libpq's public pqexpbuffer.h and has not
 * changed since 7.x. If it is not found, the message stays libpq's, which still contains ours.
 */
PGconn *dsql_conninfo_failed_conn(const dsql_pq_api *pq, const char *message)
{
    char text[DSQL_ERROR_MAX + 32];
    snprintf(text, sizeof text, "dsqlauth: %s", message);
    const char *kw[] = {text, NULL};
    const char *val[] = {"x", NULL};
    PGconn *conn = pq->connect_start_params(kw, val, 0);
    if (conn == NULL)
        return NULL;
    char *msg = pq->error_message(conn);
    size_t len = msg != NULL ? strlen(msg) : 0;
    size_t want = strlen(text) + 1; /* and a newline */
    if (msg == NULL || len < want)
        return conn;
    struct pqexpbuffer_layout {
        char *data;
        size_t len;
        size_t maxlen;
    };
    size_t size = malloc_usable_size(conn);
    for (size_t off = 0; off + sizeof(struct pqexpbuffer_layout) <= size; off += sizeof(void *)) {
        struct pqexpbuffer_layout b;
        memcpy(&b, (char *)conn + off, sizeof b);
        if (b.data == msg && b.len == len && b.maxlen > len) {
            memcpy(msg, text, want - 1);
            msg[want - 1] = '\n';
            msg[want] = '\0';
            b.len = want;
            memcpy((char *)conn + off, &b, sizeof b);
            break;
        }
    }
    return conn;
}
