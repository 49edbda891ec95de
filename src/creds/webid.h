/* SPDX-License-Identifier: MIT */
/* webid.h: web identity federation (EKS IRSA and the like) through STS. */
#ifndef DSQL_CREDS_WEBID_H
#define DSQL_CREDS_WEBID_H

#include "creds/sts.h"

/* Everything is borrowed. */
typedef struct dsql_webid_options {
    const char *token_file;        /* the OIDC token, read afresh on every fetch; required */
    const char *role_arn;          /* required */
    const char *role_session_name; /* NULL: "dsqlauth-session-<unix time>" */
    dsql_sts_options sts;          /* where STS is (zeroed: from the environment) */
} dsql_webid_options;

/*
 * Reads the token file (at most 64 KiB; surrounding white space dropped) and calls STS
 * AssumeRoleWithWebIdentity. On success *out is new, its source
 * "assume-role-with-web-identity". Errors start with "web identity: " or "STS ...".
 */
DSQL_LOCAL int dsql_creds_fetch_webid(const dsql_webid_options *opts, dsql_credentials **out,
                                      dsql_error *err);

/*
 * The chain's source, with botocore's rules: each setting comes from its environment variable
 * (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME) unless the caller named
 * the profile, else from the profile (web_identity_token_file, role_arn, role_session_name).
 * No token file: DSQL_ERR_NO_CREDENTIALS. A token file without a role ARN: DSQL_ERR_CONFIG.
 */
DSQL_LOCAL int dsql_creds_source_webid(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                       dsql_error *err);

#endif /* DSQL_CREDS_WEBID_H */
