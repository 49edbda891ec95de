/* SPDX-License-Identifier: MIT */
/* main.c: `dsqlauth-local start|stop|status|env|token`: parse the command line, run the command. */
#include "cli.h"
#include "cmd_control.h"
#include "cmd_env.h"
#include "cmd_start.h"

#include <stdlib.h>
#include <string.h>

/* The endpoint reaches its own PostgreSQL by socket directory and port, and so does pg_ctl's
 * wait: libpq variables meant for the user's own connections (`eval "$(dsqlauth-local env)"`
 * sets PGHOSTADDR, PGPORT, PGSSLMODE ...) would send those connections elsewhere. Cleared once,
 * before any thread exists. */
static void forget_libpq_env(void)
{
    static const char *const names[] = {
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGSSLMODE",
        "PGREQUIRESSL",
        "PGSSLNEGOTIATION",
        "PGGSSENCMODE",
        "PGTARGETSESSIONATTRS",
        "PGLOADBALANCEHOSTS",
        "PGOPTIONS",
        "PGDATABASE",
        "PGUSER",
        "PGPASSWORD",
        "PGPASSFILE",
        "PGCHANNELBINDING",
        "PGREQUIREAUTH",
        "PGSSLCERT",
        "PGSSLKEY",
        "PGCONNECT_TIMEOUT",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

int main(int argc, char **argv)
{
    forget_libpq_env();
    cli_args a;
    int rc = cli_parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    const char *cmd = a.cmd;
    if (strcmp(cmd, "start") == 0)
        return cmd_start(&a.s, a.had_state ? &a.last : NULL, a.foreground, a.explicit_port);
    if (strcmp(cmd, "stop") == 0)
        return cmd_stop(&a.s);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(&a.s);
    if (strcmp(cmd, "token") == 0)
        return cmd_token(&a.s, a.token_user, a.expires, a.signing_time);
    if (strcmp(cmd, "env") == 0) {
        if (!a.had_state)
            return local_die("nothing started in %s; run `dsqlauth-local start` first", a.s.dir);
        return cmd_env(&a.s);
    }
    cli_usage(stderr);
    return 2;
}
