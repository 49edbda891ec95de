/* SPDX-License-Identifier: MIT */
/* process.h: the profile's credential_process, run without a shell. */
#ifndef DSQL_CREDS_PROCESS_H
#define DSQL_CREDS_PROCESS_H

#include "creds/chain.h"

/* the profile's credential_process ("custom-process"). */
DSQL_LOCAL int dsql_creds_source_process(const dsql_creds_ctx *ctx, dsql_credentials **out,
                                         dsql_error *err);

/* Exposed for tests: runs command (a credential_process value) and parses its
 * output; now decides whether the credentials have already expired. */
DSQL_LOCAL int dsql_creds_process_run(const char *command, int64_t now, dsql_credentials **out,
                                      dsql_error *err);

/* The caps on what a credential_process may print. */
#define DSQL_PROCESS_STDOUT_MAX (64 * 1024)
#define DSQL_PROCESS_STDERR_MAX (4 * 1024)

#endif /* DSQL_CREDS_PROCESS_H */
