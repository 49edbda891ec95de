/* SPDX-License-Identifier: MIT */
/* conninfo.h: decide whether libpq connection parameters target Aurora DSQL, and rewrite them. */
#ifndef DSQL_CONNINFO_H
#define DSQL_CONNINFO_H

/*
 * This module is libc only and never links libpq: libpq-fe.h supplies types, and the caller
 * hands in the functions of the libpq copy the program itself uses (the preload resolves them
 * from the caller's object; the link-time wrapper passes libpq's own). The preload compiles
 * this file too, so that deciding "not DSQL" costs no dlopen of libdsqlauth; signing is reached
 * through dsql_signer, which the preload fills from libdsqlauth on the first DSQL target.
 *
 * The rewrite follows libpq's own rules (fe-connect.c, conninfo_array_parse): values that are
 * NULL or "" are ignored, the first `dbname` is expanded when expand_dbname is set and it is a
 * connection string or URI (its settings override the keywords before it), later keywords
 * win, and environment variables fill what is still unset. It never edits the caller's text:
 * it appends keywords after the caller's (so they win) and calls the real `*Params` function.
 */

#include "util.h"

#include <libpq-fe.h>

/* 1 when DSQLAUTH_DISABLE is set to anything but "" or "0": every target passes through. */
DSQL_LOCAL int dsql_shim_disabled(void);

/* The caller's libpq. Every pointer is required unless said otherwise. */
typedef struct dsql_pq_api {
    PQconninfoOption *(*conninfo_parse)(const char *conninfo, char **errmsg);
    void (*conninfo_free)(PQconninfoOption *options);
    void (*freemem)(void *p);
    int (*lib_version)(void);
    /* Only for dsql_conninfo_failed_conn. */
    PGconn *(*connect_start_params)(const char *const *keywords, const char *const *values,
                                    int expand_dbname);
    char *(*error_message)(const PGconn *conn);
} dsql_pq_api;

/* What signs: libdsqlauth's dsql_auth_endpoint, dsql_auth_token_for_host, dsql_token_free. */
typedef struct dsql_signer {
    int (*endpoint)(const char *host_or_id, char *endpoint, size_t endpoint_len,
                    dsql_error *err);
    int (*token)(const char *host, const char *user, char **token, dsql_error *err);
    void (*token_free)(char *token);
} dsql_signer;

/*
 * The caller's parameters, analysed, and after dsql_conninfo_rewrite the parameters to call
 * the real function with. Owns everything it points to except the caller's arrays and
 * strings, which must outlive it. Not shared between threads.
 */
typedef struct dsql_conninfo dsql_conninfo;

enum dsql_target {
    DSQL_TARGET_OTHER = 0, /* pass through untouched */
    DSQL_TARGET_DSQL = 1,  /* every host is a DSQL endpoint, cluster id or DSQLAUTH_HOSTS match */
};

/*
 * Analyses keyword/value arrays as PQconnectdbParams would. Never fails on a bad connection
 * string: that is libpq's to report, so the target is then DSQL_TARGET_OTHER. Returns DSQL_OK
 * and a new *out, or DSQL_ERR_NOMEM.
 */
DSQL_LOCAL int dsql_conninfo_from_params(const dsql_pq_api *pq, const char *const *keywords,
                                         const char *const *values, int expand_dbname,
                                         dsql_conninfo **out);

/* The same for a PQconnectdb/PQconnectStart/PQping connection string (key=value or URI). */
DSQL_LOCAL int dsql_conninfo_from_string(const dsql_pq_api *pq, const char *conninfo,
                                         dsql_conninfo **out);

/*
 * The same for PQsetdbLogin's arguments (pgtty is ignored, as libpq does). The result keeps
 * pointers to the arguments.
 */
DSQL_LOCAL int dsql_conninfo_from_setdb(const dsql_pq_api *pq, const char *host,
                                        const char *port, const char *options,
                                        const char *dbname, const char *user,
                                        const char *password, dsql_conninfo **out);

/* 1 if every entry of a libpq host list is a DSQL endpoint, cluster id or DSQLAUTH_HOSTS match. */
DSQL_LOCAL int dsql_conninfo_host_is_dsql(const char *host_list);

/* DSQL_TARGET_DSQL or DSQL_TARGET_OTHER. */
DSQL_LOCAL int dsql_conninfo_target(const dsql_conninfo *ci);

/* Flags for dsql_conninfo_rewrite. */
#define DSQL_REWRITE_NO_TOKEN 1 /* PQping: the server answers without a password */

/*
 * Builds the parameters for a DSQL target: the caller's, then appended `host` (cluster ids
 * expanded), `user=admin` and `dbname=postgres` when unset, `password=<fresh token>` (see
 * DSQL_PASSWORD_RULES in conninfo.c), `sslmode=verify-full` (or the weaker floor that
 * DSQLAUTH_SSLMODE names, with a warning; another value is an error), `sslrootcert` (not for
 * `require`), `sslnegotiation`
 * (libpq >= 17), `options` with `-c search_path=<schema>` for non-admin users, and
 * `application_name=dsqlauth` when the caller named no application. Returns DSQL_OK, or an
 * error whose message says what to do (no credentials, no region, ...).
 */
DSQL_LOCAL int dsql_conninfo_rewrite(dsql_conninfo *ci, const dsql_signer *signer, int flags,
                                     dsql_error *err);

/* After a successful rewrite: the arrays and flag for the real `*Params` function. Borrowed. */
DSQL_LOCAL const char *const *dsql_conninfo_keywords(const dsql_conninfo *ci);
DSQL_LOCAL const char *const *dsql_conninfo_values(const dsql_conninfo *ci);
DSQL_LOCAL int dsql_conninfo_expand_dbname(const dsql_conninfo *ci);

/* Wipes every password and token it holds, and frees. NULL is a no-op. */
DSQL_LOCAL void dsql_conninfo_free(dsql_conninfo *ci);

/*
 * A PGconn in CONNECTION_BAD whose PQerrorMessage is "dsqlauth: <message>\n", made by the
 * caller's libpq without any I/O (see the comment in conninfo.c for how). NULL only when libpq
 * is out of memory. message must not contain a secret.
 */
DSQL_LOCAL PGconn *dsql_conninfo_failed_conn(const dsql_pq_api *pq, const char *message);

#endif /* DSQL_CONNINFO_H */
