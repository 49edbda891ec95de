/* SPDX-License-Identifier: MIT */
/* cmd_start.h: `dsqlauth-local start`: PostgreSQL, certificates, keys, then the TLS front. */
#ifndef DSQL_LOCAL_CMD_START_H
#define DSQL_LOCAL_CMD_START_H

#include "statedir.h"

/*
 * Starts the instance of s (initialising it on first use) unless it runs; running is what the
 * last start used (NULL when none), which must match. Returns the exit status.
 */
int cmd_start(settings *s, const settings *running, int foreground, int explicit_port);

#endif /* DSQL_LOCAL_CMD_START_H */
