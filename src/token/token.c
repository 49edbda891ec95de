/* SPDX-License-Identifier: MIT */
/* token.c: the Aurora DSQL auth token, a SigV4 query-presigned GET signed for service `dsql`. */
#include "creds/creds.h"
#include "sign/endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERVICE "dsql"

const char *dsql_version(void)
{
    return DSQL_VERSION;
}

const char *dsql_strerror(int code)
{
    switch (code) {
    case DSQL_OK:
        return "success";
    case DSQL_ERR_INVALID:
        return "invalid argument";
    case DSQL_ERR_NOMEM:
        return "out of memory";
    case DSQL_ERR_NO_CREDENTIALS:
        return "no AWS credentials found";
    case DSQL_ERR_CREDENTIALS:
        return "a credential source failed";
    case DSQL_ERR_REGION:
        return "no usable AWS region";
    case DSQL_ERR_CONFIG:
        return "AWS config or credentials file unusable";
    case DSQL_ERR_IO:
        return "I/O error";
    case DSQL_ERR_HTTP:
        return "HTTP credential endpoint failed";
    case DSQL_ERR_CRYPTO:
        return "cryptography failure";
    case DSQL_ERR_AUTH:
        return "token verification failed";
    default:
        return "unknown error";
    }
}

int dsql_token_generate(dsql_credentials *creds, const dsql_token_params *p, char **token,
                        dsql_error *err)
{
    int rc;
    char host[DSQL_HOST_MAX];
    unsigned char key[DSQL_SHA256_LEN];
    char hash_hex[DSQL_SHA256_HEX_LEN + 1];
    char sig_hex[DSQL_SHA256_HEX_LEN + 1];
    dsql_amz_time at;
    dsql_buf query, creq, sts;
    dsql_buf_init(&query);
    dsql_buf_init(&creq);
    dsql_buf_init(&sts);

    if (creds == NULL || p == NULL || token == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_INVALID,
                         "token: credentials, parameters and output are required");
        goto out;
    }
    if (dsql_normalize_host(p->hostname, host, sizeof host) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_INVALID,
                         "token: the hostname is empty, too long or has characters other than "
                         "letters, digits, '-' and '.'; pass the cluster endpoint");
        goto out;
    }
    if (!dsql_valid_region(p->region)) {
        rc = dsql_seterr(err, DSQL_ERR_REGION,
                         "token: the region is missing or malformed (expected e.g. us-east-1)");
        goto out;
    }
    int64_t expires = p->expires_in == 0 ? DSQL_TOKEN_EXPIRES_DEFAULT : p->expires_in;
    if (expires < 1 || expires > DSQL_TOKEN_EXPIRES_MAX) {
        rc = dsql_seterr(err, DSQL_ERR_INVALID,
                         "token: expiry %lld s is out of range; use 1 to %d seconds",
                         (long long)p->expires_in, DSQL_TOKEN_EXPIRES_MAX);
        goto out;
    }
    int64_t now = p->signing_time != 0 ? p->signing_time : (int64_t)time(NULL);
    int64_t cexp = dsql_credentials_expiration(creds);
    if (cexp != 0) {
        if (cexp <= now) {
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                             "token: the credentials from %s have expired; refresh them",
                             dsql_credentials_source(creds));
            goto out;
        }
        if (cexp - now < expires)
            expires = cexp - now;
    }
    if (dsql_amz_time_from_unix(now, &at) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_INVALID, "token: signing time out of range");
        goto out;
    }

    /* The canonical query string: parameters sorted by name, values encoded. */
    dsql_buf_puts(&query, p->admin ? "Action=DbConnectAdmin" : "Action=DbConnect");
    dsql_buf_puts(&query, "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    const char *akid = dsql_credentials_access_key_id(creds);
    dsql_uri_encode(&query, akid, strlen(akid));
    char num[24];
    int numlen = snprintf(num, sizeof num, "%lld", (long long)expires);
    dsql_buf_puts(&query, "%2F");
    dsql_buf_append(&query, at.date, DSQL_AMZ_DATE_LEN);
    dsql_buf_puts(&query, "%2F");
    dsql_buf_puts(&query, p->region);
    dsql_buf_puts(&query, "%2F" SERVICE "%2Faws4_request&X-Amz-Date=");
    dsql_buf_append(&query, at.datetime, DSQL_AMZ_DATETIME_LEN);
    dsql_buf_puts(&query, "&X-Amz-Expires=");
    dsql_buf_append(&query, num, (size_t)numlen);
    if (dsql_credentials_has_session_token(creds)) {
        dsql_buf_puts(&query, "&X-Amz-Security-Token=");
        dsql_buf_puts(&query, dsql_credentials_session_token_encoded(creds));
    }
    dsql_buf_puts(&query, "&X-Amz-SignedHeaders=host");

    /* Canonical request: GET / <query> host:<host> \n host <empty payload hash>. */
    dsql_buf_puts(&creq, "GET\n/\n");
    dsql_buf_append(&creq, query.data, query.len);
    dsql_buf_puts(&creq, "\nhost:");
    dsql_buf_puts(&creq, host);
    dsql_buf_puts(&creq, "\n\nhost\n" DSQL_EMPTY_SHA256_HEX);
    if (dsql_buf_failed(&query) || dsql_buf_failed(&creq)) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (dsql_sha256_hex(creq.data, creq.len, hash_hex) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_CRYPTO, "token: SHA-256 failed in OpenSSL");
        goto out;
    }
    dsql_buf_puts(&sts, "AWS4-HMAC-SHA256\n");
    dsql_buf_append(&sts, at.datetime, DSQL_AMZ_DATETIME_LEN);
    dsql_buf_putc(&sts, '\n');
    dsql_buf_append(&sts, at.date, DSQL_AMZ_DATE_LEN);
    dsql_buf_putc(&sts, '/');
    dsql_buf_puts(&sts, p->region);
    dsql_buf_puts(&sts, "/" SERVICE "/aws4_request\n");
    dsql_buf_append(&sts, hash_hex, DSQL_SHA256_HEX_LEN);
    if (dsql_buf_failed(&sts)) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (dsql_credentials_signing_key(creds, at.date, p->region, SERVICE, key) != 0 ||
        dsql_sigv4_signature(key, sts.data, sts.len, sig_hex) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_CRYPTO, "token: HMAC-SHA256 failed in OpenSSL");
        goto out;
    }

    /* Reuse creq for the result: <host>/?<query>&X-Amz-Signature=<sig>. */
    creq.len = 0;
    dsql_buf_reserve(&creq, strlen(host) + 2 + query.len + 17 + DSQL_SHA256_HEX_LEN);
    dsql_buf_puts(&creq, host);
    dsql_buf_puts(&creq, "/?");
    dsql_buf_append(&creq, query.data, query.len);
    dsql_buf_puts(&creq, "&X-Amz-Signature=");
    dsql_buf_append(&creq, sig_hex, DSQL_SHA256_HEX_LEN);
    char *t = dsql_buf_steal(&creq);
    if (t == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    *token = t;
    rc = DSQL_OK;
out:
    dsql_wipe(key, sizeof key);
    dsql_wipe(sig_hex, sizeof sig_hex);
    dsql_buf_cleanup(&query);
    dsql_buf_cleanup(&creq);
    dsql_buf_cleanup(&sts);
    return rc;
}

void dsql_token_free(char *token)
{
    dsql_free_secret(token);
}
