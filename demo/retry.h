/* SPDX-License-Identifier: MIT */
/* retry.h: one helper that runs every transaction, retrying DSQL's optimistic-concurrency
 * conflicts (SQLSTATE 40001, OC000/OC001) with capped exponential backoff and jitter. */
#ifndef PC_RETRY_H
#define PC_RETRY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* Outcome of a statement or of a whole transaction. */
enum pc_status {
    PC_OK = 0,
    PC_CONFLICT = 1, /* SQLSTATE 40001: retryable (and, from pc_txn_run, retries exhausted) */
    PC_ERROR = -1,   /* any other SQL error */
    PC_BROKEN = -2,  /* the connection is gone: reconnect before the next transaction */
    PC_CHECK = -3,   /* a read did not return what the caller expected */
};

/* The kinds of 40001 conflicts, counted separately. */
enum pc_conflict_kind {
    PC_OC000 = 0, /* data conflict: another transaction changed a row this one read/wrote */
    PC_OC001 = 1, /* schema conflict: the catalog changed under this transaction */
    PC_40001 = 2, /* any other serialization failure (PostgreSQL's own, for example) */
    PC_CONFLICT_KINDS = 3,
};

/* A small per-thread PRNG (xorshift64*) for jitter and workload choices. Not thread-safe: one
 * per thread. */
typedef struct pc_rng {
    uint64_t state;
} pc_rng;

/* Seeds rng; 0 picks a seed from the clock, the pid and the address of rng. */
void pc_rng_seed(pc_rng *rng, uint64_t seed);
uint64_t pc_rng_next(pc_rng *rng);
/* A uniform integer in [lo, hi] (inclusive). */
long pc_rng_range(pc_rng *rng, long lo, long hi);

/* How hard to retry. Backoff before retry n (0-based) is drawn uniformly from
 * [c/2, c] where c = min(cap_us, base_us * 2^n) ("equal jitter"). */
typedef struct pc_retry_policy {
    int max_attempts; /* total tries including the first; >= 1 */
    unsigned base_us; /* backoff ceiling before the first retry */
    unsigned cap_us;  /* largest backoff ceiling */
} pc_retry_policy;

#define PC_RETRY_DEFAULT                                                                           \
    {                                                                                              \
        .max_attempts = 10, .base_us = 5000, .cap_us = 1000000                                     \
    }

/* The backoff in microseconds before retry number `retry` (0-based). Pure but for rng. */
unsigned pc_retry_backoff_us(const pc_retry_policy *policy, int retry, pc_rng *rng);

/*
 * One transaction in progress, handed to the body; after pc_txn_run it holds the outcome.
 * Stack-allocated by the caller; pc_txn_run initialises it.
 */
typedef struct pc_txn {
    PGconn *conn;                     /* borrowed */
    int attempt;                      /* 0 on the first try; after the run: retries made */
    int status;                       /* enum pc_status of the last attempt */
    int conflicts[PC_CONFLICT_KINDS]; /* 40001s seen in this run, by kind */
    char sqlstate[6];                 /* of the last error, "" if none */
    char message[320];                /* of the last error, one line, "" if none */
} pc_txn;

/* A transaction body: runs its statements with pc_exec* on txn->conn and returns PC_OK, or the
 * status of the first failure (pc_exec* return NULL and record it; just return txn->status).
 * It may run several times, so it must not print and must reset whatever it fills in. */
typedef int (*pc_txn_body)(pc_txn *txn, void *arg);

/*
 * Runs body inside BEGIN ... COMMIT. On SQLSTATE 40001 (from any statement or from COMMIT) it
 * rolls back, sleeps the backoff and runs the whole body again, up to policy->max_attempts
 * tries. Any other failure rolls back and returns at once. A COMMIT that the server answers
 * with ROLLBACK (the transaction had failed) is an error. Returns the enum pc_status; details
 * are in *txn. rng is the caller's (per thread).
 */
int pc_txn_run(PGconn *conn, const pc_retry_policy *policy, pc_rng *rng, pc_txn_body body,
               void *arg, pc_txn *txn);

/*
 * The same retry loop for one statement sent on its own, outside BEGIN, so that the server runs
 * it as a transaction by itself: how the demo sends DDL (one DDL per transaction, never with
 * DML; DSQL answers concurrent DDL with OC001 and some DDL may not run inside a block).
 */
int pc_stmt_run(PGconn *conn, const pc_retry_policy *policy, pc_rng *rng, const char *sql,
                pc_txn *txn);

/*
 * Statement helpers for bodies. They run the statement with text parameters and return the
 * result (the caller PQclear's it) when it succeeded, or NULL after recording the status, the
 * SQLSTATE and the message in txn. values may hold NULL for SQL NULL.
 */
PGresult *pc_exec(pc_txn *txn, const char *sql, int nparams, const char *const *values);
PGresult *pc_exec_prepared(pc_txn *txn, const char *name, int nparams, const char *const *values);

/* Records a failed check (status PC_CHECK and a formatted message) and returns PC_CHECK. */
int pc_txn_fail(pc_txn *txn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Classifies a failed result (or NULL) on conn into txn; returns the status. Shared with
 * callers that run statements outside pc_txn_run (schema set-up probes). */
int pc_txn_record(pc_txn *txn, const PGresult *res);

#endif
