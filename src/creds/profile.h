/* SPDX-License-Identifier: MIT */
/* profile.h: static keys from the shared credentials file and the config file. */
#ifndef DSQL_CREDS_PROFILE_H
#define DSQL_CREDS_PROFILE_H

#include "creds/chain.h"

/* aws_access_key_id/aws_secret_access_key/aws_session_token in the credentials
 * file's [profile] ("shared-credentials-file") and the config file's profile ("config-file"). */
DSQL_LOCAL int dsql_creds_source_shared_file(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                             dsql_error *err);
DSQL_LOCAL int dsql_creds_source_config_file(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                             dsql_error *err);

#endif /* DSQL_CREDS_PROFILE_H */
