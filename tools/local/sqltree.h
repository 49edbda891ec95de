/* SPDX-License-Identifier: MIT */
/* sqltree.h: Aurora DSQL's rules judged on PostgreSQL's own parse tree (libpg_query, raw nodes). */
#ifndef DSQL_LOCAL_SQLTREE_H
#define DSQL_LOCAL_SQLTREE_H

#include "strict.h"

#include <stddef.h>

/*
 * The only file that includes PostgreSQL's server headers and libpg_query: it parses SQL with
 * PostgreSQL 15's grammar (pg_query_raw_parse) and reads the node structs directly, so a
 * statement costs one parse (about 0.7 us for pgbench's SELECT) and no JSON or protobuf.
 *
 * sqltree_parse: text is NUL-terminated at len, with DSQL's ASYNC keyword already blanked
 * (strict.c finds it; async_offs holds where each of the nasync was). On success returns 0 with
 * *out a new array (free()) of *n classified statements, each with its offsets in text, its kind
 * and flags, and its refusal if a rule refuses it whatever the session's state. Returns 1 when
 * PostgreSQL's grammar refuses the text
 * (*n = 0: let the backend answer it, it gives the same syntax error), -1 when out of memory.
 * Thread-safe: libpg_query keeps its memory per thread and frees it when the thread ends (a
 * thread-exit destructor of its own; calling pg_query_exit() as well frees it twice).
 */
int sqltree_parse(const char *text, size_t len, const size_t *async_offs, size_t nasync,
                  dsql_strict_stmt **out, size_t *n);

#endif /* DSQL_LOCAL_SQLTREE_H */
