/* SPDX-License-Identifier: MIT */
/* endpoint.c: recognising DSQL endpoint names and expanding bare cluster ids. */
#include "token.h"

#include <string.h>

int dsql_hostname_region(const char *hostname, char *region, size_t region_len)
{
    char h[DSQL_HOST_MAX];
    if (dsql_normalize_host(hostname, h, sizeof h) != 0)
        return 0;
    size_t n = strlen(h);
    static const char suffix[] = ".on.aws";
    if (n <= sizeof suffix - 1 || strcmp(h + n - (sizeof suffix - 1), suffix) != 0)
        return 0;
    h[n - (sizeof suffix - 1)] = '\0';
    /* h is now "<id>...<dsql label>.<region>" */
    char *reg = strrchr(h, '.');
    if (reg == NULL)
        return 0;
    *reg++ = '\0';
    char *svc = strrchr(h, '.');
    if (svc == NULL || svc == h)
        return 0;
    svc++;
    if (strncmp(svc, "dsql", 4) != 0 || (svc[4] != '\0' && svc[4] != '-'))
        return 0;
    if (!dsql_valid_region(reg) || strlen(reg) >= region_len)
        return 0;
    strcpy(region, reg);
    return 1;
}

int dsql_is_cluster_id(const char *s)
{
    if (s == NULL || strlen(s) != 26)
        return 0;
    for (int i = 0; i < 26; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

int dsql_endpoint_resolve(const char *host_or_id, const char *region, char *endpoint,
                          size_t endpoint_len, dsql_error *err)
{
    char h[DSQL_HOST_MAX];
    if (dsql_normalize_host(host_or_id, h, sizeof h) != 0)
        return dsql_seterr(err, DSQL_ERR_INVALID,
                           "endpoint: '%s' is not a host name or cluster id",
                           host_or_id == NULL ? "(null)" : host_or_id);
    if (dsql_is_cluster_id(h)) {
        if (!dsql_valid_region(region))
            return dsql_seterr(err, DSQL_ERR_REGION,
                               "endpoint: a bare cluster id needs a region; set AWS_REGION or "
                               "pass the full endpoint <id>.dsql.<region>.on.aws");
        size_t need = strlen(h) + strlen(".dsql.") + strlen(region) + strlen(".on.aws") + 1;
        if (need > endpoint_len)
            return dsql_seterr(err, DSQL_ERR_INVALID, "endpoint: output buffer too small");
        strcpy(endpoint, h);
        strcat(endpoint, ".dsql.");
        strcat(endpoint, region);
        strcat(endpoint, ".on.aws");
        return DSQL_OK;
    }
    if (strlen(h) >= endpoint_len)
        return dsql_seterr(err, DSQL_ERR_INVALID, "endpoint: output buffer too small");
    strcpy(endpoint, h);
    return DSQL_OK;
}
