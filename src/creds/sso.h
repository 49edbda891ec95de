/* SPDX-License-Identifier: MIT */
/* sso.h: IAM Identity Center (SSO): the cached `aws sso login` token, then the portal's
 * GetRoleCredentials. */
#ifndef DSQL_CREDS_SSO_H
#define DSQL_CREDS_SSO_H

#include "creds/chain.h"
#include "creds/creds.h"
#include "creds/json.h"

/* Everything is borrowed. */
typedef struct dsql_sso_options {
    const char *profile;      /* named in the "run aws sso login --profile X" advice */
    const char *start_url;    /* sso_start_url; the token cache key of legacy profiles */
    const char *sso_region;   /* the portal's region */
    const char *account_id;   /* sso_account_id */
    const char *role_name;    /* sso_role_name */
    const char *session_name; /* sso_session; NULL for a legacy profile. The cache key then */
    /* The token cache folder. NULL: ~/.aws/sso/cache. The file is <sha1 hex of session_name,
     * or of start_url for a legacy profile>.json, as botocore names it. */
    const char *cache_dir;
    /* Portal base URL. NULL: AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL, else
     * https://portal.sso.<sso_region>.amazonaws.com. */
    const char *endpoint;
    long timeout_ms; /* 0: 10000 */
    int64_t now;     /* 0: the clock; decides whether the cached token has expired */
} dsql_sso_options;

/*
 * Reads the cached token (accessToken, expiresAt) and calls GET
 * <portal>/federation/credentials?role_name=..&account_id=.. with x-amz-sso_bearer_token. An
 * expired, missing or rejected (401/403) token gives DSQL_ERR_CREDENTIALS "SSO: ...; run aws sso
 * login --profile <profile>". On success *out is new, its source "sso".
 */
DSQL_LOCAL int dsql_creds_fetch_sso(const dsql_sso_options *opts, dsql_credentials **out,
                                    dsql_error *err);

/*
 * The chain's source, botocore's SSOProvider: on when the profile has sso_role_name or
 * sso_account_id; sso_session pulls in the [sso-session NAME] section (a key set differently
 * in both is an error); sso_start_url, sso_region, sso_account_id and sso_role_name are then
 * required (DSQL_ERR_CONFIG naming the missing ones).
 */
DSQL_LOCAL int dsql_creds_source_sso(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                     dsql_error *err);

/* The cache file name botocore uses for key (session name or start URL): 40 hex + ".json". */
DSQL_LOCAL void dsql_sso_cache_name(const char *key, char name[46]);

/* SSO GetRoleCredentials: roleCredentials{accessKeyId, ..., expiration (epoch ms)}. */
DSQL_LOCAL extern const dsql_json_cred_fields dsql_sso_fields;

#endif /* DSQL_CREDS_SSO_H */
