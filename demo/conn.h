/* SPDX-License-Identifier: MIT */
/* conn.h: how the demo opens a connection: plain libpq, the shim adds token, TLS, search_path. */
#ifndef PC_CONN_H
#define PC_CONN_H

#include <libpq-fe.h>
#include <stddef.h>

/* Where to connect. Strings are borrowed. */
typedef struct pc_conn_opts {
    const char *endpoint; /* host name (CLUSTER_ENDPOINT); NULL: libpq's default (PGHOST) */
    const char *user;     /* database role; "admin" is DSQL's admin */
    const char *dbname;   /* DSQL has one database, "postgres" */
} pc_conn_opts;

/*
 * Connects with host/user/dbname/application_name only: no password, no sslmode, no
 * search_path. Under dsqlauth (LD_PRELOAD shim or the link-time wrapper) the connection gets a
 * fresh IAM token, verify-full TLS and, for non-admin roles, search_path=myschema; PGHOSTADDR,
 * PGPORT, PGSSLROOTCERT and the other PG* variables apply as libpq always does.
 * Returns a new connection, or NULL with a one-line reason in err.
 * Thread-safe (libpq is); each thread uses its own connection.
 */
PGconn *pc_connect(const pc_conn_opts *opts, char *err, size_t errlen);

#endif
