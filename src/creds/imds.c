/* SPDX-License-Identifier: MIT */
/* imds.c: EC2 instance metadata (IMDSv2 with cached session token, IMDSv1 fallback). */
#include "creds/imds.h"

#include "base/log.h"
#include "creds/http.h"
#include "creds/json.h"
#include "sign/endpoint.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ENDPOINT_V4 "http://169.254.169.254"
#define DEFAULT_ENDPOINT_V6 "http://[fd00:ec2::254]"
#define TOKEN_PATH "/latest/api/token"
#define ROLE_PATH "/latest/meta-data/iam/security-credentials/"
#define REGION_PATH "/latest/meta-data/placement/region"
#define DEFAULT_TTL 21600
#define TOKEN_SLACK 60 /* a cached token is renewed this long before it ends */
#define MAX_ATTEMPTS 10
#define TOKEN_MAX 4096 /* longest session token taken */
#define BASE_MAX 512
/*
 * Static stability: credentials with less than EXTEND_BELOW seconds left are used for
 * EXTEND_BY + (0..EXTEND_JITTER) seconds more. EXTEND_BELOW is the chain's advisory window, so
 * the chain does not ask IMDS again on every call; the extension lets it ask every 5 to 10
 * minutes instead while the service cannot give fresher credentials.
 */
#define EXTEND_BELOW 900
#define EXTEND_BY 1200
#define EXTEND_JITTER 300

/* Process-wide: the session token and the last good credentials, per endpoint. */
static struct {
    pthread_mutex_t lock;
    char token_base[BASE_MAX];
    char *token;
    int64_t token_expires;
    char last_base[BASE_MAX];
    dsql_credentials *last;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void before_fork(void)
{
    pthread_mutex_lock(&cache.lock);
}

static void after_fork(void)
{
    pthread_mutex_unlock(&cache.lock);
}

static void register_atfork(void)
{
    pthread_atfork(before_fork, after_fork, after_fork);
}

static void lock(void)
{
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&cache.lock);
}

static void unlock(void)
{
    pthread_mutex_unlock(&cache.lock);
}

void dsql_imds_reset(void)
{
    lock();
    dsql_free_secret(cache.token);
    cache.token = NULL;
    cache.token_base[0] = '\0';
    dsql_credentials_free(cache.last);
    cache.last = NULL;
    cache.last_base[0] = '\0';
    unlock();
}

/* One call's settings, resolved from the options and the environment. */
struct imds {
    char base[BASE_MAX]; /* no trailing '/' */
    long timeout_ms;
    int attempts;
    int v1_disabled;
    int ttl;
    int64_t now;
    char *token; /* owned; NULL: IMDSv1 */
};

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

static int env_true(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && strcasecmp(v, "true") == 0;
}

static int setup(const dsql_imds_options *o, struct imds *m, dsql_error *err)
{
    static const dsql_imds_options none = {0};
    if (o == NULL)
        o = &none;
    memset(m, 0, sizeof *m);
    if (o->disabled > 0 || (o->disabled == 0 && env_true("AWS_EC2_METADATA_DISABLED")))
        return dsql_seterr(err, DSQL_ERR_NO_CREDENTIALS, "%s", DSQL_IMDS_DISABLED_MESSAGE);
    const char *ep = o->endpoint != NULL && *o->endpoint != '\0'
                         ? o->endpoint
                         : env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (ep == NULL) {
        const char *mode = o->endpoint_mode != NULL
                               ? o->endpoint_mode
                               : env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
        if (mode == NULL || strcasecmp(mode, "IPv4") == 0)
            ep = DEFAULT_ENDPOINT_V4;
        else if (strcasecmp(mode, "IPv6") == 0)
            ep = DEFAULT_ENDPOINT_V6;
        else
            return dsql_seterr(err, DSQL_ERR_INVALID,
                               "IMDS: endpoint mode '%s' is neither IPv4 nor IPv6", mode);
    }
    size_t n = strlen(ep);
    while (n > 0 && ep[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof m->base)
        return dsql_seterr(err, DSQL_ERR_INVALID, "IMDS: the endpoint URL is empty or too long");
    memcpy(m->base, ep, n);
    m->base[n] = '\0';

    m->timeout_ms = o->timeout_ms;
    const char *v;
    if (m->timeout_ms <= 0 && (v = env_nonempty("AWS_METADATA_SERVICE_TIMEOUT")) != NULL) {
        double secs = strtod(v, NULL);
        m->timeout_ms = secs > 0 && secs < 3600 ? (long)(secs * 1000) : 0;
    }
    if (m->timeout_ms <= 0)
        m->timeout_ms = 1000;
    m->attempts = o->attempts;
    if (m->attempts <= 0 && (v = env_nonempty("AWS_METADATA_SERVICE_NUM_ATTEMPTS")) != NULL)
        m->attempts = atoi(v);
    if (m->attempts <= 0)
        m->attempts = 1;
    if (m->attempts > MAX_ATTEMPTS)
        m->attempts = MAX_ATTEMPTS;
    m->v1_disabled =
        o->v1_disabled > 0 || (o->v1_disabled == 0 && env_true("AWS_EC2_METADATA_V1_DISABLED"));
    m->ttl = o->token_ttl_seconds > 0 ? o->token_ttl_seconds : DEFAULT_TTL;
    m->now = o->now != 0 ? o->now : (int64_t)time(NULL);
    return DSQL_OK;
}

static int request(struct imds *m, const char *method, const char *path, const char *step,
                   const char *header, dsql_http_response *resp, dsql_error *err)
{
    char url[BASE_MAX + 256];
    snprintf(url, sizeof url, "%s%s", m->base, path);
    const char *headers[] = {header, NULL};
    dsql_http_request q = {.step = step,
                           .method = method,
                           .url = url,
                           .headers = header != NULL ? headers : NULL,
                           .timeout_ms = m->timeout_ms,
                           .no_proxy = 1};
    int rc = dsql_http_perform(&q, resp, err);
    if (rc != DSQL_OK)
        dsql_err_prefix(err, "IMDS");
    return rc;
}

/*
 * Whether an answer can be a session token: it goes into a header of every later request, so
 * garbage with a line break would smuggle headers in. Real tokens are about 60 base64 characters.
 */
static int is_token(const char *t, size_t n)
{
    if (n == 0 || n > TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] < 0x21 || t[i] > 0x7e)
            return 0;
    return 1;
}

/* Gets a session token (cached or new) into m->token, or leaves it NULL for IMDSv1. */
static int fetch_token(struct imds *m, dsql_error *err)
{
    lock();
    if (cache.token != NULL && strcmp(cache.token_base, m->base) == 0 &&
        m->now < cache.token_expires) {
        m->token = strdup(cache.token);
        unlock();
        return m->token != NULL ? DSQL_OK : dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
    }
    unlock();

    int rc = DSQL_OK;
    char ttl[64], why[DSQL_ERROR_MAX];
    snprintf(ttl, sizeof ttl, "X-aws-ec2-metadata-token-ttl-seconds: %d", m->ttl);
    why[0] = '\0';
    for (int i = 0; i < m->attempts; i++) {
        dsql_http_response resp;
        rc = request(m, "PUT", TOKEN_PATH, "token request", ttl, &resp, err);
        if (rc != DSQL_OK) {
            int failure = resp.failure;
            dsql_http_response_cleanup(&resp);
            if (failure == DSQL_HTTP_FAIL_CONNECT)
                return DSQL_ERR_NO_CREDENTIALS; /* nothing there: no point asking IMDSv1 */
            snprintf(why, sizeof why, "%s", err != NULL ? err->message : "failed");
            if (failure == DSQL_HTTP_FAIL_TIMEOUT)
                break;
            continue;
        }
        long status = resp.status;
        if (status == 200 && !is_token(resp.body, resp.body_len)) {
            dsql_http_response_cleanup(&resp);
            snprintf(why, sizeof why, "IMDS: token request: the answer is not a session token");
            continue;
        }
        if (status == 200) {
            m->token = resp.body; /* steal: the body is the token */
            resp.body = NULL;
            resp.body_len = 0;
            lock();
            dsql_free_secret(cache.token);
            cache.token = strdup(m->token);
            snprintf(cache.token_base, sizeof cache.token_base, "%s", m->base);
            cache.token_expires = m->now + m->ttl - (m->ttl > 2 * TOKEN_SLACK ? TOKEN_SLACK : 0);
            unlock();
            return DSQL_OK;
        }
        dsql_http_response_cleanup(&resp);
        snprintf(why, sizeof why, "IMDS: token request: HTTP %ld", status);
        if (status == 400)
            return dsql_seterr(err, DSQL_ERR_CREDENTIALS, "%s (bad request)", why);
        if (status == 403 || status == 404 || status == 405)
            break;
    }
    if (m->v1_disabled)
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                           "%s; falling back to IMDSv1 is disabled (AWS_EC2_METADATA_V1_DISABLED)",
                           why);
    dsql_log(DSQL_LOG_DEBUG, "%s; falling back to IMDSv1", why);
    return DSQL_OK;
}

static void forget_token(const struct imds *m)
{
    lock();
    if (strcmp(cache.token_base, m->base) == 0) {
        dsql_free_secret(cache.token);
        cache.token = NULL;
    }
    unlock();
}

/*
 * GET path with the token, retried up to m->attempts times on failure or an empty answer. A
 * 401 means the token was revoked: it is renewed once. not_found_code is the status returned
 * for a 404.
 */
static int get(struct imds *m, const char *path, const char *step, int not_found_code,
               const char *not_found_hint, dsql_http_response *resp, dsql_error *err)
{
    int rc = DSQL_ERR_HTTP, renewed = 0;
    dsql_buf hdr;
    dsql_buf_init(&hdr);
    for (int i = 0; i < m->attempts; i++) {
        dsql_http_response_cleanup(resp);
        hdr.len = 0;
        if (m->token != NULL)
            dsql_buf_printf(&hdr, "X-aws-ec2-metadata-token: %s", m->token);
        if (dsql_buf_failed(&hdr)) {
            rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
            break;
        }
        rc = request(m, "GET", path, step, m->token != NULL ? hdr.data : NULL, resp, err);
        if (rc != DSQL_OK) {
            if (resp->failure == DSQL_HTTP_FAIL_CONNECT)
                rc = DSQL_ERR_NO_CREDENTIALS;
            continue;
        }
        if (resp->status == 200 && resp->body_len > 0) {
            rc = DSQL_OK;
            break;
        }
        if (resp->status == 401 && m->token != NULL && !renewed) {
            renewed = 1;
            i--;
            forget_token(m);
            dsql_free_secret(m->token);
            m->token = NULL;
            if ((rc = fetch_token(m, err)) != DSQL_OK)
                break;
            continue;
        }
        if (resp->status == 200)
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "IMDS: %s: empty response", step);
        else if (resp->status == 404)
            rc = dsql_seterr(err, not_found_code, "IMDS: %s: HTTP 404%s", step, not_found_hint);
        else
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "IMDS: %s: HTTP %ld", step, resp->status);
    }
    dsql_buf_cleanup(&hdr);
    if (rc != DSQL_OK)
        dsql_http_response_cleanup(resp);
    return rc;
}

/* A copy of c whose expiration is moved to now + 20..25 minutes. */
static int extended(dsql_credentials *c, int64_t now, dsql_credentials **out, dsql_error *err)
{
    unsigned jitter =
        (unsigned)(((uint64_t)now * 2654435761u) ^ (uint64_t)getpid()) % (EXTEND_JITTER + 1u);
    int64_t until = now + EXTEND_BY + jitter;
    dsql_log(DSQL_LOG_INFO,
             "IMDS: credentials expire at %lld; using them until %lld while the metadata "
             "service cannot give fresh ones",
             (long long)dsql_credentials_expiration(c), (long long)until);
    return dsql_credentials_new(dsql_credentials_access_key_id(c), dsql_credentials_secret(c),
                                dsql_credentials_session_token(c), until,
                                dsql_credentials_source(c), out, err);
}

static int is_role_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("+=,.@_-", c) != NULL;
}

/* botocore requires all four members of an IMDS document. */
const dsql_json_cred_fields dsql_imds_fields = {
    .access_key_id = "AccessKeyId",
    .secret_access_key = "SecretAccessKey",
    .session_token = "Token",
    .expiration = "Expiration",
    .session_token_required = 1,
    .expiration_required = 1,
};

static int fetch_credentials(struct imds *m, dsql_credentials **out, dsql_error *err)
{
    int rc;
    dsql_http_response resp = {0};
    char path[sizeof ROLE_PATH + 128];
    if ((rc = fetch_token(m, err)) != DSQL_OK)
        goto out;
    rc = get(m, ROLE_PATH, "role name", DSQL_ERR_NO_CREDENTIALS,
             ": no IAM role is attached to this instance", &resp, err);
    if (rc != DSQL_OK)
        goto out;
    /* The first line is the role name. */
    size_t n = strcspn(resp.body, "\r\n");
    while (n > 0 && (resp.body[n - 1] == ' ' || resp.body[n - 1] == '\t'))
        n--;
    int ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = is_role_char(resp.body[i]);
    if (!ok) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "IMDS: role name: not an IAM role name");
        goto out;
    }
    snprintf(path, sizeof path, ROLE_PATH "%.*s", (int)n, resp.body);
    dsql_http_response_cleanup(&resp);
    rc = get(m, path, "role credentials", DSQL_ERR_CREDENTIALS, "", &resp, err);
    if (rc != DSQL_OK)
        goto out;
    rc = dsql_json_parse_metadata_credentials(resp.body, resp.body_len, &dsql_imds_fields,
                                              "iam-role", "IMDS: role credentials", out, err);
out:
    dsql_http_response_cleanup(&resp);
    return rc;
}

int dsql_creds_fetch_imds(const dsql_imds_options *opts, dsql_credentials **out, dsql_error *err)
{
    struct imds m;
    dsql_credentials *c = NULL;
    int rc = setup(opts, &m, err);
    if (rc != DSQL_OK)
        return rc;
    rc = fetch_credentials(&m, &c, err);
    if (rc == DSQL_OK) {
        lock();
        dsql_credentials_free(cache.last);
        cache.last = dsql_credentials_ref(c);
        snprintf(cache.last_base, sizeof cache.last_base, "%s", m.base);
        unlock();
        int64_t exp = dsql_credentials_expiration(c);
        if (exp != 0 && exp - m.now < EXTEND_BELOW) {
            dsql_credentials *x = NULL;
            rc = extended(c, m.now, &x, err);
            dsql_credentials_free(c);
            c = x;
        }
    } else {
        dsql_credentials *last = NULL;
        lock();
        if (cache.last != NULL && strcmp(cache.last_base, m.base) == 0)
            last = dsql_credentials_ref(cache.last);
        unlock();
        if (last != NULL) {
            dsql_log(DSQL_LOG_WARN, "%s; reusing the credentials IMDS gave earlier",
                     err != NULL ? err->message : "IMDS failed");
            rc = extended(last, m.now, &c, err);
            dsql_credentials_free(last);
        }
    }
    dsql_free_secret(m.token);
    if (rc == DSQL_OK)
        *out = c;
    return rc;
}

/* A profile setting, unless its environment variable is set (then setup() reads that). */
static const char *profile_setting(const dsql_creds_ctx *ctx, const char *env, const char *key)
{
    return env_nonempty(env) != NULL ? NULL
                                     : dsql_aws_profile_get(ctx->files, ctx->profile, key, NULL);
}

int dsql_creds_source_imds(const dsql_creds_ctx *ctx, dsql_credentials **out, dsql_error *err)
{
    /* botocore reads each setting from its variable, else from the profile. */
    dsql_imds_options o = {.now = ctx->now};
    o.endpoint =
        profile_setting(ctx, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint");
    o.endpoint_mode = profile_setting(ctx, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                                      "ec2_metadata_service_endpoint_mode");
    const char *v =
        profile_setting(ctx, "AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout");
    if (v != NULL && strtod(v, NULL) > 0 && strtod(v, NULL) < 3600)
        o.timeout_ms = (long)(strtod(v, NULL) * 1000);
    v = profile_setting(ctx, "AWS_METADATA_SERVICE_NUM_ATTEMPTS", "metadata_service_num_attempts");
    if (v != NULL)
        o.attempts = atoi(v);
    v = profile_setting(ctx, "AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled");
    if (v != NULL && strcasecmp(v, "true") == 0)
        o.v1_disabled = 1;
    return dsql_creds_fetch_imds(&o, out, err);
}

int dsql_imds_region(const dsql_imds_options *opts, char *region, size_t region_len,
                     dsql_error *err)
{
    struct imds m;
    dsql_http_response resp = {0};
    int rc = setup(opts, &m, err);
    if (rc != DSQL_OK)
        return rc;
    if ((rc = fetch_token(&m, err)) != DSQL_OK)
        goto out;
    if ((rc = get(&m, REGION_PATH, "region", DSQL_ERR_REGION, "", &resp, err)) != DSQL_OK)
        goto out;
    size_t n = strcspn(resp.body, "\r\n \t");
    if (n == 0 || n >= region_len || n >= DSQL_REGION_MAX) {
        rc = dsql_seterr(err, DSQL_ERR_REGION, "IMDS: region: not a region name");
        goto out;
    }
    memcpy(region, resp.body, n);
    region[n] = '\0';
    if (!dsql_valid_region(region)) {
        region[0] = '\0';
        rc = dsql_seterr(err, DSQL_ERR_REGION, "IMDS: region: not a region name");
    }
out:
    dsql_http_response_cleanup(&resp);
    dsql_free_secret(m.token);
    return rc;
}
