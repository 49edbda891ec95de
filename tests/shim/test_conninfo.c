/* SPDX-License-Identifier: MIT */
/* test_conninfo.c: the conninfo rewrite as a table: parameters in, appended parameters out. */
#include "conninfo.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a fake libpq version and a fake signer around the real libpq parser ---- */

static int fake_version = 150000;
static int lib_version(void)
{
    return fake_version;
}

static const dsql_pq_api pq = {
    .conninfo_parse = PQconninfoParse,
    .conninfo_free = PQconninfoFree,
    .freemem = PQfreemem,
    .lib_version = lib_version,
    .connect_start_params = PQconnectStartParams,
    .error_message = PQerrorMessage,
};

static int sign_fails;

static int fake_endpoint(const char *id, char *out, size_t len, dsql_error *err)
{
    if (sign_fails) {
        snprintf(err->message, sizeof err->message, "region: none configured; set AWS_REGION");
        return err->code = DSQL_ERR_REGION;
    }
    snprintf(out, len, "%s.dsql.us-east-1.on.aws", id);
    return DSQL_OK;
}

static int fake_token(const char *host, const char *user, char **token, dsql_error *err)
{
    if (sign_fails) {
        snprintf(err->message, sizeof err->message,
                 "credentials: none found; run aws configure or set AWS_PROFILE");
        return err->code = DSQL_ERR_NO_CREDENTIALS;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s/?Action=%s&X-Amz-Signature=fake", host,
             strcmp(user, "admin") == 0 ? "DbConnectAdmin" : "DbConnect");
    *token = strdup(buf);
    return DSQL_OK;
}

static void fake_free(char *token)
{
    free(token);
}

static const dsql_signer signer = {fake_endpoint, fake_token, fake_free};

/* Renders the parameters the rewrite appended after the caller's first `ncaller` as "k=v;...". */
static void render(const dsql_conninfo *ci, size_t ncaller, char *out, size_t len)
{
    const char *const *kw = dsql_conninfo_keywords(ci);
    const char *const *val = dsql_conninfo_values(ci);
    out[0] = '\0';
    for (size_t i = ncaller; kw[i] != NULL; i++) {
        size_t n = strlen(out);
        snprintf(out + n, len - n, "%s%s=%s", n ? ";" : "", kw[i], val[i]);
    }
}

static void set_env(const char *assignments)
{
    if (assignments == NULL)
        return;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", assignments);
    for (char *save = NULL, *a = strtok_r(buf, "|", &save); a; a = strtok_r(NULL, "|", &save)) {
        char *eq = strchr(a, '=');
        *eq = '\0';
        setenv(a, eq + 1, 1);
    }
}

static void clean_env(void)
{
    static const char *const vars[] = {
        "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGOPTIONS",
        "PGSSLMODE", "PGSSLROOTCERT", "PGAPPNAME", "PGSERVICE", "PGSSLNEGOTIATION",
        "DSQLAUTH_HOSTS", "DSQLAUTH_SCHEMA", "DSQLAUTH_SSLROOTCERT", "DSQLAUTH_LOG",
        "DSQLAUTH_SSLMODE", "SSL_CERT_FILE",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    fake_version = 150000;
    sign_fails = 0;
}

#define EP "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"
#define CA "/etc/ssl/certs/ca-certificates.crt"
#define ADMIN_TAIL "sslmode=verify-full;sslrootcert=" CA ";application_name=dsqlauth"
#define TOKEN_ADMIN(h) "password=" h "/?Action=DbConnectAdmin&X-Amz-Signature=fake"
#define TOKEN_USER(h) "password=" h "/?Action=DbConnect&X-Amz-Signature=fake"

/* ---- the table: a connection string (PQconnectdb form) ---- */

struct row {
    const char *name;
    const char *conninfo;
    const char *env;      /* "K=V|K=V" */
    int version;          /* PQlibVersion, 0: 150000 */
    const char *appended; /* NULL: not a DSQL target (pass through) */
};

static struct row rows[] = {
    {"local host", "host=localhost user=app", NULL, 0, NULL},
    {"unix socket", "host=/var/run/postgresql", NULL, 0, NULL},
    {"empty, no PGHOST", "", NULL, 0, NULL},
    {"not an endpoint", "host=abc.dsql.example.com", NULL, 0, NULL},
    {"endpoint, defaults", "host=" EP, NULL, 0,
     "user=admin;dbname=postgres;" TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"endpoint upper case", "host=ABCDEFGHIJKLMNOPQRSTUVWXYZ.DSQL.US-EAST-1.ON.AWS user=admin", NULL,
     0,
     "dbname=postgres;" TOKEN_ADMIN("ABCDEFGHIJKLMNOPQRSTUVWXYZ.DSQL.US-EAST-1.ON.AWS") ";"
     ADMIN_TAIL},
    {"dsql suffix", "host=abc.dsql-gamma.eu-west-1.on.aws dbname=postgres user=admin", NULL, 0,
     TOKEN_ADMIN("abc.dsql-gamma.eu-west-1.on.aws") ";" ADMIN_TAIL},
    {"PGHOST only", "", "PGHOST=" EP, 0,
     "user=admin;dbname=postgres;" TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"libpq 16: system store", "host=" EP " user=admin dbname=postgres", NULL, 160000,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=system;application_name=dsqlauth"},
    {"libpq 17: direct TLS", "host=" EP " user=admin dbname=postgres", NULL, 170000,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=system;sslnegotiation=direct;"
                     "application_name=dsqlauth"},
    {"libpq 17, caller's negotiation", "host=" EP " user=admin dbname=postgres", "PGSSLNEGOTIATION=postgres",
     170000, TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=system;application_name=dsqlauth"},
    {"non-admin: DbConnect and search_path", "host=" EP " user=app dbname=postgres", NULL, 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c search_path=myschema;application_name=dsqlauth"},
    {"PGUSER non-admin", "host=" EP " dbname=postgres", "PGUSER=app", 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c search_path=myschema;application_name=dsqlauth"},
    {"options merged", "host=" EP " user=app dbname=postgres options='-c TimeZone=UTC'", NULL, 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c TimeZone=UTC -c search_path=myschema;"
                    "application_name=dsqlauth"},
    {"PGOPTIONS merged", "host=" EP " user=app dbname=postgres", "PGOPTIONS=-c DateStyle=ISO", 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c DateStyle=ISO -c search_path=myschema;"
                    "application_name=dsqlauth"},
    {"search_path already there (\\c)",
     "host=" EP " user=app dbname=postgres options='-c search_path=myschema'", NULL, 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA ";application_name=dsqlauth"},
    {"caller's own search_path", "host=" EP " user=app dbname=postgres options=--search_path=s2",
     NULL, 0, TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA ";application_name=dsqlauth"},
    {"DSQLAUTH_SCHEMA with a space", "host=" EP " user=app dbname=postgres",
     "DSQLAUTH_SCHEMA=my schema", 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c search_path=my\\ schema;application_name=dsqlauth"},
    {"sslmode raised", "host=" EP " user=admin dbname=postgres sslmode=require", NULL, 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"PGSSLMODE raised", "host=" EP " user=admin dbname=postgres", "PGSSLMODE=disable", 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"verify-full kept", "host=" EP " user=admin dbname=postgres sslmode=verify-full", NULL, 0,
     TOKEN_ADMIN(EP) ";sslrootcert=" CA ";application_name=dsqlauth"},
    {"DSQLAUTH_SSLMODE=verify-full is the default",
     "host=" EP " user=admin dbname=postgres sslmode=require", "DSQLAUTH_SSLMODE=verify-full", 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"DSQLAUTH_SSLMODE=require: no CA appended", "host=" EP " user=admin dbname=postgres",
     "DSQLAUTH_SSLMODE=require", 0,
     TOKEN_ADMIN(EP) ";sslmode=require;application_name=dsqlauth"},
    {"DSQLAUTH_SSLMODE=require raises disable", "host=" EP " user=admin dbname=postgres",
     "DSQLAUTH_SSLMODE=require|PGSSLMODE=disable", 0,
     TOKEN_ADMIN(EP) ";sslmode=require;application_name=dsqlauth"},
    {"DSQLAUTH_SSLMODE=require keeps the caller's verify-full",
     "host=" EP " user=admin dbname=postgres sslmode=verify-full", "DSQLAUTH_SSLMODE=require", 0,
     TOKEN_ADMIN(EP) ";sslrootcert=" CA ";application_name=dsqlauth"},
    {"DSQLAUTH_SSLMODE=verify-ca: with a CA", "host=" EP " user=admin dbname=postgres",
     "DSQLAUTH_SSLMODE=verify-ca", 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-ca;sslrootcert=" CA ";application_name=dsqlauth"},
    {"caller's sslrootcert", "host=" EP " user=admin dbname=postgres sslrootcert=/x.pem", NULL,
     0, TOKEN_ADMIN(EP) ";sslmode=verify-full;application_name=dsqlauth"},
    {"DSQLAUTH_SSLROOTCERT", "host=" EP " user=admin dbname=postgres",
     "DSQLAUTH_SSLROOTCERT=/d.pem|PGSSLROOTCERT=/p.pem", 170000,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=/d.pem;sslnegotiation=direct;"
                     "application_name=dsqlauth"},
    {"PGSSLROOTCERT left to libpq", "host=" EP " user=admin dbname=postgres",
     "PGSSLROOTCERT=/p.pem", 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;application_name=dsqlauth"},
    {"SSL_CERT_FILE for libpq < 16", "host=" EP " user=admin dbname=postgres",
     "SSL_CERT_FILE=/etc/hostname", 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=/etc/hostname;application_name=dsqlauth"},
    {"application_name kept", "host=" EP " user=admin dbname=postgres application_name=me", NULL,
     0, TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=" CA},
    {"fallback_application_name kept",
     "host=" EP " user=admin dbname=postgres fallback_application_name=psql", NULL, 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=" CA},
    {"PGAPPNAME kept", "host=" EP " user=admin dbname=postgres", "PGAPPNAME=me", 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=" CA},
    {"PGDATABASE kept", "host=" EP " user=admin", "PGDATABASE=postgres", 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"URI", "postgresql://app@" EP ":5432/postgres?sslmode=require", NULL, 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c search_path=myschema;application_name=dsqlauth"},
    {"URI, host in the query", "postgres:///postgres?host=" EP "&user=admin", NULL, 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"bad URI passes through", "postgresql://" EP "/postgres?nonsense=1", NULL, 0, NULL},
    {"bad conninfo passes through", "host=" EP " nonsense", NULL, 0, NULL},
    {"bare cluster id", "host=abcdefghijklmnopqrstuvwxyz user=admin dbname=postgres", NULL, 0,
     "host=" EP ";" TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"not a cluster id (25 chars)", "host=abcdefghijklmnopqrstuvwxy", NULL, 0, NULL},
    {"DSQLAUTH_HOSTS pattern", "host=db.example.internal user=admin dbname=postgres",
     "DSQLAUTH_HOSTS=proxy, *.EXAMPLE.internal", 0,
     TOKEN_ADMIN("db.example.internal") ";" ADMIN_TAIL},
    {"DSQLAUTH_HOSTS no match", "host=db.example.com", "DSQLAUTH_HOSTS=*.internal", 0, NULL},
    {"hostaddr: sign the host name", "host=" EP " hostaddr=127.0.0.1 user=admin dbname=postgres",
     NULL, 0, TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"two entries, one endpoint", "host=" EP "," EP " port=1,2 user=admin dbname=postgres", NULL,
     0, TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"typed password replaced", "host=" EP " user=admin dbname=postgres password=secret", NULL, 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"PGPASSWORD replaced", "host=" EP " user=admin dbname=postgres", "PGPASSWORD=secret", 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"foreign token kept",
     "host=" EP " user=admin dbname=postgres "
     "password=" EP "/?Action=DbConnectAdmin&X-Amz-Signature=theirs",
     NULL, 0, ADMIN_TAIL},
};

/* Criterion re-executes the test binary (PIE, so other addresses): pass indices, not pointers. */
#define NROWS (sizeof rows / sizeof rows[0])
static size_t row_index[NROWS];

ParameterizedTestParameters(conninfo, table)
{
    for (size_t i = 0; i < NROWS; i++)
        row_index[i] = i;
    return cr_make_param_array(size_t, row_index, NROWS);
}

ParameterizedTest(size_t *idx, conninfo, table)
{
    const struct row *r = &rows[*idx];
    clean_env();
    set_env(r->env);
    if (r->version)
        fake_version = r->version;
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, r->conninfo, &ci), DSQL_OK), "%s", r->name);
    if (r->appended == NULL) {
        cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_OTHER), "%s", r->name);
    } else {
        cr_assert(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL), "%s", r->name);
        dsql_error err = {0};
        cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK), "%s: %s",
                  r->name, err.message);
        /* The caller's connection string stays first, untouched, expanded as libpq would. */
        const char *const *kw = dsql_conninfo_keywords(ci);
        const char *const *val = dsql_conninfo_values(ci);
        size_t ncaller = 0;
        if (*r->conninfo != '\0') {
            cr_expect(eq(str, (char *)kw[0], "dbname"), "%s", r->name);
            cr_expect(eq(ptr, (void *)val[0], (void *)r->conninfo), "%s", r->name);
            cr_expect(eq(int, dsql_conninfo_expand_dbname(ci), 1), "%s", r->name);
            ncaller = 1;
        }
        char got[4096];
        render(ci, ncaller, got, sizeof got);
        cr_expect(eq(str, got, (char *)r->appended), "%s", r->name);
    }
    dsql_conninfo_free(ci);
}

/* ---- the array form ---- */

Test(conninfo, params_later_keyword_wins_over_expanded_dbname)
{
    clean_env();
    /* psql: host/user before an expanded dbname; the URI's user wins, then ours come last. */
    const char *kw[] = {"host", "user", "dbname", "fallback_application_name", NULL};
    const char *val[] = {"localhost", "someone", "postgresql://app@" EP "/postgres", "psql",
                         NULL};
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, kw, val, 1, &ci), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK), "%s", err.message);
    char got[4096];
    render(ci, 4, got, sizeof got);
    cr_expect(eq(str, got, TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                                         ";options=-c search_path=myschema"));
    cr_expect(eq(int, dsql_conninfo_expand_dbname(ci), 1));
    dsql_conninfo_free(ci);
}

Test(conninfo, params_without_expansion_keep_dbname_literal)
{
    clean_env();
    const char *kw[] = {"dbname", "host", NULL};
    const char *val[] = {"host=" EP, "localhost", NULL};
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, kw, val, 0, &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_OTHER));
    dsql_conninfo_free(ci);
}

/* libpq refuses an array with a keyword it does not know: no token is signed for it. */
Test(conninfo, params_with_unknown_keyword_are_not_a_target)
{
    clean_env();
    const char *kw[] = {"host", "user", "no_such_option", NULL};
    const char *val[] = {EP, "admin", "1", NULL};
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, kw, val, 0, &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_OTHER));
    dsql_conninfo_free(ci);
    /* ... unless its value is empty, which libpq does not look at. */
    val[2] = "";
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, kw, val, 0, &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    dsql_conninfo_free(ci);
    /* And libpq does refuse the first one itself. */
    val[2] = "1";
    PGconn *c = PQconnectdbParams(kw, val, 0);
    cr_expect(strstr(PQerrorMessage(c), "invalid connection option \"no_such_option\"") != NULL,
              "%s", PQerrorMessage(c));
    PQfinish(c);
}

Test(conninfo, params_empty_values_are_ignored)
{
    clean_env();
    setenv("PGHOST", EP, 1);
    const char *kw[] = {"host", "user", NULL};
    const char *val[] = {"", "admin", NULL};
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, kw, val, 0, &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    dsql_conninfo_free(ci);
}

Test(conninfo, string_empty_value_hides_environment)
{
    clean_env();
    setenv("PGHOST", EP, 1);
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, "host='' user=admin", &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_OTHER));
    dsql_conninfo_free(ci);
}

Test(conninfo, setdb_login)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_setdb(&pq, EP, NULL, NULL, "postgres", "app", NULL, &ci),
                 DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK));
    char got[4096];
    render(ci, 6, got, sizeof got);
    cr_expect(eq(str, got, TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                                         ";options=-c search_path=myschema;"
                                         "application_name=dsqlauth"));
    dsql_conninfo_free(ci);
    /* A connection string in dbName, overridden by the explicit arguments. */
    cr_assert(eq(int, dsql_conninfo_from_setdb(&pq, NULL, NULL, NULL, "host=" EP " user=app",
                                               "admin", NULL, &ci),
                 DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK));
    render(ci, 6, got, sizeof got);
    cr_expect(eq(str, got, "dbname=postgres;" TOKEN_ADMIN(EP) ";" ADMIN_TAIL));
    dsql_conninfo_free(ci);
}

/* ---- passwords ---- */

Test(conninfo, reconnect_with_issued_token_gets_a_fresh_one)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, "host=" EP, &ci), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK));
    /* psql \c: every setting of the old connection (PQconninfo) comes back as keywords. */
    const char *const *okw = dsql_conninfo_keywords(ci);
    const char *const *oval = dsql_conninfo_values(ci);
    const char *kw[16], *val[16];
    size_t n = 0;
    for (size_t i = 1; okw[i] != NULL; i++, n++) {
        kw[n] = okw[i];
        val[n] = oval[i];
    }
    kw[n] = "host";
    val[n++] = EP;
    kw[n] = NULL;
    val[n] = NULL;
    dsql_conninfo *again = NULL;
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, kw, val, 1, &again), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_rewrite(again, &signer, 0, &err), DSQL_OK));
    char got[4096];
    render(again, n, got, sizeof got);
    cr_expect(eq(str, got, TOKEN_ADMIN(EP)), "a fresh token only; nothing duplicated: %s", got);
    dsql_conninfo_free(again);
    dsql_conninfo_free(ci);
}

Test(conninfo, ping_needs_no_token)
{
    clean_env();
    sign_fails = 1;
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, "host=" EP " user=admin", &ci), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, DSQL_REWRITE_NO_TOKEN, &err), DSQL_OK));
    char got[4096];
    render(ci, 1, got, sizeof got);
    cr_expect(eq(str, got, "dbname=postgres;" ADMIN_TAIL));
    dsql_conninfo_free(ci);
}

/* ---- failures ---- */

Test(conninfo, signer_failure_is_reported)
{
    clean_env();
    sign_fails = 1;
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, "host=" EP, &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_ERR_NO_CREDENTIALS));
    cr_expect(eq(str, err.message, "credentials: none found; run aws configure or set AWS_PROFILE"));
    dsql_conninfo_free(ci);
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, "host=abcdefghijklmnopqrstuvwxyz", &ci),
                 DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_ERR_REGION));
    dsql_conninfo_free(ci);
}

Test(conninfo, mixed_host_list_is_refused)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, "host=" EP ",localhost", &ci), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    cr_expect(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_ERR_INVALID));
    cr_expect(ne(ptr, strstr(err.message, "mixes Aurora DSQL endpoints with other hosts"), NULL));
    dsql_conninfo_free(ci);
}

Test(conninfo, distinct_endpoints_get_a_password_file)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    const char *kw[] = {"host", "user", "password", "dbname", NULL};
    const char *val[] = {EP ",zyxwvutsrqponmlkjihgfedcba", "admin", "typed", "postgres", NULL};
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, kw, val, 0, &ci), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK), "%s", err.message);
    const char *const *okw = dsql_conninfo_keywords(ci);
    const char *const *oval = dsql_conninfo_values(ci);
    const char *passfile = NULL, *hosts = NULL;
    for (size_t i = 0; okw[i] != NULL; i++) {
        cr_expect(ne(str, (char *)okw[i], "password"), "the caller's password is gone");
        if (strcmp(okw[i], "passfile") == 0)
            passfile = oval[i];
        if (strcmp(okw[i], "host") == 0)
            hosts = oval[i];
    }
    cr_expect(eq(str, (char *)hosts, EP ",zyxwvutsrqponmlkjihgfedcba.dsql.us-east-1.on.aws"));
    cr_assert(ne(ptr, (void *)passfile, NULL));
    cr_expect(eq(int, strncmp(passfile, "/proc/self/fd/", 14), 0));
    struct stat st;
    cr_assert(eq(int, stat(passfile, &st), 0));
    cr_expect(eq(int, (int)(st.st_mode & 0777), 0600));
    FILE *f = fopen(passfile, "r");
    cr_assert(ne(ptr, f, NULL));
    char line[1024];
    cr_assert(ne(ptr, fgets(line, sizeof line, f), NULL));
    cr_expect(eq(str, line, EP ":*:*:*:" EP "/?Action=DbConnectAdmin&X-Amz-Signature=fake\n"));
    cr_assert(ne(ptr, fgets(line, sizeof line, f), NULL));
    cr_expect(eq(int, strncmp(line, "zyxwvutsrqponmlkjihgfedcba.dsql", 31), 0));
    fclose(f);
    cr_expect(eq(int, dsql_conninfo_expand_dbname(ci), 0));
    dsql_conninfo_free(ci);
}

/* ---- the failed connection ---- */

Test(conninfo, failed_conn_carries_our_message)
{
    clean_env();
    PGconn *conn = dsql_conninfo_failed_conn(&pq, "no AWS credentials; run aws configure");
    cr_assert(ne(ptr, conn, NULL));
    cr_expect(eq(int, PQstatus(conn), CONNECTION_BAD));
    cr_expect(eq(str, PQerrorMessage(conn), "dsqlauth: no AWS credentials; run aws configure\n"));
    cr_expect(eq(int, PQconnectionNeedsPassword(conn), 0));
    cr_expect(eq(int, PQconnectPoll(conn), PGRES_POLLING_FAILED));
    PQreset(conn);
    cr_expect(eq(int, PQstatus(conn), CONNECTION_BAD));
    PQfinish(conn);
}

/* The rewritten parameters mean, to libpq itself, what the table says. */
Test(conninfo, libpq_reads_the_result_as_intended)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    const char *uri = "postgresql://app@" EP ":1/postgres?sslmode=require&hostaddr=127.0.0.1"
                      "&password=typed&options=-c%20TimeZone%3DUTC";
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, uri, &ci), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK));
    PGconn *conn = PQconnectStartParams(dsql_conninfo_keywords(ci), dsql_conninfo_values(ci),
                                        dsql_conninfo_expand_dbname(ci));
    cr_assert(ne(ptr, conn, NULL));
    PQconninfoOption *opts = PQconninfo(conn);
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        const char *v = o->val != NULL ? o->val : "";
        if (strcmp(o->keyword, "password") == 0)
            cr_expect(eq(str, (char *)v, EP "/?Action=DbConnect&X-Amz-Signature=fake"));
        else if (strcmp(o->keyword, "sslmode") == 0)
            cr_expect(eq(str, (char *)v, "verify-full"));
        else if (strcmp(o->keyword, "options") == 0)
            cr_expect(eq(str, (char *)v, "-c TimeZone=UTC -c search_path=myschema"));
        else if (strcmp(o->keyword, "user") == 0)
            cr_expect(eq(str, (char *)v, "app"));
        else if (strcmp(o->keyword, "host") == 0)
            cr_expect(eq(str, (char *)v, EP));
        else if (strcmp(o->keyword, "hostaddr") == 0)
            cr_expect(eq(str, (char *)v, "127.0.0.1"));
        else if (strcmp(o->keyword, "port") == 0)
            cr_expect(eq(str, (char *)v, "1"));
    }
    PQconninfoFree(opts);
    PQfinish(conn);
    dsql_conninfo_free(ci);
}

/* ---- the log: says what it did, never a secret ---- */

/* Runs one rewrite of conninfo with stderr sent to a file; returns what was written. */
static char *rewrite_logged(const char *conninfo)
{
    char path[] = "/tmp/dsqlauth-test-log.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(ge(int, fd, 0));
    unlink(path);
    int saved = dup(2);
    dup2(fd, 2);
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, conninfo, &ci), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK));
    dsql_conninfo_free(ci);
    dup2(saved, 2);
    close(saved);
    static char log[8192];
    ssize_t n = pread(fd, log, sizeof log - 1, 0);
    close(fd);
    log[n < 0 ? 0 : n] = '\0';
    return log;
}

Test(conninfo, log_never_shows_a_secret)
{
    clean_env();
    setenv("DSQLAUTH_LOG", "debug", 1);
    char *log = rewrite_logged("host=" EP " user=app password=hunter2 sslmode=require");
    cr_expect(ne(ptr, strstr(log, "replacing the caller's password with an IAM token"), NULL),
              "%s", log);
    cr_expect(ne(ptr, strstr(log, "raising sslmode=require to verify-full"), NULL), "%s", log);
    cr_expect(ne(ptr, strstr(log, "appended: dbname=postgres password=<token> sslmode=verify-full"), NULL), "%s",
              log);
    cr_expect(eq(ptr, strstr(log, "X-Amz-Signature"), NULL), "%s", log);
    cr_expect(eq(ptr, strstr(log, "hunter2"), NULL), "%s", log);
}

/* Runs one rewrite that must fail; returns its message. */
static const char *rewrite_error(const char *conninfo)
{
    static dsql_error err;
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, conninfo, &ci), DSQL_OK));
    cr_assert(ne(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK), "%s", conninfo);
    dsql_conninfo_free(ci);
    return err.message;
}

Test(conninfo, dsqlauth_sslmode_never_below_require)
{
    static const char *const refused[] = {"disable", "allow", "prefer", "verify_full", "off"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        clean_env();
        setenv("DSQLAUTH_SSLMODE", refused[i], 1);
        const char *msg = rewrite_error("host=" EP " user=admin");
        cr_expect(ne(ptr, strstr(msg, "is not accepted: Aurora DSQL needs TLS"), NULL), "%s", msg);
        cr_expect(ne(ptr, strstr(msg, refused[i]), NULL), "%s", msg);
    }
}

Test(conninfo, dsqlauth_sslmode_require_warns_without_dsqlauth_log)
{
    clean_env();
    setenv("DSQLAUTH_SSLMODE", "require", 1);
    char *log = rewrite_logged("host=" EP " user=admin");
    cr_expect(ne(ptr, strstr(log, "dsqlauth: warn: sslmode=require for " EP " (DSQLAUTH_SSLMODE): "
                                  "the server certificate is not verified"),
                 NULL),
              "%s", log);
    /* Once per process, not once per connection. */
    log = rewrite_logged("host=" EP " user=admin");
    cr_expect(eq(str, log, ""));
}

Test(conninfo, dsqlauth_sslmode_warning_silenced_only_by_log_error)
{
    clean_env();
    setenv("DSQLAUTH_SSLMODE", "verify-ca", 1);
    setenv("DSQLAUTH_LOG", "error", 1);
    cr_expect(eq(str, rewrite_logged("host=" EP " user=admin"), ""));
}

Test(conninfo, dsqlauth_sslmode_verify_ca_warns_about_the_host_name)
{
    clean_env();
    setenv("DSQLAUTH_SSLMODE", "verify-ca", 1);
    setenv("DSQLAUTH_LOG", "warn", 1);
    char *log = rewrite_logged("host=" EP " user=admin");
    cr_expect(ne(ptr, strstr(log, "host name is not checked"), NULL), "%s", log);
}

Test(conninfo, silent_without_dsqlauth_log)
{
    clean_env();
    char *log = rewrite_logged("host=" EP " sslmode=disable password=x");
    cr_expect(eq(str, log, ""));
}
