/* SPDX-License-Identifier: MIT */
/* conn.c: opens a demo connection with the seed's parameters and nothing DSQL-specific. */
#include "conn.h"

#include <stdio.h>
#include <string.h>

/* Server notices ("relation already exists, skipping" on a second run) are not for the user. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *pc_connect(const pc_conn_opts *opts, char *err, size_t errlen)
{
    const char *keys[5];
    const char *vals[5];
    int n = 0;

    if (opts->endpoint && *opts->endpoint) {
        keys[n] = "host";
        vals[n++] = opts->endpoint;
    }
    keys[n] = "user";
    vals[n++] = opts->user;
    keys[n] = "dbname";
    vals[n++] = opts->dbname ? opts->dbname : "postgres";
    keys[n] = "application_name";
    vals[n++] = "petclinic";
    keys[n] = NULL;
    vals[n] = NULL;

    PGconn *conn = PQconnectdbParams(keys, vals, 0);
    if (conn && PQstatus(conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(conn, ignore_notice, NULL);
        return conn;
    }

    /* libpq's message may run to several lines (one per host tried, hints): join them. */
    const char *why = conn ? PQerrorMessage(conn) : "out of memory";
    size_t n_out = 0;
    for (; *why && n_out + 1 < errlen; why++) {
        if (*why != '\n')
            err[n_out++] = *why;
        else if (why[1] && n_out + 3 < errlen) {
            memcpy(err + n_out, " / ", 3);
            n_out += 3;
        }
    }
    if (errlen > 0)
        err[n_out] = '\0';
    PQfinish(conn);
    return NULL;
}
