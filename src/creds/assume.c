/* SPDX-License-Identifier: MIT */
/* assume.c: role_arn profiles, their source_profile chains and credential_source. */
#include "creds/assume.h"

#include "base/log.h"
#include "creds/env.h"
#include "creds/process.h"
#include "creds/profile.h"
#include "creds/sso.h"
#include "creds/webid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CHAIN 16

struct walk {
    const dsql_assume_options *o;
    const char *visited[MAX_CHAIN];
    int n;
};

static const char *get(const struct walk *w, const char *profile, const char *key)
{
    return dsql_aws_profile_get(w->o->ctx->files, profile, key, NULL);
}

static int has_static(const struct walk *w, const char *p)
{
    return get(w, p, "aws_access_key_id") != NULL || get(w, p, "aws_secret_access_key") != NULL;
}

static int has_role(const struct walk *w, const char *p)
{
    return get(w, p, "role_arn") != NULL && get(w, p, "web_identity_token_file") == NULL;
}

static int assume(struct walk *w, const char *profile, dsql_credentials **out, dsql_error *err);

/* The profile sources botocore runs for a source profile (disable_env_vars=True). */
static int from_profile_sources(struct walk *w, const char *profile, dsql_credentials **out,
                                dsql_error *err)
{
    static const dsql_creds_source_fn sources[] = {
        dsql_creds_source_webid,   dsql_creds_source_sso,         dsql_creds_source_shared_file,
        dsql_creds_source_process, dsql_creds_source_config_file,
    };
    dsql_creds_ctx ctx = *w->o->ctx;
    snprintf(ctx.profile, sizeof ctx.profile, "%s", profile);
    ctx.profile_named = 1;
    ctx.profile_from_arg = 1; /* botocore's disable_env_vars for source profiles */
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        int rc = sources[i](&ctx, out, err);
        if (rc != DSQL_ERR_NO_CREDENTIALS)
            return rc;
    }
    return dsql_seterr(err, DSQL_ERR_CONFIG,
                       "assume-role: the source profile '%s' has no credentials", profile);
}

static int from_credential_source(struct walk *w, const char *name, const char *profile,
                                  dsql_credentials **out, dsql_error *err)
{
    int rc;
    if (strcasecmp(name, "Environment") == 0)
        rc = dsql_creds_source_env(w->o->ctx, out, err);
    else if (strcasecmp(name, "Ec2InstanceMetadata") == 0)
        rc = dsql_creds_fetch_imds(w->o->imds, out, err);
    else if (strcasecmp(name, "EcsContainer") == 0)
        rc = dsql_creds_fetch_container(w->o->container, out, err);
    else
        return dsql_seterr(err, DSQL_ERR_CONFIG,
                           "assume-role: credential_source '%s' in profile '%s' is not valid; "
                           "use Environment, Ec2InstanceMetadata or EcsContainer",
                           name, profile);
    if (rc == DSQL_ERR_NO_CREDENTIALS) {
        dsql_err_prefix(err,
                        "assume-role: credential_source %s referenced in profile '%s' "
                        "gave no credentials",
                        name, profile);
        rc = DSQL_ERR_CREDENTIALS;
    }
    return rc;
}

static int from_source_profile(struct walk *w, const char *source, const char *profile,
                               dsql_credentials **out, dsql_error *err)
{
    if (!dsql_aws_profile_exists(w->o->ctx->files, source))
        return dsql_seterr(err, DSQL_ERR_CONFIG,
                           "assume-role: the source_profile '%s' referenced in profile '%s' "
                           "does not exist",
                           source, profile);
    for (int i = 0; i < w->n; i++) {
        if (strcmp(w->visited[i], source) != 0)
            continue;
        /* A profile may source its own static keys; anything else is a loop. */
        if (strcmp(source, profile) != 0 || !has_static(w, source)) {
            char path[512] = "";
            for (int k = 0; k < w->n; k++) {
                strncat(path, w->visited[k], sizeof path - strlen(path) - 1);
                strncat(path, " -> ", sizeof path - strlen(path) - 1);
            }
            strncat(path, source, sizeof path - strlen(path) - 1);
            return dsql_seterr(err, DSQL_ERR_CONFIG, "assume-role: source_profile loop: %s", path);
        }
    }
    if (w->n == MAX_CHAIN)
        return dsql_seterr(err, DSQL_ERR_CONFIG,
                           "assume-role: more than %d profiles chained through source_profile",
                           MAX_CHAIN);
    w->visited[w->n++] = source;
    if (has_static(w, source) || !has_role(w, source))
        return from_profile_sources(w, source, out, err);
    return assume(w, source, out, err);
}

static int assume(struct walk *w, const char *profile, dsql_credentials **out, dsql_error *err)
{
    const char *source = get(w, profile, "source_profile");
    const char *cred_source = get(w, profile, "credential_source");
    if (source != NULL && cred_source != NULL)
        return dsql_seterr(err, DSQL_ERR_CONFIG,
                           "assume-role: profile '%s' has both source_profile and "
                           "credential_source; keep one",
                           profile);
    if (source == NULL && cred_source == NULL)
        return dsql_seterr(err, DSQL_ERR_CONFIG,
                           "assume-role: profile '%s' has role_arn but neither source_profile "
                           "nor credential_source",
                           profile);
    if (get(w, profile, "mfa_serial") != NULL)
        return dsql_seterr(err, DSQL_ERR_CONFIG,
                           "assume-role: profile '%s' needs an MFA code (mfa_serial), which a "
                           "library cannot prompt for; use a credential_process or session "
                           "credentials instead",
                           profile);
    dsql_sts_role role = {.role_arn = get(w, profile, "role_arn"),
                          .role_session_name = get(w, profile, "role_session_name"),
                          .external_id = get(w, profile, "external_id")};
    const char *duration = get(w, profile, "duration_seconds");
    if (duration != NULL) {
        char *end;
        long d = strtol(duration, &end, 10);
        if (*duration != '\0' && *end == '\0' && d > 0 && d <= 43200)
            role.duration_seconds = (int)d; /* botocore ignores a value int() rejects */
    }
    dsql_credentials *src = NULL;
    int rc = cred_source != NULL ? from_credential_source(w, cred_source, profile, &src, err)
                                 : from_source_profile(w, source, profile, &src, err);
    if (rc != DSQL_OK)
        return rc;
    dsql_log(DSQL_LOG_DEBUG,
             "assume-role: profile '%s': assuming its role with credentials "
             "from %s",
             profile, dsql_credentials_source(src));
    rc = dsql_sts_assume_role(&w->o->sts, &role, src, "assume-role", out, err);
    if (rc != DSQL_OK)
        dsql_err_prefix(err, "assume-role: profile '%s'", profile);
    dsql_credentials_free(src);
    return rc;
}

int dsql_creds_fetch_assume_role(const dsql_assume_options *o, dsql_credentials **out,
                                 dsql_error *err)
{
    if (o == NULL || o->ctx == NULL)
        return dsql_seterr(err, DSQL_ERR_INVALID, "assume-role: no profile context");
    struct walk w = {.o = o, .n = 0};
    const char *profile = o->ctx->profile;
    if (!has_role(&w, profile))
        return dsql_seterr(err, DSQL_ERR_NO_CREDENTIALS, "assume-role: not configured");
    w.visited[w.n++] = profile;
    return assume(&w, profile, out, err);
}

int dsql_creds_source_assume_role(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                  dsql_error *err)
{
    dsql_assume_options o = {.ctx = ctx};
    dsql_sts_options_for(ctx, &o.sts);
    return dsql_creds_fetch_assume_role(&o, out, err);
}
