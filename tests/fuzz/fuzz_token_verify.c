/* SPDX-License-Identifier: MIT */
/* fuzz_token_verify.c: arbitrary passwords through the local endpoint's token verifier. */
#include "fuzz.h"

#include "creds/creds.h"
#include "sign/endpoint.h"
#include "token_verify.h"

#include <stdbool.h>
#include <string.h>

/*
 * The verifier knows two keys, one with a session token. Signatures cannot be guessed, so the
 * only passwords it may accept are the tokens signed below (the corpus holds them), up to what
 * does not change their meaning: parameter order, percent-encoding, empty '&' segments, an
 * empty X-Amz-Security-Token, the host's case, trailing dots and port. The check: whatever is
 * accepted decodes to one of them, and each of them is accepted for its role.
 */
#define HOST "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"
#define REGION "us-east-1"
#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define AKID2 "ASIAFUZZFUZZFUZZFUZZ"
#define SECRET2 "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
#define SESSION2 "IQoJb3JpZ2luX2VjEFUZZ+/=session%token"
#define T0 1767225600 /* 2026-01-01T00:00:00Z, when the corpus tokens were signed */
#define NOW (T0 + 60)

static dsql_credentials *key1, *key2;

static int lookup(void *ctx, const char *id, dsql_credentials **out)
{
    (void)ctx;
    if (strcmp(id, AKID) == 0)
        *out = dsql_credentials_ref(key1);
    else if (strcmp(id, AKID2) == 0)
        *out = dsql_credentials_ref(key2);
    else
        return -1;
    return 0;
}

typedef struct valid {
    char *token;
    char *canon;
    bool admin;
} valid;

static valid tokens[3];

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

static void decode(const char *s, size_t n, char *out, size_t *on)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    *on = o;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An independent reading of a token: lower-cased host, then its decoded parameters, sorted. */
static char *canonical(const char *t)
{
    const char *q = strstr(t, "/?");
    if (q == NULL)
        return NULL;
    size_t len = strlen(t);
    char *out = malloc(2 * len + 16), *params[256];
    FUZZ_CHECK(out != NULL);
    size_t o = 0, np = 0;
    size_t hn = strcspn(t, ":");
    if (hn > (size_t)(q - t))
        hn = (size_t)(q - t);
    while (hn > 0 && t[hn - 1] == '.')
        hn--;
    for (size_t i = 0; i < hn; i++)
        out[o++] = (char)((t[i] >= 'A' && t[i] <= 'Z') ? t[i] - 'A' + 'a' : t[i]);
    out[o++] = '\n';
    for (const char *p = q + 2; *p != '\0' && np < 256;) {
        size_t n = strcspn(p, "&");
        if (n > 0) {
            char *d = malloc(n + 1);
            FUZZ_CHECK(d != NULL);
            size_t dn;
            decode(p, n, d, &dn);
            d[dn] = '\0';
            if (strcmp(d, "X-Amz-Security-Token=") == 0)
                free(d);
            else
                params[np++] = d;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    qsort(params, np, sizeof *params, by_str);
    for (size_t i = 0; i < np; i++) {
        size_t n = strlen(params[i]);
        memcpy(out + o, params[i], n);
        o += n;
        out[o++] = '\n';
        free(params[i]);
    }
    out[o] = '\0';
    return out;
}

static char *sign(dsql_credentials *c, int admin)
{
    dsql_token_params p = {
        .hostname = HOST, .region = REGION, .admin = admin, .expires_in = 900, .signing_time = T0};
    char *t = NULL;
    FUZZ_CHECK(dsql_token_generate(c, &p, &t, NULL) == DSQL_OK);
    return t;
}

static void setup(void)
{
    FUZZ_CHECK(dsql_credentials_new(AKID, SECRET, NULL, 0, "fuzz", &key1, NULL) == DSQL_OK);
    FUZZ_CHECK(dsql_credentials_new(AKID2, SECRET2, SESSION2, 0, "fuzz", &key2, NULL) == DSQL_OK);
    tokens[0] = (valid){sign(key1, 1), NULL, true};
    tokens[1] = (valid){sign(key1, 0), NULL, false};
    tokens[2] = (valid){sign(key2, 0), NULL, false};
    for (size_t i = 0; i < 3; i++)
        tokens[i].canon = canonical(tokens[i].token);
    if (getenv("FUZZ_PRINT_TOKENS") != NULL)
        for (size_t i = 0; i < 3; i++)
            printf("%s\n", tokens[i].token);
}

static int verify(const char *pw, const char *user, dsql_error *err)
{
    dsql_token_verify_params p = {
        .hostname = HOST, .region = REGION, .user = user, .now = NOW, .lookup = lookup};
    return dsql_token_verify(pw, &p, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (key1 == NULL)
        setup();
    if (size > DSQL_TOKEN_MAX + 16 || memchr(data, '\0', size) != NULL)
        return 0; /* the front takes one NUL-terminated string of bounded size */
    char *pw = malloc(size + 1);
    FUZZ_CHECK(pw != NULL);
    memcpy(pw, data, size);
    pw[size] = '\0';
    static const char *const users[] = {"admin", "app"};
    for (size_t u = 0; u < 2; u++) {
        dsql_error err = {0};
        int rc = verify(pw, users[u], &err);
        bool is_valid = false;
        for (size_t i = 0; i < 3; i++)
            if (strcmp(pw, tokens[i].token) == 0 && tokens[i].admin == (u == 0))
                is_valid = true;
        if (is_valid)
            FUZZ_CHECK(rc == DSQL_OK);
        if (rc == DSQL_OK) {
            char *c = canonical(pw);
            bool known = false;
            for (size_t i = 0; i < 3; i++)
                if (c != NULL && strcmp(c, tokens[i].canon) == 0 && tokens[i].admin == (u == 0))
                    known = true;
            if (!known)
                fprintf(stderr, "accepted for %s, but it is no token we signed:\n%s\n", users[u],
                        pw);
            FUZZ_CHECK(known);
            free(c);
            continue;
        }
        FUZZ_CHECK(rc == DSQL_ERR_AUTH);
        FUZZ_CHECK(err.message[0] != '\0');
        /* The reason never repeats a signature (64 hex digits) or the session token. It may
         * name the token's host and this endpoint's, so a signature written into either is no
         * finding. */
        const char *sig = strstr(pw, "X-Amz-Signature=");
        const char *q = strstr(pw, "/?");
        if (sig != NULL && q != NULL && strspn(sig + 16, "0123456789abcdef") == 64) {
            char value[65], *host = strndup(pw, (size_t)(q - pw));
            FUZZ_CHECK(host != NULL);
            memcpy(value, sig + 16, 64);
            value[64] = '\0';
            for (char *h = host; *h != '\0'; h++)
                if (*h >= 'A' && *h <= 'Z')
                    *h = (char)(*h - 'A' + 'a');
            if (strstr(host, value) == NULL && strstr(HOST, value) == NULL)
                FUZZ_CHECK(strstr(err.message, value) == NULL);
            free(host);
        }
        FUZZ_CHECK(strstr(err.message, SESSION2) == NULL);
    }
    free(pw);
    return 0;
}
