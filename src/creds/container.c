/* SPDX-License-Identifier: MIT */
/* container.c: ECS task role and EKS Pod Identity credentials over the local endpoint. */
#include "creds/container.h"

#include "base/log.h"
#include "creds/http.h"
#include "creds/json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ECS_BASE "http://169.254.170.2"
#define TOKEN_FILE_MAX (16 * 1024)

static const char *pick(const char *opt, const char *env)
{
    if (opt != NULL)
        return *opt != '\0' ? opt : NULL;
    const char *v = getenv(env);
    return v != NULL && *v != '\0' ? v : NULL;
}

/* Over plain http only the loopback and the ECS/EKS link-local hosts are trusted. */
static int allowed_http_host(const char *host)
{
    static const char *const fixed[] = {"169.254.170.2", "169.254.170.23", "fd00:ec2::23",
                                        "localhost"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcasecmp(host, fixed[i]) == 0)
            return 1;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        static const struct in6_addr ecs6 = {
            {{0xfd, 0, 0, 0xec, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23}}};
        return IN6_IS_ADDR_LOOPBACK(&a6) || memcmp(&a6, &ecs6, sizeof a6) == 0;
    }
    return 0;
}

/* Reads the token file afresh into out (wiped by the caller), trailing white space dropped. */
static int read_token_file(const char *path, dsql_buf *out, dsql_error *err)
{
    if (dsql_read_file(path, TOKEN_FILE_MAX, out) != 0) {
        if (errno == EFBIG)
            return dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                               "container: the authorization token file %s is larger than %d "
                               "bytes",
                               path, TOKEN_FILE_MAX);
        if (errno == ENOMEM)
            return dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                           "container: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s",
                           path, strerror(errno));
    }
    while (out->len > 0 && strchr(" \t\r\n", out->data[out->len - 1]) != NULL)
        out->data[--out->len] = '\0';
    return DSQL_OK;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int dsql_creds_fetch_container(const dsql_container_options *o, dsql_credentials **out,
                               dsql_error *err)
{
    static const dsql_container_options none = {0};
    int rc;
    char url[2048];
    dsql_buf auth;
    dsql_http_response resp = {0};
    dsql_buf_init(&auth);
    if (o == NULL)
        o = &none;
    const char *rel = pick(o->relative_uri, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = pick(o->full_uri, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (rel == NULL && full == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_NO_CREDENTIALS,
                         "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are "
                         "not set");
        goto out;
    }
    if (rel != NULL) {
        if (rel[0] != '/') {
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                             "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start "
                             "with '/'");
            goto out;
        }
        const char *base = o->relative_base != NULL ? o->relative_base : ECS_BASE;
        if ((size_t)snprintf(url, sizeof url, "%s%s", base, rel) >= sizeof url) {
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "container: the URI is too long");
            goto out;
        }
    } else {
        char scheme[16], host[DSQL_HOST_MAX];
        if (strlen(full) >= sizeof url ||
            dsql_http_url_parts(full, scheme, sizeof scheme, host, sizeof host) != 0 ||
            (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                             "container: AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http or "
                             "https URL");
            goto out;
        }
        if (strcmp(scheme, "http") == 0 && !allowed_http_host(host)) {
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                             "container: AWS_CONTAINER_CREDENTIALS_FULL_URI host '%s' is not "
                             "allowed over http; use https, a loopback address, 169.254.170.2, "
                             "169.254.170.23 or fd00:ec2::23",
                             host);
            goto out;
        }
        strcpy(url, full);
    }

    const char *token_file =
        pick(o->authorization_token_file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *token = pick(o->authorization_token, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (token_file != NULL) {
        dsql_buf_puts(&auth, "Authorization: ");
        size_t prefix = auth.len;
        dsql_buf file;
        dsql_buf_init(&file);
        rc = read_token_file(token_file, &file, err);
        dsql_buf_append(&auth, file.data, file.len);
        dsql_buf_cleanup(&file);
        if (rc != DSQL_OK)
            goto out;
        if (auth.len == prefix) {
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                             "container: the authorization token file %s is empty", token_file);
            goto out;
        }
    } else if (token != NULL) {
        dsql_buf_printf(&auth, "Authorization: %s", token);
    }
    if (dsql_buf_failed(&auth)) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (strpbrk(auth.data, "\r\n") != NULL) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                         "container: the authorization token contains a line break");
        goto out;
    }

    const char *headers[] = {"Accept: application/json", auth.len > 0 ? auth.data : NULL, NULL};
    dsql_http_request q = {.step = "credentials request",
                           .url = url,
                           .headers = headers,
                           .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 2000,
                           .no_proxy = 1};
    int attempts = o->attempts > 0 ? o->attempts : 3;
    long delay = o->retry_delay_ms == 0 ? 200 : o->retry_delay_ms;
    rc = DSQL_ERR_HTTP;
    for (int i = 0; i < attempts; i++) {
        if (i > 0 && delay > 0)
            pause_ms(delay);
        dsql_http_response_cleanup(&resp);
        if ((rc = dsql_http_perform(&q, &resp, err)) != DSQL_OK) {
            dsql_err_prefix(err, "container");
            continue;
        }
        if (resp.status == 200)
            break;
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, "container: credentials request: HTTP %ld",
                         resp.status);
        if (resp.status >= 400 && resp.status < 500 && resp.status != 429)
            break; /* the endpoint refused us: asking again will not help */
    }
    if (rc != DSQL_OK)
        goto out;
    rc = dsql_json_parse_metadata_credentials(resp.body, resp.body_len, NULL, "container-role",
                                              "container: credentials", out, err);
out:
    dsql_buf_cleanup(&auth);
    dsql_http_response_cleanup(&resp);
    return rc;
}

int dsql_creds_source_container(const dsql_creds_ctx *ctx, dsql_credentials **out, dsql_error *err)
{
    (void)ctx;
    return dsql_creds_fetch_container(NULL, out, err);
}
