/* SPDX-License-Identifier: MIT */
/* auth.h: what the one-call signer (dsql_auth_*, dsqlauth.h) decides, for tools that explain it. */
#ifndef DSQL_TOKEN_AUTH_H
#define DSQL_TOKEN_AUTH_H

#include "base/util.h"

/*
 * The region dsql_auth_token_for_host signs a token for host with, and for host NULL the region
 * dsql_auth_endpoint expands a bare cluster id with: DSQLAUTH_REGION; else the region inside an
 * endpoint name; else dsql_region_resolve's chain (AWS_REGION, AWS_DEFAULT_REGION, the current
 * profile's region, the instance metadata service). On success region holds it and origin (when
 * not NULL) the step that gave it: "DSQLAUTH_REGION", "the endpoint name", or one of
 * dsql_region_resolve_origin's (creds/region.h). The same code the signer runs, so that a tool
 * such as dsqlauth-doctor says what the shim does. Errors as dsql_region_resolve's.
 */
DSQL_LOCAL int dsql_auth_region(const char *host, char *region, size_t len, char *origin,
                                size_t origin_len, dsql_error *err);

#endif /* DSQL_TOKEN_AUTH_H */
