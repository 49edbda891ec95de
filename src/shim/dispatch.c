/* SPDX-License-Identifier: MIT */
/* dispatch.c: one wrapped libpq call: analyse, ours?, rewrite, then call the real one or fail. */
#include "shim/dispatch.h"

#include "base/log.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const dsql_entry_names[DSQL_ENTRY_COUNT] = {
    "PQconnectdb", "PQconnectdbParams", "PQsetdbLogin", "PQconnectStart", "PQconnectStartParams",
    "PQping",      "PQpingParams",      "PQreset",      "PQresetStart",
};

int dsql_entry_of(const char *name)
{
    if (name == NULL || name[0] != 'P' || name[1] != 'Q')
        return -1;
    for (int i = 0; i < DSQL_ENTRY_COUNT; i++)
        if (strcmp(name + 2, dsql_entry_names[i] + 2) == 0)
            return i;
    return -1;
}

typedef PGconn *(*params_fn)(const char *const *, const char *const *, int);
typedef PGconn *(*string_fn)(const char *);
typedef PGPing (*ping_params_fn)(const char *const *, const char *const *, int);
typedef PGPing (*ping_string_fn)(const char *);
typedef PGconn *(*setdb_fn)(const char *, const char *, const char *, const char *, const char *,
                            const char *, const char *);
typedef void (*reset_fn)(PGconn *);
typedef int (*reset_start_fn)(PGconn *);

/* ---- straight through -------------------------------------------------------------------- */

PGconn *dsql_pass_connect(const dsql_libpq *pq, const dsql_call *c)
{
    void *fn = pq->entry[c->entry];
    switch (c->entry) {
    case DSQL_PQCONNECTDB:
    case DSQL_PQCONNECTSTART:
        return ((string_fn)fn)(c->conninfo);
    case DSQL_PQCONNECTDBPARAMS:
    case DSQL_PQCONNECTSTARTPARAMS:
        return ((params_fn)fn)(c->keywords, c->values, c->expand);
    case DSQL_PQSETDBLOGIN:
        return ((setdb_fn)fn)(c->host, c->port, c->options, c->tty, c->dbname, c->user,
                              c->password);
    default:
        return NULL;
    }
}

PGPing dsql_pass_ping(const dsql_libpq *pq, const dsql_call *c)
{
    void *fn = pq->entry[c->entry];
    return c->entry == DSQL_PQPING ? ((ping_string_fn)fn)(c->conninfo)
                                   : ((ping_params_fn)fn)(c->keywords, c->values, c->expand);
}

int dsql_pass_reset(const dsql_libpq *pq, const dsql_call *c)
{
    void *fn = pq->entry[c->entry];
    if (c->entry == DSQL_PQRESETSTART)
        return ((reset_start_fn)fn)(c->conn);
    ((reset_fn)fn)(c->conn);
    return 0;
}

/* ---- analyse, ours?, rewrite --------------------------------------------------------------- */

enum plan { PASS, REWRITTEN, FAILED };

/*
 * Analyses the call; REWRITTEN leaves *ci ready for the real `*Params` function, FAILED puts
 * the reason in msg. *ci (NULL when out of memory) points into the settings in *sp: the caller
 * frees it, then releases them, with plan_done.
 */
static enum plan plan(const dsql_libpq *pq, dsql_signer_fn get_signer, const dsql_call *c,
                      int flags, const dsql_settings **sp, dsql_conninfo **ci, char *msg,
                      size_t msglen)
{
    *ci = NULL;
    const dsql_settings *s = *sp = dsql_settings_acquire();
    if (s == NULL)
        return PASS; /* out of memory: libpq will say so itself */
    switch (c->entry) {
    case DSQL_PQCONNECTDB:
    case DSQL_PQCONNECTSTART:
    case DSQL_PQPING:
        dsql_conninfo_from_string(&pq->api, s, c->conninfo, ci);
        break;
    case DSQL_PQSETDBLOGIN:
        dsql_conninfo_from_setdb(&pq->api, s, c->host, c->port, c->options, c->dbname, c->user,
                                 c->password, ci);
        break;
    default:
        dsql_conninfo_from_params(&pq->api, s, c->keywords, c->values, c->expand, ci);
        break;
    }
    enum plan p = PASS;
    if (*ci != NULL && dsql_conninfo_target(*ci) == DSQL_TARGET_DSQL) {
        const dsql_signer *signer = get_signer(msg, msglen);
        dsql_error err = {0};
        if (signer == NULL) {
            p = FAILED;
        } else if (dsql_conninfo_rewrite(*ci, signer, flags, &err) != DSQL_OK) {
            snprintf(msg, msglen, "%s", err.message);
            p = FAILED;
        } else {
            p = REWRITTEN;
        }
        if (p == FAILED)
            dsql_log(DSQL_LOG_ERROR, "%s", msg);
    }
    return p;
}

static void plan_done(const dsql_settings *s, dsql_conninfo *ci)
{
    dsql_conninfo_free(ci);
    dsql_settings_release(s);
}

PGconn *dsql_dispatch_connect(const dsql_libpq *pq, dsql_signer_fn signer, const dsql_call *c)
{
    int saved = errno;
    const dsql_settings *s;
    dsql_conninfo *ci;
    char msg[DSQL_ERROR_MAX];
    PGconn *conn;
    switch (plan(pq, signer, c, 0, &s, &ci, msg, sizeof msg)) {
    case REWRITTEN: {
        int start = c->entry == DSQL_PQCONNECTSTART || c->entry == DSQL_PQCONNECTSTARTPARAMS;
        params_fn real =
            (params_fn)pq->entry[start ? DSQL_PQCONNECTSTARTPARAMS : DSQL_PQCONNECTDBPARAMS];
        errno = saved;
        conn = real(dsql_conninfo_keywords(ci), dsql_conninfo_values(ci),
                    dsql_conninfo_expand_dbname(ci));
        break;
    }
    case FAILED:
        conn = dsql_failed_conn(pq, msg);
        errno = saved;
        break;
    default:
        errno = saved;
        conn = dsql_pass_connect(pq, c);
        break;
    }
    plan_done(s, ci);
    return conn;
}

PGPing dsql_dispatch_ping(const dsql_libpq *pq, dsql_signer_fn signer, const dsql_call *c)
{
    int saved = errno;
    const dsql_settings *s;
    dsql_conninfo *ci;
    char msg[DSQL_ERROR_MAX];
    PGPing r = PQPING_NO_ATTEMPT;
    switch (plan(pq, signer, c, DSQL_REWRITE_NO_TOKEN, &s, &ci, msg, sizeof msg)) {
    case REWRITTEN:
        errno = saved;
        r = ((ping_params_fn)pq->entry[DSQL_PQPINGPARAMS])(
            dsql_conninfo_keywords(ci), dsql_conninfo_values(ci), dsql_conninfo_expand_dbname(ci));
        break;
    case FAILED:
        errno = saved;
        break;
    default:
        errno = saved;
        r = dsql_pass_ping(pq, c);
        break;
    }
    plan_done(s, ci);
    return r;
}

/* ---- PQreset: a fresh token in the connection -------------------------------------------- */

/*
 * Puts token in place of the password string old that conn holds (libpq's own strdup). When it
 * fits in old's allocation it is written over it; otherwise the pointer to old is looked for in
 * the PGconn itself (libpq's pgpass member: the password of a single-host connection) and
 * replaced by a copy made with malloc, which libpq frees with free() as it would its own. 0, or
 * -1 when neither is possible (a host list whose tokens came from our password file, with a
 * longer token: the caller is told in the log).
 */
static int replace_password(PGconn *conn, char *old, const char *token)
{
    size_t len = strlen(token);
    size_t oldlen = strlen(old);
    if (malloc_usable_size(old) > len) {
        memcpy(old, token, len + 1);
        if (oldlen > len)
            explicit_bzero(old + len + 1, oldlen - len);
        return 0;
    }
    size_t size = malloc_usable_size(conn);
    for (size_t off = 0; off + sizeof(char *) <= size; off += sizeof(char *)) {
        char *p;
        memcpy(&p, (char *)conn + off, sizeof p);
        if (p != old)
            continue;
        char *copy = strdup(token);
        if (copy == NULL)
            return -1;
        memcpy((char *)conn + off, &copy, sizeof copy);
        explicit_bzero(old, oldlen);
        free(old);
        return 0;
    }
    return -1;
}

int dsql_dispatch_reset(const dsql_libpq *pq, dsql_signer_fn get_signer, const dsql_call *c)
{
    int saved = errno;
    char *pw = c->conn != NULL && pq->pass != NULL ? pq->pass(c->conn) : NULL;
    if (pw != NULL && dsql_token_issued(pw) && !dsql_settings_disabled()) {
        /* The token names the host it was signed for: "<host>/?Action=...". */
        char host[DSQL_HOST_MAX];
        const char *end = strstr(pw, "/?");
        const char *user = pq->user != NULL ? pq->user(c->conn) : NULL;
        char msg[DSQL_ERROR_MAX];
        const dsql_signer *signer = get_signer(msg, sizeof msg);
        dsql_error err = {0};
        char *token = NULL;
        if (end == NULL || (size_t)(end - pw) >= sizeof host || user == NULL) {
            dsql_log(DSQL_LOG_WARN, "PQreset: the connection's token is not one to renew");
        } else if (signer == NULL) {
            dsql_log(DSQL_LOG_ERROR, "PQreset: %s", msg);
        } else {
            memcpy(host, pw, (size_t)(end - pw));
            host[end - pw] = '\0';
            if (signer->token(host, user, &token, &err) != DSQL_OK) {
                dsql_log(DSQL_LOG_ERROR, "PQreset: %s", err.message);
            } else if (replace_password(c->conn, pw, token) != 0) {
                dsql_log(DSQL_LOG_WARN,
                         "PQreset: could not renew the token of %s in the "
                         "connection; the reset uses the old one",
                         host);
            } else {
                dsql_token_remember(token);
                dsql_log(DSQL_LOG_INFO, "PQreset: renewed the token for %s", host);
            }
            if (token != NULL)
                signer->token_free(token);
        }
    }
    errno = saved;
    return dsql_pass_reset(pq, c);
}

/* ---- a failed connection that carries our message --------------------------------------- */

/*
 * libpq has no call that makes a PGconn with an arbitrary error message, and none of its own
 * messages starts with text the caller controls. So: ask the caller's libpq for a connection
 * whose only keyword is unknown; PQconnectStartParams then fails while parsing options, before
 * any I/O, with CONNECTION_BAD, no password_needed (psql does not prompt) and the message
 * `invalid connection option "<keyword>"`. The keyword is our message, so the buffer is large
 * enough to hold it; we then find libpq's PQExpBufferData {data, len, maxlen} for the message
 * inside the PGconn by value (data == PQerrorMessage(conn), len == its length) and move our
 * text to the front. The layout of PQExpBufferData is libpq's public pqexpbuffer.h and has not
 * changed since 7.x. If it is not found, the message stays libpq's, which still contains ours.
 */
PGconn *dsql_failed_conn(const dsql_libpq *pq, const char *message)
{
    char text[DSQL_ERROR_MAX + 32];
    snprintf(text, sizeof text, "dsqlauth: %s", message);
    const char *kw[] = {text, NULL};
    const char *val[] = {"x", NULL};
    PGconn *conn = pq->connect_start_params(kw, val, 0);
    if (conn == NULL)
        return NULL;
    char *msg = pq->error_message(conn);
    size_t len = msg != NULL ? strlen(msg) : 0;
    size_t want = strlen(text) + 1; /* and a newline */
    if (msg == NULL || len < want)
        return conn;
    struct pqexpbuffer_layout {
        char *data;
        size_t len;
        size_t maxlen;
    };
    size_t size = malloc_usable_size(conn);
    for (size_t off = 0; off + sizeof(struct pqexpbuffer_layout) <= size; off += sizeof(void *)) {
        struct pqexpbuffer_layout b;
        memcpy(&b, (char *)conn + off, sizeof b);
        if (b.data == msg && b.len == len && b.maxlen > len) {
            memcpy(msg, text, want - 1);
            msg[want - 1] = '\n';
            msg[want] = '\0';
            b.len = want;
            memcpy((char *)conn + off, &b, sizeof b);
            break;
        }
    }
    return conn;
}
