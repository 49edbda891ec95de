/* SPDX-License-Identifier: MIT */
/* auth.c: the whole way from a host name to a token (endpoint, region, credentials, signature). */
#include "token/auth.h"

#include "base/log.h"
#include "creds/region.h"
#include "sign/endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dsql_auth_region(const char *host, char *region, size_t len, char *origin, size_t origin_len,
                     dsql_error *err)
{
    /* DSQLAUTH_REGION; else the region inside an endpoint name (the only right one for it,
     * whatever AWS_REGION says); else the chain. */
    const char *mine = getenv("DSQLAUTH_REGION");
    if (mine != NULL && *mine != '\0') {
        int rc = dsql_region_resolve(mine, host, NULL, region, len, err);
        if (rc == DSQL_OK && origin != NULL && origin_len > 0)
            snprintf(origin, origin_len, "DSQLAUTH_REGION");
        return rc;
    }
    char found[DSQL_REGION_MAX];
    if (host != NULL && dsql_hostname_region(host, found, sizeof found)) {
        if (strlen(found) >= len)
            return dsql_seterr(err, DSQL_ERR_INVALID, "region: the output buffer is too small");
        strcpy(region, found);
        if (origin != NULL && origin_len > 0)
            snprintf(origin, origin_len, "the endpoint name");
        return DSQL_OK;
    }
    return dsql_region_resolve_origin(NULL, host, NULL, region, len, origin, origin_len, err);
}

static int region_for(const char *host, char *region, size_t len, dsql_error *err)
{
    return dsql_auth_region(host, region, len, NULL, 0, err);
}

int dsql_auth_endpoint(const char *host_or_id, char *endpoint, size_t endpoint_len, dsql_error *err)
{
    char region[DSQL_REGION_MAX] = "";
    if (host_or_id != NULL && dsql_is_cluster_id(host_or_id)) {
        int rc = region_for(NULL, region, sizeof region, err);
        if (rc != DSQL_OK) {
            dsql_err_prefix(err, "cluster id %s", host_or_id);
            return rc;
        }
    }
    return dsql_endpoint_resolve(host_or_id, region, endpoint, endpoint_len, err);
}

static int64_t expires_from_env(void)
{
    const char *v = getenv("DSQLAUTH_TOKEN_EXPIRES");
    if (v == NULL || *v == '\0')
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end != '\0' || n < 1 || n > DSQL_TOKEN_EXPIRES_MAX) {
        dsql_log(DSQL_LOG_WARN, "ignoring DSQLAUTH_TOKEN_EXPIRES=%s: not 1..%d seconds", v,
                 DSQL_TOKEN_EXPIRES_MAX);
        return 0;
    }
    return n;
}

int dsql_auth_token_for_host(const char *host, const char *user, char **token, dsql_error *err)
{
    char endpoint[DSQL_HOST_MAX], region[DSQL_REGION_MAX];
    dsql_credentials *creds = NULL;
    int rc;
    if (token == NULL)
        return dsql_seterr(err, DSQL_ERR_INVALID, "token: no output pointer");
    if ((rc = dsql_auth_endpoint(host, endpoint, sizeof endpoint, err)) != DSQL_OK)
        goto out;
    if ((rc = region_for(endpoint, region, sizeof region, err)) != DSQL_OK)
        goto out;
    if ((rc = dsql_credentials_resolve(NULL, &creds, err)) != DSQL_OK)
        goto out;
    dsql_token_params p = {
        .hostname = endpoint,
        .region = region,
        .admin = user == NULL || strcmp(user, "admin") == 0,
        .expires_in = expires_from_env(),
    };
    rc = dsql_token_generate(creds, &p, token, err);
out:
    dsql_credentials_free(creds);
    return rc;
}
