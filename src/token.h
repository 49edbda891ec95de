/* SPDX-License-Identifier: MIT */
/* token.h: validation helpers the token signer shares with the endpoint and verifier code. */
#ifndef DSQL_TOKEN_H
#define DSQL_TOKEN_H

#include "util.h"

/*
 * Copies a host name lower-cased, without a `:port` suffix or trailing dots, into out.
 * Returns -1 if it is empty, does not fit, or has a character other than [A-Za-z0-9.-].
 */
DSQL_LOCAL int dsql_normalize_host(const char *in, char *out, size_t out_len);

/* 1 if r looks like an AWS region name ([a-z0-9-]+, shorter than DSQL_REGION_MAX). */
DSQL_LOCAL int dsql_valid_region(const char *r);

#endif /* DSQL_TOKEN_H */
