/* SPDX-License-Identifier: MIT */
/* retry.c: BEGIN/COMMIT around a body, retrying SQLSTATE 40001 with capped, jittered backoff. */
#include "retry.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

void pc_rng_seed(pc_rng *rng, uint64_t seed)
{
    if (seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
        seed ^= (uint64_t)getpid() << 32;
        seed ^= (uint64_t)(uintptr_t)rng;
    }
    rng->state = splitmix64(seed);
    if (rng->state == 0)
        rng->state = 0x9E3779B97F4A7C15ULL; /* xorshift must not start at 0 */
}

uint64_t pc_rng_next(pc_rng *rng)
{
    uint64_t x = rng->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

long pc_rng_range(pc_rng *rng, long lo, long hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (long)(pc_rng_next(rng) % span);
}

unsigned pc_retry_backoff_us(const pc_retry_policy *policy, int retry, pc_rng *rng)
{
    uint64_t ceiling = policy->base_us;
    for (int i = 0; i < retry && ceiling < policy->cap_us; i++)
        ceiling *= 2;
    if (ceiling > policy->cap_us)
        ceiling = policy->cap_us;
    uint64_t half = ceiling / 2;
    return (unsigned)(half + (uint64_t)pc_rng_range(rng, 0, (long)(ceiling - half)));
}

static void sleep_us(unsigned us)
{
    struct timespec left = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

/* Copies a server or libpq message into dst as one line, without the trailing newline. */
static void one_line(char *dst, size_t size, const char *src)
{
    size_t n = 0;
    for (; src && *src && n + 1 < size; src++)
        dst[n++] = (*src == '\n' || *src == '\r' || *src == '\t') ? ' ' : *src;
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

int pc_txn_record(pc_txn *txn, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *text = res ? PQresultErrorMessage(res) : "";

    if (!text || !*text)
        text = PQerrorMessage(txn->conn);
    /* The server's primary message reads best ("ERROR:" and the statement excerpt add
     * nothing); libpq's own errors have only the full text. */
    one_line(txn->message, sizeof txn->message, primary ? primary : text);
    snprintf(txn->sqlstate, sizeof txn->sqlstate, "%s", state ? state : "");

    if (PQstatus(txn->conn) == CONNECTION_BAD || !state)
        txn->status = PQstatus(txn->conn) == CONNECTION_BAD ? PC_BROKEN : PC_ERROR;
    else if (strcmp(state, "40001") == 0) {
        /* DSQL names the conflict in the message: OC000 data, OC001 schema. Any 40001 is
         * retryable, whichever server sent it. */
        if (strstr(text, "OC000"))
            txn->conflicts[PC_OC000]++;
        else if (strstr(text, "OC001"))
            txn->conflicts[PC_OC001]++;
        else
            txn->conflicts[PC_40001]++;
        txn->status = PC_CONFLICT;
    } else
        txn->status = PC_ERROR;
    return txn->status;
}

static PGresult *checked(pc_txn *txn, PGresult *res)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    pc_txn_record(txn, res);
    PQclear(res);
    return NULL;
}

PGresult *pc_exec(pc_txn *txn, const char *sql, int nparams, const char *const *values)
{
    if (nparams == 0)
        return checked(txn, PQexec(txn->conn, sql));
    return checked(txn, PQexecParams(txn->conn, sql, nparams, NULL, values, NULL, NULL, 0));
}

PGresult *pc_exec_prepared(pc_txn *txn, const char *name, int nparams, const char *const *values)
{
    return checked(txn, PQexecPrepared(txn->conn, name, nparams, values, NULL, NULL, 0));
}

int pc_txn_fail(pc_txn *txn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(txn->message, sizeof txn->message, fmt, ap);
    va_end(ap);
    txn->sqlstate[0] = '\0';
    txn->status = PC_CHECK;
    return PC_CHECK;
}

/* Ends a transaction that is still open after a failure. A dead connection wins over any
 * other status: the caller must reconnect. */
static int roll_back(pc_txn *txn, int status)
{
    PGTransactionStatusType ts = PQtransactionStatus(txn->conn);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        PQclear(PQexec(txn->conn, "ROLLBACK"));
    if (PQstatus(txn->conn) == CONNECTION_BAD) {
        if (status != PC_BROKEN)
            one_line(txn->message, sizeof txn->message, PQerrorMessage(txn->conn));
        return txn->status = PC_BROKEN;
    }
    return status;
}

static int attempt_once(pc_txn *txn, pc_txn_body body, void *arg)
{
    txn->status = PC_OK;
    txn->sqlstate[0] = '\0';
    txn->message[0] = '\0';

    PGresult *res = pc_exec(txn, "BEGIN", 0, NULL);
    if (!res)
        return roll_back(txn, txn->status);
    PQclear(res);

    int rc = body(txn, arg);
    if (rc != PC_OK) {
        if (txn->status == PC_OK) /* the body failed without saying why */
            pc_txn_fail(txn, "transaction body failed (status %d)", rc);
        return roll_back(txn, txn->status);
    }

    res = pc_exec(txn, "COMMIT", 0, NULL);
    if (!res)
        return roll_back(txn, txn->status);
    /* After an error inside the block the server answers COMMIT with ROLLBACK. */
    if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        snprintf(txn->message, sizeof txn->message,
                 "COMMIT was answered with %s: the transaction had failed", PQcmdStatus(res));
        txn->status = PC_ERROR;
    }
    PQclear(res);
    return txn->status;
}

/* Puts prefix in front of txn->message, truncating the old message if it must. */
static void prefix_message(pc_txn *txn, const char *prefix)
{
    size_t plen = strlen(prefix), mlen = strlen(txn->message);
    if (plen >= sizeof txn->message)
        return;
    if (mlen > sizeof txn->message - 1 - plen)
        mlen = sizeof txn->message - 1 - plen;
    memmove(txn->message + plen, txn->message, mlen);
    memcpy(txn->message, prefix, plen);
    txn->message[plen + mlen] = '\0';
}

/* The retry loop shared by both entry points: attempt is attempt_once or one_statement. */
static int retry_loop(PGconn *conn, const pc_retry_policy *policy, pc_rng *rng,
                      int (*attempt_fn)(pc_txn *, pc_txn_body, void *), pc_txn_body body, void *arg,
                      pc_txn *txn)
{
    memset(txn, 0, sizeof *txn);
    txn->conn = conn;
    int max = policy->max_attempts < 1 ? 1 : policy->max_attempts;

    for (int attempt = 0;; attempt++) {
        txn->attempt = attempt;
        int rc = attempt_fn(txn, body, arg);
        if (rc != PC_CONFLICT)
            return rc;
        if (attempt + 1 >= max) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "gave up after %d attempts: ", max);
            prefix_message(txn, prefix);
            return rc;
        }
        sleep_us(pc_retry_backoff_us(policy, attempt, rng));
    }
}

int pc_txn_run(PGconn *conn, const pc_retry_policy *policy, pc_rng *rng, pc_txn_body body,
               void *arg, pc_txn *txn)
{
    return retry_loop(conn, policy, rng, attempt_once, body, arg, txn);
}

/* One statement outside BEGIN: the server runs it as its own transaction. */
static int one_statement(pc_txn *txn, pc_txn_body body, void *arg)
{
    (void)body;
    txn->status = PC_OK;
    txn->sqlstate[0] = '\0';
    txn->message[0] = '\0';
    PGresult *res = pc_exec(txn, arg, 0, NULL);
    if (!res)
        return roll_back(txn, txn->status);
    PQclear(res);
    return PC_OK;
}

int pc_stmt_run(PGconn *conn, const pc_retry_policy *policy, pc_rng *rng, const char *sql,
                pc_txn *txn)
{
    return retry_loop(conn, policy, rng, one_statement, NULL, (void *)sql, txn);
}
