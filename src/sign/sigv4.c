/* SPDX-License-Identifier: MIT */
/* sigv4.c: the stages of AWS Signature Version 4 over OpenSSL's EVP interfaces. */
#include "sign/sigv4.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key;
static int ctx_key_ok;

/*
 * Per-thread contexts, reused from call to call: creating a context and naming its digest on
 * every call costs more than the hashing itself (OpenSSL 3 looks the digest name up again).
 * Freed by the key's destructor when the thread ends.
 */
struct thread_ctx {
    EVP_MD_CTX *md;
    EVP_MAC_CTX *mac;
};

static void thread_ctx_free(void *p)
{
    struct thread_ctx *t = p;
    if (t == NULL)
        return;
    EVP_MD_CTX_free(t->md);
    EVP_MAC_CTX_free(t->mac);
    free(t);
}

/* Fetch the algorithms once per process: an implicit fetch on every call costs a lookup. */
static void fetch_algorithms(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    ctx_key_ok = pthread_key_create(&ctx_key, thread_ctx_free) == 0;
}

static int algorithms(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
    return sha256_md != NULL && hmac_mac != NULL && ctx_key_ok ? 0 : -1;
}

static struct thread_ctx *thread_ctx(void)
{
    if (algorithms() != 0)
        return NULL;
    struct thread_ctx *t = pthread_getspecific(ctx_key);
    if (t != NULL)
        return t;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    t = calloc(1, sizeof *t);
    if (t == NULL || (t->md = EVP_MD_CTX_new()) == NULL ||
        (t->mac = EVP_MAC_CTX_new(hmac_mac)) == NULL ||
        EVP_MAC_CTX_set_params(t->mac, params) != 1 || pthread_setspecific(ctx_key, t) != 0) {
        thread_ctx_free(t);
        return NULL;
    }
    return t;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Howard Hinnant's civil_from_days: no locale, no time zone, no lock. */
int dsql_amz_time_from_unix(int64_t t, dsql_amz_time *out)
{
    int64_t days = floor_div(t, 86400);
    int64_t secs = t - days * 86400;
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    if (y < 0 || y > 9999)
        return -1;
    int hh = (int)(secs / 3600), mm = (int)(secs / 60 % 60), ss = (int)(secs % 60);
    static const char digits[] = "0123456789";
    char *p = out->datetime;
    p[0] = digits[y / 1000];
    p[1] = digits[y / 100 % 10];
    p[2] = digits[y / 10 % 10];
    p[3] = digits[y % 10];
    p[4] = digits[m / 10];
    p[5] = digits[m % 10];
    p[6] = digits[d / 10];
    p[7] = digits[d % 10];
    p[8] = 'T';
    p[9] = digits[hh / 10];
    p[10] = digits[hh % 10];
    p[11] = digits[mm / 10];
    p[12] = digits[mm % 10];
    p[13] = digits[ss / 10];
    p[14] = digits[ss % 10];
    p[15] = 'Z';
    p[16] = '\0';
    memcpy(out->date, p, 8);
    out->date[8] = '\0';
    return 0;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_digits(const char *s, int n, int64_t *v)
{
    int64_t x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int dsql_amz_time_parse(const char *s, int64_t *t)
{
    int64_t y, mo, d, h, mi, se;
    if (strlen(s) != DSQL_AMZ_DATETIME_LEN || s[8] != 'T' || s[15] != 'Z')
        return -1;
    if (parse_digits(s, 4, &y) || parse_digits(s + 4, 2, &mo) || parse_digits(s + 6, 2, &d) ||
        parse_digits(s + 9, 2, &h) || parse_digits(s + 11, 2, &mi) || parse_digits(s + 13, 2, &se))
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return -1;
    *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

void dsql_uri_encode(dsql_buf *b, const char *s, size_t n)
{
    static const char hexu[] = "0123456789ABCDEF";
    if (dsql_buf_reserve(b, n * 3) != 0)
        return;
    char *o = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hexu[c >> 4];
            *o++ = hexu[c & 15];
        }
    }
    *o = '\0';
    b->len = (size_t)(o - b->data);
}

void dsql_hex(const unsigned char *in, size_t n, char *hex)
{
    static const char hexl[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = hexl[in[i] >> 4];
        hex[2 * i + 1] = hexl[in[i] & 15];
    }
    hex[2 * n] = '\0';
}

int dsql_sha256_hex(const void *data, size_t len, char hex[DSQL_SHA256_HEX_LEN + 1])
{
    unsigned char md[DSQL_SHA256_LEN];
    struct thread_ctx *t = thread_ctx();
    if (t == NULL || EVP_DigestInit_ex2(t->md, sha256_md, NULL) != 1 ||
        EVP_DigestUpdate(t->md, data, len) != 1 || EVP_DigestFinal_ex(t->md, md, NULL) != 1)
        return -1;
    dsql_hex(md, sizeof md, hex);
    return 0;
}

int dsql_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                     unsigned char out[DSQL_SHA256_LEN])
{
    size_t outl = 0;
    struct thread_ctx *t = thread_ctx();
    if (t == NULL || EVP_MAC_init(t->mac, key, key_len, NULL) != 1 ||
        EVP_MAC_update(t->mac, data, len) != 1 ||
        EVP_MAC_final(t->mac, out, &outl, DSQL_SHA256_LEN) != 1 || outl != DSQL_SHA256_LEN)
        return -1;
    return 0;
}

int dsql_sigv4_signing_key(const char *secret, const char *date, const char *region,
                           const char *service, unsigned char key[DSQL_SHA256_LEN])
{
    int rc = -1;
    dsql_buf k;
    unsigned char a[DSQL_SHA256_LEN], b[DSQL_SHA256_LEN];
    dsql_buf_init(&k);
    dsql_buf_puts(&k, "AWS4");
    dsql_buf_puts(&k, secret);
    if (dsql_buf_failed(&k))
        goto out;
    if (dsql_hmac_sha256(k.data, k.len, date, strlen(date), a) != 0 ||
        dsql_hmac_sha256(a, sizeof a, region, strlen(region), b) != 0 ||
        dsql_hmac_sha256(b, sizeof b, service, strlen(service), a) != 0 ||
        dsql_hmac_sha256(a, sizeof a, "aws4_request", 12, key) != 0)
        goto out;
    rc = 0;
out:
    dsql_wipe(a, sizeof a);
    dsql_wipe(b, sizeof b);
    dsql_buf_cleanup(&k);
    return rc;
}

void dsql_sigv4_canonical_request(dsql_buf *out, const char *method, const char *path,
                                  const char *canonical_query, const char *canonical_headers,
                                  const char *signed_headers, const char *payload_hash_hex)
{
    dsql_buf_puts(out, method);
    dsql_buf_putc(out, '\n');
    dsql_buf_puts(out, path);
    dsql_buf_putc(out, '\n');
    dsql_buf_puts(out, canonical_query);
    dsql_buf_putc(out, '\n');
    dsql_buf_puts(out, canonical_headers);
    dsql_buf_putc(out, '\n');
    dsql_buf_puts(out, signed_headers);
    dsql_buf_putc(out, '\n');
    dsql_buf_puts(out, payload_hash_hex);
}

void dsql_sigv4_string_to_sign(dsql_buf *out, const char *amz_datetime, const char *scope,
                               const char *canonical_request_hex)
{
    dsql_buf_puts(out, "AWS4-HMAC-SHA256\n");
    dsql_buf_puts(out, amz_datetime);
    dsql_buf_putc(out, '\n');
    dsql_buf_puts(out, scope);
    dsql_buf_putc(out, '\n');
    dsql_buf_puts(out, canonical_request_hex);
}

int dsql_sigv4_signature(const unsigned char key[DSQL_SHA256_LEN], const char *string_to_sign,
                         size_t len, char hex[DSQL_SHA256_HEX_LEN + 1])
{
    unsigned char mac[DSQL_SHA256_LEN];
    if (dsql_hmac_sha256(key, DSQL_SHA256_LEN, string_to_sign, len, mac) != 0)
        return -1;
    dsql_hex(mac, sizeof mac, hex);
    dsql_wipe(mac, sizeof mac); /* the token's signature until the token itself is wiped */
    return 0;
}

/* Appends a header value as SigV4 canonicalises it: trimmed, inner runs of spaces as one. */
static void put_trimmed(dsql_buf *b, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == ' ' || v[i] == '\t') {
            space = 1;
            continue;
        }
        if (space)
            dsql_buf_putc(b, ' ');
        space = 0;
        dsql_buf_putc(b, v[i]);
    }
}

int dsql_sigv4_authorization(dsql_buf *out, const char *access_key_id,
                             const unsigned char key[DSQL_SHA256_LEN], const char *amz_datetime,
                             const char *region, const char *service, const char *method,
                             const char *path, const char *canonical_query,
                             const dsql_sigv4_header *headers, size_t n_headers,
                             const char *payload_hash_hex)
{
    int rc = -1;
    size_t order[DSQL_SIGV4_MAX_HEADERS];
    char hash_hex[DSQL_SHA256_HEX_LEN + 1], sig_hex[DSQL_SHA256_HEX_LEN + 1];
    dsql_buf canon, names, creq, sts, scope;
    dsql_buf_init(&canon);
    dsql_buf_init(&names);
    dsql_buf_init(&creq);
    dsql_buf_init(&sts);
    dsql_buf_init(&scope);
    if (n_headers == 0 || n_headers > DSQL_SIGV4_MAX_HEADERS ||
        strlen(amz_datetime) != DSQL_AMZ_DATETIME_LEN)
        goto out;
    /* Insertion sort of a handful of names. */
    for (size_t i = 0; i < n_headers; i++) {
        size_t j = i;
        while (j > 0 && strcmp(headers[order[j - 1]].name, headers[i].name) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (size_t i = 0; i < n_headers; i++) {
        const dsql_sigv4_header *h = &headers[order[i]];
        dsql_buf_puts(&canon, h->name);
        dsql_buf_putc(&canon, ':');
        put_trimmed(&canon, h->value);
        dsql_buf_putc(&canon, '\n');
        if (i > 0)
            dsql_buf_putc(&names, ';');
        dsql_buf_puts(&names, h->name);
    }
    dsql_buf_append(&scope, amz_datetime, DSQL_AMZ_DATE_LEN);
    dsql_buf_printf(&scope, "/%s/%s/aws4_request", region, service);
    dsql_sigv4_canonical_request(&creq, method, path, canonical_query, canon.data, names.data,
                                 payload_hash_hex);
    if (dsql_buf_failed(&canon) || dsql_buf_failed(&names) || dsql_buf_failed(&creq) ||
        dsql_buf_failed(&scope) || dsql_sha256_hex(creq.data, creq.len, hash_hex) != 0)
        goto out;
    dsql_sigv4_string_to_sign(&sts, amz_datetime, scope.data, hash_hex);
    if (dsql_buf_failed(&sts) || dsql_sigv4_signature(key, sts.data, sts.len, sig_hex) != 0)
        goto out;
    dsql_buf_printf(out, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                    access_key_id, scope.data, names.data, sig_hex);
    rc = dsql_buf_failed(out) ? -1 : 0;
out:
    dsql_buf_cleanup(&canon);
    dsql_buf_cleanup(&names);
    dsql_buf_cleanup(&creq);
    dsql_buf_cleanup(&sts);
    dsql_buf_cleanup(&scope);
    return rc;
}
