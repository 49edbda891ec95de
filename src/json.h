/* SPDX-License-Identifier: MIT */
/* json.h: JSON documents the credential sources read; the only module that includes jansson. */
#ifndef DSQL_JSON_H
#define DSQL_JSON_H

#include "creds.h"

/* ---- Cloud sources (IMDS, container endpoint, SSO) ------------------------------------- */

/*
 * The credentials document of IMDS and of the ECS/EKS container endpoint:
 * {"Code":"Success","AccessKeyId","SecretAccessKey","Token","Expiration": ISO-8601, ...}.
 * "Code" is optional; any value but "Success" is an error naming the code and "Message".
 * AccessKeyId and SecretAccessKey are required, Token and Expiration optional when
 * require_token_and_expiration is 0 (a container FULL_URI may serve long-term keys).
 * On success *out is new; errors carry no prefix ("malformed JSON at line 1, column 9",
 * "missing AccessKeyId", "AssumeRoleUnauthorizedAccess: ...") so callers add theirs.
 * String values are wiped before the parsed tree is freed.
 */
DSQL_LOCAL int dsql_json_metadata_credentials(const char *text, size_t len,
                                              int require_token_and_expiration,
                                              const char *source_name, dsql_credentials **out,
                                              dsql_error *err);

/*
 * An SSO token cache file (~/.aws/sso/cache/<sha1>.json): "accessToken" (secret) and
 * "expiresAt" (ISO-8601). On success *access_token is a new string the caller frees with
 * dsql_free_secret, and *expires_at is Unix seconds.
 */
DSQL_LOCAL int dsql_json_sso_token(const char *text, size_t len, char **access_token,
                                   int64_t *expires_at, dsql_error *err);

/*
 * The SSO portal's GetRoleCredentials answer:
 * {"roleCredentials":{"accessKeyId","secretAccessKey","sessionToken","expiration": ms}}.
 */
DSQL_LOCAL int dsql_json_sso_role_credentials(const char *text, size_t len,
                                              const char *source_name, dsql_credentials **out,
                                              dsql_error *err);

#endif /* DSQL_JSON_H */
