/* SPDX-License-Identifier: MIT */
/* test_rewrite.c: the rewrite as a table: settings and parameters in, appended parameters out. */
#include "shim/dispatch.h"
#include "shim/rewrite.h"

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

/* Only the log's own variable: the rewrite reads no environment (its settings are given). */
static void clean_env(void)
{
    unsetenv("DSQLAUTH_LOG");
    fake_version = 150000;
    sign_fails = 0;
}

#define EP "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"
#define CA "/etc/ssl/certs/ca-certificates.crt"
#define ID "abcdefghijklmnopqrstuvwxyz"
#define PL ID ".dsql-ab12.us-east-1.on.aws"
#define VPCE "vpce-0123456789abcdef0-abcdefgh.dsql-ab12.us-east-1.vpce.amazonaws.com"

/* The settings of a process with nothing set (the bundle as Debian has it), then a row's own. */
#define DEFAULTS .schema = "myschema", .ssl_floor = DSQL_SSL_VERIFY_FULL, .ca_bundle = CA
#define S(...)                                                                                     \
    {                                                                                              \
        DEFAULTS, __VA_ARGS__                                                                      \
    }
static const dsql_settings defaults = {DEFAULTS};
/* A row's own settings come after the defaults and replace them: that is the point. */
#pragma GCC diagnostic ignored "-Woverride-init"
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#endif
#define ADMIN_TAIL "sslmode=verify-full;sslrootcert=" CA ";application_name=dsqlauth"
#define TOKEN_ADMIN(h) "password=" h "/?Action=DbConnectAdmin&X-Amz-Signature=fake"
#define TOKEN_USER(h) "password=" h "/?Action=DbConnect&X-Amz-Signature=fake"

/* ---- the table: a connection string (PQconnectdb form) ---- */

struct row {
    const char *name;
    const char *conninfo;
    dsql_settings s;      /* what the process's environment says */
    int version;          /* PQlibVersion, 0: 150000 */
    const char *appended; /* NULL: not a DSQL target (pass through) */
};

static struct row rows[] = {
    {"local host", "host=localhost user=app", S(), 0, NULL},
    {"unix socket", "host=/var/run/postgresql", S(), 0, NULL},
    {"empty, no PGHOST", "", S(), 0, NULL},
    {"not an endpoint", "host=abc.dsql.example.com", S(), 0, NULL},
    {"endpoint, defaults", "host=" EP, S(), 0,
     "user=admin;dbname=postgres;" TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"endpoint upper case", "host=ABCDEFGHIJKLMNOPQRSTUVWXYZ.DSQL.US-EAST-1.ON.AWS user=admin", S(),
     0, "host=" EP ";dbname=postgres;" TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"endpoint with a trailing dot", "host=" EP ". user=admin dbname=postgres", S(), 0,
     "host=" EP ";" TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"tunnel: host names the endpoint, hostaddr and port the tunnel",
     "host=" EP " hostaddr=127.0.0.1 port=15432 user=admin dbname=postgres", S(), 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"PrivateLink with private DNS", "host=" PL " user=admin dbname=postgres", S(), 0,
     TOKEN_ADMIN(PL) ";" ADMIN_TAIL},
    {"PrivateLink vpce name: signed for the cluster, verify-ca",
     "host=" VPCE " user=admin dbname=postgres options='-c amzn-cluster-id=" ID "'", S(), 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-ca;sslrootcert=" CA ";application_name=dsqlauth"},
    {"PrivateLink vpce name, --amzn-cluster-id, upper case, caller's verify-full lowered",
     "host=VPCE-0123456789ABCDEF0-ABCDEFGH.DSQL-AB12.US-EAST-1.VPCE.AMAZONAWS.COM user=admin "
     "dbname=postgres sslmode=verify-full options=--amzn-cluster-id=" ID,
     S(), 0,
     "host=" VPCE ";" TOKEN_ADMIN(EP) ";sslmode=verify-ca;sslrootcert=" CA
                                      ";application_name=dsqlauth"},
    {"PrivateLink vpce name, non-admin: the caller's option stays",
     "host=" VPCE " user=app dbname=postgres options='-c amzn-cluster-id=" ID "'", S(), 0,
     TOKEN_USER(EP) ";sslmode=verify-ca;sslrootcert=" CA ";options=-c amzn-cluster-id=" ID
                    " -c search_path=myschema;application_name=dsqlauth"},
    {"PrivateLink vpce name, cluster id from PGOPTIONS", "host=" VPCE " user=admin dbname=postgres",
     S(.pgoptions = "-c amzn-cluster-id=" ID), 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-ca;sslrootcert=" CA ";application_name=dsqlauth"},
    {"PrivateLink vpce name, DSQLAUTH_SSLMODE=require",
     "host=" VPCE " user=admin dbname=postgres options='-c amzn-cluster-id=" ID "'",
     S(.ssl_floor = DSQL_SSL_REQUIRE, .ssl_floor_value = "require"), 0,
     TOKEN_ADMIN(EP) ";sslmode=require;application_name=dsqlauth"},
    {"dsql suffix", "host=abc.dsql-gamma.eu-west-1.on.aws dbname=postgres user=admin", S(), 0,
     TOKEN_ADMIN("abc.dsql-gamma.eu-west-1.on.aws") ";" ADMIN_TAIL},
    {"PGHOST only", "", S(.pghost = EP), 0,
     "user=admin;dbname=postgres;" TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"libpq 16: system store", "host=" EP " user=admin dbname=postgres", S(), 160000,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=system;application_name=dsqlauth"},
    {"libpq 17: direct TLS", "host=" EP " user=admin dbname=postgres", S(), 170000,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=system;sslnegotiation=direct;"
                     "application_name=dsqlauth"},
    {"libpq 17, caller's negotiation", "host=" EP " user=admin dbname=postgres",
     S(.pgsslnegotiation = "postgres"), 170000,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=system;application_name=dsqlauth"},
    {"non-admin: DbConnect and search_path", "host=" EP " user=app dbname=postgres", S(), 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c search_path=myschema;application_name=dsqlauth"},
    {"PGUSER non-admin", "host=" EP " dbname=postgres", S(.pguser = "app"), 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c search_path=myschema;application_name=dsqlauth"},
    {"options merged", "host=" EP " user=app dbname=postgres options='-c TimeZone=UTC'", S(), 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c TimeZone=UTC -c search_path=myschema;"
                    "application_name=dsqlauth"},
    {"PGOPTIONS merged", "host=" EP " user=app dbname=postgres", S(.pgoptions = "-c DateStyle=ISO"),
     0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c DateStyle=ISO -c search_path=myschema;"
                    "application_name=dsqlauth"},
    {"search_path already there (\\c)",
     "host=" EP " user=app dbname=postgres options='-c search_path=myschema'", S(), 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA ";application_name=dsqlauth"},
    {"caller's own search_path", "host=" EP " user=app dbname=postgres options=--search_path=s2",
     S(), 0, TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA ";application_name=dsqlauth"},
    {"DSQLAUTH_SCHEMA with a space", "host=" EP " user=app dbname=postgres",
     S(.schema = "my schema"), 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c search_path=my\\ schema;application_name=dsqlauth"},
    {"sslmode raised", "host=" EP " user=admin dbname=postgres sslmode=require", S(), 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"PGSSLMODE raised", "host=" EP " user=admin dbname=postgres", S(.pgsslmode = "disable"), 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"verify-full kept", "host=" EP " user=admin dbname=postgres sslmode=verify-full", S(), 0,
     TOKEN_ADMIN(EP) ";sslrootcert=" CA ";application_name=dsqlauth"},
    {"DSQLAUTH_SSLMODE=verify-full is the default",
     "host=" EP " user=admin dbname=postgres sslmode=require",
     S(.ssl_floor = DSQL_SSL_VERIFY_FULL, .ssl_floor_value = "verify-full"), 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"DSQLAUTH_SSLMODE=require: no CA appended", "host=" EP " user=admin dbname=postgres",
     S(.ssl_floor = DSQL_SSL_REQUIRE, .ssl_floor_value = "require"), 0,
     TOKEN_ADMIN(EP) ";sslmode=require;application_name=dsqlauth"},
    {"DSQLAUTH_SSLMODE=require raises disable", "host=" EP " user=admin dbname=postgres",
     S(.ssl_floor = DSQL_SSL_REQUIRE, .ssl_floor_value = "require", .pgsslmode = "disable"), 0,
     TOKEN_ADMIN(EP) ";sslmode=require;application_name=dsqlauth"},
    {"DSQLAUTH_SSLMODE=require keeps the caller's verify-full",
     "host=" EP " user=admin dbname=postgres sslmode=verify-full",
     S(.ssl_floor = DSQL_SSL_REQUIRE, .ssl_floor_value = "require"), 0,
     TOKEN_ADMIN(EP) ";sslrootcert=" CA ";application_name=dsqlauth"},
    {"DSQLAUTH_SSLMODE=verify-ca: with a CA", "host=" EP " user=admin dbname=postgres",
     S(.ssl_floor = DSQL_SSL_VERIFY_CA, .ssl_floor_value = "verify-ca"), 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-ca;sslrootcert=" CA ";application_name=dsqlauth"},
    {"caller's sslrootcert", "host=" EP " user=admin dbname=postgres sslrootcert=/x.pem", S(), 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;application_name=dsqlauth"},
    {"DSQLAUTH_SSLROOTCERT", "host=" EP " user=admin dbname=postgres",
     S(.sslrootcert = "/d.pem", .pgsslrootcert = "/p.pem"), 170000,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=/d.pem;sslnegotiation=direct;"
                     "application_name=dsqlauth"},
    {"PGSSLROOTCERT left to libpq", "host=" EP " user=admin dbname=postgres",
     S(.pgsslrootcert = "/p.pem"), 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;application_name=dsqlauth"},
    {"SSL_CERT_FILE for libpq < 16", "host=" EP " user=admin dbname=postgres",
     S(.ca_bundle = "/etc/hostname"), 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=/etc/hostname;application_name=dsqlauth"},
    {"application_name kept", "host=" EP " user=admin dbname=postgres application_name=me", S(), 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=" CA},
    {"fallback_application_name kept",
     "host=" EP " user=admin dbname=postgres fallback_application_name=psql", S(), 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=" CA},
    {"PGAPPNAME kept", "host=" EP " user=admin dbname=postgres", S(.pgappname = "me"), 0,
     TOKEN_ADMIN(EP) ";sslmode=verify-full;sslrootcert=" CA},
    {"PGDATABASE kept", "host=" EP " user=admin", S(.pgdatabase = "postgres"), 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"URI", "postgresql://app@" EP ":5432/postgres?sslmode=require", S(), 0,
     TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                    ";options=-c search_path=myschema;application_name=dsqlauth"},
    {"URI, host in the query", "postgres:///postgres?host=" EP "&user=admin", S(), 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"bad URI passes through", "postgresql://" EP "/postgres?nonsense=1", S(), 0, NULL},
    {"bad conninfo passes through", "host=" EP " nonsense", S(), 0, NULL},
    {"bare cluster id", "host=abcdefghijklmnopqrstuvwxyz user=admin dbname=postgres", S(), 0,
     "host=" EP ";" TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"not a cluster id (25 chars)", "host=abcdefghijklmnopqrstuvwxy", S(), 0, NULL},
    {"DSQLAUTH_HOSTS pattern", "host=db.example.internal user=admin dbname=postgres",
     S(.hosts = "proxy, *.EXAMPLE.internal"), 0, TOKEN_ADMIN("db.example.internal") ";" ADMIN_TAIL},
    {"DSQLAUTH_HOSTS no match", "host=db.example.com", S(.hosts = "*.internal"), 0, NULL},
    {"hostaddr: sign the host name", "host=" EP " hostaddr=127.0.0.1 user=admin dbname=postgres",
     S(), 0, TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"two entries, one endpoint", "host=" EP "," EP " port=1,2 user=admin dbname=postgres", S(), 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"typed password replaced", "host=" EP " user=admin dbname=postgres password=secret", S(), 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"PGPASSWORD replaced", "host=" EP " user=admin dbname=postgres", S(.pgpassword = "secret"), 0,
     TOKEN_ADMIN(EP) ";" ADMIN_TAIL},
    {"foreign token kept",
     "host=" EP " user=admin dbname=postgres "
     "password=" EP "/?Action=DbConnectAdmin&X-Amz-Signature=theirs",
     S(), 0, ADMIN_TAIL},
};

/* Criterion re-executes the test binary (PIE, so other addresses): pass indices, not pointers. */
#define NROWS (sizeof rows / sizeof rows[0])
static size_t row_index[NROWS];

ParameterizedTestParameters(rewrite, table)
{
    for (size_t i = 0; i < NROWS; i++)
        row_index[i] = i;
    return cr_make_param_array(size_t, row_index, NROWS);
}

ParameterizedTest(size_t *idx, rewrite, table)
{
    const struct row *r = &rows[*idx];
    clean_env();
    if (r->version)
        fake_version = r->version;
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, &r->s, r->conninfo, &ci), DSQL_OK), "%s",
              r->name);
    if (r->appended == NULL) {
        cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_OTHER), "%s", r->name);
    } else {
        cr_assert(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL), "%s", r->name);
        dsql_error err = {0};
        cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK), "%s: %s", r->name,
                  err.message);
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

Test(rewrite, params_later_keyword_wins_over_expanded_dbname)
{
    clean_env();
    /* psql: host/user before an expanded dbname; the URI's user wins, then ours come last. */
    const char *kw[] = {"host", "user", "dbname", "fallback_application_name", NULL};
    const char *val[] = {"localhost", "someone", "postgresql://app@" EP "/postgres", "psql", NULL};
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, &defaults, kw, val, 1, &ci), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK), "%s", err.message);
    char got[4096];
    render(ci, 4, got, sizeof got);
    cr_expect(eq(str, got,
                 TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                                ";options=-c search_path=myschema"));
    cr_expect(eq(int, dsql_conninfo_expand_dbname(ci), 1));
    dsql_conninfo_free(ci);
}

Test(rewrite, params_without_expansion_keep_dbname_literal)
{
    clean_env();
    const char *kw[] = {"dbname", "host", NULL};
    const char *val[] = {"host=" EP, "localhost", NULL};
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, &defaults, kw, val, 0, &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_OTHER));
    dsql_conninfo_free(ci);
}

/* libpq refuses an array with a keyword it does not know: no token is signed for it. */
Test(rewrite, params_with_unknown_keyword_are_not_a_target)
{
    clean_env();
    const char *kw[] = {"host", "user", "no_such_option", NULL};
    const char *val[] = {EP, "admin", "1", NULL};
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, &defaults, kw, val, 0, &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_OTHER));
    dsql_conninfo_free(ci);
    /* ... unless its value is empty, which libpq does not look at. */
    val[2] = "";
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, &defaults, kw, val, 0, &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    dsql_conninfo_free(ci);
    /* And libpq does refuse the first one itself. */
    val[2] = "1";
    PGconn *c = PQconnectdbParams(kw, val, 0);
    cr_expect(strstr(PQerrorMessage(c), "invalid connection option \"no_such_option\"") != NULL,
              "%s", PQerrorMessage(c));
    PQfinish(c);
}

Test(rewrite, params_empty_values_are_ignored)
{
    clean_env();
    const dsql_settings s = S(.pghost = EP);
    const char *kw[] = {"host", "user", NULL};
    const char *val[] = {"", "admin", NULL};
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, &s, kw, val, 0, &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    dsql_conninfo_free(ci);
}

Test(rewrite, string_empty_value_hides_environment)
{
    clean_env();
    const dsql_settings s = S(.pghost = EP);
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, &s, "host='' user=admin", &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_OTHER));
    dsql_conninfo_free(ci);
}

Test(rewrite, setdb_login)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    cr_assert(eq(
        int, dsql_conninfo_from_setdb(&pq, &defaults, EP, NULL, NULL, "postgres", "app", NULL, &ci),
        DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK));
    char got[4096];
    render(ci, 6, got, sizeof got);
    cr_expect(eq(str, got,
                 TOKEN_USER(EP) ";sslmode=verify-full;sslrootcert=" CA
                                ";options=-c search_path=myschema;"
                                "application_name=dsqlauth"));
    dsql_conninfo_free(ci);
    /* A connection string in dbName, overridden by the explicit arguments. */
    cr_assert(eq(int,
                 dsql_conninfo_from_setdb(&pq, &defaults, NULL, NULL, NULL, "host=" EP " user=app",
                                          "admin", NULL, &ci),
                 DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK));
    render(ci, 6, got, sizeof got);
    cr_expect(eq(str, got, "dbname=postgres;" TOKEN_ADMIN(EP) ";" ADMIN_TAIL));
    dsql_conninfo_free(ci);
}

/* ---- passwords ---- */

Test(rewrite, reconnect_with_issued_token_gets_a_fresh_one)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, &defaults, "host=" EP, &ci), DSQL_OK));
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
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, &defaults, kw, val, 1, &again), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_rewrite(again, &signer, 0, &err), DSQL_OK));
    char got[4096];
    render(again, n, got, sizeof got);
    cr_expect(eq(str, got, TOKEN_ADMIN(EP)), "a fresh token only; nothing duplicated: %s", got);
    dsql_conninfo_free(again);
    dsql_conninfo_free(ci);
}

Test(rewrite, ping_needs_no_token)
{
    clean_env();
    sign_fails = 1;
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(
        eq(int, dsql_conninfo_from_string(&pq, &defaults, "host=" EP " user=admin", &ci), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, DSQL_REWRITE_NO_TOKEN, &err), DSQL_OK));
    char got[4096];
    render(ci, 1, got, sizeof got);
    cr_expect(eq(str, got, "dbname=postgres;" ADMIN_TAIL));
    dsql_conninfo_free(ci);
}

/* ---- failures ---- */

Test(rewrite, signer_failure_is_reported)
{
    clean_env();
    sign_fails = 1;
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, &defaults, "host=" EP, &ci), DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_ERR_NO_CREDENTIALS));
    cr_expect(
        eq(str, err.message, "credentials: none found; run aws configure or set AWS_PROFILE"));
    dsql_conninfo_free(ci);
    cr_assert(eq(int,
                 dsql_conninfo_from_string(&pq, &defaults, "host=abcdefghijklmnopqrstuvwxyz", &ci),
                 DSQL_OK));
    cr_expect(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_ERR_REGION));
    dsql_conninfo_free(ci);
}

Test(rewrite, mixed_host_list_is_refused)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(
        eq(int, dsql_conninfo_from_string(&pq, &defaults, "host=" EP ",localhost", &ci), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    cr_expect(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_ERR_INVALID));
    cr_expect(ne(ptr, strstr(err.message, "mixes Aurora DSQL endpoints with other hosts"), NULL));
    dsql_conninfo_free(ci);
}

Test(rewrite, distinct_endpoints_get_a_password_file)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    const char *kw[] = {"host", "user", "password", "dbname", NULL};
    const char *val[] = {EP ",zyxwvutsrqponmlkjihgfedcba", "admin", "typed", "postgres", NULL};
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, &defaults, kw, val, 0, &ci), DSQL_OK));
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

Test(rewrite, vpce_without_cluster_id_is_refused)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, &defaults, "host=" VPCE, &ci), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_target(ci), DSQL_TARGET_DSQL));
    cr_expect(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_ERR_INVALID));
    cr_expect(eq(str, err.message,
                 VPCE " is an AWS PrivateLink endpoint: name the cluster in the options, e.g. "
                      "options='-c amzn-cluster-id=<cluster id>', so that the token can be "
                      "signed for it"));
    dsql_conninfo_free(ci);
}

/* Endpoints of two regions in one list: each entry's token is signed for its own name. */
Test(rewrite, endpoints_of_two_regions_get_their_own_tokens)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(eq(
        int,
        dsql_conninfo_from_string(&pq, &defaults, "host=" EP "," ID ".dsql.eu-west-1.on.aws", &ci),
        DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK), "%s", err.message);
    const char *const *kw = dsql_conninfo_keywords(ci);
    const char *const *val = dsql_conninfo_values(ci);
    const char *passfile = NULL;
    for (size_t i = 0; kw[i] != NULL; i++)
        if (strcmp(kw[i], "passfile") == 0)
            passfile = val[i];
    cr_assert(ne(ptr, (void *)passfile, NULL));
    FILE *f = fopen(passfile, "r");
    cr_assert(ne(ptr, f, NULL));
    char line[1024];
    cr_assert(ne(ptr, fgets(line, sizeof line, f), NULL));
    cr_expect(eq(str, line, EP ":*:*:*:" EP "/?Action=DbConnectAdmin&X-Amz-Signature=fake\n"));
    cr_assert(ne(ptr, fgets(line, sizeof line, f), NULL));
    cr_expect(eq(str, line,
                 ID ".dsql.eu-west-1.on.aws:*:*:*:" ID
                    ".dsql.eu-west-1.on.aws/?Action=DbConnectAdmin&X-Amz-Signature=fake\n"));
    fclose(f);
    dsql_conninfo_free(ci);
}

/* What libpq ends up with for key after connecting with ci's result (PQconninfo). */
static void libpq_reads(const dsql_conninfo *ci, const char *key, char *out, size_t len)
{
    PGconn *c = PQconnectStartParams(dsql_conninfo_keywords(ci), dsql_conninfo_values(ci),
                                     dsql_conninfo_expand_dbname(ci));
    PQconninfoOption *opts = PQconninfo(c);
    snprintf(out, len, "(unset)");
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (strcmp(o->keyword, key) == 0 && o->val != NULL && o->val[0] != '\0')
            snprintf(out, len, "%s", o->val);
    PQconninfoFree(opts);
    PQfinish(c);
}

/*
 * psql's `\c`: the new connection's keywords are the old one's (PQconninfo), options and the
 * old token included, with the user the command names. Puts the options and the password
 * libpq would use for the new connection into options and password.
 */
static void reconnect_as(const char *first_conninfo, const char *user, char *options,
                         char *password, size_t len)
{
    dsql_conninfo *first = NULL;
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, &defaults, first_conninfo, &first), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_rewrite(first, &signer, 0, &err), DSQL_OK));
    PGconn *c = PQconnectStartParams(dsql_conninfo_keywords(first), dsql_conninfo_values(first),
                                     dsql_conninfo_expand_dbname(first));
    PQconninfoOption *opts = PQconninfo(c);
    const char *kw[64], *val[64];
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword != NULL && n < 62; o++) {
        if (o->val == NULL)
            continue;
        kw[n] = o->keyword;
        val[n++] = strcmp(o->keyword, "user") == 0 ? user : o->val;
    }
    kw[n] = NULL;
    val[n] = NULL;
    dsql_conninfo *again = NULL;
    cr_assert(eq(int, dsql_conninfo_from_params(&pq, &defaults, kw, val, 1, &again), DSQL_OK));
    cr_assert(eq(int, dsql_conninfo_rewrite(again, &signer, 0, &err), DSQL_OK), "%s", err.message);
    libpq_reads(again, "options", options, len);
    libpq_reads(again, "password", password, len);
    dsql_conninfo_free(again);
    PQconninfoFree(opts);
    PQfinish(c);
    dsql_conninfo_free(first);
}

Test(rewrite, reconnect_as_admin_drops_our_search_path)
{
    clean_env();
    char options[1024], password[1024];
    reconnect_as("host=" EP " user=app", "admin", options, password, sizeof options);
    cr_expect(eq(str, options, "(unset)"));
    cr_expect(eq(str, password, EP "/?Action=DbConnectAdmin&X-Amz-Signature=fake"));
}

Test(rewrite, reconnect_as_admin_keeps_the_callers_options)
{
    clean_env();
    char options[1024], password[1024];
    reconnect_as("host=" EP " user=app options='-c TimeZone=UTC'", "admin", options, password,
                 sizeof options);
    cr_expect(eq(str, options, "-c TimeZone=UTC"));
}

Test(rewrite, reconnect_as_app_again_adds_search_path_once)
{
    clean_env();
    char options[1024], password[1024];
    reconnect_as("host=" EP " user=app options='-c TimeZone=UTC'", "app", options, password,
                 sizeof options);
    cr_expect(eq(str, options, "-c TimeZone=UTC -c search_path=myschema"));
    cr_expect(eq(str, password, EP "/?Action=DbConnect&X-Amz-Signature=fake"));
}

Test(rewrite, reconnect_as_app_from_admin_adds_search_path)
{
    clean_env();
    char options[1024], password[1024];
    reconnect_as("host=" EP " user=admin", "app", options, password, sizeof options);
    cr_expect(eq(str, options, "-c search_path=myschema"));
}

/* A search_path the caller set itself is never taken for ours. */
Test(rewrite, reconnect_keeps_the_callers_own_search_path)
{
    clean_env();
    char options[1024], password[1024];
    reconnect_as("host=" EP " user=app options='-c search_path=myschema'", "admin", options,
                 password, sizeof options);
    cr_expect(eq(str, options, "-c search_path=myschema"));
}

/* ---- the failed connection ---- */

static const dsql_libpq libpq = {
    .api = {PQconninfoParse, PQconninfoFree, PQfreemem, PQlibVersion},
    .connect_start_params = PQconnectStartParams,
    .error_message = PQerrorMessage,
};

Test(rewrite, failed_conn_carries_our_message)
{
    clean_env();
    PGconn *conn = dsql_failed_conn(&libpq, "no AWS credentials; run aws configure");
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
Test(rewrite, libpq_reads_the_result_as_intended)
{
    clean_env();
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    const char *uri = "postgresql://app@" EP ":1/postgres?sslmode=require&hostaddr=127.0.0.1"
                      "&password=typed&options=-c%20TimeZone%3DUTC";
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, &defaults, uri, &ci), DSQL_OK));
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
static char *rewrite_logged(const dsql_settings *s, const char *conninfo)
{
    char path[] = "/tmp/dsqlauth-test-log.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(ge(int, fd, 0));
    unlink(path);
    int saved = dup(2);
    dup2(fd, 2);
    dsql_conninfo *ci = NULL;
    dsql_error err = {0};
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, s, conninfo, &ci), DSQL_OK));
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

Test(rewrite, log_never_shows_a_secret)
{
    clean_env();
    setenv("DSQLAUTH_LOG", "debug", 1);
    char *log = rewrite_logged(&defaults, "host=" EP " user=app password=hunter2 sslmode=require");
    cr_expect(ne(ptr, strstr(log, "replacing the caller's password with an IAM token"), NULL), "%s",
              log);
    cr_expect(ne(ptr, strstr(log, "raising sslmode=require to verify-full"), NULL), "%s", log);
    cr_expect(ne(ptr, strstr(log, "appended: dbname=postgres password=<token> sslmode=verify-full"),
                 NULL),
              "%s", log);
    cr_expect(eq(ptr, strstr(log, "X-Amz-Signature"), NULL), "%s", log);
    cr_expect(eq(ptr, strstr(log, "hunter2"), NULL), "%s", log);
}

/* Runs one rewrite that must fail; returns its message. */
static const char *rewrite_error(const dsql_settings *s, const char *conninfo)
{
    static dsql_error err;
    dsql_conninfo *ci = NULL;
    cr_assert(eq(int, dsql_conninfo_from_string(&pq, s, conninfo, &ci), DSQL_OK));
    cr_assert(ne(int, dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK), "%s", conninfo);
    dsql_conninfo_free(ci);
    return err.message;
}

Test(rewrite, dsqlauth_sslmode_never_below_require)
{
    static const char *const refused[] = {"disable", "allow", "prefer", "verify_full", "off"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        clean_env();
        const dsql_settings s = S(.ssl_floor = -1, .ssl_floor_value = refused[i]);
        const char *msg = rewrite_error(&s, "host=" EP " user=admin");
        cr_expect(ne(ptr, strstr(msg, "is not accepted: Aurora DSQL needs TLS"), NULL), "%s", msg);
        cr_expect(ne(ptr, strstr(msg, refused[i]), NULL), "%s", msg);
    }
}

Test(rewrite, dsqlauth_sslmode_require_warns_without_dsqlauth_log)
{
    clean_env();
    const dsql_settings s = S(.ssl_floor = DSQL_SSL_REQUIRE, .ssl_floor_value = "require");
    char *log = rewrite_logged(&s, "host=" EP " user=admin");
    cr_expect(ne(ptr,
                 strstr(log, "dsqlauth: warn: sslmode=require for " EP " (DSQLAUTH_SSLMODE): "
                             "the server certificate is not verified"),
                 NULL),
              "%s", log);
    /* Once per process, not once per connection. */
    log = rewrite_logged(&s, "host=" EP " user=admin");
    cr_expect(eq(str, log, ""));
}

Test(rewrite, dsqlauth_sslmode_warning_silenced_only_by_log_error)
{
    clean_env();
    const dsql_settings s = S(.ssl_floor = DSQL_SSL_VERIFY_CA, .ssl_floor_value = "verify-ca");
    setenv("DSQLAUTH_LOG", "error", 1);
    cr_expect(eq(str, rewrite_logged(&s, "host=" EP " user=admin"), ""));
}

Test(rewrite, dsqlauth_sslmode_verify_ca_warns_about_the_host_name)
{
    clean_env();
    const dsql_settings s = S(.ssl_floor = DSQL_SSL_VERIFY_CA, .ssl_floor_value = "verify-ca");
    setenv("DSQLAUTH_LOG", "warn", 1);
    char *log = rewrite_logged(&s, "host=" EP " user=admin");
    cr_expect(ne(ptr, strstr(log, "host name is not checked"), NULL), "%s", log);
}

Test(rewrite, silent_without_dsqlauth_log)
{
    clean_env();
    char *log = rewrite_logged(&defaults, "host=" EP " sslmode=disable password=x");
    cr_expect(eq(str, log, ""));
}

/* What a tool signs to match the rewrite: the endpoint, the expanded cluster id, or for a
 * PrivateLink vpce name the cluster's endpoint; also without a token (DSQL_REWRITE_NO_TOKEN). */
Test(rewrite, signed_for_names_what_the_token_is_signed_for)
{
    clean_env();
    static const struct {
        const char *conninfo, *want;
    } cases[] = {
        {"host=" EP, EP},
        {"host=ABCDEFGHIJKLMNOPQRSTUVWXYZ.DSQL.US-EAST-1.ON.AWS.", EP},
        {"host=" ID, EP},
        {"host=" VPCE " options='-c amzn-cluster-id=" ID "'", EP},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsql_conninfo *ci = NULL;
        dsql_error err = {0};
        cr_assert(
            eq(int, dsql_conninfo_from_string(&pq, &defaults, cases[i].conninfo, &ci), DSQL_OK));
        cr_expect(eq(ptr, (void *)dsql_conninfo_signed_for(ci), NULL), "none before a rewrite");
        cr_assert(eq(int, dsql_conninfo_rewrite(ci, &signer, DSQL_REWRITE_NO_TOKEN, &err), DSQL_OK),
                  "%s", err.message);
        cr_expect(eq(str, (char *)dsql_conninfo_signed_for(ci), (char *)cases[i].want), "%s",
                  cases[i].conninfo);
        dsql_conninfo_free(ci);
    }
}
