/* SPDX-License-Identifier: MIT */
/* endpoint.h: host-name helpers the signer, the shim and the local endpoint share (libc only). */
#ifndef DSQL_SIGN_ENDPOINT_H
#define DSQL_SIGN_ENDPOINT_H

#include "base/util.h"

/*
 * Copies a host name lower-cased, without a `:port` suffix or trailing dots, into out.
 * Returns -1 if it is empty, does not fit, or has a character other than [A-Za-z0-9.-].
 */
DSQL_LOCAL int dsql_normalize_host(const char *in, char *out, size_t out_len);

/* 1 if r looks like an AWS region name ([a-z0-9-]+, shorter than DSQL_REGION_MAX). */
DSQL_LOCAL int dsql_valid_region(const char *r);

/*
 * 1 if host is an AWS PrivateLink interface endpoint name of Aurora DSQL without private DNS,
 * `vpce-<id>.dsql-<xxxx>.<region>.vpce.amazonaws.com` (any case, trailing dot allowed), and
 * fills region. Such a name reaches the cluster that the connection's
 * `-c amzn-cluster-id=<id>` option names; tokens are signed for that cluster's endpoint.
 */
DSQL_LOCAL int dsql_vpce_region(const char *host, char *region, size_t region_len);

/*
 * Public, in dsqlauth.h, and defined in endpoint.c: dsql_hostname_region, dsql_is_cluster_id and
 * dsql_endpoint_resolve.
 */

#endif /* DSQL_SIGN_ENDPOINT_H */
