/* SPDX-License-Identifier: MIT */
/*
 * test_wipe.c: secrets are wiped before their memory is released. Every block freed while a
 * test body runs (by us, OpenSSL, jansson, libc) is searched, just before it is released, for
 * the secret access key, the session token (raw and URI-encoded), the SigV4 signing key (raw
 * and hex) and the signature of each token made. In a plain build the test program's own
 * free() and realloc() stand in front of glibc's (the dynamic linker resolves every library's
 * calls to them); under AddressSanitizer, whose allocator replaces glibc's, its free hook does
 * the same job.
 */
#include "creds/creds.h"
#include "fake_aws.h"
#include "shim/rewrite.h"
#include "sign/endpoint.h"
#include "sign/sigv4.h"
#include "token_verify.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define KEYID "AKIAWIPETEST00000001"
#define SECRET "wipeSECRETkey0123456789/abcdefghij+KLMNO"
#define SESSION "wipeSESSIONtoken//IQoJb3JpZ2luX2VjE+ZGVzdA==0123456789abcdefXYZ"
#define HOST "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"
#define SIGNING_TIME 1764000000 /* 2025-11-24T16:00:00Z */

/* ---- what to look for, and the hook --------------------------------------------------------- */

#define MAX_NEEDLES 32
static struct {
    const char *name;
    unsigned char bytes[256];
    size_t len;
} needles[MAX_NEEDLES];
static size_t nneedles;
static volatile int scanning;
/* volatile: the compiler takes free() for the builtin, which it assumes touches no globals. */
static volatile int hits, libpq_hits;
static char first_hit[512];
static __thread int in_hook;

/*
 * The object that released the block: the first frame outside this program and the
 * sanitizer runtime. libpq's own copies (PQconninfoParse duplicates the whole connection
 * string, password and all, and frees it unwiped) are the caller's libpq's business, as they
 * are whenever that program connects; they are counted apart and do not fail the test.
 */
static const char *releaser(void)
{
    void *frames[16];
    int n = backtrace(frames, 16);
    Dl_info self, info;
    dladdr((void *)releaser, &self);
    for (int i = 1; i < n; i++) {
        if (dladdr(frames[i], &info) == 0 || info.dli_fname == NULL)
            continue;
        if (info.dli_fbase == self.dli_fbase || strstr(info.dli_fname, "libasan") != NULL)
            continue;
        return info.dli_fname;
    }
    return "?";
}

static void add_needle(const char *name, const void *p, size_t len)
{
    cr_assert_lt(nneedles, MAX_NEEDLES);
    cr_assert_leq(len, sizeof needles[0].bytes);
    needles[nneedles].name = name;
    memcpy(needles[nneedles].bytes, p, len);
    needles[nneedles].len = len;
    nneedles++;
}

/*
 * libcurl composes each request in a buffer of its own and frees it unwiped; for a signed STS
 * call that buffer holds the source credentials' X-Amz-Security-Token header. Only a global
 * allocator hook (curl_global_init_mem) could reach it, which a library inside someone else's
 * process must not install; a test that expects it names the needle here.
 */
static const char *curl_request_residue;
static volatile int curl_hits;

/* Records a hit when the block at p (size bytes, about to be released) holds a needle. */
static void inspect(const void *p, size_t size)
{
    if (!scanning || p == NULL || in_hook)
        return;
    in_hook = 1;
    const char *who = NULL, *found = NULL;
    int tolerated = 0;
    for (size_t i = 0; i < nneedles; i++) {
        if (size < needles[i].len || memmem(p, size, needles[i].bytes, needles[i].len) == NULL)
            continue;
        if (who == NULL)
            who = releaser();
        if (curl_request_residue != NULL && strstr(who, "/libcurl.so") != NULL &&
            strstr(needles[i].name, curl_request_residue) != NULL) {
            tolerated = 1;
            continue;
        }
        found = needles[i].name;
        break;
    }
    if (found != NULL && strstr(who, "/libpq.so") != NULL) {
        libpq_hits++;
    } else if (found != NULL) {
        if (hits++ == 0)
            snprintf(first_hit, sizeof first_hit,
                     "%s in a freed block of %zu bytes, "
                     "released from %s",
                     found, size, who);
    } else if (tolerated) {
        curl_hits++;
    }
    in_hook = 0;
}

#ifdef UNDER_ASAN
/* The sanitizer runtime's allocator interface (sanitizer/allocator_interface.h, which GCC's
 * packages do not always ship). */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);
static void free_hook(const volatile void *p)
{
    if (p != NULL && scanning && !in_hook)
        inspect((const void *)p, __sanitizer_get_allocated_size((const void *)p));
}
static void malloc_hook(const volatile void *p, size_t n)
{
    (void)p, (void)n;
}
static void install(void)
{
    static int done;
    if (!done)
        __sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook);
    done = 1;
}
#else
extern void __libc_free(void *);
extern void *__libc_realloc(void *, size_t);

void free(void *p)
{
    if (p != NULL && scanning)
        inspect(p, malloc_usable_size(p));
    __libc_free(p);
}

void *realloc(void *p, size_t n)
{
    /* A moved block is released with its old contents: search it before, count it if moved. */
    int before = hits;
    if (p != NULL && scanning)
        inspect(p, malloc_usable_size(p));
    int held = hits != before;
    hits = before;
    void *q = __libc_realloc(p, n);
    if (held && (q != p || n == 0)) {
        hits++;
    }
    return q;
}

static void install(void)
{
}
#endif

/* The needles for one secret pair: raw secrets, AWS4+secret, today's signing key (raw, hex). */
static void add_secret_needles(const char *secret, const char *session)
{
    add_needle("the secret access key", secret, strlen(secret));
    char k[128];
    snprintf(k, sizeof k, "AWS4%s", secret);
    add_needle("AWS4 + the secret access key", k, strlen(k));
    if (session != NULL) {
        add_needle("the session token", session, strlen(session));
        dsql_buf enc;
        dsql_buf_init(&enc);
        dsql_uri_encode(&enc, session, strlen(session));
        add_needle("the URI-encoded session token", enc.data, enc.len);
        dsql_buf_cleanup(&enc);
    }
    unsigned char key[DSQL_SHA256_LEN];
    char hex[DSQL_SHA256_HEX_LEN + 1];
    dsql_amz_time at;
    cr_assert_eq(dsql_amz_time_from_unix(SIGNING_TIME, &at), 0);
    cr_assert_eq(dsql_sigv4_signing_key(secret, at.date, "us-east-1", "dsql", key), 0);
    add_needle("the signing key", key, sizeof key);
    dsql_hex(key, sizeof key, hex);
    add_needle("the signing key in hex", hex, strlen(hex));
}

static void add_token_needles(const char *token)
{
    const char *sig = strstr(token, "X-Amz-Signature=");
    cr_assert(sig != NULL);
    add_needle("a token's signature", sig + 16, strlen(sig + 16));
}

static void start(void)
{
    install();
    hits = 0;
    libpq_hits = 0;
    curl_hits = 0;
    first_hit[0] = '\0';
    scanning = 1;
}

static void stop_and_expect_clean(void)
{
    scanning = 0;
    cr_expect_eq(hits, 0, "%d freed blocks held a secret; the first: %s", hits, first_hit);
}

static void setup(void)
{
    nneedles = 0;
    add_secret_needles(SECRET, SESSION);
    /* Criterion, stdio, backtrace and OpenSSL's one-time set-up allocate on first use. */
    void *frames[4];
    backtrace(frames, 4);
    dsql_credentials *c = NULL;
    char *t = NULL;
    cr_assert_eq(dsql_credentials_new("AKIAWARMUP0000000000", "warmup", NULL, 0, "t", &c, NULL),
                 DSQL_OK);
    dsql_token_params p = {.hostname = HOST, .region = "us-east-1", .signing_time = SIGNING_TIME};
    cr_assert_eq(dsql_token_generate(c, &p, &t, NULL), DSQL_OK);
    dsql_token_free(t);
    dsql_credentials_free(c);
}

TestSuite(wipe, .init = setup);

/* ---- the detector works -----------------------------------------------------------------------
 */

/* Keeps the compiler from pairing up and removing an allocation and its release. */
static void *volatile sink;

Test(wipe, an_unwiped_secret_is_seen)
{
    start();
    char *s = malloc(128);
    memcpy(s, "prefix " SECRET " suffix", sizeof("prefix " SECRET " suffix"));
    sink = s;
    free(sink);
    scanning = 0;
    int after_free = hits;
    cr_expect_eq(after_free, 1, "free: %d", after_free);
    cr_expect(strstr(first_hit, "the secret access key") != NULL, "%s", first_hit);

    char *r = malloc(64);
    memcpy(r, SESSION, sizeof SESSION);
    sink = r;
    scanning = 1;
    r = realloc(sink, 1 << 20); /* moves: the old block goes with the token in it */
    scanning = 0;
    int after_realloc = hits;
    free(r);
    cr_expect_eq(after_realloc, 2, "realloc: %d", after_realloc - 1);

    scanning = 1;
    OPENSSL_free(OPENSSL_strdup(SECRET)); /* released from inside libcrypto */
    scanning = 0;
    int after_openssl = hits;
    cr_expect_eq(after_openssl, 3, "OPENSSL_free: %d", after_openssl - 2);
}

/* ---- the library ------------------------------------------------------------------------------
 */

static char *sign(dsql_credentials *c, int admin)
{
    char *t = NULL;
    dsql_error err;
    dsql_token_params p = {
        .hostname = HOST, .region = "us-east-1", .admin = admin, .signing_time = SIGNING_TIME};
    cr_assert_eq(dsql_token_generate(c, &p, &t, &err), DSQL_OK, "%s", err.message);
    return t;
}

Test(wipe, static_credentials_tokens_and_the_key_cache)
{
    start();
    dsql_credentials *c = NULL;
    cr_assert_eq(dsql_credentials_new(KEYID, SECRET, SESSION, 0, "test", &c, NULL), DSQL_OK);
    char *a = sign(c, 1), *b = sign(c, 0), *again = sign(c, 1); /* the last from the cache */
    add_token_needles(a);
    add_token_needles(b);
    dsql_token_free(a);
    dsql_token_free(b);
    dsql_token_free(again);
    dsql_credentials_free(c);
    stop_and_expect_clean();
}

/* Resolves credentials through the chain (whatever the environment configures) and signs. */
static void resolve_and_sign(void)
{
    dsql_credentials *c = NULL;
    dsql_error err;
    cr_assert_eq(dsql_credentials_resolve(NULL, &c, &err), DSQL_OK, "%s", err.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), KEYID);
    char *t = sign(c, 1);
    add_token_needles(t);
    dsql_token_free(t);
    dsql_credentials_free(c);
}

static void no_ambient_credentials(void)
{
    static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
                                       "AWS_SECRET_ACCESS_KEY",
                                       "AWS_SESSION_TOKEN",
                                       "AWS_SECURITY_TOKEN",
                                       "AWS_PROFILE",
                                       "AWS_DEFAULT_PROFILE",
                                       "AWS_CONFIG_FILE",
                                       "AWS_SHARED_CREDENTIALS_FILE",
                                       "AWS_ROLE_ARN",
                                       "AWS_WEB_IDENTITY_TOKEN_FILE",
                                       "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                       "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                       "DSQLAUTH_LOG"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
}

Test(wipe, environment_credentials)
{
    no_ambient_credentials();
    setenv("AWS_ACCESS_KEY_ID", KEYID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_SESSION_TOKEN", SESSION, 1);
    start();
    resolve_and_sign();
    stop_and_expect_clean();
}

/* The temporary directory of this test's files (each test runs in a process of its own),
 * removed when that process ends; the tests unlink their files themselves. */
static char wipe_dir[64];

static void remove_wipe_dir(void)
{
    rmdir(wipe_dir);
}

/* A file in a fresh temporary directory; returns its path (static storage per call site). */
static void write_file(char *path, size_t len, const char *name, const char *text, int mode)
{
    if (wipe_dir[0] == '\0') {
        snprintf(wipe_dir, sizeof wipe_dir, "/tmp/dsqlauth-wipe.XXXXXX");
        cr_assert(mkdtemp(wipe_dir) != NULL);
        atexit(remove_wipe_dir);
    }
    snprintf(path, len, "%s/%s", wipe_dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL);
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
}

Test(wipe, shared_credentials_file)
{
    no_ambient_credentials();
    char path[128];
    write_file(path, sizeof path, "credentials",
               "[default]\naws_access_key_id = " KEYID "\naws_secret_access_key = " SECRET
               "\naws_session_token = " SESSION "\n",
               0600);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    start();
    resolve_and_sign();
    stop_and_expect_clean();
    unlink(path);
}

Test(wipe, credential_process)
{
    no_ambient_credentials();
    char script[128], config[256], path[128];
    write_file(script, sizeof script, "cp.sh",
               "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"" KEYID
               "\", \"SecretAccessKey\": \"" SECRET "\", \"SessionToken\": \"" SESSION "\"}'\n",
               0700);
    snprintf(config, sizeof config, "[default]\ncredential_process = %s\n", script);
    write_file(path, sizeof path, "config", config, 0600);
    setenv("AWS_CONFIG_FILE", path, 1);
    start();
    resolve_and_sign();
    stop_and_expect_clean();
    unlink(script);
    unlink(path);
}

/* The container endpoint over loopback HTTP: the response passes through libcurl. */
Test(wipe, container_credentials_over_http, .timeout = 30)
{
    no_ambient_credentials();
    fake_server fs;
    fake_server_start(&fs, "{\"routes\":[{\"path\":\"/creds\",\"responses\":[{\"body\":"
                           "\"{\\\"AccessKeyId\\\":\\\"" KEYID "\\\",\\\"SecretAccessKey\\\":"
                           "\\\"" SECRET "\\\",\\\"Token\\\":\\\"" SESSION "\\\","
                           "\\\"Expiration\\\":\\\"{{EXPIRATION}}\\\"}\",\"expires_in\":3600}]}]}");
    char uri[160];
    snprintf(uri, sizeof uri, "%s/creds", fs.base);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    start();
    resolve_and_sign();
    stop_and_expect_clean();
    fake_server_stop(&fs);
}

/*
 * Assume-role over loopback HTTP: the source credentials (a file) sign an STS request that
 * carries their session token; the answer brings the role's secret and session token.
 */
Test(wipe, assume_role_over_http, .timeout = 30)
{
    no_ambient_credentials();
    add_needle("the role's secret", "roleSECRETwipe0123456789abcdef", 30);
    add_needle("the role's received token", "roleSESSIONwipe0123456789abcdef", 31);
    fake_server fs;
    fake_server_start(&fs, "{\"routes\":[{\"method\":\"POST\",\"path\":\"/\",\"responses\":[{"
                           "\"body\":\"<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                           "<SessionToken>roleSESSIONwipe0123456789abcdef</SessionToken>"
                           "<SecretAccessKey>roleSECRETwipe0123456789abcdef</SecretAccessKey>"
                           "<Expiration>2030-01-02T03:04:05Z</Expiration><AccessKeyId>" KEYID
                           "</AccessKeyId></Credentials></AssumeRoleResult></AssumeRoleResponse>"
                           "\"}]}]}");
    fake_isolate_env(&fs);
    setenv("AWS_ENDPOINT_URL_STS", fs.base, 1);
    fake_aws_files(
        &fs,
        "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
        "source_profile = base\n",
        "[base]\naws_access_key_id = AKIABASE0000000000001\naws_secret_access_key = " SECRET
        "\naws_session_token = " SESSION "\n");
    curl_request_residue = "session token"; /* sent as X-Amz-Security-Token (see above) */
    start();
    resolve_and_sign();
    curl_request_residue = NULL;
    stop_and_expect_clean();
    cr_log_info("%d blocks libcurl freed unwiped with the source session token in its request",
                curl_hits);
    fake_server_stop(&fs);
}

/* ---- the local endpoint's verifier ---------------------------------------------------------- */

static int lookup(void *ctx, const char *akid, dsql_credentials **out)
{
    (void)ctx;
    if (strcmp(akid, KEYID) != 0)
        return -1;
    return dsql_credentials_new(KEYID, SECRET, SESSION, 0, "keys", out, NULL) == DSQL_OK ? 0 : -1;
}

Test(wipe, token_verification_pass_and_fail)
{
    dsql_credentials *c = NULL;
    cr_assert_eq(dsql_credentials_new(KEYID, SECRET, SESSION, 0, "test", &c, NULL), DSQL_OK);
    char *t = sign(c, 1);
    dsql_credentials_free(c);
    add_token_needles(t);
    char *bad = strdup(t);
    char *sig = strstr(bad, "X-Amz-Signature=") + 16;
    sig[0] = sig[0] == '0' ? '1' : '0';
    dsql_token_verify_params vp = {.hostname = HOST,
                                   .region = "us-east-1",
                                   .user = "admin",
                                   .now = SIGNING_TIME + 10,
                                   .lookup = lookup};
    dsql_error err;
    start();
    cr_expect_eq(dsql_token_verify(t, &vp, &err), DSQL_OK, "%s", err.message);
    cr_expect_eq(dsql_token_verify(bad, &vp, &err), DSQL_ERR_AUTH);
    stop_and_expect_clean();
    dsql_token_free(t);
    dsql_token_free(bad);
}

/* ---- the shim's rewrite, with the real signer --------------------------------------------- */

static int lib_version(void)
{
    return 150000;
}

static const dsql_pq_api pq = {
    .conninfo_parse = PQconninfoParse,
    .conninfo_free = PQconninfoFree,
    .freemem = PQfreemem,
    .lib_version = lib_version,
};

/* A process with nothing set: the settings the rewrite reads (test_rewrite.c covers others). */
static const dsql_settings settings = {
    .schema = "myschema",
    .ssl_floor = DSQL_SSL_VERIFY_FULL,
    .ca_bundle = "/etc/ssl/certs/ca-certificates.crt",
};

static char *issued[8];
static int nissued;

static int real_endpoint(const char *id, char *out, size_t len, dsql_error *err)
{
    return dsql_endpoint_resolve(id, "us-east-1", out, len, err);
}

/* The library's signer at the fixed time, remembering each token's signature as a needle. */
static int real_token(const char *host, const char *user, char **token, dsql_error *err)
{
    dsql_credentials *c = NULL;
    int rc = dsql_credentials_new(KEYID, SECRET, SESSION, 0, "test", &c, err);
    if (rc != DSQL_OK)
        return rc;
    dsql_token_params p = {.hostname = host,
                           .region = "us-east-1",
                           .admin = strcmp(user, "admin") == 0,
                           .signing_time = SIGNING_TIME};
    rc = dsql_token_generate(c, &p, token, err);
    dsql_credentials_free(c);
    if (rc == DSQL_OK) {
        int was = scanning;
        scanning = 0;
        add_token_needles(*token);
        scanning = was;
        issued[nissued++] = *token;
    }
    return rc;
}

static const dsql_signer signer = {real_endpoint, real_token, dsql_token_free};

static void rewrite(const char *conninfo)
{
    unsetenv("DSQLAUTH_LOG");
    start();
    dsql_conninfo *ci = NULL;
    dsql_error err;
    cr_assert_eq(dsql_conninfo_from_string(&pq, &settings, conninfo, &ci), DSQL_OK);
    cr_assert_eq(dsql_conninfo_target(ci), DSQL_TARGET_DSQL);
    cr_assert_eq(dsql_conninfo_rewrite(ci, &signer, 0, &err), DSQL_OK, "%s", err.message);
    dsql_conninfo_free(ci);
    stop_and_expect_clean();
    if (libpq_hits > 0)
        cr_log_info("%d blocks libpq itself freed unwiped (its copy of the connection string)",
                    libpq_hits);
}

Test(wipe, shim_rewrite_one_endpoint_and_a_typed_password)
{
    rewrite("host=" HOST " user=admin password=" SECRET);
}

Test(wipe, shim_rewrite_two_endpoints_through_the_password_file)
{
    rewrite("host=" HOST ",zzzzzzzzzzzzzzzzzzzzzzzzzz.dsql.us-east-1.on.aws user=app");
    cr_expect_eq(nissued, 2);
}

/* A token the caller passes in, kept: the parsed copy libpq made is wiped before it is freed. */
Test(wipe, shim_rewrite_keeps_a_callers_token)
{
    dsql_credentials *c = NULL;
    cr_assert_eq(dsql_credentials_new(KEYID, SECRET, SESSION, 0, "test", &c, NULL), DSQL_OK);
    char *t = sign(c, 1);
    dsql_credentials_free(c);
    add_token_needles(t);
    char conninfo[4096];
    snprintf(conninfo, sizeof conninfo, "host=%s user=admin password=%s", HOST, t);
    rewrite(conninfo);
    dsql_token_free(t);
}
