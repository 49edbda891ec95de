/* SPDX-License-Identifier: MIT */
/* dsqlauth-pq.h: libpq's connection entry points with IAM authentication for Aurora DSQL. */
#ifndef DSQLAUTH_PQ_H
#define DSQLAUTH_PQ_H

/*
 * A second header so that dsqlauth.h stays free of libpq: programs that only sign tokens need
 * no libpq headers. Link with `pkg-config --libs dsqlauth-wrap` (libdsqlauth_wrap, libdsqlauth,
 * libpq). Those flags also carry `-Wl,--wrap=` for the nine libpq entry points, so that an
 * unchanged program's own calls to PQconnectdb ... PQresetStart land here; call these
 * functions directly instead if you prefer to keep libpq's names untouched.
 *
 * Each function has exactly the contract of its libpq namesake. For an Aurora DSQL target (a
 * host `<id>.dsql[-suffix].<region>.on.aws`, a bare cluster id, or a host matched by
 * DSQLAUTH_HOSTS) it appends a fresh IAM token as the password, sslmode=verify-full, a CA store,
 * sslnegotiation=direct (libpq >= 17), `-c search_path=<DSQLAUTH_SCHEMA or myschema>` in the
 * options of non-admin users, and application_name=dsqlauth when the caller named none; every
 * other target reaches libpq untouched. When a token cannot be made the result is a PGconn in
 * CONNECTION_BAD whose PQerrorMessage starts with "dsqlauth:" (the ping functions return
 * PQPING_NO_ATTEMPT). As in libpq, NULL means out of memory. Thread-safe. DSQLAUTH_DISABLE=1
 * turns the additions off.
 */

#include <libpq-fe.h>

#include "dsqlauth.h"

#ifdef __cplusplus
extern "C" {
#endif

DSQL_API PGconn *dsql_connectdb(const char *conninfo);
DSQL_API PGconn *dsql_connectdb_params(const char *const *keywords, const char *const *values,
                                       int expand_dbname);
DSQL_API PGconn *dsql_setdb_login(const char *pghost, const char *pgport, const char *pgoptions,
                                  const char *pgtty, const char *dbName, const char *login,
                                  const char *pwd);
DSQL_API PGconn *dsql_connect_start(const char *conninfo);
DSQL_API PGconn *dsql_connect_start_params(const char *const *keywords, const char *const *values,
                                           int expand_dbname);
DSQL_API PGPing dsql_ping(const char *conninfo);
DSQL_API PGPing dsql_ping_params(const char *const *keywords, const char *const *values,
                                 int expand_dbname);

/*
 * PQreset and PQresetStart, with the connection's token renewed first when this process issued
 * it (a reset after DSQL closed a session an hour old would otherwise present an expired one).
 */
DSQL_API void dsql_reset(PGconn *conn);
DSQL_API int dsql_reset_start(PGconn *conn);

#ifdef __cplusplus
}
#endif

#endif /* DSQLAUTH_PQ_H */
