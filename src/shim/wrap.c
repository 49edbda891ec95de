/* SPDX-License-Identifier: MIT */
/* wrap.c: dsql_connectdb* and the `-Wl,--wrap=` entry points, for programs linked with libpq. */
#include "dsqlauth-pq.h"

#include "shim/dispatch.h"

/*
 * This library links libpq itself (the program's own copy, by construction), so the real
 * functions are libpq's and no re-entry guard is needed: libpq's internal calls are not
 * affected by the program's --wrap flags. The rest is dispatch.c's, as for the preload.
 */
static const dsql_libpq pq = {
    .api =
        {
            .conninfo_parse = PQconninfoParse,
            .conninfo_free = PQconninfoFree,
            .freemem = PQfreemem,
            .lib_version = PQlibVersion,
        },
    .entry =
        {
            [DSQL_PQCONNECTDB] = (void *)PQconnectdb,
            [DSQL_PQCONNECTDBPARAMS] = (void *)PQconnectdbParams,
            [DSQL_PQSETDBLOGIN] = (void *)PQsetdbLogin,
            [DSQL_PQCONNECTSTART] = (void *)PQconnectStart,
            [DSQL_PQCONNECTSTARTPARAMS] = (void *)PQconnectStartParams,
            [DSQL_PQPING] = (void *)PQping,
            [DSQL_PQPINGPARAMS] = (void *)PQpingParams,
            [DSQL_PQRESET] = (void *)PQreset,
            [DSQL_PQRESETSTART] = (void *)PQresetStart,
        },
    .connect_start_params = PQconnectStartParams,
    .error_message = PQerrorMessage,
    .pass = PQpass,
    .user = PQuser,
};

static const dsql_signer signer = {
    .endpoint = dsql_auth_endpoint,
    .token = dsql_auth_token_for_host,
    .token_free = dsql_token_free,
};

static const dsql_signer *get_signer(char *msg, size_t len)
{
    (void)msg;
    (void)len;
    return &signer;
}

PGconn *dsql_connectdb(const char *conninfo)
{
    dsql_call c = {.entry = DSQL_PQCONNECTDB, .conninfo = conninfo};
    return dsql_dispatch_connect(&pq, get_signer, &c);
}

PGconn *dsql_connect_start(const char *conninfo)
{
    dsql_call c = {.entry = DSQL_PQCONNECTSTART, .conninfo = conninfo};
    return dsql_dispatch_connect(&pq, get_signer, &c);
}

PGconn *dsql_connectdb_params(const char *const *keywords, const char *const *values,
                              int expand_dbname)
{
    dsql_call c = {.entry = DSQL_PQCONNECTDBPARAMS,
                   .keywords = keywords,
                   .values = values,
                   .expand = expand_dbname};
    return dsql_dispatch_connect(&pq, get_signer, &c);
}

PGconn *dsql_connect_start_params(const char *const *keywords, const char *const *values,
                                  int expand_dbname)
{
    dsql_call c = {.entry = DSQL_PQCONNECTSTARTPARAMS,
                   .keywords = keywords,
                   .values = values,
                   .expand = expand_dbname};
    return dsql_dispatch_connect(&pq, get_signer, &c);
}

PGconn *dsql_setdb_login(const char *pghost, const char *pgport, const char *pgoptions,
                         const char *pgtty, const char *dbName, const char *login, const char *pwd)
{
    dsql_call c = {.entry = DSQL_PQSETDBLOGIN,
                   .host = pghost,
                   .port = pgport,
                   .options = pgoptions,
                   .tty = pgtty,
                   .dbname = dbName,
                   .user = login,
                   .password = pwd};
    return dsql_dispatch_connect(&pq, get_signer, &c);
}

PGPing dsql_ping(const char *conninfo)
{
    dsql_call c = {.entry = DSQL_PQPING, .conninfo = conninfo};
    return dsql_dispatch_ping(&pq, get_signer, &c);
}

PGPing dsql_ping_params(const char *const *keywords, const char *const *values, int expand_dbname)
{
    dsql_call c = {.entry = DSQL_PQPINGPARAMS,
                   .keywords = keywords,
                   .values = values,
                   .expand = expand_dbname};
    return dsql_dispatch_ping(&pq, get_signer, &c);
}

void dsql_reset(PGconn *conn)
{
    dsql_call c = {.entry = DSQL_PQRESET, .conn = conn};
    dsql_dispatch_reset(&pq, get_signer, &c);
}

int dsql_reset_start(PGconn *conn)
{
    dsql_call c = {.entry = DSQL_PQRESETSTART, .conn = conn};
    return dsql_dispatch_reset(&pq, get_signer, &c);
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
WRAP void __wrap_PQreset(PGconn *conn);
WRAP int __wrap_PQresetStart(PGconn *conn);

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

void __wrap_PQreset(PGconn *conn)
{
    dsql_reset(conn);
}

int __wrap_PQresetStart(PGconn *conn)
{
    return dsql_reset_start(conn);
}
