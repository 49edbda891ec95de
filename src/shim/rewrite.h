/* SPDX-License-Identifier: MIT */
/* rewrite.h: is a libpq connection Aurora DSQL's, and which parameters to append to it. */
#ifndef DSQL_SHIM_REWRITE_H
#define DSQL_SHIM_REWRITE_H

/*
 * libc only, and never links libpq: libpq-fe.h supplies types, and the caller hands in the
 * functions of the libpq copy the program itself uses. The preload compiles this file too, so
 * that deciding "not DSQL" costs no dlopen of libdsqlauth; signing is reached through
 * dsql_signer, which the preload fills from libdsqlauth on the first DSQL target.
 *
 * The analysis follows libpq's own rules (fe-connect.c, conninfo_array_parse): values that are
 * NULL or "" are ignored, the first `dbname` is expanded when expand_dbname is set and it is a
 * connection string or URI (its settings override the keywords before it), later keywords
 * win, and the environment (dsql_settings' PG* fields) fills what is still unset. The rewrite
 * never edits the caller's text: it appends keywords after the caller's (later wins) and the
 * caller calls the real `*Params` function with the result. It is a sequence of small steps
 * (hosts, identity, password, TLS, search_path, application name), each a function of the
 * settings and the analysed parameters; only signing reaches outside (the credential cache).
 */

#include "base/error.h"
#include "shim/settings.h"

#include <libpq-fe.h>

/* What the analysis needs of the caller's libpq. Every pointer is required. */
typedef struct dsql_pq_api {
    PQconninfoOption *(*conninfo_parse)(const char *conninfo, char **errmsg);
    void (*conninfo_free)(PQconninfoOption *options);
    void (*freemem)(void *p);
    int (*lib_version)(void);
} dsql_pq_api;

/* What signs: libdsqlauth's dsql_auth_endpoint, dsql_auth_token_for_host, dsql_token_free. */
typedef struct dsql_signer {
    int (*endpoint)(const char *host_or_id, char *endpoint, size_t endpoint_len, dsql_error *err);
    int (*token)(const char *host, const char *user, char **token, dsql_error *err);
    void (*token_free)(char *token);
} dsql_signer;

/*
 * The caller's parameters, analysed, and after dsql_conninfo_rewrite the parameters to call
 * the real function with. Owns everything it points to except the caller's arrays and strings
 * and the settings, which must outlive it. Not shared between threads.
 */
typedef struct dsql_conninfo dsql_conninfo;

enum dsql_target {
    DSQL_TARGET_OTHER = 0, /* pass through untouched */
    DSQL_TARGET_DSQL = 1,  /* a host is a DSQL endpoint, cluster id or DSQLAUTH_HOSTS match */
};

/*
 * Analyses keyword/value arrays as PQconnectdbParams would. Never fails on a bad connection
 * string: that is libpq's to report, so the target is then DSQL_TARGET_OTHER, and so it is for
 * a keyword this libpq does not know (libpq refuses the whole array, naming it) and when
 * settings->disabled. Returns DSQL_OK and a new *out, or DSQL_ERR_NOMEM.
 */
DSQL_LOCAL int dsql_conninfo_from_params(const dsql_pq_api *pq, const dsql_settings *settings,
                                         const char *const *keywords, const char *const *values,
                                         int expand_dbname, dsql_conninfo **out);

/* The same for a PQconnectdb/PQconnectStart/PQping connection string (key=value or URI). */
DSQL_LOCAL int dsql_conninfo_from_string(const dsql_pq_api *pq, const dsql_settings *settings,
                                         const char *conninfo, dsql_conninfo **out);

/* The same for PQsetdbLogin's arguments (pgtty is ignored, as libpq does). Keeps pointers to
 * the arguments. */
DSQL_LOCAL int dsql_conninfo_from_setdb(const dsql_pq_api *pq, const dsql_settings *settings,
                                        const char *host, const char *port, const char *options,
                                        const char *dbname, const char *user, const char *password,
                                        dsql_conninfo **out);

/* 1 if host (one name, not a list) is a DSQL endpoint, cluster id, vpce name or a DSQLAUTH_HOSTS
 * match, as the rewrite decides. */
DSQL_LOCAL int dsql_host_is_dsql(const dsql_settings *settings, const char *host);

/* DSQL_TARGET_DSQL or DSQL_TARGET_OTHER. */
DSQL_LOCAL int dsql_conninfo_target(const dsql_conninfo *ci);

/* Flags for dsql_conninfo_rewrite. */
#define DSQL_REWRITE_NO_TOKEN 1 /* PQping: the server answers without a password */

/*
 * Builds the parameters for a DSQL target, step by step:
 *   hosts     cluster ids expanded, names normalised (case, trailing dot); a PrivateLink
 *             `vpce-...vpce.amazonaws.com` name is signed for the cluster its
 *             `-c amzn-cluster-id=<id>` option names;
 *   identity  `user=admin`, `dbname=postgres` when unset;
 *   password  a fresh token (DSQL_PASSWORD_RULES in rewrite.c), one per distinct endpoint;
 *   TLS       `sslmode=verify-full` (or the floor DSQLAUTH_SSLMODE names; verify-ca for a
 *             vpce name, whose certificate is the cluster's), `sslrootcert`, `sslnegotiation`
 *             (libpq >= 17);
 *   schema    `-c search_path=<schema>` merged into the options of non-admin users; what an
 *             earlier rewrite of this process added to options (psql's `\c` hands it back) is
 *             recognised and computed afresh for the new user;
 *   name      `application_name=dsqlauth` when the caller named no application.
 * Returns DSQL_OK, or an error whose message says what to do (no credentials, no region, ...).
 */
DSQL_LOCAL int dsql_conninfo_rewrite(dsql_conninfo *ci, const dsql_signer *signer, int flags,
                                     dsql_error *err);

/* After a successful rewrite: the arrays and flag for the real `*Params` function. Borrowed. */
DSQL_LOCAL const char *const *dsql_conninfo_keywords(const dsql_conninfo *ci);
DSQL_LOCAL const char *const *dsql_conninfo_values(const dsql_conninfo *ci);
DSQL_LOCAL int dsql_conninfo_expand_dbname(const dsql_conninfo *ci);

/*
 * After the hosts step of a rewrite (also with DSQL_REWRITE_NO_TOKEN): the name the first host's
 * token is signed for (the endpoint; for a PrivateLink vpce name, the cluster's endpoint), so
 * that a tool can sign the same token the rewrite would. Borrowed; NULL before a rewrite.
 */
DSQL_LOCAL const char *dsql_conninfo_signed_for(const dsql_conninfo *ci);

/* Wipes every password and token it holds, and frees. NULL is a no-op. */
DSQL_LOCAL void dsql_conninfo_free(dsql_conninfo *ci);

/*
 * The tokens this process issued (64-bit hashes in a lock-free ring, fork-safe): a password
 * that is one of them was handed back by the program (psql `\c`, pg_dump -j, PQconninfo-based
 * reconnects, PQreset) and is replaced by a fresh one.
 */
DSQL_LOCAL void dsql_token_remember(const char *token);
DSQL_LOCAL int dsql_token_issued(const char *password);

/* 1 if s looks like a DSQL auth token (`.../?Action=DbConnect...&X-Amz-Signature=...`). */
DSQL_LOCAL int dsql_looks_like_token(const char *s);

#endif /* DSQL_SHIM_REWRITE_H */
