/* SPDX-License-Identifier: MIT */
/* env.c: credentials from the environment, with botocore's EnvProvider rules. */
#include "creds/env.h"
#include "creds/iso8601.h"

#include <stdlib.h>

/* A variable that is set and non-empty (botocore's `environ.get(name, '')` truthiness). */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

int dsql_creds_source_env(const dsql_creds_ctx *ctx, dsql_credentials **out, dsql_error *err)
{
    (void)ctx;
    /* Only the access key id switches the source on: a secret alone is ignored, as botocore
     * ignores it (the chain goes on to the profile). */
    const char *akid = env("AWS_ACCESS_KEY_ID");
    if (akid == NULL)
        return dsql_seterr(err, DSQL_ERR_NO_CREDENTIALS, "env: AWS_ACCESS_KEY_ID is not set");
    const char *secret = env("AWS_SECRET_ACCESS_KEY");
    if (secret == NULL)
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                           "env: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set "
                           "both or unset AWS_ACCESS_KEY_ID");
    /* botocore looks at AWS_SECURITY_TOKEN first, then AWS_SESSION_TOKEN. */
    const char *token = env("AWS_SECURITY_TOKEN");
    if (token == NULL)
        token = env("AWS_SESSION_TOKEN");
    int64_t exp = 0;
    const char *exp_s = env("AWS_CREDENTIAL_EXPIRATION");
    if (exp_s != NULL && dsql_iso8601_parse(exp_s, &exp) != 0)
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                           "env: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time with an "
                           "offset (e.g. 2026-11-25T15:00:00Z)");
    return dsql_credentials_new(akid, secret, token, exp, "env", out, err);
}
