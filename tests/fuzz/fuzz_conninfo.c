/* SPDX-License-Identifier: MIT */
/* fuzz_conninfo.c: the shim's rewrite of arbitrary conninfo strings, URIs and keyword arrays. */
#include "fuzz.h"

#include "shim/rewrite.h"
#include "sign/endpoint.h"

#include <stdbool.h>
#include <string.h>

/*
 * Input: one mode byte, then the parameters. Mode & 3: 0 a conninfo string or URI (up to the
 * first NUL); 1 and 3 keyword/value arrays (NUL-separated, alternating; a lone 0x01 is a NULL
 * value); 2 PQsetdbLogin's six arguments (host, port, options, dbname, user, password).
 * Mode & 4: expand_dbname. Mode & 8: libpq 17 (else 16). Mode & 0x40: PQping (no token).
 * So '0' is a plain string, '1' arrays, '5' arrays with expand_dbname, 'D' ping of a string.
 */
#define MAX_PAIRS 40
#define TOKEN_SUFFIX "&X-Amz-Signature=fuzz"

static int version17;
static int lib_version(void)
{
    return version17 ? 170000 : 160000;
}

static const dsql_pq_api pq = {
    .conninfo_parse = PQconninfoParse,
    .conninfo_free = PQconninfoFree,
    .freemem = PQfreemem,
    .lib_version = lib_version,
};

/* A process with nothing set: only the caller's parameters count. */
static const dsql_settings settings = {
    .schema = "myschema",
    .ssl_floor = DSQL_SSL_VERIFY_FULL,
    .ca_bundle = "/etc/ssl/certs/ca-certificates.crt",
};

/* 1 if every entry of a host list is an endpoint name (cluster ids come back expanded). */
static int hosts_are_dsql(const char *list, int *vpce)
{
    char region[DSQL_REGION_MAX];
    char *copy = strdup(list), *save = NULL;
    FUZZ_CHECK(copy != NULL);
    int all = 1, n = 0;
    *vpce = 0;
    for (char *h = strtok_r(copy, ",", &save); h != NULL; h = strtok_r(NULL, ",", &save), n++) {
        int v = dsql_vpce_region(h, region, sizeof region);
        *vpce |= v;
        all &= v || dsql_hostname_region(h, region, sizeof region);
    }
    free(copy);
    return all && n > 0;
}

static int fake_endpoint(const char *id, char *out, size_t len, dsql_error *err)
{
    (void)err;
    snprintf(out, len, "%s.dsql.us-east-1.on.aws", id);
    return DSQL_OK;
}

/* Each token is unique (a counter), and the latest one is kept to look for in messages. */
static unsigned long ntokens;
static char latest[DSQL_HOST_MAX + 128];

static int fake_token(const char *host, const char *user, char **token, dsql_error *err)
{
    (void)err;
    snprintf(latest, sizeof latest, "%s/?Action=%s" TOKEN_SUFFIX ".%lu", host,
             strcmp(user, "admin") == 0 ? "DbConnectAdmin" : "DbConnect", ++ntokens);
    *token = strdup(latest);
    FUZZ_CHECK(*token != NULL);
    return DSQL_OK;
}

static void fake_free(char *token)
{
    free(token);
}

static const dsql_signer signer = {fake_endpoint, fake_token, fake_free};

/* A growing string (the shim's modules have no dsql_buf: they link libc only). */
typedef struct strbuf {
    char *data;
    size_t len, cap;
} strbuf;

static void put(strbuf *t, char c)
{
    if (t->len + 2 > t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->data = realloc(t->data, t->cap);
        FUZZ_CHECK(t->data != NULL);
    }
    t->data[t->len++] = c;
    t->data[t->len] = '\0';
}

/* Appends kw='value ' to t, quoted for a conninfo string. */
static void put_quoted(strbuf *t, const char *kw, const char *value)
{
    for (const char *p = kw; *p != '\0'; p++)
        put(t, *p);
    put(t, '=');
    put(t, '\'');
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\'' || *p == '\\')
            put(t, '\\');
        put(t, *p);
    }
    put(t, '\'');
    put(t, ' ');
}

/* 1 if libpq knows the keyword (an array with an unknown one is libpq's to refuse). */
static int known_keyword(const char *kw)
{
    static PQconninfoOption *defaults;
    if (defaults == NULL)
        defaults = PQconndefaults();
    FUZZ_CHECK(defaults != NULL);
    for (PQconninfoOption *o = defaults; o->keyword != NULL; o++)
        if (strcmp(o->keyword, kw) == 0)
            return 1;
    return 0;
}

/*
 * The rewritten arrays as one conninfo string with libpq's array rules: NULL and "" values
 * skipped, the first dbname expanded in place when it is a connection string. -1 when a
 * keyword is unknown to libpq.
 */
static int render(const char *const *kw, const char *const *val, int expand, strbuf *b)
{
    bool first_dbname = true;
    for (size_t i = 0; kw[i] != NULL; i++) {
        if (val[i] == NULL || val[i][0] == '\0')
            continue;
        if (!known_keyword(kw[i]))
            return -1;
        if (strcmp(kw[i], "dbname") == 0 && first_dbname) {
            first_dbname = false;
            if (expand &&
                (strncmp(val[i], "postgresql://", 13) == 0 ||
                 strncmp(val[i], "postgres://", 11) == 0 || strchr(val[i], '=') != NULL)) {
                char *msg = NULL;
                PQconninfoOption *o = PQconninfoParse(val[i], &msg);
                FUZZ_CHECK(o != NULL); /* libpq took it before the rewrite */
                for (PQconninfoOption *p = o; p->keyword != NULL; p++)
                    if (p->val != NULL && p->val[0] != '\0')
                        put_quoted(b, p->keyword, p->val);
                PQconninfoFree(o);
                continue;
            }
        }
        put_quoted(b, kw[i], val[i]);
    }
    return 0;
}

static const char *option(const PQconninfoOption *o, const char *kw)
{
    for (; o->keyword != NULL; o++)
        if (strcmp(o->keyword, kw) == 0)
            return o->val != NULL && o->val[0] != '\0' ? o->val : NULL;
    return NULL;
}

static void check_rewrite(dsql_conninfo *ci, int flags)
{
    dsql_error err = {0};
    unsigned long before = ntokens;
    if (dsql_conninfo_rewrite(ci, &signer, flags, &err) != DSQL_OK) {
        FUZZ_CHECK(err.message[0] != '\0');
        /* The token signed for this call never shows in the message. */
        if (ntokens != before)
            FUZZ_CHECK(strstr(err.message, latest) == NULL);
        return;
    }
    const char *const *kw = dsql_conninfo_keywords(ci);
    const char *const *val = dsql_conninfo_values(ci);
    FUZZ_CHECK(kw != NULL && val != NULL);
    strbuf b = {0};
    if (render(kw, val, dsql_conninfo_expand_dbname(ci), &b) != 0) {
        free(b.data); /* the caller's unknown keyword: libpq refuses the connection itself */
        return;
    }
    char *msg = NULL;
    PQconninfoOption *o = PQconninfoParse(b.data != NULL ? b.data : "", &msg);
    if (o == NULL)
        fprintf(stderr, "libpq refused the rewrite: %s", msg != NULL ? msg : "(no message)\n");
    PQfreemem(msg);
    FUZZ_CHECK(o != NULL);
    /* What libpq will do with it: verified TLS to DSQL hosts only, with a token. */
    if (getenv("FUZZ_DEBUG") != NULL)
        fprintf(stderr, "rewritten: %s\n", b.data);
    const char *host = option(o, "host");
    int vpce = 0;
    FUZZ_CHECK(host != NULL && hosts_are_dsql(host, &vpce));
    /* verify-full; verify-ca only for an interface endpoint's vpce name */
    const char *sslmode = option(o, "sslmode");
    FUZZ_CHECK(sslmode != NULL && strcmp(sslmode, vpce ? "verify-ca" : "verify-full") == 0);
    const char *user = option(o, "user");
    FUZZ_CHECK(user != NULL);
    FUZZ_CHECK(option(o, "dbname") != NULL);
    if (!(flags & DSQL_REWRITE_NO_TOKEN)) {
        const char *pw = option(o, "password");
        const char *passfile = option(o, "passfile");
        FUZZ_CHECK(pw != NULL || passfile != NULL);
        if (pw != NULL && passfile == NULL)
            FUZZ_CHECK(strstr(pw, "X-Amz-Signature=") != NULL); /* never a typed password */
    }
    if (version17)
        FUZZ_CHECK(option(o, "sslnegotiation") != NULL);
    PQconninfoFree(o);
    free(b.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool env_cleared;
    if (!env_cleared) { /* libpq's PQconninfoParse of the result must not see the runner's */
        static const char *const vars[] = {
            "PGHOST",    "PGHOSTADDR",    "PGUSER",           "PGDATABASE", "PGPASSWORD",
            "PGSSLMODE", "PGSSLROOTCERT", "PGSSLNEGOTIATION", "PGSERVICE",  "PGSERVICEFILE",
            "PGOPTIONS", "PGAPPNAME",     "DSQLAUTH_LOG"};
        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
            unsetenv(vars[i]);
        env_cleared = true;
    }
    if (size == 0)
        return 0;
    int mode = data[0];
    version17 = (mode & 8) != 0;
    int flags = (mode & 0x40) ? DSQL_REWRITE_NO_TOKEN : 0;
    /* A NUL-terminated copy, split into NUL-separated words. */
    char *text = malloc(size);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    const char *words[2 * MAX_PAIRS + 1];
    size_t nwords = 0;
    for (char *p = text; p < text + size && nwords < 2 * MAX_PAIRS; p += strlen(p) + 1)
        words[nwords++] = strcmp(p, "\x01") == 0 ? NULL : p;

    dsql_conninfo *ci = NULL;
    int rc;
    const char *kw[MAX_PAIRS + 1], *val[MAX_PAIRS + 1]; /* must outlive ci */
    switch (mode & 3) {
    case 0:
        rc = dsql_conninfo_from_string(&pq, &settings, text, &ci);
        break;
    case 2: {
        const char *a[6] = {0};
        for (size_t i = 0; i < 6 && i < nwords; i++)
            a[i] = words[i];
        rc = dsql_conninfo_from_setdb(&pq, &settings, a[0], a[1], a[2], a[3], a[4], a[5], &ci);
        break;
    }
    default: {
        size_t n = 0;
        for (size_t i = 0; i < nwords; i += 2) {
            if (words[i] == NULL)
                break; /* a NULL keyword ends the array */
            kw[n] = words[i];
            val[n++] = i + 1 < nwords ? words[i + 1] : NULL;
        }
        kw[n] = val[n] = NULL;
        rc = dsql_conninfo_from_params(&pq, &settings, kw, val, (mode & 4) != 0, &ci);
        break;
    }
    }
    FUZZ_CHECK(rc == DSQL_OK || rc == DSQL_ERR_NOMEM);
    if (rc == DSQL_OK) {
        if (dsql_conninfo_target(ci) == DSQL_TARGET_DSQL)
            check_rewrite(ci, flags);
        dsql_conninfo_free(ci);
    }
    free(text);
    return 0;
}
