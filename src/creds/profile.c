/* SPDX-License-Identifier: MIT */
/* profile.c: static keys from the shared credentials file and from the config file. */
#include "creds/profile.h"

/*
 * botocore's SharedCredentialProvider and ConfigProvider: the source is on when the section
 * has aws_access_key_id; then aws_secret_access_key is required; the token is
 * aws_security_token, else aws_session_token.
 */
static int from_section(const dsql_ini *ini, const dsql_ini_section *s, const char *source,
                        const char *profile, dsql_credentials **out, dsql_error *err)
{
    const dsql_ini_entry *akid = dsql_ini_lookup(ini, s, "aws_access_key_id");
    if (akid == NULL)
        return dsql_seterr(err, DSQL_ERR_NO_CREDENTIALS, "%s: no aws_access_key_id", source);
    const dsql_ini_entry *secret = dsql_ini_lookup(ini, s, "aws_secret_access_key");
    const dsql_ini_entry *token = dsql_ini_lookup(ini, s, "aws_security_token");
    if (token == NULL)
        token = dsql_ini_lookup(ini, s, "aws_session_token");
    if (secret == NULL)
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                           "%s: profile '%s' in %s has aws_access_key_id but no "
                           "aws_secret_access_key",
                           source, profile, ini->path);
    if (akid->value == NULL || *akid->value == '\0' || secret->value == NULL ||
        *secret->value == '\0' || (token != NULL && token->value == NULL))
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                           "%s: profile '%s' in %s: aws_access_key_id, aws_secret_access_key "
                           "and aws_session_token must be plain non-empty values",
                           source, profile, ini->path);
    return dsql_credentials_new(akid->value, secret->value, token ? token->value : NULL, 0, source,
                                out, err);
}

int dsql_creds_source_shared_file(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                  dsql_error *err)
{
    /* In the credentials file a profile is the section of that very name: [dev], not
     * [profile dev]. */
    const dsql_ini *ini = ctx->files->credentials;
    return from_section(ini, dsql_ini_section_find(ini, ctx->profile), "shared-credentials-file",
                        ctx->profile, out, err);
}

int dsql_creds_source_config_file(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                  dsql_error *err)
{
    const dsql_ini *ini = ctx->files->config;
    return from_section(ini, dsql_aws_config_profile(ini, ctx->profile), "config-file",
                        ctx->profile, out, err);
}
