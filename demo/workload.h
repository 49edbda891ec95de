/* SPDX-License-Identifier: MIT */
/* workload.h: N client threads running the pet clinic mix, with live progress and a summary. */
#ifndef PC_WORKLOAD_H
#define PC_WORKLOAD_H

#include "conn.h"
#include "retry.h"

#include <signal.h>
#include <stdio.h>

typedef struct pc_workload_opts {
    pc_conn_opts conn;
    int clients;          /* threads, each with its own connection */
    double duration_s;    /* how long to run when transactions is 0 */
    long transactions;    /* total over all clients; 0: run for duration_s */
    long reconnect_every; /* new connection after this many transactions; 0: never */
    long owners;          /* size of the owner pool that reads and updates pick from */
    double progress_s;    /* seconds between progress lines; 0: none */
    int json;             /* summary as JSON instead of text */
    pc_retry_policy policy;
} pc_workload_opts;

/* Set (from a signal handler) to end the run early; the summary still comes. */
extern volatile sig_atomic_t pc_workload_stop;

/*
 * Makes sure the schema and the pools exist (owners with two pets each, vets, specialties:
 * idempotent, at most 1500 rows per transaction), then runs the mix from o->clients threads:
 * register an owner with two pets, book a vet (read it, link it to a specialty), read an
 * owner's pets, update an owner's telephone; every transaction through pc_txn_run. Writes
 * progress to `progress` (carriage-return updates when it is a terminal, plain lines
 * otherwise; NULL: none) and the summary to `out` (text, or JSON when o->json).
 * Returns 0 when every transaction committed and every check held, 1 otherwise.
 */
int pc_workload_run(const pc_workload_opts *o, FILE *out, FILE *progress);

/*
 * Writes the mix as pgbench scripts into dir (one file per transaction kind, the same SQL with
 * pgbench variables in place of parameters) and prints the matching "-f file@weight" arguments
 * on one line to out. No connection is made. Returns 0, or 1 after printing why to stderr.
 */
int pc_workload_write_pgbench(const pc_workload_opts *o, const char *dir, FILE *out);

/*
 * Rewrites a pgbench-style template, where :name is a variable and "::" a cast, into SQL with
 * $1, $2, ... in order of appearance, one parameter per occurrence as pgbench -M prepared does.
 * names receives the variable of each parameter (at most max_params, each under 32 bytes).
 * Returns the number of parameters, or -1 if sql, names or a name would overflow.
 */
int pc_template_compile(const char *tmpl, char *sql, size_t size, char (*names)[32],
                        int max_params);

#endif
