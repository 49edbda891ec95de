/* SPDX-License-Identifier: MIT */
/* pqplugin.c: a loadable module linked with libpq, as a Python extension is (tests dlopen it). */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

__attribute__((visibility("default"))) int pqplugin_run(const char *conninfo, const char *query,
                                                        char *out, size_t len);

/* Connects with PQconnectdb, runs query, writes its first value or "ERROR: ..." into out. */
int pqplugin_run(const char *conninfo, const char *query, char *out, size_t len)
{
    PGconn *conn = PQconnectdb(conninfo);
    int rc = -1;
    if (conn == NULL) {
        snprintf(out, len, "ERROR: NULL connection");
        return -1;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(out, len, "ERROR: %s", PQerrorMessage(conn));
    } else {
        PGresult *r = PQexec(conn, query);
        if (PQntuples(r) > 0) {
            snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
            rc = 0;
        } else {
            snprintf(out, len, "ERROR: %s", PQresultErrorMessage(r));
        }
        PQclear(r);
    }
    PQfinish(conn);
    return rc;
}
