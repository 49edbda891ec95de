/* SPDX-License-Identifier: MIT */
/* cmd_env.h: `dsqlauth-local env` and `token`: how clients reach the instance. */
#ifndef DSQL_LOCAL_CMD_ENV_H
#define DSQL_LOCAL_CMD_ENV_H

#include "statedir.h"

/* Prints `export` lines for the instance (libpq and AWS variables). The exit status. */
int cmd_env(const settings *s);

/* Prints a token for role user signed with the keys file's first pair. The exit status. */
int cmd_token(const settings *s, const char *user, long long expires, long long at);

#endif /* DSQL_LOCAL_CMD_ENV_H */
