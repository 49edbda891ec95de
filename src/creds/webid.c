/* SPDX-License-Identifier: MIT */
/* webid.c: AssumeRoleWithWebIdentity from a token file, configured by env or profile. */
#include "creds/webid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX (64 * 1024)

static int read_token(const char *path, dsql_buf *out, dsql_error *err)
{
    if (dsql_read_file(path, TOKEN_MAX, out) != 0) {
        if (errno == EFBIG)
            return dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                               "web identity: the token file %s is larger than %d bytes", path,
                               TOKEN_MAX);
        if (errno == ENOMEM)
            return dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                           "web identity: cannot read the token file %s: %s", path,
                           strerror(errno));
    }
    while (out->len > 0 && strchr(" \t\r\n", out->data[out->len - 1]) != NULL)
        out->data[--out->len] = '\0';
    size_t lead = strspn(out->data, " \t\r\n");
    if (lead > 0) {
        memmove(out->data, out->data + lead, out->len - lead + 1);
        out->len -= lead;
    }
    if (out->len == 0)
        return dsql_seterr(err, DSQL_ERR_CREDENTIALS, "web identity: the token file %s is empty",
                           path);
    return DSQL_OK;
}

int dsql_creds_fetch_webid(const dsql_webid_options *o, dsql_credentials **out, dsql_error *err)
{
    if (o == NULL || o->token_file == NULL || *o->token_file == '\0')
        return dsql_seterr(err, DSQL_ERR_NO_CREDENTIALS, "web identity: no token file");
    if (o->role_arn == NULL || *o->role_arn == '\0')
        return dsql_seterr(err, DSQL_ERR_CONFIG,
                           "web identity: a token file is configured but no role ARN; set "
                           "AWS_ROLE_ARN or the profile's role_arn");
    dsql_buf token;
    dsql_buf_init(&token);
    int rc = read_token(o->token_file, &token, err);
    if (rc == DSQL_OK) {
        dsql_sts_role role = {.role_arn = o->role_arn, .role_session_name = o->role_session_name};
        rc = dsql_sts_assume_role_with_web_identity(&o->sts, &role, token.data,
                                                    "assume-role-with-web-identity", out, err);
    }
    dsql_buf_cleanup(&token);
    return rc;
}

/* botocore's _get_config: the environment variable (unless disabled), else the profile key. */
static const char *setting(const dsql_creds_ctx *ctx, const char *env, const char *key)
{
    if (!ctx->profile_from_arg) {
        const char *v = getenv(env);
        if (v != NULL)
            return v;
    }
    return dsql_aws_profile_get(ctx->files, ctx->profile, key, NULL);
}

int dsql_creds_source_webid(const dsql_creds_ctx *ctx, dsql_credentials **out, dsql_error *err)
{
    dsql_webid_options o;
    memset(&o, 0, sizeof o);
    o.token_file = setting(ctx, "AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file");
    if (o.token_file == NULL || *o.token_file == '\0')
        return dsql_seterr(err, DSQL_ERR_NO_CREDENTIALS, "web identity: not configured");
    o.role_arn = setting(ctx, "AWS_ROLE_ARN", "role_arn");
    o.role_session_name = setting(ctx, "AWS_ROLE_SESSION_NAME", "role_session_name");
    dsql_sts_options_for(ctx, &o.sts);
    return dsql_creds_fetch_webid(&o, out, err);
}
