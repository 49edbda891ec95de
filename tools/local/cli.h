/* SPDX-License-Identifier: MIT */
/* cli.h: dsqlauth-local's command line: usage, options, and the settings a command runs with. */
#ifndef DSQL_LOCAL_CLI_H
#define DSQL_LOCAL_CLI_H

#include "base/util.h"
#include "statedir.h"

#include <stdio.h>

#define LOCAL_DEFAULT_CLUSTER_ID "dsqlauthlocaltestcluster00"
#define LOCAL_DEFAULT_REGION "us-east-1"
#define LOCAL_DEFAULT_LIFETIME 3600

/* A parsed command line. */
typedef struct cli_args {
    const char *cmd; /* start, stop, status, env, token */
    settings s;      /* the settings this command runs with */
    settings last;   /* what the last start used (valid when had_state) */
    int had_state;
    int foreground;
    int explicit_port; /* --port was given */
    const char *token_user;
    long long expires, signing_time;
} cli_args;

void cli_usage(FILE *f);

/* Prints "dsqlauth-local: <message>" on stderr; returns 1 (the exit status). */
DSQL_PRINTF(1, 2)
int local_die(const char *fmt, ...);

/* A role name a start may create: [a-z_][a-z0-9_]*, at most 63 bytes, not admin or pg_*. */
int cli_valid_role(const char *u);

/*
 * Parses argv and merges it with the state directory's last start. Returns -1 when the command
 * should run (a filled), else the exit status to end with (help, version, or a usage error,
 * already reported).
 */
int cli_parse(int argc, char **argv, cli_args *a);

#endif /* DSQL_LOCAL_CLI_H */
