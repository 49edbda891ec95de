/* SPDX-License-Identifier: MIT */
/* env.h: credentials from the environment (the chain's first source). */
#ifndef DSQL_CREDS_ENV_H
#define DSQL_CREDS_ENV_H

#include "creds/chain.h"

/* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SECURITY_TOKEN or
 * AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION. Source name "env". */
DSQL_LOCAL int dsql_creds_source_env(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                     dsql_error *err);

#endif /* DSQL_CREDS_ENV_H */
