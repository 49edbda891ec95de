/* SPDX-License-Identifier: MIT */
/* creds_probe.c: prints what our chain resolves in this environment, for the botocore check. */
#include "dsqlauth.h"

#include <stdio.h>
#include <string.h>

/* Usage: creds_probe [PROFILE]. Prints "credentials: <key id>|none|error: <message>" and
 * "region: <region>|none|error: <message>". Never prints a secret. */
int main(int argc, char **argv)
{
    const char *profile = argc > 1 ? argv[1] : NULL;
    dsql_error err;
    memset(&err, 0, sizeof err);
    dsql_credentials *c = NULL;
    int rc = dsql_credentials_resolve(profile, &c, &err);
    if (rc == DSQL_OK)
        printf("credentials: %s\n", dsql_credentials_access_key_id(c));
    else if (rc == DSQL_ERR_NO_CREDENTIALS)
        printf("credentials: none\n");
    else
        printf("credentials: error: %s\n", err.message);
    dsql_credentials_free(c);

    char region[DSQL_REGION_MAX];
    memset(&err, 0, sizeof err);
    rc = dsql_region_resolve(NULL, NULL, profile, region, sizeof region, &err);
    if (rc == DSQL_OK)
        printf("region: %s\n", region);
    else if (rc == DSQL_ERR_REGION && strncmp(err.message, "no region", 9) == 0)
        printf("region: none\n");
    else
        printf("region: error: %s\n", err.message);
    return 0;
}
