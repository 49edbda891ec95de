/* SPDX-License-Identifier: MIT */
/* assume.h: assume-role profiles (role_arn with source_profile or credential_source). */
#ifndef DSQL_CREDS_ASSUME_H
#define DSQL_CREDS_ASSUME_H

#include "creds/container.h"
#include "creds/imds.h"
#include "creds/sts.h"

/* Everything is borrowed. */
typedef struct dsql_assume_options {
    /* The files, the profile holding role_arn, and the clock. Required. */
    const dsql_creds_ctx *ctx;
    /* Where STS is; botocore calls it in the session's region (the top profile's). */
    dsql_sts_options sts;
    /* For credential_source = Ec2InstanceMetadata / EcsContainer. NULL: from the environment. */
    const dsql_imds_options *imds;
    const dsql_container_options *container;
} dsql_assume_options;

/*
 * botocore's AssumeRoleProvider for ctx->profile: the source credentials come from
 * credential_source (Environment, Ec2InstanceMetadata, EcsContainer; case-insensitive) or from
 * source_profile, resolved as botocore does: a source profile with static keys, or without
 * role_arn, runs the profile sources (web identity, SSO, credentials file, credential_process,
 * config file; never the environment); one with role_arn is assumed in turn. A profile may
 * name itself as source_profile when it has static keys; any other loop is an error. Then STS
 * AssumeRole with role_arn, role_session_name, external_id and duration_seconds, signed by the
 * source credentials. mfa_serial is refused: a library cannot prompt for a code.
 * DSQL_ERR_NO_CREDENTIALS when the profile has no role_arn (or has web_identity_token_file,
 * which belongs to the web identity source). On success *out is new, source "assume-role".
 */
DSQL_LOCAL int dsql_creds_fetch_assume_role(const dsql_assume_options *opts, dsql_credentials **out,
                                            dsql_error *err);

/* The chain's source: dsql_creds_fetch_assume_role with STS settings from dsql_sts_options_for. */
DSQL_LOCAL int dsql_creds_source_assume_role(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                             dsql_error *err);

#endif /* DSQL_CREDS_ASSUME_H */
