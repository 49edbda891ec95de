/* SPDX-License-Identifier: MIT */
/* sts.c: STS AssumeRole (SigV4 header-signed) and AssumeRoleWithWebIdentity (unsigned). */
#include "creds/sts.h"

#include "base/log.h"
#include "creds/http.h"
#include "creds/iso8601.h"
#include "sign/endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STS_VERSION "2011-06-15"
#define STS_MAX_BODY (64 * 1024)

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

int dsql_xml_text(const char *xml, size_t len, const char *name, dsql_buf *out)
{
    size_t nl = strlen(name);
    const char *end = xml + len;
    const char *p = xml;
    const char *content = NULL;
    /* The start tag: "<name>" or "<name " (attributes); not "<nameOther>". */
    while (p + nl + 2 <= end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (lt == NULL || lt + nl + 2 > end)
            return 0;
        if (memcmp(lt + 1, name, nl) == 0 && (lt[nl + 1] == '>' || lt[nl + 1] == ' ')) {
            const char *gt = memchr(lt, '>', (size_t)(end - lt));
            if (gt == NULL || gt[-1] == '/')
                return gt == NULL ? -1 : 0;
            content = gt + 1;
            break;
        }
        p = lt + 1;
    }
    if (content == NULL)
        return 0;
    /* Its end tag. The elements read here hold text only: any other markup before the end tag
     * makes the element malformed, so its text can never take in a neighbour's (a secret key
     * quoted in an error message). */
    const char *close = memchr(content, '<', (size_t)(end - content));
    if (close == NULL || close + nl + 3 > end || close[1] != '/' ||
        memcmp(close + 2, name, nl) != 0 || close[nl + 2] != '>')
        return -1;
    for (const char *c = content; c < close; c++) {
        if (*c != '&') {
            dsql_buf_putc(out, *c);
            continue;
        }
        const char *semi = memchr(c, ';', (size_t)(close - c));
        if (semi == NULL || semi - c > 10)
            return -1;
        size_t en = (size_t)(semi - c - 1);
        const char *e = c + 1;
        if (en == 3 && memcmp(e, "amp", 3) == 0)
            dsql_buf_putc(out, '&');
        else if (en == 2 && memcmp(e, "lt", 2) == 0)
            dsql_buf_putc(out, '<');
        else if (en == 2 && memcmp(e, "gt", 2) == 0)
            dsql_buf_putc(out, '>');
        else if (en == 4 && memcmp(e, "quot", 4) == 0)
            dsql_buf_putc(out, '"');
        else if (en == 4 && memcmp(e, "apos", 4) == 0)
            dsql_buf_putc(out, '\'');
        else if (en >= 2 && e[0] == '#') {
            char num[12];
            memcpy(num, e + 1, en - 1);
            num[en - 1] = '\0';
            char *stop;
            long v = num[0] == 'x' ? strtol(num + 1, &stop, 16) : strtol(num, &stop, 10);
            if (*stop != '\0' || v <= 0 || v > 0x7f)
                dsql_buf_putc(out, '?'); /* non-ASCII in a message: shown as '?' */
            else
                dsql_buf_putc(out, (char)v);
        } else {
            return -1;
        }
        c = semi;
    }
    return dsql_buf_failed(out) ? -1 : 1;
}

void dsql_sts_options_for(const dsql_creds_ctx *ctx, dsql_sts_options *o)
{
    memset(o, 0, sizeof *o);
    o->region = env_nonempty("AWS_REGION");
    if (o->region == NULL)
        o->region = env_nonempty("AWS_DEFAULT_REGION");
    if (o->region == NULL)
        o->region = dsql_aws_profile_get(ctx->files, ctx->profile, "region", NULL);
    o->now = ctx->now;
}

/* Fills the base URL (no trailing '/') and the region to sign for. */
static int sts_endpoint(const dsql_sts_options *o, char *url, size_t url_len, char *region,
                        size_t region_len, dsql_error *err, const char *what)
{
    const char *r = o != NULL && o->region != NULL && *o->region != '\0' ? o->region : NULL;
    if (r == NULL)
        r = env_nonempty("AWS_REGION");
    if (r == NULL)
        r = env_nonempty("AWS_DEFAULT_REGION");
    if (r != NULL && !dsql_valid_region(r))
        return dsql_seterr(err, DSQL_ERR_REGION, "STS %s: the region '%s' is malformed", what, r);
    snprintf(region, region_len, "%s", r != NULL ? r : "us-east-1");
    const char *ep = o != NULL && o->endpoint != NULL && *o->endpoint != '\0' ? o->endpoint : NULL;
    if (ep == NULL)
        ep = env_nonempty("AWS_ENDPOINT_URL_STS");
    if (ep == NULL)
        ep = env_nonempty("AWS_ENDPOINT_URL");
    int n;
    if (ep != NULL)
        n = snprintf(url, url_len, "%s", ep);
    else if (r == NULL)
        n = snprintf(url, url_len, "https://sts.amazonaws.com");
    else
        n = snprintf(url, url_len, "https://sts.%s.amazonaws.com%s", r,
                     strncmp(r, "cn-", 3) == 0 ? ".cn" : "");
    if (n < 0 || (size_t)n >= url_len)
        return dsql_seterr(err, DSQL_ERR_INVALID, "STS %s: the endpoint URL is too long", what);
    /* Requests go to the endpoint's path, "/" when it has none. */
    const char *auth = strstr(url, "://");
    if (auth != NULL && strchr(auth + 3, '/') == NULL) {
        if ((size_t)n + 1 >= url_len)
            return dsql_seterr(err, DSQL_ERR_INVALID, "STS %s: the endpoint URL is too long", what);
        url[n++] = '/';
        url[n] = '\0';
    }
    return DSQL_OK;
}

/* The Host header value and the path of a base URL, as libcurl will send them. */
static void url_host_path(const char *url, char *host, size_t host_len, const char **path)
{
    const char *a = strstr(url, "://");
    a = a != NULL ? a + 3 : url;
    const char *at = NULL;
    size_t alen = strcspn(a, "/?#");
    for (size_t i = 0; i < alen; i++)
        if (a[i] == '@')
            at = a + i;
    if (at != NULL) {
        alen -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    size_t n = alen < host_len - 1 ? alen : host_len - 1;
    for (size_t i = 0; i < n; i++)
        host[i] = (char)((a[i] >= 'A' && a[i] <= 'Z') ? a[i] - 'A' + 'a' : a[i]);
    host[n] = '\0';
    *path = a[alen] == '/' ? a + alen : "/";
    /* A path is signed as sent; the query API posts to it with no query string. */
}

static void put_param(dsql_buf *b, const char *name, const char *value)
{
    dsql_buf_putc(b, '&');
    dsql_buf_puts(b, name);
    dsql_buf_putc(b, '=');
    dsql_uri_encode(b, value, strlen(value));
}

int dsql_sts_parse_response(const char *what, long status, const char *body, size_t body_len,
                            const char *source_name, dsql_credentials **out, dsql_error *err)
{
    int rc;
    dsql_buf akid, secret, token, expiration, code, message;
    dsql_buf_init(&akid);
    dsql_buf_init(&secret);
    dsql_buf_init(&token);
    dsql_buf_init(&expiration);
    dsql_buf_init(&code);
    dsql_buf_init(&message);
    if (status != 200) {
        if (dsql_xml_text(body, body_len, "Code", &code) == 1) {
            dsql_xml_text(body, body_len, "Message", &message);
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "STS %s: %s: %s (HTTP %ld)", what,
                             code.data, message.len > 0 ? message.data : "no message", status);
        } else {
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "STS %s: HTTP %ld", what, status);
        }
        goto out;
    }
    if (dsql_xml_text(body, body_len, "AccessKeyId", &akid) != 1 ||
        dsql_xml_text(body, body_len, "SecretAccessKey", &secret) != 1 ||
        dsql_xml_text(body, body_len, "SessionToken", &token) != 1 ||
        dsql_xml_text(body, body_len, "Expiration", &expiration) != 1 || akid.len == 0 ||
        secret.len == 0) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                         "STS %s: the response has no complete Credentials element", what);
        goto out;
    }
    if (strlen(akid.data) != akid.len || strlen(secret.data) != secret.len ||
        strlen(token.data) != token.len || strlen(expiration.data) != expiration.len) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                         "STS %s: the Credentials element holds a NUL character", what);
        goto out;
    }
    int64_t exp;
    if (dsql_iso8601_parse(expiration.data, &exp) != 0) {
        /* Not quoted: the text is the server's, and the message may reach logs. */
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                         "STS %s: the Expiration is not an ISO 8601 time", what);
        goto out;
    }
    if (exp == 0)
        exp = 1; /* the epoch itself is long past, not "never expires" (0) */
    rc = dsql_credentials_new(akid.data, secret.data, token.data, exp, source_name, out, err);
out:
    dsql_buf_cleanup(&akid);
    dsql_buf_cleanup(&secret);
    dsql_buf_cleanup(&token);
    dsql_buf_cleanup(&expiration);
    dsql_buf_cleanup(&code);
    dsql_buf_cleanup(&message);
    return rc;
}

/* Builds the shared part of the form body: Action, Version, RoleArn, RoleSessionName, ... */
static int role_params(dsql_buf *body, const char *action, const dsql_sts_role *role, int64_t now,
                       dsql_error *err)
{
    if (role == NULL || role->role_arn == NULL || *role->role_arn == '\0')
        return dsql_seterr(err, DSQL_ERR_INVALID, "STS %s: no role ARN", action);
    if (role->duration_seconds < 0)
        return dsql_seterr(err, DSQL_ERR_INVALID, "STS %s: negative duration_seconds", action);
    dsql_buf_printf(body, "Action=%s&Version=" STS_VERSION, action);
    put_param(body, "RoleArn", role->role_arn);
    if (role->role_session_name != NULL && *role->role_session_name != '\0') {
        put_param(body, "RoleSessionName", role->role_session_name);
    } else {
        char name[48];
        snprintf(name, sizeof name, "dsqlauth-session-%lld", (long long)now);
        put_param(body, "RoleSessionName", name);
    }
    if (role->duration_seconds > 0)
        dsql_buf_printf(body, "&DurationSeconds=%d", role->duration_seconds);
    return DSQL_OK;
}

static int64_t opts_now(const dsql_sts_options *o)
{
    return o != NULL && o->now != 0 ? o->now : (int64_t)time(NULL);
}

static void http_limits(const dsql_sts_options *o, dsql_http_request *q)
{
    q->connect_timeout_ms = o != NULL && o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 3000;
    q->timeout_ms = o != NULL && o->timeout_ms > 0 ? o->timeout_ms : 10000;
    q->max_body = STS_MAX_BODY;
}

#define FORM_TYPE "application/x-www-form-urlencoded; charset=utf-8"

/* POSTs the form body with Content-Type plus extra headers (up to 3), then reads the answer. */
static int call_sts(const dsql_sts_options *o, const char *what, const char *url,
                    const char *const *extra, const dsql_buf *body, const char *source_name,
                    dsql_credentials **out, dsql_error *err)
{
    const char *headers[5] = {"Content-Type: " FORM_TYPE};
    for (int i = 0; extra != NULL && extra[i] != NULL && i < 3; i++)
        headers[i + 1] = extra[i];
    dsql_http_request q = {.step = "request",
                           .method = "POST",
                           .url = url,
                           .headers = headers,
                           .body = body->data,
                           .body_len = body->len};
    http_limits(o, &q);
    dsql_http_response resp = {0};
    int rc = dsql_http_perform(&q, &resp, err);
    if (rc != DSQL_OK)
        dsql_err_prefix(err, "STS %s", what);
    else
        rc = dsql_sts_parse_response(what, resp.status, resp.body, resp.body_len, source_name, out,
                                     err);
    dsql_http_response_cleanup(&resp);
    return rc;
}

int dsql_sts_assume_role(const dsql_sts_options *o, const dsql_sts_role *role,
                         dsql_credentials *source, const char *source_name, dsql_credentials **out,
                         dsql_error *err)
{
    static const char what[] = "AssumeRole";
    int rc;
    char url[1024], region[DSQL_REGION_MAX], host[DSQL_HOST_MAX];
    char payload_hex[DSQL_SHA256_HEX_LEN + 1];
    unsigned char key[DSQL_SHA256_LEN];
    const char *path;
    dsql_amz_time at;
    dsql_buf body, auth_header, token_header, date_header;
    dsql_buf_init(&body);
    dsql_buf_init(&auth_header);
    dsql_buf_init(&token_header);
    dsql_buf_init(&date_header);
    if (source == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_INVALID, "STS %s: no source credentials", what);
        goto out;
    }
    if ((rc = sts_endpoint(o, url, sizeof url, region, sizeof region, err, what)) != DSQL_OK)
        goto out;
    int64_t now = opts_now(o);
    if ((rc = role_params(&body, what, role, now, err)) != DSQL_OK)
        goto out;
    if (role->external_id != NULL && *role->external_id != '\0')
        put_param(&body, "ExternalId", role->external_id);
    if (dsql_buf_failed(&body)) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }

    url_host_path(url, host, sizeof host, &path);
    if (dsql_amz_time_from_unix(now, &at) != 0 ||
        dsql_sha256_hex(body.data, body.len, payload_hex) != 0 ||
        dsql_credentials_signing_key(source, at.date, region, "sts", key) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_CRYPTO, "STS %s: signing failed", what);
        goto out;
    }
    const char *session_token = dsql_credentials_session_token(source);
    dsql_sigv4_header signed_headers[] = {
        {"content-type", FORM_TYPE},
        {"host", host},
        {"x-amz-date", at.datetime},
        {"x-amz-security-token", session_token},
    };
    /* dsql_sigv4_authorization appends the value after the header name. */
    dsql_buf_puts(&auth_header, "Authorization: ");
    if (dsql_sigv4_authorization(&auth_header, dsql_credentials_access_key_id(source), key,
                                 at.datetime, region, "sts", "POST", path, "", signed_headers,
                                 session_token != NULL ? 4 : 3, payload_hex) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_CRYPTO, "STS %s: signing failed", what);
        goto out;
    }
    dsql_buf_printf(&date_header, "X-Amz-Date: %s", at.datetime);
    if (session_token != NULL)
        dsql_buf_printf(&token_header, "X-Amz-Security-Token: %s", session_token);
    if (dsql_buf_failed(&auth_header) || dsql_buf_failed(&date_header) ||
        dsql_buf_failed(&token_header)) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    const char *extra[] = {date_header.data, auth_header.data,
                           session_token != NULL ? token_header.data : NULL, NULL};
    rc = call_sts(o, what, url, extra, &body, source_name, out, err);
out:
    dsql_wipe(key, sizeof key);
    dsql_buf_cleanup(&body);
    dsql_buf_cleanup(&auth_header);
    dsql_buf_cleanup(&token_header);
    dsql_buf_cleanup(&date_header);
    return rc;
}

int dsql_sts_assume_role_with_web_identity(const dsql_sts_options *o, const dsql_sts_role *role,
                                           const char *web_identity_token, const char *source_name,
                                           dsql_credentials **out, dsql_error *err)
{
    static const char what[] = "AssumeRoleWithWebIdentity";
    int rc;
    char url[1024], region[DSQL_REGION_MAX];
    dsql_buf body;
    dsql_buf_init(&body);
    if (web_identity_token == NULL || *web_identity_token == '\0') {
        rc =
            dsql_seterr(err, DSQL_ERR_CREDENTIALS, "STS %s: the web identity token is empty", what);
        goto out;
    }
    if ((rc = sts_endpoint(o, url, sizeof url, region, sizeof region, err, what)) != DSQL_OK)
        goto out;
    if ((rc = role_params(&body, what, role, opts_now(o), err)) != DSQL_OK)
        goto out;
    put_param(&body, "WebIdentityToken", web_identity_token);
    if (dsql_buf_failed(&body)) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = call_sts(o, what, url, NULL, &body, source_name, out, err);
out:
    dsql_buf_cleanup(&body);
    return rc;
}
