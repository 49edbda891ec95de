/* SPDX-License-Identifier: MIT */
/* endpoint.c: DSQL endpoint names: recognising, normalising and expanding them (libc only). */
#include "sign/endpoint.h"

#include <string.h>

int dsql_normalize_host(const char *in, char *out, size_t out_len)
{
    size_t n = 0;
    if (in == NULL)
        return -1;
    for (const char *p = in; *p != '\0' && *p != ':'; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return -1;
        if (n + 1 >= out_len)
            return -1;
        out[n++] = c;
    }
    while (n > 0 && out[n - 1] == '.')
        n--;
    if (n == 0)
        return -1;
    out[n] = '\0';
    return 0;
}

int dsql_valid_region(const char *r)
{
    size_t n = r == NULL ? 0 : strlen(r);
    if (n == 0 || n >= DSQL_REGION_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
            return 0;
    return 1;
}

/*
 * For a normalised name "<first labels>.<service label>.<region><suffix>": 1 and the region when
 * the suffix matches, something precedes the service label, the service label is `dsql` or
 * `dsql-xxxx`, and the region is valid; 0 otherwise. h is cut up in place.
 */
static int service_region(char *h, const char *suffix, char *region, size_t region_len)
{
    size_t n = strlen(h), s = strlen(suffix);
    if (n <= s || strcmp(h + n - s, suffix) != 0)
        return 0;
    h[n - s] = '\0';
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

int dsql_hostname_region(const char *hostname, char *region, size_t region_len)
{
    char h[DSQL_HOST_MAX];
    if (dsql_normalize_host(hostname, h, sizeof h) != 0)
        return 0;
    return service_region(h, ".on.aws", region, region_len); /* <id>.dsql[-xxxx].<region> */
}

int dsql_vpce_region(const char *host, char *region, size_t region_len)
{
    char h[DSQL_HOST_MAX];
    if (dsql_normalize_host(host, h, sizeof h) != 0 || strncmp(h, "vpce-", 5) != 0)
        return 0;
    /* vpce-<id>.dsql-xxxx.<region> */
    return service_region(h, ".vpce.amazonaws.com", region, region_len);
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
        return dsql_seterr(err, DSQL_ERR_INVALID, "endpoint: '%s' is not a host name or cluster id",
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
