/* SPDX-License-Identifier: MIT */
/* error.h: filling the caller's dsql_error (libc only: the preload and the wrapper link it). */
#ifndef DSQL_BASE_ERROR_H
#define DSQL_BASE_ERROR_H

#include "base/attrs.h"
#include "dsqlauth.h"

/* Fills err (if non-NULL) with code and a formatted message; returns code. */
DSQL_LOCAL int dsql_seterr(dsql_error *err, int code, const char *fmt, ...) DSQL_PRINTF(3, 4);

/* Prefixes an existing message in err with "prefix: " (no-op when err is NULL). */
DSQL_LOCAL void dsql_err_prefix(dsql_error *err, const char *fmt, ...) DSQL_PRINTF(2, 3);

#endif /* DSQL_BASE_ERROR_H */
