/* SPDX-License-Identifier: MIT */
/* wrap.c: dsql_connectdb* and the `-Wl,--wrap=` entry points, for programs linked with libpq. */
#include "dsqlauth-pq.h"

#include "conninfo.h"
#include "log.h"

/*
 * This library links libpq itself (the program's own copy, by construction), so the helpers
 * are libpq's functions and no re-entry guard is needed: libpq's internal calls are not
 * affected by the program's --wrap flags.
 */
static const dsql_pq_api api = {
    .conninfo_parse = PQconninfoParse,
    .conninfo_free = PQconninfoFree,
    .freemem = PQfreemem,
    .lib_version = PQlibVersion,
    .connect_start_params = PQconnectStartParams,
    .error_message = PQerrorMessage,
};

static const dsql_signer signer = {
    .endpoint = dsql_auth_endpoint,
    .token = dsql_auth_token_for_host,
    .token_free = dsql_token_free,
};

typedef PGconn *(*params_fn)(const char *const *, const char *const *, int);

/* 1: ci is rewritten; 0: pass through; -1: failed, msg says why. ci may be NULL. */
static int prepare(dsql_conninfo *ci, int flags, dsql_error *err)
{
    if (ci == NULL || dsql_conninfo_target(ci) != DSQL_TARGET_DSQL)
        return 0;
    if (dsql_conninfo_rewrite(ci, &signer, flags, err) != DSQL_OK) {
        dsql_log(DSQL_LOG_ERROR, "%s", err->message);
        return -1;
    }
    return 1;
}

/* Connects with ci's rewrite through fn; sets *pass when the caller's call should go as is. */
static PGconn *connect_ci(dsql_conninfo *ci, params_fn fn, int *pass)
{
    dsql_error err = {0};
    PGconn *conn = NULL;
    *pass = 0;
    switch (prepare(ci, 0, &err)) {
    case 1:
        conn = fn(dsql_conninfo_keywords(ci), dsql_conninfo_values(ci),
                  dsql_conninfo_expand_dbname(ci));
        break;
    case -1:
        conn = dsql_conninfo_failed_conn(&api, err.message);
        break;
    default:
        *pass = 1;
    }
    dsql_conninfo_free(ci);
    return conn;
}

static dsql_conninfo *from_string(const char *conninfo)
{
    dsql_conninfo *ci = NULL;
    if (!dsql_shim_disabled())
        dsql_conninfo_from_string(&api, conninfo, &ci);
    return ci;
}

static dsql_conninfo *from_params(const char *const *kw, const char *const *val, int expand)
{
    dsql_conninfo *ci = NULL;
    if (!dsql_shim_disabled())
        dsql_conninfo_from_params(&api, kw, val, expand, &ci);
    return ci;
}

PGconn *dsql_connectdb(const char *conninfo)
{
    int pass;
    PGconn *conn = connect_ci(from_string(conninfo), PQconnectdbParams, &pass);
    return pass ? PQconnectdb(conninfo) : conn;
}

PGconn *dsql_connect_start(const char *conninfo)
{
    int pass;
    PGconn *conn = connect_ci(from_string(conninfo), PQconnectStartParams, &pass);
    return pass ? PQconnectStart(conninfo) : conn;
}

PGconn *dsql_connectdb_params(const char *const *keywords, const char *const *values,
                              int expand_dbname)
{
    int pass;
    PGconn *conn =
        connect_ci(from_params(keywords, values, expand_dbname), PQconnectdbParams, &pass);
    return pass ? PQconnectdbParams(keywords, values, expand_dbname) : conn;
}

PGconn *dsql_connect_start_params(const char *const *keywords, const char *const *values,
                                  int expand_dbname)
{
    int pass;
    PGconn *conn =
        connect_ci(from_params(keywords, values, expand_dbname), PQconnectStartParams, &pass);
    return pass ? PQconnectStartParams(keywords, values, expand_dbname) : conn;
}

PGconn *dsql_setdb_login(const char *pghost, const char *pgport, const char *pgoptions,
                         const char *pgtty, const char *dbName, const char *login,
                         const char *pwd)
{
    dsql_conninfo *ci = NULL;
    int pass;
    if (!dsql_shim_disabled())
        dsql_conninfo_from_setdb(&api, pghost, pgport, pgoptions, dbName, login, pwd, &ci);
    PGconn *conn = connect_ci(ci, PQconnectdbParams, &pass);
    return pass ? PQsetdbLogin(pghost, pgport, pgoptions, pgtty, dbName, login, pwd) : conn;
}

static PGPing ping_ci(dsql_conninfo *ci, int *pass)
{
    dsql_error err = {0};
    PGPing r = PQPING_NO_ATTEMPT;
    *pass = 0;
    switch (prepare(ci, DSQL_REWRITE_NO_TOKEN, &err)) {
    case 1:
        r = PQpingParams(dsql_conninfo_keywords(ci), dsql_conninfo_values(ci),
                         dsql_conninfo_expand_dbname(ci));
        break;
    case -1:
        break;
    default:
        *pass = 1;
    }
    dsql_conninfo_free(ci);
    return r;
}

PGPing dsql_ping(const char *conninfo)
{
    int pass;
    PGPing r = ping_ci(from_string(conninfo), &pass);
    return pass ? PQping(conninfo) : r;
}

PGPing dsql_ping_params(const char *const *keywords, const char *const *values,
                        int expand_dbname)
{
    int pass;
    PGPing r = ping_ci(from_params(keywords, values, expand_dbname), &pass);
    return pass ? PQpingParams(keywords, values, expand_dbname) : r;
}

/* ---- -Wl,--wrap=PQ... : the program's own calls arrive here ---- */

#define WRAP DSQL_API

WRAP PGconn *__wrap_PQconnectdb(const char *conninfo);
WRAP PGconn *__wrap_PQconnectdbParams(const char *const *k, const char *const *v, int e);
WRAP PGconn *__wrap_PQsetdbLogin(const char *h, const char *p, const char *o, const char *t,
                                 const char *d, const char *l, const char *pw);
WRAP PGconn *__wrap_PQconnectStart(const char *conninfo);
WRAP PGconn *__wrap_PQconnectStartParams(const char *const *k, const char *const *v, int e);
WRAP PGPing __wrap_PQping(const char *conninfo);
WRAP PGPing __wrap_PQpingParams(const char *const *k, const char *const *v, int e);

PGconn *__wrap_PQconnectdb(const char *conninfo)
{
    return dsql_connectdb(conninfo);
}

PGconn *__wrap_PQconnectdbParams(const char *const *k, const char *const *v, int e)
{
    return dsql_connectdb_params(k, v, e);
}

PGconn *__wrap_PQsetdbLogin(const char *h, const char *p, const char *o, const char *t,
                            const char *d, const char *l, const char *pw)
{
    return dsql_setdb_login(h, p, o, t, d, l, pw);
}

PGconn *__wrap_PQconnectStart(const char *conninfo)
{
    return dsql_connect_start(conninfo);
}

PGconn *__wrap_PQconnectStartParams(const char *const *k, const char *const *v, int e)
{
    return dsql_connect_start_params(k, v, e);
}

PGPing __wrap_PQping(const char *conninfo)
{
    return dsql_ping(conninfo);
}

PGPing __wrap_PQpingParams(const char *const *k, const char *const *v, int e)
{
    return dsql_ping_params(k, v, e);
}
