/* SPDX-License-Identifier: MIT */
/* pgdump.h: pg_dump and pg_dumpall against Aurora DSQL: their bookkeeping answered in-process. */
#ifndef DSQL_SHIM_PGDUMP_H
#define DSQL_SHIM_PGDUMP_H

/*
 * Stock pg_dump stops at the first statement DSQL refuses, and the first ones it sends are
 * bookkeeping: session settings DSQL does not allow (statement_timeout, lock_timeout, ...),
 * SET TRANSACTION ... READ ONLY, a set_config of restrict_nonsystem_relation_kind, LOCK TABLE
 * ... IN ACCESS SHARE MODE, and SQL-level PREPARE / EXECUTE of its catalog queries. In a
 * pg_dump or pg_dumpall process (and there only), the preload points the program's own PQexec
 * at dsql_pgdump_exec, which, on connections to a DSQL target:
 *   - answers those statements itself (pgdump.c lists each, with the versions that send it and
 *     why pg_dump needs no effect from it on DSQL), as an empty result of the status pg_dump
 *     checks, logged at DSQLAUTH_LOG=info;
 *   - runs PREPARE name(types) AS query and EXECUTE name(args) as the protocol-level prepared
 *     statements every driver uses (PQprepare, PQexecPrepared), which DSQL accepts;
 *   - sends every other statement to the server as written, so DSQL's own answers and errors
 *     reach pg_dump unchanged.
 * DSQLAUTH_PGDUMP=off turns it off. Other programs pay nothing: nothing is exported for it, and
 * the redirection happens at pg_dump's first connection.
 */

#include "shim/dispatch.h"

/* What pg_dump's bookkeeping gets. */
enum dsql_dump_answer {
    DSQL_DUMP_SEND = 0,   /* to the server as written */
    DSQL_DUMP_COMMAND_OK, /* answered: an empty PGRES_COMMAND_OK */
    DSQL_DUMP_NO_ROWS,    /* answered: PGRES_TUPLES_OK without rows */
    DSQL_DUMP_SNAPSHOT,   /* answered: one row, a snapshot name no one will import */
    DSQL_DUMP_PREPARE,    /* run as PQprepare */
    DSQL_DUMP_EXECUTE,    /* run as PQexecPrepared */
};

/* The answer query gets. Pure: the table of pgdump.c, matched against the text. */
DSQL_LOCAL enum dsql_dump_answer dsql_pgdump_classify(const char *query);

/*
 * PREPARE name(type, ...) AS query: the parts, into the caller's buffers (types NUL-separated,
 * their count in *ntypes, the query a pointer into text). EXECUTE name(arg, ...): the name and
 * the arguments' values, each a plain quoted literal ('...' with '' for a quote), unescaped and
 * NUL-separated. 0, or -1 when text is not of that form (it is then sent as written).
 */
DSQL_LOCAL int dsql_pgdump_parse_prepare(const char *text, char *name, size_t name_len, char *types,
                                         size_t types_len, int *ntypes, const char **query);
DSQL_LOCAL int dsql_pgdump_parse_execute(const char *text, char *name, size_t name_len, char *args,
                                         size_t args_len, int *nargs);

/* 1 in a pg_dump or pg_dumpall process (by the name it was run as). */
DSQL_LOCAL int dsql_pgdump_process(void);

/*
 * In a pg_dump or pg_dumpall process, once: points the program's references to PQexec at the
 * wrapper, bound to pq (the copy the program connects with). Elsewhere it does nothing.
 */
DSQL_LOCAL void dsql_pgdump_attach(const dsql_libpq *pq);

#endif /* DSQL_SHIM_PGDUMP_H */
