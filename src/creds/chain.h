/* SPDX-License-Identifier: MIT */
/* chain.h: the credential sources, their common context, and the chain that orders them. */
#ifndef DSQL_CREDS_CHAIN_H
#define DSQL_CREDS_CHAIN_H

#include "creds/ini.h"

#include <stdint.h>

#define DSQL_PROFILE_MAX 256

/*
 * What every source sees: the profile and the two shared files, read once per resolution.
 * Built by the chain for each resolution (and each refresh); sources only read it.
 * Later sources (HTTP transport, IMDS options, ...) add their fields here.
 */
typedef struct dsql_creds_ctx {
    char profile[DSQL_PROFILE_MAX]; /* the profile in use, never empty */
    int profile_named;              /* named by the caller or AWS_(DEFAULT_)PROFILE */
    int profile_from_arg;           /* named by the caller: botocore then skips the env source */
    const dsql_aws_files *files;    /* the parsed config and credentials files (borrowed) */
    int64_t now;                    /* Unix seconds, from the chain's clock */
} dsql_creds_ctx;

/*
 * A credential source. Returns DSQL_OK and a new reference in *out; DSQL_ERR_NO_CREDENTIALS
 * when the source is not configured (the chain moves on; err may hold a note but is not shown);
 * any other status when it is configured but failed: the chain stops there with that error,
 * as botocore does. The message names the source and the step.
 */
typedef int (*dsql_creds_source_fn)(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                    dsql_error *err);

/* botocore's refresh windows (RefreshableCredentials): seconds before expiry. */
#define DSQL_REFRESH_ADVISORY 900
#define DSQL_REFRESH_MANDATORY 600

/* For tests: replaces the chain's clock (NULL: time(2)). Not thread-safe against resolves. */
DSQL_LOCAL void dsql_creds_chain_set_clock(int64_t (*now)(void));

/* The chain's current time (the injected clock, or time(2)). */
DSQL_LOCAL int64_t dsql_creds_chain_now(void);

#endif /* DSQL_CREDS_CHAIN_H */
