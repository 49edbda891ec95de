/* SPDX-License-Identifier: MIT */
/* token_verify.c: checks a DSQL auth token part by part, then re-signs it to compare signatures. */
#include "token_verify.h"

#include "base/log.h"
#include "creds/creds.h"
#include "sign/endpoint.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SIG_PREFIX "X-Amz-Signature="

enum param_id {
    P_ACTION,
    P_ALGORITHM,
    P_CREDENTIAL,
    P_DATE,
    P_EXPIRES,
    P_SECURITY_TOKEN,
    P_SIGNED_HEADERS,
    P_SIGNATURE,
    P_COUNT,
};

static const char *const param_names[P_COUNT] = {
    "Action",        "X-Amz-Algorithm",      "X-Amz-Credential",    "X-Amz-Date",
    "X-Amz-Expires", "X-Amz-Security-Token", "X-Amz-SignedHeaders", "X-Amz-Signature",
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s in place. Returns -1 on a bad escape or an escaped NUL. */
static int pct_decode(char *s)
{
    char *o = s;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p != '%') {
            *o++ = *p;
            continue;
        }
        int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -1;
        *o++ = (char)(hi * 16 + lo);
        p += 2;
    }
    *o = '\0';
    return 0;
}

/* Parses 1..7 decimal digits only (no sign, no spaces). */
static int parse_small_uint(const char *s, int64_t *out)
{
    int64_t v = 0;
    size_t n = strlen(s);
    /* Canonical decimal only: "0900" would verify as the "900" that was signed, letting a token
     * string the client never produced through. */
    if (n == 0 || n > 7 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int is_lower_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int is_key_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 4 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* Re-signs with the same inputs and compares the signatures in constant time. */
static int check_signature(dsql_credentials *creds, const dsql_token_verify_params *p, int admin,
                           int64_t expires, int64_t signed_at, const char *given_sig,
                           dsql_error *err)
{
    char *mine = NULL;
    dsql_error gerr;
    dsql_token_params tp = {
        .hostname = p->hostname,
        .region = p->region,
        .admin = admin,
        .expires_in = expires,
        .signing_time = signed_at,
    };
    int rc = dsql_token_generate(creds, &tp, &mine, &gerr);
    if (rc != DSQL_OK)
        return dsql_seterr(err, rc == DSQL_ERR_NOMEM ? rc : DSQL_ERR_CRYPTO,
                           "could not re-sign the token: %s", gerr.message);
    const char *sig = strstr(mine, SIG_PREFIX);
    if (sig == NULL || strlen(sig + strlen(SIG_PREFIX)) != DSQL_SHA256_HEX_LEN) {
        rc = dsql_seterr(err, DSQL_ERR_CRYPTO, "could not re-sign the token");
    } else if (CRYPTO_memcmp(sig + strlen(SIG_PREFIX), given_sig, DSQL_SHA256_HEX_LEN) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "signature mismatch");
    } else {
        rc = DSQL_OK;
    }
    dsql_token_free(mine);
    return rc;
}

int dsql_token_verify(const char *token, const dsql_token_verify_params *p, dsql_error *err)
{
    int rc;
    char *copy = NULL;
    size_t tlen = 0;
    dsql_credentials *creds = NULL, *signer = NULL;
    char *v[P_COUNT] = {0};
    char host[DSQL_HOST_MAX], want_host[DSQL_HOST_MAX];

    if (p == NULL || p->lookup == NULL || p->user == NULL || !dsql_valid_region(p->region) ||
        dsql_normalize_host(p->hostname, want_host, sizeof want_host) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_INVALID, "token verification: bad parameters");
        goto out;
    }
    tlen = token == NULL ? 0 : strnlen(token, DSQL_TOKEN_MAX + 1);
    if (tlen == 0) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: empty password");
        goto out;
    }
    if (tlen > DSQL_TOKEN_MAX) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: longer than %d bytes",
                         DSQL_TOKEN_MAX);
        goto out;
    }
    copy = strdup(token);
    if (copy == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }

    /* <host>/?<query> */
    char *q = strstr(copy, "/?");
    if (q == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH,
                         "malformed token: expected <host>/?Action=...; is this a DSQL token?");
        goto out;
    }
    *q = '\0';
    q += 2;
    if (strchr(copy, '/') != NULL) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: the host part has a scheme or path");
        goto out;
    }
    if (dsql_normalize_host(copy, host, sizeof host) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: the host part is not a host name");
        goto out;
    }
    if (strcmp(host, want_host) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "token is for host %s, not %s", host, want_host);
        goto out;
    }

    /* Query parameters: any order, each once, percent-decoded. */
    for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv != NULL;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq == NULL) {
            rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: a query parameter has no '='");
            goto out;
        }
        *eq = '\0';
        if (pct_decode(kv) != 0 || pct_decode(eq + 1) != 0) {
            rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: bad percent-encoding");
            goto out;
        }
        int id = -1;
        for (int i = 0; i < P_COUNT; i++)
            if (strcmp(kv, param_names[i]) == 0)
                id = i;
        if (id < 0) {
            rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: unexpected query parameter");
            goto out;
        }
        if (v[id] != NULL) {
            rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: duplicate parameter %s",
                             param_names[id]);
            goto out;
        }
        v[id] = eq + 1;
    }
    for (int i = 0; i < P_COUNT; i++) {
        if (i != P_SECURITY_TOKEN && (v[i] == NULL || *v[i] == '\0')) {
            rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: missing %s", param_names[i]);
            goto out;
        }
    }

    /* Action against the role. */
    int admin_action;
    if (strcmp(v[P_ACTION], "DbConnectAdmin") == 0) {
        admin_action = 1;
    } else if (strcmp(v[P_ACTION], "DbConnect") == 0) {
        admin_action = 0;
    } else {
        rc = dsql_seterr(err, DSQL_ERR_AUTH,
                         "malformed token: Action must be DbConnect or DbConnectAdmin");
        goto out;
    }
    int admin_user = strcmp(p->user, "admin") == 0;
    if (admin_user != admin_action) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH,
                         "wrong action for role %.63s: it needs %s, the token "
                         "has %s",
                         p->user, admin_user ? "DbConnectAdmin" : "DbConnect", v[P_ACTION]);
        goto out;
    }
    if (strcmp(v[P_ALGORITHM], "AWS4-HMAC-SHA256") != 0) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "wrong algorithm: only AWS4-HMAC-SHA256 is accepted");
        goto out;
    }
    if (strcmp(v[P_SIGNED_HEADERS], "host") != 0) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "wrong signed headers: exactly \"host\" is signed");
        goto out;
    }

    /* Credential scope: <key id>/<date>/<region>/dsql/aws4_request. */
    char *scope[5];
    int nscope = 0;
    for (char *s = v[P_CREDENTIAL], *slash;; s = slash + 1) {
        scope[nscope++] = s;
        if (nscope == 5)
            break; /* the rest, '/' included, is the last part: checked below */
        slash = strchr(s, '/');
        if (slash == NULL)
            break;
        *slash = '\0';
    }
    if (nscope != 5 || strchr(scope[4], '/') != NULL || !is_key_id(scope[0])) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH,
                         "malformed token: X-Amz-Credential is not "
                         "<key id>/<date>/<region>/dsql/aws4_request");
        goto out;
    }
    int64_t signed_at, expires;
    if (dsql_amz_time_parse(v[P_DATE], &signed_at) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: X-Amz-Date is not YYYYMMDDTHHMMSSZ");
        goto out;
    }
    if (strlen(scope[1]) != DSQL_AMZ_DATE_LEN ||
        strncmp(scope[1], v[P_DATE], DSQL_AMZ_DATE_LEN) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "credential scope date does not match X-Amz-Date");
        goto out;
    }
    if (strcmp(scope[2], p->region) != 0) {
        if (dsql_valid_region(scope[2]))
            rc = dsql_seterr(err, DSQL_ERR_AUTH, "token is for region %s, not %s", scope[2],
                             p->region);
        else
            rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: bad region in scope");
        goto out;
    }
    if (strcmp(scope[3], "dsql") != 0) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "wrong service in credential scope: expected dsql");
        goto out;
    }
    if (strcmp(scope[4], "aws4_request") != 0) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH,
                         "malformed token: credential scope must end in aws4_request");
        goto out;
    }
    if (parse_small_uint(v[P_EXPIRES], &expires) != 0 || expires < 1 ||
        expires > DSQL_TOKEN_EXPIRES_MAX) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "malformed token: X-Amz-Expires must be 1 to %d",
                         DSQL_TOKEN_EXPIRES_MAX);
        goto out;
    }
    int64_t now = p->now != 0 ? p->now : (int64_t)time(NULL);
    int64_t skew = p->max_skew > 0 ? p->max_skew : DSQL_TOKEN_SKEW_DEFAULT;
    if (now >= signed_at + expires) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "token expired %lld s ago",
                         (long long)(now - signed_at - expires));
        goto out;
    }
    if (signed_at > now + skew) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH,
                         "token is dated %lld s in the future; check the client's clock",
                         (long long)(signed_at - now));
        goto out;
    }
    if (!is_lower_hex(v[P_SIGNATURE], DSQL_SHA256_HEX_LEN)) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH,
                         "malformed token: X-Amz-Signature is not 64 lower-case hex digits");
        goto out;
    }

    /* The key, then the signature. */
    char shown[64];
    if (p->lookup(p->lookup_ctx, scope[0], &creds) != 0 || creds == NULL) {
        rc = dsql_seterr(err, DSQL_ERR_AUTH, "unknown access key id %s",
                         dsql_redact_key_id(scope[0], shown, sizeof shown));
        goto out;
    }
    const char *tok_session = v[P_SECURITY_TOKEN];
    const char *key_session = dsql_credentials_session_token(creds);
    if (key_session != NULL) {
        size_t n = strlen(key_session);
        if (tok_session == NULL || strlen(tok_session) != n ||
            CRYPTO_memcmp(tok_session, key_session, n) != 0) {
            rc = dsql_seterr(err, DSQL_ERR_AUTH, "wrong session token for access key id %s",
                             dsql_redact_key_id(scope[0], shown, sizeof shown));
            goto out;
        }
        signer = dsql_credentials_ref(creds);
    } else if (tok_session != NULL && *tok_session != '\0') {
        rc = dsql_credentials_new(scope[0], dsql_credentials_secret(creds), tok_session, 0,
                                  "token-verify", &signer, err);
        if (rc != DSQL_OK)
            goto out;
    } else {
        signer = dsql_credentials_ref(creds);
    }
    rc = check_signature(signer, p, admin_action, expires, signed_at, v[P_SIGNATURE], err);
out:
    dsql_credentials_free(signer);
    dsql_credentials_free(creds);
    if (copy != NULL) {
        dsql_wipe(copy, tlen); /* parsing put NULs inside: wipe the whole length */
        free(copy);
    }
    return rc;
}
