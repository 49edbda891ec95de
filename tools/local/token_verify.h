/* SPDX-License-Identifier: MIT */
/* token_verify.h: the server side of a DSQL auth token: parse it, check each part, re-sign it. */
#ifndef DSQL_TOKEN_VERIFY_H
#define DSQL_TOKEN_VERIFY_H

#include "base/util.h"

#include <stdint.h>

/* Largest token accepted (a session token makes them ~1.5 KB; this leaves room and caps I/O). */
#define DSQL_TOKEN_MAX 8192
/* Allowed clock skew for an X-Amz-Date in the future, seconds. */
#define DSQL_TOKEN_SKEW_DEFAULT 300

/*
 * Finds the credential set for an access key id. Returns 0 and a new reference in *out, or -1
 * when the key is unknown. Must be thread-safe if the verifier is called from several threads.
 */
typedef int (*dsql_key_lookup_fn)(void *ctx, const char *access_key_id, dsql_credentials **out);

typedef struct dsql_token_verify_params {
    const char *hostname;      /* this endpoint; the token's host must match (case-insensitive) */
    const char *region;        /* this endpoint's region */
    const char *user;          /* the role logging in: "admin" needs DbConnectAdmin */
    int64_t now;               /* Unix seconds; 0 means time(NULL) (a test seam) */
    int64_t max_skew;          /* seconds an X-Amz-Date may lie in the future; 0: default */
    dsql_key_lookup_fn lookup; /* required */
    void *lookup_ctx;
} dsql_token_verify_params;

/*
 * Verifies token as an Aurora DSQL auth token for p. Returns DSQL_OK, DSQL_ERR_AUTH with a
 * reason in err naming the part that failed ("token expired", "signature mismatch", "malformed
 * token: ...", ...), DSQL_ERR_INVALID for bad parameters or DSQL_ERR_NOMEM/CRYPTO. The reason
 * never contains the token, the signature or a secret; it may name the token's host (sanitised).
 * Thread-safe; no I/O besides p->lookup.
 */
DSQL_LOCAL int dsql_token_verify(const char *token, const dsql_token_verify_params *p,
                                 dsql_error *err);

#endif /* DSQL_TOKEN_VERIFY_H */
