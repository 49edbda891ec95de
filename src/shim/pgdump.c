/* SPDX-License-Identifier: MIT */
/* pgdump.c: pg_dump and pg_dumpall against Aurora DSQL: their bookkeeping answered in-process. */
#include "shim/pgdump.h"

#include "base/log.h"
#include "shim/dl.h"
#include "shim/got.h"
#include "shim/libpq.h"
#include "shim/settings.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The statements pg_dump and pg_dumpall send only for their own bookkeeping and Aurora DSQL
 * refuses, read from their source for PostgreSQL 15, 16 and 17 (pg_dump.c setup_connection,
 * getTables, lockTableForWorker and get_synchronized_snapshot, pg_backup_db.c, parallel.c) and
 * observed from Debian's pg_dump 15. pg_dump checks only the status of each result (none reads
 * a value but the snapshot's name), and on DSQL needs none of their effects:
 *   - the session settings are limits and scan order that DSQL does not expose: statement,
 *     lock and idle-in-transaction timeouts (DSQL's own quotas apply), synchronized sequential
 *     scans, row security (DSQL has no row-level security policies);
 *   - READ ONLY REPEATABLE READ: DSQL's only isolation is REPEATABLE READ already; read-only is
 *     a safety net for a program that only reads;
 *   - LOCK TABLE ... IN ACCESS SHARE MODE keeps tables from being dropped during the dump; DSQL
 *     has no table locks (its transactions see a snapshot, and DDL conflicts surface at commit);
 *   - restrict_nonsystem_relation_kind (15.8+, 16.4+, 17) keeps pg_dump from running code in
 *     views and foreign tables of a hostile server; DSQL has neither foreign tables nor that
 *     setting, and answering no rows is what a server without the setting answers;
 *   - snapshot export and import synchronize pg_dump -j's workers; DSQL can neither export nor
 *     import a snapshot, so each worker reads with its own (README: Limits).
 * Anything else, close variants included, goes to the server as written.
 */
enum match { EXACT, PREFIX, PREFIX_SUFFIX };

static const struct statement {
    enum match how;
    const char *text;   /* the whole statement, or its start */
    const char *suffix; /* PREFIX_SUFFIX: its end */
    enum dsql_dump_answer answer;
} statements[] = {
    {EXACT, "SET synchronize_seqscans TO off", NULL, DSQL_DUMP_COMMAND_OK},
    {EXACT, "SET statement_timeout = 0", NULL, DSQL_DUMP_COMMAND_OK},
    /* --lock-wait-timeout: around the LOCK TABLEs, which are answered here too */
    {PREFIX, "SET statement_timeout = ", NULL, DSQL_DUMP_COMMAND_OK},
    {EXACT, "SET lock_timeout = 0", NULL, DSQL_DUMP_COMMAND_OK},
    {EXACT, "SET idle_in_transaction_session_timeout = 0", NULL, DSQL_DUMP_COMMAND_OK},
    {EXACT, "SET transaction_timeout = 0", NULL, DSQL_DUMP_COMMAND_OK}, /* 17, for 17 servers */
    {EXACT, "SET row_security = off", NULL, DSQL_DUMP_COMMAND_OK},
    {EXACT, "SET row_security = on", NULL, DSQL_DUMP_COMMAND_OK},
    {EXACT, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", NULL,
     DSQL_DUMP_COMMAND_OK},
    {PREFIX, "SET TRANSACTION SNAPSHOT ", NULL, DSQL_DUMP_COMMAND_OK},
    {EXACT, "SELECT pg_catalog.pg_export_snapshot()", NULL, DSQL_DUMP_SNAPSHOT},
    {PREFIX_SUFFIX, "SELECT set_config(name, ",
     ", false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'",
     DSQL_DUMP_NO_ROWS},
    {PREFIX_SUFFIX, "LOCK TABLE ", " IN ACCESS SHARE MODE", DSQL_DUMP_COMMAND_OK},
    {PREFIX_SUFFIX, "LOCK TABLE ", " IN ACCESS SHARE MODE NOWAIT", DSQL_DUMP_COMMAND_OK},
    {PREFIX, "PREPARE ", NULL, DSQL_DUMP_PREPARE},
    {PREFIX, "EXECUTE ", NULL, DSQL_DUMP_EXECUTE},
};

/* The snapshot name answered for pg_export_snapshot(): what workers then "import". */
#define NO_SNAPSHOT "dsqlauth-unsynchronized"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || (unsigned char)c >= 0x80;
}

/*
 * Length of a single-quoted SQL literal at s ('...' with '' for a quote), 0 if there is none.
 * Unescaped into out (out_len bytes, NUL-terminated) when out is not NULL.
 */
static size_t quoted_literal(const char *s, char *out, size_t out_len)
{
    size_t i = 1, k = 0;
    if (s[0] != '\'')
        return 0;
    for (;;) {
        if (s[i] == '\0')
            return 0;
        if (s[i] == '\'') {
            if (s[i + 1] != '\'')
                break;
            i++;
        }
        if (out != NULL) {
            if (k + 1 >= out_len)
                return 0;
            out[k++] = s[i];
        }
        i++;
    }
    if (out != NULL)
        out[k] = '\0';
    return i + 1;
}

/* 1 if s[0..n) is only a list of (qualified, possibly quoted) names: what LOCK TABLE names. */
static int name_list(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            for (i++; i < n && !(s[i] == '"' && (i + 1 >= n || s[i + 1] != '"')); i++)
                if (s[i] == '"')
                    i++; /* "" inside */
            if (i >= n)
                return 0;
        } else if (!is_ident(s[i]) && s[i] != '.' && s[i] != ',' && !is_space(s[i])) {
            return 0;
        }
    }
    return n > 0;
}

enum dsql_dump_answer dsql_pgdump_classify(const char *q)
{
    size_t len = strlen(q);
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
        const struct statement *st = &statements[i];
        size_t p = strlen(st->text);
        if (strncmp(q, st->text, p) != 0)
            continue;
        switch (st->how) {
        case EXACT:
            if (len == p)
                return st->answer;
            break;
        case PREFIX:
            /* SET TRANSACTION SNAPSHOT '<name>', SET statement_timeout = '<value>' */
            if (st->answer == DSQL_DUMP_COMMAND_OK) {
                if (len > p && quoted_literal(q + p, NULL, 0) == len - p)
                    return st->answer;
                break;
            }
            return st->answer; /* PREPARE, EXECUTE: parsed when they run */
        case PREFIX_SUFFIX: {
            size_t s = strlen(st->suffix);
            if (len < p + s || strcmp(q + len - s, st->suffix) != 0)
                break;
            const char *mid = q + p;
            size_t n = len - p - s;
            if (st->answer == DSQL_DUMP_NO_ROWS ? quoted_literal(mid, NULL, 0) == n
                                                : name_list(mid, n))
                return st->answer;
            break;
        }
        }
    }
    return DSQL_DUMP_SEND;
}

/*
 * An identifier at *s (unquoted, as pg_dump names its prepared statements), into out, folded to
 * lower case as the server folds it: SQL's PREPARE dumpFunc and EXECUTE dumpFunc both name
 * "dumpfunc", and protocol-level names are case-sensitive.
 */
static int take_name(const char **s, char *out, size_t out_len)
{
    size_t n = 0;
    while (is_ident((*s)[n]) && (*s)[n] != '$')
        n++;
    if (n == 0 || n >= out_len)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = (*s)[i] >= 'A' && (*s)[i] <= 'Z' ? (char)((*s)[i] - 'A' + 'a') : (*s)[i];
    out[n] = '\0';
    *s += n;
    return 0;
}

int dsql_pgdump_parse_prepare(const char *text, char *name, size_t name_len, char *types,
                              size_t types_len, int *ntypes, const char **query)
{
    const char *s = text + strlen("PREPARE ");
    size_t k = 0;
    *ntypes = 0;
    if (strncmp(text, "PREPARE ", 8) != 0 || take_name(&s, name, name_len) != 0)
        return -1;
    while (is_space(*s))
        s++;
    if (*s == '(') {
        s++;
        for (;;) {
            while (is_space(*s))
                s++;
            size_t end = strcspn(s, ",)"), n = end;
            if (s[end] == '\0')
                return -1; /* no closing parenthesis */
            while (n > 0 && is_space(s[n - 1]))
                n--;
            if (n == 0 || k + n + 1 >= types_len)
                return -1;
            memcpy(types + k, s, n);
            types[k + n] = '\0';
            k += n + 1;
            (*ntypes)++;
            s += end;
            if (*s++ == ')')
                break;
        }
    }
    while (is_space(*s))
        s++;
    if (!((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') && is_space(s[2])))
        return -1;
    s += 3;
    while (is_space(*s))
        s++;
    *query = s;
    return *s != '\0' ? 0 : -1;
}

int dsql_pgdump_parse_execute(const char *text, char *name, size_t name_len, char *args,
                              size_t args_len, int *nargs)
{
    const char *s = text + strlen("EXECUTE ");
    size_t k = 0;
    *nargs = 0;
    if (strncmp(text, "EXECUTE ", 8) != 0 || take_name(&s, name, name_len) != 0)
        return -1;
    if (*s == '\0')
        return 0;
    if (*s++ != '(')
        return -1;
    for (;;) {
        while (is_space(*s))
            s++;
        size_t n = quoted_literal(s, args + k, args_len - k);
        if (n == 0)
            return -1;
        k += strlen(args + k) + 1;
        (*nargs)++;
        s += n;
        while (is_space(*s))
            s++;
        if (*s == ')')
            break;
        if (*s++ != ',')
            return -1;
    }
    return s[1] == '\0' ? 0 : -1;
}

/* ---- in the process ------------------------------------------------------------------------- */

int dsql_pgdump_process(void)
{
    static int known = -1;
    int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *me = program_invocation_short_name;
        v = me != NULL && (strcmp(me, "pg_dump") == 0 || strcmp(me, "pg_dumpall") == 0);
        __atomic_store_n(&known, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* The libpq functions this needs, from the copy pg_dump connects with. */
static struct {
    const dsql_libpq *pq;
    PGresult *(*exec)(PGconn *, const char *);
    PGresult *(*make_empty)(PGconn *, ExecStatusType);
    int (*set_attrs)(PGresult *, int, PGresAttDesc *);
    int (*set_value)(PGresult *, int, int, char *, int);
    PGresult *(*prepare)(PGconn *, const char *, const char *, int, const Oid *);
    PGresult *(*exec_prepared)(PGconn *, const char *, int, const char *const *, const int *,
                               const int *, int);
    PGresult *(*exec_params)(PGconn *, const char *, int, const Oid *, const char *const *,
                             const int *, const int *, int);
    char *(*host)(const PGconn *);
    ExecStatusType (*status)(const PGresult *);
    char *(*get_value)(const PGresult *, int, int);
    int (*ntuples)(const PGresult *);
    void (*clear)(PGresult *);
} lib;

/* The OIDs of the types pg_dump's prepared statements take: fixed since PostgreSQL 8. */
static const struct {
    const char *name;
    Oid oid;
} known_types[] = {
    {"pg_catalog.oid", 26},     {"oid", 26},
    {"pg_catalog.text", 25},    {"text", 25},
    {"pg_catalog.name", 19},    {"name", 19},
    {"pg_catalog.int4", 23},    {"integer", 23},
    {"pg_catalog.int8", 20},    {"bigint", 20},
    {"pg_catalog.bool", 16},    {"boolean", 16},
    {"pg_catalog.oid[]", 1028}, {"pg_catalog.regclass", 2205},
};

/* The OID of a type named in a PREPARE: the table, else the server's answer (0 if none). */
static Oid type_oid(PGconn *conn, const char *type)
{
    for (size_t i = 0; i < sizeof known_types / sizeof known_types[0]; i++)
        if (strcmp(type, known_types[i].name) == 0)
            return known_types[i].oid;
    const char *values[] = {type};
    PGresult *r = lib.exec_params(conn, "SELECT $1::pg_catalog.regtype::pg_catalog.oid", 1, NULL,
                                  values, NULL, NULL, 0);
    Oid oid = 0;
    if (lib.status(r) == PGRES_TUPLES_OK && lib.ntuples(r) == 1)
        oid = (Oid)strtoul(lib.get_value(r, 0, 0), NULL, 10);
    lib.clear(r);
    return oid;
}

static PGresult *run_prepare(PGconn *conn, const char *query)
{
    char name[64], types[512];
    const char *body;
    int n;
    Oid oids[32];
    if (dsql_pgdump_parse_prepare(query, name, sizeof name, types, sizeof types, &n, &body) != 0 ||
        n > 32)
        return lib.exec(conn, query);
    const char *t = types;
    for (int i = 0; i < n; i++, t += strlen(t) + 1)
        oids[i] = type_oid(conn, t);
    dsql_log(DSQL_LOG_INFO,
             "pg_dump: PREPARE %s run as a protocol-level prepared statement "
             "(Aurora DSQL refuses SQL PREPARE)",
             name);
    return lib.prepare(conn, name, body, n, oids);
}

static PGresult *run_execute(PGconn *conn, const char *query)
{
    char name[64], args[2048];
    const char *values[32];
    int n;
    if (dsql_pgdump_parse_execute(query, name, sizeof name, args, sizeof args, &n) != 0 || n > 32)
        return lib.exec(conn, query);
    const char *a = args;
    for (int i = 0; i < n; i++, a += strlen(a) + 1)
        values[i] = a;
    dsql_log(DSQL_LOG_DEBUG, "pg_dump: EXECUTE %s run as a protocol-level prepared statement",
             name);
    return lib.exec_prepared(conn, name, n, values, NULL, NULL, 0);
}

static PGresult *answer(PGconn *conn, const char *query, enum dsql_dump_answer a)
{
    dsql_log(DSQL_LOG_INFO,
             "pg_dump: answered locally (Aurora DSQL refuses it; pg_dump needs "
             "no effect from it there): %.200s",
             query);
    if (a == DSQL_DUMP_COMMAND_OK)
        return lib.make_empty(conn, PGRES_COMMAND_OK);
    PGresult *r = lib.make_empty(conn, PGRES_TUPLES_OK);
    if (r != NULL && a == DSQL_DUMP_SNAPSHOT) {
        PGresAttDesc column = {
            .name = (char *)"pg_export_snapshot", .typid = 25, .typlen = -1, .atttypmod = -1};
        if (!lib.set_attrs(r, 1, &column) ||
            !lib.set_value(r, 0, 0, (char *)NO_SNAPSHOT, (int)strlen(NO_SNAPSHOT))) {
            lib.clear(r);
            r = NULL;
        }
    }
    return r;
}

/* pg_dump's PQexec. */
static PGresult *dump_exec(PGconn *conn, const char *query)
{
    int saved = errno;
    enum dsql_dump_answer a =
        conn != NULL && query != NULL ? dsql_pgdump_classify(query) : DSQL_DUMP_SEND;
    if (a != DSQL_DUMP_SEND) {
        const dsql_settings *s = dsql_settings_acquire();
        if (s == NULL || s->disabled || !s->pgdump || !dsql_host_is_dsql(s, lib.host(conn)))
            a = DSQL_DUMP_SEND;
        dsql_settings_release(s);
    }
    errno = saved;
    switch (a) {
    case DSQL_DUMP_PREPARE:
        return run_prepare(conn, query);
    case DSQL_DUMP_EXECUTE:
        return run_execute(conn, query);
    case DSQL_DUMP_SEND:
        return lib.exec(conn, query);
    default:
        return answer(conn, query, a);
    }
}

static void *choose(const char *name, void *arg)
{
    (void)arg;
    return strcmp(name, "PQexec") == 0 ? (void *)(uintptr_t)dump_exec : NULL;
}

static const dsql_libpq *attach_pq;

static void attach_once(void)
{
    const dsql_libpq *pq = attach_pq;
#define RESOLVE(field, fn) *(void **)&lib.field = dsql_libpq_sym(pq, fn)
    RESOLVE(exec, "PQexec");
    RESOLVE(make_empty, "PQmakeEmptyPGresult");
    RESOLVE(set_attrs, "PQsetResultAttrs");
    RESOLVE(set_value, "PQsetvalue");
    RESOLVE(prepare, "PQprepare");
    RESOLVE(exec_prepared, "PQexecPrepared");
    RESOLVE(exec_params, "PQexecParams");
    RESOLVE(host, "PQhost");
    RESOLVE(status, "PQresultStatus");
    RESOLVE(get_value, "PQgetvalue");
    RESOLVE(ntuples, "PQntuples");
    RESOLVE(clear, "PQclear");
#undef RESOLVE
    if (!lib.exec || !lib.make_empty || !lib.set_attrs || !lib.set_value || !lib.prepare ||
        !lib.exec_prepared || !lib.exec_params || !lib.host || !lib.status || !lib.get_value ||
        !lib.ntuples || !lib.clear) {
        dsql_log(DSQL_LOG_WARN, "pg_dump: this libpq lacks a function the shim needs; pg_dump's "
                                "statements go to the server as written");
        return;
    }
    lib.pq = pq;
    void *main_handle = dsql_real_dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
    struct link_map *map = NULL;
    int n = -1;
    if (main_handle != NULL && dlinfo(main_handle, RTLD_DI_LINKMAP, &map) == 0)
        n = dsql_got_redirect(map, choose, NULL);
    if (main_handle != NULL)
        dlclose(main_handle);
    if (n > 0)
        dsql_log(DSQL_LOG_DEBUG, "pg_dump: its PQexec goes through dsqlauth");
    else
        dsql_log(DSQL_LOG_WARN, "pg_dump: could not reach its calls of PQexec; its statements go "
                                "to the server as written");
}

void dsql_pgdump_attach(const dsql_libpq *pq)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (pq == NULL || !dsql_pgdump_process())
        return;
    attach_pq = pq;
    pthread_once(&once, attach_once);
}
