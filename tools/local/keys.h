/* SPDX-License-Identifier: MIT */
/* keys.h: the endpoint's keys file: access key ids and secrets the front accepts tokens from. */
#ifndef DSQL_LOCAL_KEYS_H
#define DSQL_LOCAL_KEYS_H

#include "dsqlauth.h"

#include <stddef.h>

#define KEYS_MAX 64
#define KEYS_FILE_MAX (64 * 1024)

/*
 * The keys file: one `ACCESS_KEY_ID SECRET [SESSION_TOKEN]` a line, `#` comments, owner-only.
 * Immutable once loaded, so lookups from many threads need no lock.
 */
typedef struct keys {
    size_t n;
    dsql_credentials *creds[KEYS_MAX];
} keys;

/* Writes path with one fresh random test pair unless it exists. 0, or -1 with msg. */
int keys_ensure(const char *path, char *msg, size_t msglen);

/* Loads path (refusing a file others can read). 0, or -1 with msg. keys_free releases. */
int keys_load(const char *path, keys *k, char *msg, size_t msglen);
void keys_free(keys *k);

/* dsql_key_lookup_fn over a loaded keys (ctx). */
int keys_lookup(void *ctx, const char *access_key_id, dsql_credentials **out);

/* The first pair, for `env`: borrowed id, and the secret copied into secret (wipe it). */
int keys_first(const char *path, char *id, size_t idlen, char *secret, size_t secretlen);

#endif /* DSQL_LOCAL_KEYS_H */
