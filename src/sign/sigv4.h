/* SPDX-License-Identifier: MIT */
/* sigv4.h: AWS Signature Version 4, each stage exposed (pure functions, time injected, no I/O). */
#ifndef DSQL_SIGV4_H
#define DSQL_SIGV4_H

#include "base/util.h"

#include <stdint.h>

#define DSQL_SHA256_LEN 32
#define DSQL_SHA256_HEX_LEN 64
#define DSQL_AMZ_DATE_LEN 8      /* YYYYMMDD */
#define DSQL_AMZ_DATETIME_LEN 16 /* YYYYMMDDTHHMMSSZ */

/* SHA-256 of the empty string, hex: the payload hash of a presigned GET. */
#define DSQL_EMPTY_SHA256_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct dsql_amz_time {
    char date[DSQL_AMZ_DATE_LEN + 1];         /* "20260102" */
    char datetime[DSQL_AMZ_DATETIME_LEN + 1]; /* "20260102T030405Z" */
} dsql_amz_time;

/* Formats Unix seconds as the two SigV4 time strings (UTC, proleptic Gregorian). */
DSQL_LOCAL int dsql_amz_time_from_unix(int64_t t, dsql_amz_time *out);

/* Parses "YYYYMMDDTHHMMSSZ" strictly; returns 0 and sets *t, or -1. */
DSQL_LOCAL int dsql_amz_time_parse(const char *s, int64_t *t);

/*
 * Appends s[0..n) encoded the way the AWS SDKs encode query strings (RFC 3986): the unreserved
 * characters A-Z a-z 0-9 - _ . ~ as they are, every other byte as %XX with upper-case hex.
 */
DSQL_LOCAL void dsql_uri_encode(dsql_buf *b, const char *s, size_t n);

/* Lower-case hex of n bytes into hex (2n+1 bytes, NUL-terminated). */
DSQL_LOCAL void dsql_hex(const unsigned char *in, size_t n, char *hex);

/* SHA-256 of data, as 64 hex characters plus NUL. Returns 0, or -1 if OpenSSL failed. */
DSQL_LOCAL int dsql_sha256_hex(const void *data, size_t len, char hex[DSQL_SHA256_HEX_LEN + 1]);

/* HMAC-SHA256. Returns 0, or -1 if OpenSSL failed. */
DSQL_LOCAL int dsql_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                                unsigned char out[DSQL_SHA256_LEN]);

/*
 * The SigV4 signing key: HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request".
 * The key is secret: callers wipe it.
 */
DSQL_LOCAL int dsql_sigv4_signing_key(const char *secret, const char *date, const char *region,
                                      const char *service, unsigned char key[DSQL_SHA256_LEN]);

/* Stage 1: the canonical request. Each argument is already canonical (sorted, encoded). */
DSQL_LOCAL void dsql_sigv4_canonical_request(dsql_buf *out, const char *method, const char *path,
                                             const char *canonical_query,
                                             const char *canonical_headers,
                                             const char *signed_headers,
                                             const char *payload_hash_hex);

/* Stage 2: the string to sign, from the timestamp, the scope and the canonical request's hash. */
DSQL_LOCAL void dsql_sigv4_string_to_sign(dsql_buf *out, const char *amz_datetime,
                                          const char *scope, const char *canonical_request_hex);

/* Stage 3: the signature, hex of HMAC(signing key, string to sign). */
DSQL_LOCAL int dsql_sigv4_signature(const unsigned char key[DSQL_SHA256_LEN],
                                    const char *string_to_sign, size_t len,
                                    char hex[DSQL_SHA256_HEX_LEN + 1]);

/* One request header for header signing: name lower-case, value as sent. Borrowed. */
typedef struct dsql_sigv4_header {
    const char *name;
    const char *value;
} dsql_sigv4_header;

#define DSQL_SIGV4_MAX_HEADERS 16

/*
 * SigV4 header signing (the `Authorization` header of a signed request, as AWS SDKs send to
 * STS), built from the same stages as the presigner: canonical headers (names sorted, values
 * trimmed, inner runs of spaces collapsed), canonical request, string to sign, signature.
 * key is the signing key for (amz_datetime's date, region, service). Appends
 * "AWS4-HMAC-SHA256 Credential=<akid>/<scope>, SignedHeaders=<names>, Signature=<hex>" to out.
 * Every header given is signed; at most DSQL_SIGV4_MAX_HEADERS. Returns 0, or -1 on an
 * argument out of range, allocation or OpenSSL failure.
 */
DSQL_LOCAL int dsql_sigv4_authorization(dsql_buf *out, const char *access_key_id,
                                        const unsigned char key[DSQL_SHA256_LEN],
                                        const char *amz_datetime, const char *region,
                                        const char *service, const char *method, const char *path,
                                        const char *canonical_query,
                                        const dsql_sigv4_header *headers, size_t n_headers,
                                        const char *payload_hash_hex);

#endif /* DSQL_SIGV4_H */
