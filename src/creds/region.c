/* SPDX-License-Identifier: MIT */
/* region.c: which region to sign for, in the documented order, and profile settings lookup. */
#include "creds/region.h"

#include "base/log.h"
#include "creds/chain.h"
#include "creds/imds.h"
#include "sign/endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads the files and checks a named profile exists. On success f must be cleaned up. */
static int open_profile(const char *profile, dsql_aws_files *f, char *name, size_t name_len,
                        dsql_error *err)
{
    int named, from_arg;
    if (dsql_aws_profile_name(profile, name, name_len, &named, &from_arg) != 0)
        return dsql_seterr(err, DSQL_ERR_INVALID, "the profile name is too long");
    int rc = dsql_aws_files_load(f, err);
    if (rc != DSQL_OK)
        return rc;
    if (named && !dsql_aws_profile_exists(f, name)) {
        rc = dsql_aws_profile_not_found(f, name, err);
        dsql_aws_files_cleanup(f);
    }
    return rc;
}

int dsql_profile_value(const char *profile, const char *key, char **value, dsql_error *err)
{
    dsql_aws_files f;
    char name[DSQL_PROFILE_MAX];
    int rc = open_profile(profile, &f, name, sizeof name, err);
    if (rc != DSQL_OK)
        return rc;
    const char *v = dsql_aws_profile_get(&f, name, key, NULL);
    char *copy = NULL;
    if (v != NULL && (copy = strdup(v)) == NULL)
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
    else
        *value = copy;
    dsql_aws_files_cleanup(&f);
    return rc;
}

/* A region value for a message: as it is when short and printable, else a placeholder. */
static const char *printable(const char *s)
{
    size_t n = strlen(s);
    if (n > 64)
        return "(too long)";
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return "(unprintable)";
    return s;
}

static int accept(const char *v, const char *from, char *region, size_t region_len, char *origin,
                  size_t origin_len, dsql_error *err)
{
    if (!dsql_valid_region(v))
        return dsql_seterr(err, DSQL_ERR_REGION,
                           "region: '%s' from %s is not a region name (expected e.g. us-east-1)",
                           printable(v), from);
    if (strlen(v) >= region_len)
        return dsql_seterr(err, DSQL_ERR_INVALID, "region: the output buffer is too small");
    strcpy(region, v);
    if (origin != NULL && origin_len > 0)
        snprintf(origin, origin_len, "%s", from);
    return DSQL_OK;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

int dsql_region_resolve(const char *explicit_region, const char *hostname, const char *profile,
                        char *region, size_t region_len, dsql_error *err)
{
    return dsql_region_resolve_origin(explicit_region, hostname, profile, region, region_len, NULL,
                                      0, err);
}

int dsql_region_resolve_origin(const char *explicit_region, const char *hostname,
                               const char *profile, char *region, size_t region_len, char *origin,
                               size_t origin_len, dsql_error *err)
{
    if (region == NULL || region_len == 0)
        return dsql_seterr(err, DSQL_ERR_INVALID, "region: no output buffer");
    const char *v;
    if (explicit_region != NULL && *explicit_region != '\0')
        return accept(explicit_region, "the explicit region", region, region_len, origin,
                      origin_len, err);
    if ((v = env("AWS_REGION")) != NULL)
        return accept(v, "AWS_REGION", region, region_len, origin, origin_len, err);
    if ((v = env("AWS_DEFAULT_REGION")) != NULL)
        return accept(v, "AWS_DEFAULT_REGION", region, region_len, origin, origin_len, err);

    dsql_aws_files f;
    char name[DSQL_PROFILE_MAX];
    int rc = open_profile(profile, &f, name, sizeof name, err);
    if (rc != DSQL_OK)
        return rc;
    const dsql_ini *file = NULL;
    v = dsql_aws_profile_get(&f, name, "region", &file);
    if (v != NULL && *v != '\0') {
        char from[DSQL_PROFILE_MAX + 300];
        snprintf(from, sizeof from, "profile '%s' in %.256s", name, file->path);
        rc = accept(v, from, region, region_len, origin, origin_len, err);
        dsql_aws_files_cleanup(&f);
        return rc;
    }
    dsql_aws_files_cleanup(&f);

    char hr[DSQL_REGION_MAX];
    if (hostname != NULL && dsql_hostname_region(hostname, hr, sizeof hr))
        return accept(hr, "the endpoint name", region, region_len, origin, origin_len, err);
    /* Last, as botocore's IMDSRegionProvider: the instance's own region, when on EC2. IMDS
     * disabled or absent falls through to the advice below. */
    dsql_error ierr = {0};
    if (dsql_imds_region(NULL, hr, sizeof hr, &ierr) == DSQL_OK)
        return accept(hr, "the instance metadata service", region, region_len, origin, origin_len,
                      err);
    dsql_log(DSQL_LOG_DEBUG, "region: none from IMDS: %s", ierr.message);
    return dsql_seterr(err, DSQL_ERR_REGION,
                       "no region: pass one (--region), set AWS_REGION, set region in profile "
                       "'%s' (aws configure), or use the endpoint <id>.dsql.<region>.on.aws",
                       name);
}
