/* SPDX-License-Identifier: MIT */
/* dispatch.h: one wrapped libpq call: analyse, ours?, rewrite, then call the real one or fail. */
#ifndef DSQL_SHIM_DISPATCH_H
#define DSQL_SHIM_DISPATCH_H

/*
 * The one path both entry layers take: the preload (preload.c, which finds the caller's libpq
 * copy and guards against libpq re-entering its own entry points) and the link-time wrapper
 * (wrap.c, with libpq's own functions). libc only, like rewrite.c.
 */

#include "shim/rewrite.h"

/* The entry points the shim wraps, in this order everywhere. */
enum dsql_entry {
    DSQL_PQCONNECTDB,
    DSQL_PQCONNECTDBPARAMS,
    DSQL_PQSETDBLOGIN,
    DSQL_PQCONNECTSTART,
    DSQL_PQCONNECTSTARTPARAMS,
    DSQL_PQPING,
    DSQL_PQPINGPARAMS,
    DSQL_PQRESET,
    DSQL_PQRESETSTART,
    DSQL_ENTRY_COUNT
};

/* libpq's names of the entry points ("PQconnectdb", ...), by enum dsql_entry. */
DSQL_LOCAL extern const char *const dsql_entry_names[DSQL_ENTRY_COUNT];

/* The entry point called name, or -1 when name is none of them. */
DSQL_LOCAL int dsql_entry_of(const char *name);

/* One libpq copy: what the analysis needs, the real entry points, and a few accessors. */
typedef struct dsql_libpq {
    dsql_pq_api api;
    void *entry[DSQL_ENTRY_COUNT]; /* the real functions, by enum dsql_entry */
    PGconn *(*connect_start_params)(const char *const *keywords, const char *const *values,
                                    int expand_dbname);
    char *(*error_message)(const PGconn *conn);
    char *(*pass)(const PGconn *conn);
    char *(*user)(const PGconn *conn);
} dsql_libpq;

/* One call, with the caller's arguments in the entry point's own form. */
typedef struct dsql_call {
    enum dsql_entry entry;
    const char *conninfo;                        /* PQconnectdb, PQconnectStart, PQping */
    const char *const *keywords, *const *values; /* the *Params forms */
    int expand;
    const char *host, *port, *options, *tty, *dbname, *user, *password; /* PQsetdbLogin */
    PGconn *conn;                                                       /* PQreset, PQresetStart */
} dsql_call;

/*
 * Where signing comes from: the preload loads libdsqlauth on the first DSQL target. Returns
 * the signer, or NULL with a message (without "dsqlauth: ") in msg.
 */
typedef const dsql_signer *(*dsql_signer_fn)(char *msg, size_t msglen);

/*
 * The connect entry points (PQconnectdb ... PQconnectStartParams). For a DSQL target: the
 * real `*Params` function with the rewritten parameters, or, when the rewrite fails, a PGconn
 * in CONNECTION_BAD whose PQerrorMessage is "dsqlauth: <what to do>"; anything else goes to the
 * real entry point as the caller made it. NULL only when libpq is out of memory. errno is left
 * as the real function leaves it.
 */
DSQL_LOCAL PGconn *dsql_dispatch_connect(const dsql_libpq *pq, dsql_signer_fn signer,
                                         const dsql_call *call);

/* PQping, PQpingParams: the same rewrite without a token (the server answers a ping without
 * a password); PQPING_NO_ATTEMPT when it fails. */
DSQL_LOCAL PGPing dsql_dispatch_ping(const dsql_libpq *pq, dsql_signer_fn signer,
                                     const dsql_call *call);

/*
 * PQreset, PQresetStart: libpq reconnects with the password the connection was made with. A
 * token this process issued has a lifetime (900 s by default) and DSQL closes sessions after
 * an hour, so psql's automatic reset would present an expired token. The token is renewed in
 * the connection first (the same name and user, fresh signature), then the real function runs.
 * Returns the real PQresetStart's result (0 for PQreset).
 */
DSQL_LOCAL int dsql_dispatch_reset(const dsql_libpq *pq, dsql_signer_fn signer,
                                   const dsql_call *call);

/* Straight to the real entry point, with the caller's arguments. */
DSQL_LOCAL PGconn *dsql_pass_connect(const dsql_libpq *pq, const dsql_call *call);
DSQL_LOCAL PGPing dsql_pass_ping(const dsql_libpq *pq, const dsql_call *call);
DSQL_LOCAL int dsql_pass_reset(const dsql_libpq *pq, const dsql_call *call);

/*
 * A PGconn in CONNECTION_BAD whose PQerrorMessage is "dsqlauth: <message>\n", made by the
 * caller's libpq without any I/O (see dispatch.c for how). NULL only when libpq is out of
 * memory. message must not contain a secret.
 */
DSQL_LOCAL PGconn *dsql_failed_conn(const dsql_libpq *pq, const char *message);

#endif /* DSQL_SHIM_DISPATCH_H */
