/* SPDX-License-Identifier: MIT */
/* creds.h: the credential set's internals, for the signer and the credential sources only. */
#ifndef DSQL_CREDS_H
#define DSQL_CREDS_H

#include "sign/sigv4.h"

/* Borrowed; never log it. */
DSQL_LOCAL const char *dsql_credentials_secret(const dsql_credentials *creds);
/* Borrowed; NULL when there is none. Never log it. */
DSQL_LOCAL const char *dsql_credentials_session_token(const dsql_credentials *creds);
/* The session token already URI-encoded for a query string ("" when none). Borrowed. */
DSQL_LOCAL const char *dsql_credentials_session_token_encoded(const dsql_credentials *creds);

/*
 * Copies the SigV4 signing key for (date, region, service) into key, deriving it on the first
 * use and caching it in the credential set, so a token costs one HMAC chain per day, not per
 * call. Thread-safe. The caller wipes key.
 */
DSQL_LOCAL int dsql_credentials_signing_key(dsql_credentials *creds, const char *date,
                                            const char *region, const char *service,
                                            unsigned char key[DSQL_SHA256_LEN]);

/*
 * For a pthread_atfork child handler: the child has one thread, so re-initialises the lock a
 * thread of the parent may have held at fork time and forgets the derived keys it guarded.
 */
DSQL_LOCAL void dsql_credentials_after_fork(dsql_credentials *creds);

#endif /* DSQL_CREDS_H */
