/* SPDX-License-Identifier: MIT */
/* hostname.c: recognising DSQL endpoint names and cluster ids. libc only: the preload links it. */
#include "token.h"

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
