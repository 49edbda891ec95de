/* SPDX-License-Identifier: MIT */
/* test_token.c: DSQL tokens, byte-exact against boto3/@aws-sdk/dsql-signer and checked live. */
#include "creds/creds.h"
#include "dsqlauth.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOST "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"
#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define STOKEN "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+/="

struct vector {
    const char *host, *region, *akid, *secret, *session_token;
    int64_t expires;
    int admin;
    int64_t when;
    const char *signature;
};

/*
 * Signatures produced, for these exact inputs, by botocore 1.43's
 * generate_db_connect[_admin]_auth_token, by Debian 12's botocore SigV4QueryAuth with service
 * dsql, and by @aws-sdk/dsql-signer 3.1142 (all three agreed; tests/core/ref_*.{py,js}).
 */
static const struct vector golden[] = {
    {HOST, "us-east-1", AKID, SECRET, NULL, 900, 0, 1767323045,
     "8b6d2b8ab29be458983603748d1dadf7ad5f11accec2fc0aa852a24a4298fbd5"},
    {HOST, "us-east-1", AKID, SECRET, NULL, 900, 1, 1767323045,
     "26d1f18bf679a98140724e892e3d07d80976ff5560075d410d119ea08ce9cfa4"},
    {HOST, "us-east-1", AKID, SECRET, STOKEN, 900, 0, 1767323045,
     "9a300f0cd9ebc362c772f4c4f1701984c5754c7e81378c326e6acfc6bd2e370a"},
    {HOST, "us-east-1", AKID, SECRET, STOKEN, 900, 1, 1767323045,
     "046d4fc03c0cb7389b1e11d1fceddaaebed0c06cd09624a6adc3d106fd1a0472"},
    {"k5abcdefghijklmnopqrstuvwx.dsql.eu-west-1.on.aws", "eu-west-1", "AKIDEXAMPLE",
     "a+b/c+d/e+f/g+h/i+j/k+l/m+n/o+p/q+r/s", STOKEN, 1, 0, 1767323045,
     "bf7748890e9b7306a251520b4a08356416ef00dab5d44e0acb7a377bfd953761"},
    {"k5abcdefghijklmnopqrstuvwx.dsql.ap-northeast-1.on.aws", "ap-northeast-1",
     "ASIAEXAMPLEKEY12345", "++//++//++//++//++//++//++//++//++//++/+", NULL, 604800, 1, 1767323045,
     "75e40919a807c2600e1b9cbed6351af53b03a929519ad7c8f34c786949803146"},
    /* One second either side of midnight: the date in the scope rolls over. */
    {HOST, "us-east-1", AKID, SECRET, NULL, 900, 0, 1767225599,
     "21d7e94c960552cd42124219e6f9e751b89bbad6c3f9cfbbd61ff3686887654c"},
    {HOST, "us-east-1", AKID, SECRET, NULL, 900, 0, 1767225600,
     "fe4993526dcd3aad425939dbd405d5c12c440baddfef2bea66df4858f82f671f"},
    {HOST, "us-east-1", AKID, SECRET, NULL, 3600, 0, 951782400,
     "853164c6cf9d235b99664e3ca8c5ffa63d3a3d1f46d483ef6baf959fdf632b37"},
    {"cluster.dsql-gamma.us-west-2.on.aws", "us-west-2", AKID, SECRET, NULL, 900, 0, 2000000000,
     "1c7ed7cfcb8ff1380ae43f8a8e5d4fcad25b508001afee87d93c8a681b05d7cf"},
};

static dsql_credentials *creds_of(const struct vector *v)
{
    dsql_credentials *c = NULL;
    dsql_error err;
    cr_assert_eq(dsql_credentials_new(v->akid, v->secret, v->session_token, 0, "test", &c, &err),
                 DSQL_OK, "%s", err.message);
    return c;
}

static char *sign(dsql_credentials *c, const struct vector *v, const char *host)
{
    dsql_token_params p = {.hostname = host ? host : v->host,
                           .region = v->region,
                           .admin = v->admin,
                           .expires_in = v->expires,
                           .signing_time = v->when};
    char *tok = NULL;
    dsql_error err;
    int rc = dsql_token_generate(c, &p, &tok, &err);
    cr_assert_eq(rc, DSQL_OK, "%s", err.message);
    return tok;
}

static const char *signature_of(const char *tok)
{
    const char *s = strstr(tok, "&X-Amz-Signature=");
    cr_assert_not_null(s);
    return s + strlen("&X-Amz-Signature=");
}

Test(token, golden_signatures)
{
    for (size_t i = 0; i < sizeof golden / sizeof *golden; i++) {
        dsql_credentials *c = creds_of(&golden[i]);
        char *tok = sign(c, &golden[i], NULL);
        cr_assert_str_eq(signature_of(tok), golden[i].signature, "vector %zu: %s", i, tok);
        dsql_token_free(tok);
        dsql_credentials_free(c);
    }
}

Test(token, exact_layout)
{
    dsql_credentials *c = creds_of(&golden[3]);
    char *tok = sign(c, &golden[3], NULL);
    cr_assert_str_eq(tok, HOST
                     "/?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256"
                     "&X-Amz-Credential=" AKID "%2F20260102%2Fus-east-1%2Fdsql%2Faws4_request"
                     "&X-Amz-Date=20260102T030405Z&X-Amz-Expires=900"
                     "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F"
                     "wEaCXVzLWVhc3QtMSJHMEUCIQ%2B%2F%3D&X-Amz-SignedHeaders=host"
                     "&X-Amz-Signature=046d4fc03c0cb7389b1e11d1fceddaaebed0c06cd09624a6adc3d106"
                     "fd1a0472");
    cr_assert_null(strstr(tok, "https://"));
    dsql_token_free(tok);
    dsql_credentials_free(c);
}

Test(token, host_is_lowercased_and_port_dropped)
{
    dsql_credentials *c = creds_of(&golden[0]);
    char *tok = sign(c, &golden[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZ.dsql.US-EAST-1.on.aws:5432");
    cr_assert_str_eq(signature_of(tok), golden[0].signature);
    cr_assert_eq(strncmp(tok, HOST "/?", strlen(HOST) + 2), 0);
    dsql_token_free(tok);
    dsql_credentials_free(c);
}

Test(token, default_expiry_is_900)
{
    struct vector v = golden[0];
    v.expires = 0;
    dsql_credentials *c = creds_of(&v);
    char *tok = sign(c, &v, NULL);
    cr_assert_not_null(strstr(tok, "&X-Amz-Expires=900&"));
    cr_assert_str_eq(signature_of(tok), golden[0].signature);
    dsql_token_free(tok);
    dsql_credentials_free(c);
}

static int fails(dsql_credentials *c, dsql_token_params p, int code, const char *needle)
{
    char *tok = (char *)"untouched";
    dsql_error err = {0};
    int rc = dsql_token_generate(c, &p, &tok, &err);
    cr_assert_eq(rc, code, "rc %d: %s", rc, err.message);
    cr_assert_eq(err.code, code);
    cr_assert_str_eq(tok, "untouched", "out-parameter set on failure");
    cr_assert(strstr(err.message, needle) != NULL, "'%s' lacks '%s'", err.message, needle);
    cr_assert_null(strstr(err.message, SECRET));
    return 1;
}

Test(token, rejects_bad_input_with_a_clear_error)
{
    dsql_credentials *c = creds_of(&golden[0]);
    dsql_token_params ok = {.hostname = HOST, .region = "us-east-1", .signing_time = 1767323045};
    dsql_token_params p = ok;
    p.expires_in = -1;
    fails(c, p, DSQL_ERR_INVALID, "1 to 604800");
    p.expires_in = 604801;
    fails(c, p, DSQL_ERR_INVALID, "1 to 604800");
    p = ok;
    p.hostname = "";
    fails(c, p, DSQL_ERR_INVALID, "hostname");
    p.hostname = "evil.host/?Action=x";
    fails(c, p, DSQL_ERR_INVALID, "hostname");
    p.hostname = NULL;
    fails(c, p, DSQL_ERR_INVALID, "hostname");
    p = ok;
    p.region = "US East";
    fails(c, p, DSQL_ERR_REGION, "region");
    p.region = NULL;
    fails(c, p, DSQL_ERR_REGION, "region");
    fails(NULL, ok, DSQL_ERR_INVALID, "required");
    dsql_credentials_free(c);
}

Test(token, expiry_is_capped_at_the_credentials_own)
{
    dsql_credentials *c = NULL;
    cr_assert_eq(dsql_credentials_new(AKID, SECRET, STOKEN, 1767323045 + 300, "test-src", &c, NULL),
                 DSQL_OK);
    dsql_token_params p = {.hostname = HOST, .region = "us-east-1", .signing_time = 1767323045};
    char *tok = NULL;
    cr_assert_eq(dsql_token_generate(c, &p, &tok, NULL), DSQL_OK);
    cr_assert_not_null(strstr(tok, "&X-Amz-Expires=300&"), "%s", tok);
    dsql_token_free(tok);
    p.signing_time = 1767323045 + 300;
    fails(c, p, DSQL_ERR_CREDENTIALS, "test-src have expired");
    dsql_credentials_free(c);
}

Test(token, every_expiry_bound_is_accepted)
{
    dsql_credentials *c = creds_of(&golden[0]);
    int64_t e[] = {1, 900, 604800};
    for (size_t i = 0; i < 3; i++) {
        dsql_token_params p = {.hostname = HOST,
                               .region = "us-east-1",
                               .expires_in = e[i],
                               .signing_time = 1767323045};
        char *tok = NULL;
        char want[64];
        snprintf(want, sizeof want, "&X-Amz-Expires=%lld&", (long long)e[i]);
        cr_assert_eq(dsql_token_generate(c, &p, &tok, NULL), DSQL_OK);
        cr_assert_not_null(strstr(tok, want));
        dsql_token_free(tok);
    }
    dsql_credentials_free(c);
}

Test(token, signing_key_cache_follows_the_date)
{
    /* The same credential object signs across midnight: the cached key must not be reused. */
    dsql_credentials *c = creds_of(&golden[6]);
    for (int round = 0; round < 3; round++) {
        char *a = sign(c, &golden[6], NULL);
        char *b = sign(c, &golden[7], NULL);
        cr_assert_str_eq(signature_of(a), golden[6].signature);
        cr_assert_str_eq(signature_of(b), golden[7].signature);
        dsql_token_free(a);
        dsql_token_free(b);
    }
    /* More regions than cache slots, interleaved. */
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof golden / sizeof *golden; i++) {
            if (strcmp(golden[i].secret, SECRET) != 0 || golden[i].session_token != NULL)
                continue;
            char *t = sign(c, &golden[i], NULL);
            cr_assert_str_eq(signature_of(t), golden[i].signature, "vector %zu", i);
            dsql_token_free(t);
        }
    dsql_credentials_free(c);
}

static void *sign_many(void *arg)
{
    dsql_credentials *c = arg;
    for (int i = 0; i < 500; i++) {
        const struct vector *v = &golden[i % 2];
        dsql_token_params p = {.hostname = v->host,
                               .region = v->region,
                               .admin = v->admin,
                               .expires_in = v->expires,
                               .signing_time = v->when};
        char *tok = NULL;
        if (dsql_token_generate(c, &p, &tok, NULL) != DSQL_OK)
            return (void *)1;
        int bad = strcmp(strstr(tok, "&X-Amz-Signature=") + 17, v->signature) != 0;
        dsql_token_free(tok);
        if (bad)
            return (void *)1;
    }
    return NULL;
}

Test(token, one_credential_set_shared_by_threads)
{
    dsql_credentials *c = creds_of(&golden[0]);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, sign_many, c);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        cr_assert_null(r, "a thread produced a wrong token");
    }
    dsql_credentials_free(c);
}

Test(token, credentials_contract)
{
    dsql_credentials *c = NULL;
    dsql_error err;
    cr_assert_eq(dsql_credentials_new("", SECRET, NULL, 0, NULL, &c, &err), DSQL_ERR_INVALID);
    cr_assert_eq(dsql_credentials_new(AKID, NULL, NULL, 0, NULL, &c, &err), DSQL_ERR_INVALID);
    cr_assert_null(c);
    cr_assert_eq(dsql_credentials_new(AKID, SECRET, "", 0, NULL, &c, &err), DSQL_OK);
    cr_assert_not(dsql_credentials_has_session_token(c));
    cr_assert_str_eq(dsql_credentials_source(c), "static");
    cr_assert_str_eq(dsql_credentials_access_key_id(c), AKID);
    cr_assert_eq(dsql_credentials_ref(c), c);
    dsql_credentials_free(c);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), AKID); /* still one reference */
    dsql_credentials_free(c);
    dsql_credentials_free(NULL);
    dsql_token_free(NULL);
    cr_assert_str_eq(dsql_strerror(DSQL_ERR_REGION), "no usable AWS region");
    cr_assert_str_eq(dsql_version(), DSQL_VERSION);
}

/*
 * The live cross-check: a few hundred random inputs (secrets and session tokens full of '/',
 * '+' and '=', random times and expiries, admin or not) signed here and by Debian's botocore
 * in the same run. Needs /usr/bin/python3 with python3-botocore (tools/bootstrap installs it).
 */
Test(token, matches_botocore_on_random_inputs, .timeout = 60)
{
    const char *root = getenv("DSQLAUTH_SOURCE_ROOT");
    cr_assert_not_null(root, "DSQLAUTH_SOURCE_ROOT is not set (run through meson test)");
    char in_path[] = "/tmp/dsqlauth-ref-in-XXXXXX";
    int fd = mkstemp(in_path);
    cr_assert_geq(fd, 0);
    FILE *in = fdopen(fd, "w");
    enum { N = 300 };
    static char lines[N][1024];
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    static const char *regions[] = {"us-east-1",      "us-east-2",    "eu-west-1",
                                    "ap-northeast-1", "eu-central-1", "us-west-2"};
    srand(12345);
    for (int i = 0; i < N; i++) {
        char secret[41], st[200], id[27];
        for (int k = 0; k < 40; k++)
            secret[k] = alpha[rand() % 65];
        secret[40] = '\0';
        int stlen = (i % 3 == 0) ? 0 : 20 + rand() % 170;
        for (int k = 0; k < stlen; k++)
            st[k] = alpha[rand() % 65];
        st[stlen] = '\0';
        for (int k = 0; k < 26; k++)
            id[k] = "abcdefghijklmnopqrstuvwxyz0123456789"[rand() % 36];
        id[26] = '\0';
        const char *region = regions[rand() % 6];
        long long expires = 1 + rand() % 604800;
        long long when = 946684800LL + (long long)(rand() % 1000000) * 3000;
        snprintf(lines[i], sizeof lines[i],
                 "%s.dsql.%s.on.aws\t%s\tAKIA%08dEXAMPLE\t%s\t%s\t%lld\t%d\t%lld", id, region,
                 region, i, secret, st, expires, i % 2, when);
        fprintf(in, "%s\n", lines[i]);
    }
    fclose(in);

    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/core/ref_botocore.py < %s", root, in_path);
    FILE *ref = popen(cmd, "r");
    cr_assert_not_null(ref);
    static char want[8192];
    for (int i = 0; i < N; i++) {
        cr_assert_not_null(fgets(want, sizeof want, ref), "botocore gave %d tokens", i);
        want[strcspn(want, "\n")] = '\0';
        char host[128], region[32], akid[32], secret[64], st[256];
        long long expires, when;
        int admin;
        /* Split our own line again (session token may be empty). */
        char *f[8], copy[1024];
        strcpy(copy, lines[i]);
        char *p = copy;
        for (int k = 0; k < 8; k++) {
            f[k] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = '\0';
        }
        snprintf(host, sizeof host, "%s", f[0]);
        snprintf(region, sizeof region, "%s", f[1]);
        snprintf(akid, sizeof akid, "%s", f[2]);
        snprintf(secret, sizeof secret, "%s", f[3]);
        snprintf(st, sizeof st, "%s", f[4]);
        expires = atoll(f[5]);
        admin = atoi(f[6]);
        when = atoll(f[7]);
        struct vector v = {host,    region, akid, secret, st[0] ? st : NULL,
                           expires, admin,  when, NULL};
        dsql_credentials *c = creds_of(&v);
        char *tok = sign(c, &v, NULL);
        const char *ws = strstr(want, "&X-Amz-Signature=");
        cr_assert_not_null(ws, "botocore output: %s", want);
        cr_assert_eq(strncmp(signature_of(tok), ws + 17, 64), 0, "input %d differs:\n%s\n%s", i,
                     tok, want);
        dsql_token_free(tok);
        dsql_credentials_free(c);
    }
    int status = pclose(ref);
    unlink(in_path);
    cr_assert_eq(status, 0, "the botocore reference failed");
}
