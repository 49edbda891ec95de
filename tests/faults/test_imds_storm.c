/* SPDX-License-Identifier: MIT */
/*
 * test_imds_storm.c: a connection storm through the shim's connect path (dsql_connectdb_params,
 * what the link-time wrapper and the preload run) while the loopback metadata service flips
 * between fault modes: slow beyond the timeout, connections dropped mid-response, garbage and
 * truncated documents, 500s, a failing token PUT, and valid credentials.
 *
 * Every attempt must either connect to a real dsqlauth-local, whose keys file holds exactly
 * the credentials the fake IMDS serves, or fail with an error naming the metadata service, and
 * either way within the metadata timeout budget. A second test serves wrong credentials and
 * requires that not one connection gets through.
 */
#include "creds/creds.h"
#include "creds/imds.h"
#include "dsqlauth-pq.h"
#include "fake_aws.h"
#include "local_server.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AKID "ASIASTORMIMDS0000001"
#define SECRET "stormSecret/Key+0123456789abcdefghijklmn"
#define SESSION "storm-session-token"
#define ROLE_PATH "/latest/meta-data/iam/security-credentials/"
#define ROLE "storm-role"

/* The metadata settings under test (as a user sets them) and what they allow per attempt. */
#define TIMEOUT_MS 300
#define ATTEMPTS 2
/*
 * One resolution makes at most three requests (token, role name, document), each tried up to
 * ATTEMPTS times and each bounded by the timeout; the TLS connection and PostgreSQL's backend
 * start come on top, on a loaded 2-core machine (possibly under ASan).
 */
#define BUDGET_MS (3 * ATTEMPTS * TIMEOUT_MS)
#define SLACK_MS 2500
#define SLOW_MS 5000 /* the slow mode's delay: an attempt that waited for it is over budget */

#define WORKERS 16 /* through the shim's connect path */
#define DIRECT 4   /* dsql_creds_fetch_imds itself, concurrently */
#define PHASE_MS 1200
#define CLEAR_EVERY_MS 150
#define JOIN_GRACE_S 30

static fake_server fs;
static char saved_dir[512], saved_port[16];

static void restore_harness_env(void)
{
    /* fake_isolate_env clears DSQLAUTH_*; the harness keeps the instance there. */
    setenv("DSQLAUTH_TEST_DIR", saved_dir, 1);
    setenv("DSQLAUTH_TEST_PORT", saved_port, 1);
}

static void stop(void)
{
    fake_server_stop(&fs);
}

TestSuite(imds_storm, .fini = stop);

/* ---- the fake's scenario -------------------------------------------------------------------- */

static json_t *resp_body(const char *body)
{
    return json_pack("{s:s}", "body", body);
}

static json_t *route(const char *method, const char *path, int cycle, json_t *responses)
{
    return json_pack("{s:s, s:s, s:b, s:o}", "method", method, "path", path, "cycle", cycle,
                     "responses", responses);
}

static json_t *doc(const char *akid, const char *secret, const char *token)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"%s\","
             "\"SecretAccessKey\":\"%s\",\"Token\":\"%s\",\"Expiration\":\"{{EXPIRATION}}\"}",
             akid, secret, token);
    return json_pack("{s:s, s:i}", "body", body, "expires_in", 21600);
}

/* token, role name, document: the three routes of one mode. */
static json_t *mode(json_t *token, json_t *role, json_t *document, int cycle)
{
    return json_pack("[o,o,o]", route("PUT", "/latest/api/token", cycle, token),
                     route("GET", ROLE_PATH, cycle, role),
                     route("GET", ROLE_PATH ROLE, cycle, document));
}

static json_t *ok_token(void)
{
    return json_pack("[o]", resp_body("STORM-TOKEN"));
}

static json_t *ok_role(void)
{
    return json_pack("[o]", resp_body(ROLE "\n"));
}

static json_t *ok_doc(void)
{
    return json_pack("[o]", doc(AKID, SECRET, SESSION));
}

static char *scenario(void)
{
    json_t *modes = json_object();
    json_object_set_new(modes, "ok", mode(ok_token(), ok_role(), ok_doc(), 0));
    /* Every answer well beyond the timeout. */
    json_object_set_new(modes, "slow",
                        mode(json_pack("[{s:i, s:s}]", "delay_ms", SLOW_MS, "body", "STORM-TOKEN"),
                             json_pack("[{s:i, s:s}]", "delay_ms", SLOW_MS, "body", ROLE),
                             json_pack("[{s:i, s:s}]", "delay_ms", SLOW_MS, "body", "{}"), 0));
    /* The document arrives a byte every 50 ms: each read is in time, the whole is not. */
    json_t *trickled = doc(AKID, SECRET, SESSION);
    json_object_set_new(trickled, "trickle_ms", json_integer(50));
    json_object_set_new(modes, "trickle",
                        mode(ok_token(), ok_role(), json_pack("[o]", trickled), 0));
    /* Connections dropped: mid-response (a body shorter than announced), reset, closed. */
    json_object_set_new(
        modes, "drop",
        mode(json_pack("[o, {s:b}]", resp_body("STORM-TOKEN"), "close", 1),
             json_pack("[o, {s:b}, o]", resp_body(ROLE), "reset", 1, resp_body(ROLE)),
             json_pack("[{s:s, s:b}, {s:b}, {s:b}]", "body", "{\"Code\":\"Success\",", "truncate",
                       1, "reset", 1, "close", 1),
             1));
    /* Garbage: HTML, JSON cut short (with a matching length), wrong types, an error document,
     * an empty body, an oversized body, a missing member, a role name that is not one. */
    json_object_set_new(
        modes, "garbage",
        mode(json_pack("[o, o, o]", resp_body("STORM-TOKEN"), resp_body("STORM\r\nX-Injected: yes"),
                       resp_body("")),
             json_pack("[o, o, o]", resp_body(ROLE), resp_body("<html>502 Bad Gateway</html>"),
                       resp_body(ROLE)),
             json_pack("[o, o, o, {s:{s:s, s:s}}, o, {s:i}, o]",
                       resp_body("<html><body>Service Unavailable</body></html>"),
                       resp_body("{\"Code\":\"Success\",\"AccessKeyId\":\"" AKID "\",\"Secr"),
                       resp_body("{\"Code\":\"Success\",\"AccessKeyId\":17,\"SecretAccessKey\""
                                 ":[],\"Token\":null,\"Expiration\":true}"),
                       "json", "Code", "InternalError", "Message", "metadata is busy",
                       resp_body(""), "oversize", 100000,
                       resp_body("{\"Code\":\"Success\",\"AccessKeyId\":\"" AKID "\","
                                 "\"SecretAccessKey\":\"" SECRET "\",\"Expiration\":"
                                 "\"2030-01-01T00:00:00Z\"}")),
             1));
    /* The session token revoked (401) now and then: renewed once per request. */
    json_object_set_new(
        modes, "revoked",
        mode(json_pack("[o, o]", resp_body("STORM-TOKEN-1"), resp_body("STORM-TOKEN-2")),
             json_pack("[{s:i}, o]", "status", 401, resp_body(ROLE)),
             json_pack("[o, {s:i}]", doc(AKID, SECRET, SESSION), "status", 401), 1));
    json_object_set_new(modes, "http500",
                        mode(json_pack("[{s:i}]", "status", 500),
                             json_pack("[{s:i}]", "status", 500),
                             json_pack("[{s:i}]", "status", 500), 0));
    /* The token PUT fails and IMDSv1 is refused (an instance that requires IMDSv2). */
    json_object_set_new(
        modes, "token_fail",
        mode(json_pack("[{s:i}, {s:b}, {s:b}, {s:i, s:i}]", "status", 500, "close", 1, "reset", 1,
                       "status", 503, "delay_ms", 50),
             json_pack("[{s:s, s:s}]", "body", ROLE, "require_header", "x-aws-ec2-metadata-token"),
             json_pack("[{s:s, s:s}]", "body", "{}", "require_header", "x-aws-ec2-metadata-token"),
             1));
    /* The token PUT is forbidden (IMDSv2 off): IMDSv1 answers with valid credentials. */
    json_object_set_new(modes, "v1_only",
                        mode(json_pack("[{s:i}]", "status", 403), ok_role(), ok_doc(), 0));
    /* Wrong credentials, for the second test: another secret, an unknown key, another session
     * token. */
    json_object_set_new(modes, "wrong",
                        mode(ok_token(), ok_role(),
                             json_pack("[o, o, o]", doc(AKID, "wrong" SECRET, SESSION),
                                       doc("ASIASTORMIMDS9999999", SECRET, SESSION),
                                       doc(AKID, SECRET, "other-session-token")),
                             1));
    json_t *root = json_pack("{s:[], s:o}", "routes", "modes", modes);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* ---- the workers ------------------------------------------------------------------------------
 */

enum outcome { CONNECTED, REFUSED_BY_FRONT, IMDS_FAILED, BAD, NOUTCOMES };

/* Kinds of metadata failure seen, so the test knows each fault reached the client. */
enum kind { K_TIMEOUT, K_DROPPED, K_GARBAGE, K_HTTP500, K_401, NKINDS };
static const char *const kind_names[NKINDS] = {"timeout", "dropped", "garbage", "HTTP 500",
                                               "HTTP 401"};

static int kind_of(const char *msg)
{
    if (strstr(msg, "timed out") != NULL)
        return K_TIMEOUT;
    if (strstr(msg, "truncated") != NULL || strstr(msg, "closed without") != NULL ||
        strstr(msg, "receiving data") != NULL || strstr(msg, "reset") != NULL)
        return K_DROPPED;
    if (strstr(msg, "HTTP 500") != NULL || strstr(msg, "HTTP 503") != NULL)
        return K_HTTP500;
    if (strstr(msg, "HTTP 401") != NULL)
        return K_401;
    return K_GARBAGE;
}

static struct {
    atomic_int stop;
    atomic_int done;
    atomic_int outcomes[NOUTCOMES];
    atomic_int kinds[NKINDS];
    atomic_int direct_ok, direct_failed;
    atomic_llong max_ms;
    pthread_mutex_t lock;
    int nbad;
    char bad[8][512];
    int wrong_mode; /* the second test: nothing may connect */
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

__attribute__((format(printf, 1, 2))) static void note_bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&st.lock);
    if (st.nbad < 8)
        vsnprintf(st.bad[st.nbad], sizeof st.bad[0], fmt, ap);
    st.nbad++;
    pthread_mutex_unlock(&st.lock);
    va_end(ap);
}

static void note_time(long long ms)
{
    long long m = atomic_load(&st.max_ms);
    while (ms > m && !atomic_compare_exchange_weak(&st.max_ms, &m, ms))
        ;
}

/* Whether a failed attempt's message is the clear one we require. */
static int names_metadata_service(const char *msg)
{
    return strncmp(msg, "dsqlauth: ", 10) == 0 && strstr(msg, "IMDS") != NULL;
}

static void *shim_worker(void *arg)
{
    (void)arg;
    char port[16];
    snprintf(port, sizeof port, "%d", h_port());
    const char *kw[] = {"host",        "hostaddr",        "port", "user", "dbname",
                        "sslrootcert", "connect_timeout", NULL};
    const char *val[] = {h_endpoint(), "127.0.0.1", port, "admin", "postgres", h_ca(), "10", NULL};
    while (!atomic_load(&st.stop)) {
        long long t0 = fake_now_ms();
        PGconn *c = dsql_connectdb_params(kw, val, 0);
        enum outcome o = BAD;
        const char *msg = c != NULL ? PQerrorMessage(c) : "out of memory";
        if (c != NULL && PQstatus(c) == CONNECTION_OK) {
            PGresult *r = PQexec(c, "SELECT current_user");
            if (PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "admin") == 0)
                o = CONNECTED;
            else
                note_bad("connected but the session failed: %s (%lld ms)", PQerrorMessage(c),
                         fake_now_ms() - t0);
            PQclear(r);
            if (st.wrong_mode && o == CONNECTED) {
                note_bad("connected with wrong credentials from IMDS (%lld ms)",
                         fake_now_ms() - t0);
                o = BAD;
            }
        } else if (names_metadata_service(msg)) {
            o = IMDS_FAILED;
            atomic_fetch_add(&st.kinds[kind_of(msg)], 1);
        } else if (st.wrong_mode &&
                   strstr(msg, "password authentication failed for user \"admin\"") != NULL) {
            o = REFUSED_BY_FRONT; /* the front's 28P01 */
        } else {
            note_bad("unclear failure: %s (%lld ms)", msg, fake_now_ms() - t0);
        }
        long long ms = fake_now_ms() - t0;
        note_time(ms);
        if (ms > BUDGET_MS + SLACK_MS)
            note_bad("over the budget: %s (%lld ms)", o == CONNECTED ? "connected" : msg, ms);
        atomic_fetch_add(&st.outcomes[o], 1);
        PQfinish(c);
    }
    atomic_fetch_add(&st.done, 1);
    return NULL;
}

/* The credential source on its own, from several threads at once (no chain in front). */
static void *direct_worker(void *arg)
{
    (void)arg;
    while (!atomic_load(&st.stop)) {
        long long t0 = fake_now_ms();
        dsql_credentials *c = NULL;
        dsql_error e = {0};
        int rc = dsql_creds_fetch_imds(NULL, &c, &e);
        long long ms = fake_now_ms() - t0;
        note_time(ms);
        if (rc == DSQL_OK) {
            const char *tok = dsql_credentials_session_token(c);
            if (strcmp(dsql_credentials_access_key_id(c), AKID) != 0 ||
                strcmp(dsql_credentials_secret(c), SECRET) != 0 || tok == NULL ||
                strcmp(tok, SESSION) != 0)
                note_bad("IMDS gave other credentials than it served (%lld ms)", ms);
            atomic_fetch_add(&st.direct_ok, 1);
        } else if (strncmp(e.message, "IMDS: ", 6) != 0) {
            note_bad("unclear IMDS failure: %s (%lld ms)", e.message, ms);
        } else {
            atomic_fetch_add(&st.direct_failed, 1);
        }
        if (ms > BUDGET_MS + SLACK_MS)
            note_bad("IMDS over the budget: %s (%lld ms)", rc == DSQL_OK ? "ok" : e.message, ms);
        dsql_credentials_free(c);
    }
    atomic_fetch_add(&st.done, 1);
    return NULL;
}

/* ---- the storm ------------------------------------------------------------------------------- */

static void setup_storm(void)
{
    snprintf(saved_dir, sizeof saved_dir, "%s", h_dir());
    snprintf(saved_port, sizeof saved_port, "%d", h_port());
    char *scen = scenario();
    fake_server_start(&fs, scen);
    free(scen);
    fake_server_set_mode(&fs, "ok");
    fake_isolate_env(&fs);
    restore_harness_env();
    setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fs.base, 1);
    char v[32];
    snprintf(v, sizeof v, "%g", TIMEOUT_MS / 1000.0);
    setenv("AWS_METADATA_SERVICE_TIMEOUT", v, 1);
    snprintf(v, sizeof v, "%d", ATTEMPTS);
    setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", v, 1);
}

/* Forget every cached credential so that the next attempts ask the service again. */
static void forget(void)
{
    dsql_imds_reset();
    dsql_credentials_cache_clear();
}

/* Runs the phases, flipping the fake's mode between them while the workers connect. */
static void storm(const char *const *phases, size_t nphases, int direct)
{
    pthread_t t[WORKERS + DIRECT];
    int n = 0;
    fake_server_set_mode(&fs, phases[0]); /* before anyone asks */
    forget();
    for (int i = 0; i < WORKERS; i++, n++)
        cr_assert_eq(pthread_create(&t[n], NULL, shim_worker, NULL), 0);
    for (int i = 0; direct && i < DIRECT; i++, n++)
        cr_assert_eq(pthread_create(&t[n], NULL, direct_worker, NULL), 0);
    for (size_t p = 0; p < nphases; p++) {
        fake_server_set_mode(&fs, phases[p]);
        for (int ms = 0; ms < PHASE_MS; ms += CLEAR_EVERY_MS) {
            forget();
            usleep(CLEAR_EVERY_MS * 1000);
        }
    }
    atomic_store(&st.stop, 1);
    /* No hang: every worker finishes its attempt in flight well within the grace period. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += JOIN_GRACE_S;
    for (int i = 0; i < n; i++)
        cr_assert_eq(pthread_timedjoin_np(t[i], NULL, &until), 0,
                     "a worker still hangs %d s after the storm ended", JOIN_GRACE_S);
}

static void report(const char *name)
{
    fprintf(stderr,
            "%s: connected %d, refused by the endpoint %d, IMDS failures %d (timeout %d, "
            "dropped %d, garbage %d, HTTP 5xx %d, HTTP 401 %d), unclear %d; direct IMDS ok %d "
            "failed %d; slowest attempt %lld ms (budget %d + %d ms)\n",
            name, st.outcomes[CONNECTED], st.outcomes[REFUSED_BY_FRONT], st.outcomes[IMDS_FAILED],
            st.kinds[K_TIMEOUT], st.kinds[K_DROPPED], st.kinds[K_GARBAGE], st.kinds[K_HTTP500],
            st.kinds[K_401], st.outcomes[BAD], st.direct_ok, st.direct_failed, (long long)st.max_ms,
            BUDGET_MS, SLACK_MS);
    fflush(stderr);
    for (int i = 0; i < st.nbad && i < 8; i++)
        cr_log_error("%s", st.bad[i]);
}

Test(imds_storm, every_attempt_connects_or_fails_clearly_in_time, .timeout = 150)
{
    setup_storm();
    static const char *const phases[] = {"ok",      "slow",    "ok",         "drop",    "garbage",
                                         "revoked", "http500", "token_fail", "v1_only", "trickle",
                                         "garbage", "drop",    "slow",       "ok"};
    storm(phases, sizeof phases / sizeof phases[0], 1);
    report("storm");
    cr_assert_eq(st.nbad, 0, "%d attempts broke the rules (first: %s)", st.nbad, st.bad[0]);
    cr_assert_gt(st.outcomes[CONNECTED], WORKERS, "too few connections went through");
    cr_assert_gt(st.direct_ok, 0);
    cr_assert(!fake_server_log_has(&fs, "x-injected"), "a garbled token was sent as a header");
    for (int k = 0; k < NKINDS; k++)
        cr_assert_gt(st.kinds[k], 0, "no attempt saw the %s fault", kind_names[k]);
    /* The slow mode's answers never arrived in time, and nobody waited for them. */
    cr_assert_lt(st.max_ms, SLOW_MS, "an attempt waited for a slow answer: %lld ms",
                 (long long)st.max_ms);
}

Test(imds_storm, wrong_credentials_never_connect, .timeout = 120)
{
    setup_storm();
    st.wrong_mode = 1;
    static const char *const phases[] = {"wrong", "garbage", "wrong", "wrong"};
    storm(phases, sizeof phases / sizeof phases[0], 0);
    report("wrong credentials");
    cr_assert_eq(st.nbad, 0, "%d attempts broke the rules (first: %s)", st.nbad, st.bad[0]);
    cr_assert_eq(st.outcomes[CONNECTED], 0);
    cr_assert_gt(st.outcomes[REFUSED_BY_FRONT], 0, "the endpoint never saw a wrong token");
}

/*
 * A keys file that accepts exactly the credentials the fake IMDS serves. The wrong-credentials
 * test sends thousands of bad tokens from 127.0.0.1 on purpose: an endpoint that limits failed
 * logins per client address has the limit turned off here.
 */
static int start(void *arg)
{
    (void)arg;
    char dir[] = "/tmp/dsqlauth-storm-XXXXXX", keys[600];
    FILE *f = NULL;
    if (mkdtemp(dir) != NULL) {
        snprintf(keys, sizeof keys, "%s/keys", dir);
        f = fopen(keys, "w");
    }
    if (f == NULL || fprintf(f, "%s %s %s\n", AKID, SECRET, SESSION) < 0 || fclose(f) != 0 ||
        chmod(keys, 0600) != 0 || h_start_dir(dir, "--max-failed-logins 0") != 0) {
        fprintf(stderr, "test_imds_storm: cannot start dsqlauth-local in %s\n", dir);
        return -1;
    }
    return 0;
}

int main(int argc, char *argv[])
{
    return h_main_with(argc, argv, start, NULL);
}
