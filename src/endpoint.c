/* SPDX-License-Identifier: MIT */
/* endpoint.c: expanding bare cluster ids into endpoint names (recognising them: hostname.c). */
#include "token.h"

#include <string.h>

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
