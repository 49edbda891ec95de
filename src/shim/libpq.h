/* SPDX-License-Identifier: MIT */
/* libpq.h: which libpq copy a call belongs to, and its functions (for the preload). */
#ifndef DSQL_SHIM_LIBPQ_H
#define DSQL_SHIM_LIBPQ_H

/*
 * A process may hold several libpq copies: the program's, a Python extension's loaded
 * RTLD_LOCAL, a wheel's under another soname, one that PHP bound with RTLD_DEEPBIND. Every call
 * goes to the copy its caller would have reached without the preload, and every helper
 * (PQconninfoParse, PQerrorMessage, ...) comes from that same copy: a blind RTLD_NEXT finds the
 * wrong one, or none. Each copy is resolved once and kept in a small table for the life of the
 * process (its handle stays open, so the copy is never unloaded under us).
 */

#include "shim/dispatch.h"

/* How many libpq copies the table holds; calls into further copies pass through, logged. */
#define DSQL_LIBPQ_COPIES 8

/*
 * The copy that the code at caller (a return address) binds name (an entry point) to, by the
 * caller's own object's lookup scope (its link map, opened RTLD_NOLOAD, asked with dlsym), else
 * the first loaded object that defines it. NULL when none does, or the table is full.
 * Thread-safe and fork-safe.
 */
DSQL_LOCAL const dsql_libpq *dsql_libpq_of_caller(const void *caller, const char *name);

/* The copy that defines fn (a real entry point found by dlsym); NULL as above. */
DSQL_LOCAL const dsql_libpq *dsql_libpq_of_function(void *fn);

/* Slot i of the table (0 <= i < DSQL_LIBPQ_COPIES), or NULL if it is empty. */
DSQL_LOCAL const dsql_libpq *dsql_libpq_slot(int i);

/* The slot of a copy the table returned. */
DSQL_LOCAL int dsql_libpq_slot_of(const dsql_libpq *pq);

/* Any other function of the same copy (never one of ours), or NULL. */
DSQL_LOCAL void *dsql_libpq_sym(const dsql_libpq *pq, const char *name);

/* 1 if fn is defined in the preload itself (one of our wrappers). */
DSQL_LOCAL int dsql_libpq_is_ours(const void *fn);

/* The link map (struct link_map *) of the object that contains addr, or NULL. */
DSQL_LOCAL void *dsql_object_of(const void *addr);

#endif /* DSQL_SHIM_LIBPQ_H */
