/* SPDX-License-Identifier: MIT */
/*
 * relay.c: the data phase of a session: bytes both ways between the client (TLS) and PostgreSQL
 * (Unix socket) with non-blocking I/O, on one of a few relay threads that serve every session
 * (see "the workers" below), the maximum connection lifetime, and in strict mode the DSQL rules
 * applied per message. Nothing here waits: what must wait (a winning COMMIT for its losers'
 * locks) stays queued until the worker runs the session again.
 *
 * Strict mode (the classifier is strict.c and sqltree.c; this file plays the relay's part
 * strict.h describes):
 *  - Each Query ('Q') and each Parse ('P') is parsed (once per distinct text: a parse cache) and
 *    each statement shown to the rules. A rejected statement is replaced by a DO block that
 *    makes PostgreSQL raise the same SQLSTATE and message (the rest of a Query string is
 *    dropped, as PostgreSQL would skip it), so the effect on the transaction is PostgreSQL's own
 *    (aborted inside BEGIN, nothing outside). For Parse the error therefore surfaces at Execute
 *    rather than at Parse. DSQL's ASYNC keyword is blanked before PostgreSQL sees it; the
 *    backend module's job notice becomes the job_id row DSQL answers with.
 *  - The transaction rules (one DDL, no DDL with DML) are applied at Parse for the unnamed
 *    statement; a named statement is checked where it is prepared, not where it runs (so its
 *    later executions pass: on the side of passing, as strict.h's known differences).
 *  - The row cap (DSQL_STRICT_ROW_CAP rows changed per transaction) is counted from CommandComplete
 *    tags. A statement outside a transaction block that may change rows is wrapped in a hidden
 *    BEGIN/COMMIT so that going over the cap can still roll it back, exactly as DSQL does.
 *  - Optimistic concurrency (occ.h): a single write or locking read in a block runs after a
 *    hidden SAVEPOINT; when it gives up a lock wait (55P03) or meets a later commit (40001) it
 *    is rolled back to it and answered by a shadow (strict.h), and its conflict is settled at
 *    COMMIT, which this file may turn into ROLLBACK + 40001, or into the deferred writes +
 *    COMMIT. A wrapped autocommit write that waited runs again after dooming whom it waited
 *    for. Other conflicts are answered with DSQL's 40001 at the statement. A session a winner
 *    dooms rolls back upstream between the client's batches (woken by an eventfd).
 *  - A transaction block older than --max-transaction-age fails its next statement.
 *  - To keep hidden statements in order, strict mode forwards one batch (up to a Query or Sync)
 *    at a time and holds the client's next messages until its ReadyForQuery (COPY data passes).
 */
#include "relay.h"

#include "base/log.h"
#include "base/util.h"
#include "clock.h"
#include "occ.h"
#include "pgmodule.h"
#include "proto.h"
#include "rules.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "strict.h"

#define IO_CHUNK (64 * 1024)
#define HIGH_WATER (256 * 1024)   /* stop reading a side while its output queue is this full */
#define MAX_WHOLE_MSG (64u << 20) /* largest message strict mode inspects whole */
#define MAX_STMTS 128             /* named prepared statements remembered per session */

typedef struct queue {
    char *data;
    size_t r, w, cap;
    int failed;
} queue;

static size_t q_len(const queue *q)
{
    return q->w - q->r;
}

/* Makes room for n more bytes at the tail. */
static int q_reserve(queue *q, size_t n)
{
    if (q->failed)
        return -1;
    if (q->r == q->w)
        q->r = q->w = 0;
    if (q->cap - q->w >= n)
        return 0;
    if (q->r > 0) {
        memmove(q->data, q->data + q->r, q->w - q->r);
        q->w -= q->r;
        q->r = 0;
        if (q->cap - q->w >= n)
            return 0;
    }
    size_t cap = q->cap ? q->cap : IO_CHUNK;
    while (cap - q->w < n)
        cap *= 2;
    char *d = realloc(q->data, cap);
    if (d == NULL) {
        q->failed = 1;
        return -1;
    }
    q->data = d;
    q->cap = cap;
    return 0;
}

static void q_push(queue *q, const void *p, size_t n)
{
    if (n == 0 || q_reserve(q, n) != 0)
        return;
    memcpy(q->data + q->w, p, n);
    q->w += n;
}

static void q_free(queue *q)
{
    free(q->data);
}

enum hidden {
    H_NONE,        /* nothing of ours in flight */
    H_BEGIN,       /* our BEGIN before the client's batch: swallow its CommandComplete and Z */
    H_END,         /* our COMMIT or ROLLBACK after it: swallow CommandComplete, pass E and Z */
    H_RAISE,       /* our DO raising 54000 inside the client's block: pass E (cleaned) and Z */
    H_OCC_SHADOW,  /* after a conflict: ROLLBACK TO our savepoint, then the shadow's answer */
    H_OCC_RETRY,   /* after an autocommit statement's conflict: our ROLLBACK before retrying */
    H_OCC_LOSE,    /* our ROLLBACK for a COMMIT that lost: then DSQL's conflict error */
    H_OCC_RELEASE, /* a winner doomed this transaction: our ROLLBACK; BEGIN frees its locks */
};

/* What the client's batch is, for optimistic concurrency (strict). */
enum occ_batch {
    OB_NONE, /* nothing special */
    OB_STMT, /* one write or locking read in a block, after our SAVEPOINT */
    OB_WIN,  /* a COMMIT that won: its replays, then COMMIT */
};

#define OCC_SAVEPOINT "dsqlauth_occ"
#define OCC_RELEASE_WAIT_MS 3000

typedef struct stmt_flag {
    char name[64];
    int changes_rows;
} stmt_flag;

typedef struct worker worker;

typedef struct relay {
    const relay_params *p; /* &params */
    relay_params params;
    worker *w;                 /* the worker thread that runs it */
    struct relay *prev, *next; /* the worker's relays */
    struct relay *dirty_next;  /* the worker's relays to run after this batch of events */
    int dirty;
    int wake; /* the eventfd said a winner wants this session's locks */
    /* A winning COMMIT (or a retried autocommit write) waits, its statements queued, until the
     * transactions it doomed have given back their locks or this time (ms) has passed: 0 when
     * nothing waits. */
    int64_t release_gate_ms;
    queue cin, bin, to_client, to_backend;
    int c_eof, b_eof, failed;
    int c_can_read, b_can_read;
    int c_hup, b_hup;  /* the peer's end of the socket was seen closed (EPOLLRDHUP, EPOLLHUP) */
    int c_drained;     /* the client socket's last read() got less than it asked: it was empty */
    size_t b_msg_left; /* bytes of the backend's current message still to move */
    int b_swallow;     /* ... and whether they are dropped */
    size_t c_msg_left; /* bytes of the client's current message still to move (strict) */
    int closing;       /* lifetime reached: end at the next backend message boundary */
    int finished;      /* FATAL queued: flush it and end */

    /* strict mode */
    dsql_strict_session ss;   /* the classifier's view of the client's session */
    dsql_strict_cache *cache; /* each distinct text parsed once */
    char txn;                 /* the client's transaction status, from the last ReadyForQuery */
    int outstanding;          /* a Query or Sync of the client awaits its ReadyForQuery */
    int in_batch;             /* the client has sent messages since the last ReadyForQuery */
    int wrap;                 /* the batch runs inside our hidden BEGIN */
    enum hidden hidden;
    int cap_hit;                /* the batch went over the row cap: drop its results until Z */
    int strip_context;          /* the next ErrorResponse comes from our DO: drop its CONTEXT */
    stmt_flag stmts[MAX_STMTS]; /* named prepared statements: do they change rows? */
    unsigned next_stmt;
    int unnamed_changes_rows; /* the same for the unnamed statement */

    /* strict mode: optimistic concurrency (occ.h) */
    occ_member *occ;
    int wake_fd;      /* eventfd: a winner asks this session to release its locks */
    char backend_txn; /* the backend's status, hidden statements included */
    int saw_commit;   /* a COMMIT tag since the backend's transaction began */
    enum occ_batch ob;
    int ob_savepoint; /* our SAVEPOINT's CommandComplete is still to come */
    int ob_conflict;  /* the statement gave up a lock wait (1) or met a commit (2) */
    int ob_failed;    /* a replay or a shadow failed */
    int blockers[OCC_MAX_BLOCKERS];
    size_t nblockers;
    unsigned ob_flags, ob_rows; /* the statement's shape (DSQL_STRICT_UPDATE ...) */
    char *ob_text;              /* the statement, to run again at COMMIT */
    char *ob_shadow;            /* what answers it without its locks (NULL: its row count) */
    int shadow_c;               /* CommandCompletes seen in H_OCC_SHADOW */
    long shadow_count;
    dsql_buf replays;           /* statements that answered by shadow, to run at COMMIT */
    char lose_code[6];          /* H_OCC_LOSE: the conflict code to answer ... */
    dsql_strict_error lose_err; /* ... or, when its SQLSTATE is set, this error */
    int64_t txn_start_ms;       /* when the client's transaction block began */
    char *retry; /* a wrapped autocommit Query, kept for one retry after a conflict */
    size_t retry_len;
    int retried;
} relay;

/* ---- SQL helpers ------------------------------------------------------------------------ */

static void put_query(queue *q, const char *sql)
{
    unsigned char hdr[5] = {'Q'};
    proto_set32(hdr + 1, (uint32_t)(4 + strlen(sql) + 1));
    q_push(q, hdr, 5);
    q_push(q, sql, strlen(sql) + 1);
}

static void put_error(queue *q, const char *severity, const char *sqlstate, const char *message)
{
    dsql_buf b;
    dsql_buf_init(&b);
    proto_put_error(&b, severity, sqlstate, message);
    if (dsql_buf_failed(&b))
        q->failed = 1;
    else
        q_push(q, b.data, b.len);
    dsql_buf_cleanup(&b);
}

/* Copies an ErrorResponse without its CONTEXT ('W') field, which names our DO block. */
static void push_error_without_context(queue *q, const char *msg, size_t n)
{
    if (q_reserve(q, n) != 0)
        return;
    size_t start = q->w; /* after q_reserve: it may have moved the contents */
    q_push(q, msg, 5);
    for (size_t i = 5; i < n && msg[i] != '\0';) {
        size_t flen = strnlen(msg + i + 1, n - i - 1) + 2;
        if (msg[i] != 'W')
            q_push(q, msg + i, flen);
        i += flen;
    }
    q_push(q, "", 1);
    proto_set32(q->data + start + 1, (uint32_t)(q->w - start - 1));
}

/* DSQL's conflict error, 40001 with OC000 (data) or OC001 (schema). */
static void put_conflict(queue *q, const char *code)
{
    char state[6], msg[DSQL_STRICT_MSG_MAX];
    rule_format(strcmp(code, "OC001") == 0 ? RULE_OC001 : RULE_OC000, NULL, state, msg, sizeof msg);
    put_error(q, "ERROR", state, msg);
}

/* ---- strict mode: the client's side ------------------------------------------------------ */

static void remember_stmt(relay *r, const char *name, int rows)
{
    if (*name == '\0')
        r->unnamed_changes_rows = rows;
    if (*name == '\0' || strlen(name) >= sizeof r->stmts[0].name)
        return;
    stmt_flag *slot = &r->stmts[r->next_stmt++ % MAX_STMTS];
    for (size_t i = 0; i < MAX_STMTS; i++)
        if (strcmp(r->stmts[i].name, name) == 0)
            slot = &r->stmts[i];
    snprintf(slot->name, sizeof slot->name, "%s", name);
    slot->changes_rows = rows;
}

static int stmt_changes_rows(const relay *r, const char *name)
{
    for (size_t i = 0; i < MAX_STMTS; i++)
        if (r->stmts[i].name[0] != '\0' && strcmp(r->stmts[i].name, name) == 0)
            return r->stmts[i].changes_rows;
    return *name == '\0' ? r->unnamed_changes_rows : 1; /* forgotten: assume it may */
}

/* Starts a hidden transaction block before a batch that may change rows outside one. */
static void maybe_wrap(relay *r, int rows)
{
    if (r->in_batch || r->txn != 'I' || !rows)
        return;
    put_query(&r->to_backend, "BEGIN");
    r->hidden = H_BEGIN;
    r->wrap = 1;
}

/* Appends the DO block that raises err; returns -1 if it cannot be made. */
static int put_raise(dsql_buf *b, const dsql_strict_error *err)
{
    char sql[DSQL_STRICT_RAISE_MAX];
    size_t n = dsql_strict_raise_sql(err, sql, sizeof sql);
    if (n == 0)
        return -1;
    dsql_buf_append(b, sql, n);
    return 0;
}

/* Appends sql[from, to) with DSQL's ASYNC keyword, if it lies there, blanked (same length). */
static void append_blanking_async(dsql_buf *out, const char *sql, size_t from, size_t to,
                                  const dsql_strict_stmt *st)
{
    if (st->async_len > 0 && st->async_off >= from && st->async_off + st->async_len <= to) {
        dsql_buf_append(out, sql + from, st->async_off - from);
        for (size_t i = 0; i < st->async_len; i++)
            dsql_buf_putc(out, ' ');
        from = st->async_off + st->async_len;
    }
    dsql_buf_append(out, sql + from, to - from);
}

/* Forgets the batch's optimistic-concurrency state. */
static void ob_reset(relay *r)
{
    r->ob = OB_NONE;
    r->ob_savepoint = r->ob_conflict = r->ob_failed = 0;
    r->nblockers = 0;
    r->ob_flags = r->ob_rows = 0;
    free(r->ob_text);
    free(r->ob_shadow);
    r->ob_text = r->ob_shadow = NULL;
    free(r->retry);
    r->retry = NULL;
    r->retry_len = 0;
    r->retried = 0;
}

/*
 * A Query of one statement, seen by optimistic concurrency (occ.h) before the usual rewrite:
 *  - a COMMIT of a block is settled here: when it loses, the backend gets ROLLBACK and the
 *    client DSQL's 40001; when it wins over transactions it waited for, those release their
 *    locks first and the statements that had answered by shadow run before the COMMIT;
 *  - an UPDATE, DELETE, INSERT ... VALUES or locking SELECT in a block runs after a SAVEPOINT
 *    of ours, so that if it has to wait for another transaction it can be rolled back alone
 *    and answered without its locks (see client_ready).
 * Returns 1 when it wrote the statement into out, 0 to leave it to the usual rewrite, -1 on
 * failure.
 */
static int occ_rewrite(relay *r, const char *sql, const dsql_strict_stmt *st, dsql_buf *out,
                       int *dml, int *txn_control, int *rejected)
{
    dsql_strict_error err;
    char before = r->ss.status;
    if (st->rejected || before != 'T')
        return 0;
    if (st->kind == DSQL_STRICT_COMMIT && !st->chain) {
        if (!occ_pending(r->occ))
            return 0;
        if (dsql_strict_admit(&r->ss, st, &err) == DSQL_STRICT_REJECT)
            return -1; /* a COMMIT is always admitted */
        *txn_control = 1;
        if (occ_commit(r->occ, 0, r->lose_code)) {
            dsql_log(DSQL_LOG_DEBUG, "local: strict: COMMIT loses (%s)", r->lose_code);
            dsql_buf_append(out, "ROLLBACK", 8);
            r->hidden = H_OCC_LOSE;
            return 1;
        }
        r->release_gate_ms = local_now_ms() + OCC_RELEASE_WAIT_MS;
        dsql_buf_append(out, r->replays.data ? r->replays.data : "", r->replays.len);
        dsql_buf_append(out, "COMMIT", 6);
        r->ob = OB_WIN;
        return 1;
    }
    unsigned shapes =
        DSQL_STRICT_UPDATE | DSQL_STRICT_DELETE | DSQL_STRICT_INSERT_VALUES | DSQL_STRICT_LOCKING;
    if (!(st->flags & shapes) ||
        (st->kind != DSQL_STRICT_DML && !(st->flags & DSQL_STRICT_LOCKING)))
        return 0;
    char *shadow = NULL;
    if (!(st->flags & DSQL_STRICT_INSERT_VALUES)) {
        size_t cap = st->len + 64;
        shadow = malloc(cap);
        if (shadow == NULL)
            return -1;
        if (dsql_strict_shadow(sql, st, shadow, cap) == 0) {
            free(shadow);
            return 0; /* no shadow: a conflict is reported at the statement */
        }
    }
    if (dsql_strict_admit(&r->ss, st, &err) == DSQL_STRICT_REJECT) {
        free(shadow);
        *rejected = 1;
        return put_raise(out, &err) == 0 ? 1 : -1;
    }
    *dml = st->kind == DSQL_STRICT_DML;
    r->ob = OB_STMT;
    r->ob_savepoint = 1;
    r->ob_flags = st->flags;
    r->ob_rows = st->values_rows;
    r->ob_shadow = shadow;
    r->ob_text = (st->flags & DSQL_STRICT_LOCKING) ? NULL : strndup(sql + st->off, st->len);
    dsql_buf_append(out, "SAVEPOINT " OCC_SAVEPOINT "; ",
                    sizeof "SAVEPOINT " OCC_SAVEPOINT "; " - 1);
    dsql_buf_append(out, sql + st->off, st->len);
    return 1;
}

/*
 * The statements of a Query string, as PostgreSQL should see them: each admitted in order,
 * ASYNC blanked, and the first rejected one replaced by a raise (the rest dropped). Sets *dml
 * when a statement changes rows and *txn_control when one begins or ends a block. A string
 * PostgreSQL's grammar refuses goes as it is: the backend answers it.
 */
static int rewrite_query(relay *r, const char *sql, size_t sql_len, dsql_buf *out, int *dml,
                         int *txn_control, int *rejected)
{
    const dsql_strict_stmt *stmts;
    size_t n, copied = 0;
    int rc = dsql_strict_cache_parse(r->cache, sql, sql_len, &stmts, &n);
    if (rc < 0)
        return -1;
    if (r->p->max_txn_age > 0 && r->txn == 'T' &&
        local_now_ms() - r->txn_start_ms > (int64_t)r->p->max_txn_age * 1000) {
        /* DSQL's 5-minute limit: the next statement fails, a COMMIT rolls back. A ROLLBACK
         * is what the client should send, and passes. */
        char age[16];
        dsql_strict_error err;
        snprintf(age, sizeof age, "%d", r->p->max_txn_age);
        rule_format(RULE_TXN_AGE, age, err.sqlstate, err.message, sizeof err.message);
        if (rc == 0 && n == 1 && stmts[0].kind == DSQL_STRICT_ROLLBACK) {
            /* as usual below */
        } else if (rc == 0 && n == 1 && stmts[0].kind == DSQL_STRICT_COMMIT) {
            (void)dsql_strict_admit(&r->ss, &stmts[0], NULL);
            *txn_control = 1;
            r->lose_err = err;
            r->hidden = H_OCC_LOSE;
            dsql_buf_append(out, "ROLLBACK", 8);
            return 0;
        } else {
            dsql_strict_ready(&r->ss, 'E');
            *rejected = 1;
            return put_raise(out, &err);
        }
    }
    if (rc == 0 && n == 1 && r->occ != NULL) {
        int done = occ_rewrite(r, sql, &stmts[0], out, dml, txn_control, rejected);
        if (done != 0)
            return done < 0 ? -1 : 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const dsql_strict_stmt *st = &stmts[i];
        dsql_strict_error err;
        if (dsql_strict_admit(&r->ss, st, &err) == DSQL_STRICT_REJECT) {
            dsql_log(DSQL_LOG_DEBUG, "local: strict: %s %s", err.sqlstate, err.message);
            dsql_buf_append(out, sql + copied, st->off - copied);
            *rejected = 1;
            return put_raise(out, &err);
        }
        *dml |= st->kind == DSQL_STRICT_DML;
        *txn_control |= st->kind == DSQL_STRICT_BEGIN || st->kind == DSQL_STRICT_COMMIT ||
                        st->kind == DSQL_STRICT_ROLLBACK;
        append_blanking_async(out, sql, copied, st->off + st->len, st);
        copied = st->off + st->len;
    }
    dsql_buf_append(out, sql + copied, sql_len - copied);
    return 0;
}

/* The same for the one statement of a Parse. Unnamed statements are admitted here too. */
static int rewrite_parse(relay *r, const char *name, const char *sql, size_t sql_len, dsql_buf *out,
                         int *dml, int *rejected)
{
    const dsql_strict_stmt *stmts;
    size_t n;
    int rc = dsql_strict_cache_parse(r->cache, sql, sql_len, &stmts, &n);
    if (rc < 0)
        return -1;
    if (rc != 0 || n != 1) { /* the backend refuses it, or it is empty */
        dsql_buf_append(out, sql, sql_len);
        return 0;
    }
    const dsql_strict_stmt *st = &stmts[0];
    dsql_strict_error err;
    int refused = st->rejected;
    if (refused)
        err = st->error;
    else if (*name == '\0')
        refused = dsql_strict_admit(&r->ss, st, &err) == DSQL_STRICT_REJECT;
    if (refused) {
        dsql_log(DSQL_LOG_DEBUG, "local: strict: %s %s", err.sqlstate, err.message);
        *rejected = 1;
        return put_raise(out, &err);
    }
    *dml = st->kind == DSQL_STRICT_DML;
    append_blanking_async(out, sql, 0, sql_len, st);
    return 0;
}

/* Handles a whole Query or Parse message; returns 0, or -1 when it is malformed. */
static int client_statement(relay *r, const char *msg, size_t n)
{
    const char *body = msg + 5, *end = msg + n;
    const char *name = "", *sql;
    if (msg[0] == 'P') {
        name = body;
        const char *nul = memchr(name, '\0', (size_t)(end - name));
        if (nul == NULL)
            return -1;
        sql = nul + 1;
    } else {
        sql = body;
    }
    const char *sql_end = memchr(sql, '\0', (size_t)(end - sql));
    if (sql_end == NULL)
        return -1;

    dsql_buf b;
    dsql_buf_init(&b);
    dsql_buf_append(&b, msg, 5);
    if (msg[0] == 'P')
        dsql_buf_append(&b, name, strlen(name) + 1);
    int dml = 0, txn_control = 0, rejected = 0, rc;
    if (msg[0] == 'Q')
        rc = rewrite_query(r, sql, (size_t)(sql_end - sql), &b, &dml, &txn_control, &rejected);
    else
        rc = rewrite_parse(r, name, sql, (size_t)(sql_end - sql), &b, &dml, &rejected);
    dsql_buf_putc(&b, '\0');
    if (msg[0] == 'P') {
        dsql_buf_append(&b, sql_end + 1, (size_t)(end - sql_end - 1)); /* parameter types */
        remember_stmt(r, name, dml);
    }
    if (rc != 0 || dsql_buf_failed(&b)) {
        dsql_buf_cleanup(&b);
        return -1;
    }
    proto_set32(b.data + 1, (uint32_t)(b.len - 1));
    /* A block of our own lets the row cap roll back what would otherwise commit at once; a
     * string that begins or ends blocks itself is left alone. */
    maybe_wrap(r, dml && !txn_control && !rejected);
    if (r->occ != NULL && r->wrap && msg[0] == 'Q' && r->retry == NULL &&
        (r->retry = malloc(b.len)) != NULL) {
        memcpy(r->retry, b.data, b.len); /* run again once if it meets a conflict */
        r->retry_len = b.len;
    }
    r->in_batch = 1;
    if (msg[0] == 'Q')
        r->outstanding = 1;
    q_push(&r->to_backend, b.data, b.len);
    dsql_buf_cleanup(&b);
    r->strip_context |= rejected;
    return 0;
}

static int is_copy_msg(char t)
{
    return t == 'd' || t == 'c' || t == 'f';
}

/* Moves the client's bytes to the backend; in strict mode message by message. */
static void client_input(relay *r)
{
    queue *in = &r->cin;
    if (!r->p->strict) {
        q_push(&r->to_backend, in->data + in->r, q_len(in));
        in->r = in->w;
        return;
    }
    while (q_len(in) > 0 && !r->failed) {
        if (r->c_msg_left == 0) {
            if (q_len(in) < 5)
                return;
            const char *m = in->data + in->r;
            char t = m[0];
            uint32_t len = proto_get32(m + 1);
            if (len < 4) {
                r->failed = 1;
                return;
            }
            if ((r->outstanding || r->hidden != H_NONE) && !is_copy_msg(t))
                return; /* one batch at a time: wait for its ReadyForQuery */
            int whole = (t == 'Q' || t == 'P' || t == 'B') && len <= MAX_WHOLE_MSG;
            if (whole) {
                if (q_len(in) < 1 + (size_t)len)
                    return;
                if (t == 'B') {
                    const char *portal = m + 5;
                    const char *pnul = memchr(portal, '\0', len - 4);
                    const char *stmt = pnul ? pnul + 1 : NULL;
                    if (stmt == NULL || memchr(stmt, '\0', (size_t)(m + 1 + len - stmt)) == NULL) {
                        r->failed = 1;
                        return;
                    }
                    maybe_wrap(r, stmt_changes_rows(r, stmt));
                    r->in_batch = 1;
                    q_push(&r->to_backend, m, 1 + (size_t)len);
                } else if (client_statement(r, m, 1 + (size_t)len) != 0) {
                    r->failed = 1;
                    return;
                }
                in->r += 1 + (size_t)len;
                continue;
            }
            if (t == 'S' || t == 'Q') /* a Query too long to inspect still ends a batch */
                r->outstanding = 1;
            if (!is_copy_msg(t) && t != 'X')
                r->in_batch = 1;
            r->c_msg_left = 1 + (size_t)len;
        }
        size_t n = q_len(in) < r->c_msg_left ? q_len(in) : r->c_msg_left;
        q_push(&r->to_backend, in->data + in->r, n);
        in->r += n;
        r->c_msg_left -= n;
    }
}

/* ---- strict mode: the backend's side ----------------------------------------------------- */

static void batch_done(relay *r, char status)
{
    ob_reset(r);
    if (r->txn == 'I' && status != 'I')
        r->txn_start_ms = local_now_ms();
    r->txn = status;
    r->outstanding = 0;
    r->in_batch = 0;
    r->wrap = 0;
    r->cap_hit = 0;
    r->hidden = H_NONE;
    dsql_strict_ready(&r->ss, status);
}

static const char cap_message[] = "transaction row limit exceeded";

/* After a conflict in a block: back to our savepoint, then what answers the statement. */
static void occ_answer(relay *r)
{
    occ_conflict(r->occ, r->blockers, r->nblockers, r->ob_conflict == 2);
    if (r->ob_text != NULL) {
        dsql_buf_append(&r->replays, r->ob_text, strlen(r->ob_text));
        dsql_buf_append(&r->replays, "; ", 2);
    }
    dsql_buf q;
    dsql_buf_init(&q);
    dsql_buf_append(&q, "ROLLBACK TO SAVEPOINT " OCC_SAVEPOINT,
                    sizeof "ROLLBACK TO SAVEPOINT " OCC_SAVEPOINT - 1);
    if (r->ob_shadow != NULL) {
        dsql_buf_append(&q, "; ", 2);
        dsql_buf_append(&q, r->ob_shadow, strlen(r->ob_shadow));
    }
    dsql_buf_putc(&q, '\0');
    if (dsql_buf_failed(&q))
        r->failed = 1;
    else
        put_query(&r->to_backend, q.data);
    dsql_buf_cleanup(&q);
    r->hidden = H_OCC_SHADOW;
    r->shadow_c = 0;
    r->shadow_count = 0;
    r->ob_failed = 0;
}

/* The client's batch has ended with this ReadyForQuery. */
static void client_ready(relay *r, const char *msg, size_t n)
{
    char status = msg[5];
    if (r->ob == OB_STMT && r->ob_conflict) {
        occ_answer(r);
        return;
    }
    if (r->ob == OB_WIN && r->ob_failed) {
        put_query(&r->to_backend, "ROLLBACK"); /* a replay failed: the COMMIT loses */
        snprintf(r->lose_code, sizeof r->lose_code, "OC000");
        r->hidden = H_OCC_LOSE;
        return;
    }
    if (r->wrap && r->ob_conflict && !r->retried && r->retry != NULL) {
        put_query(&r->to_backend, "ROLLBACK"); /* then it commits first: see H_OCC_RETRY */
        r->hidden = H_OCC_RETRY;
        return;
    }
    if (r->wrap) {
        if (r->cap_hit || status == 'T' || status == 'E') {
            if (r->cap_hit)
                put_error(&r->to_client, "ERROR", "54000", cap_message);
            put_query(&r->to_backend, r->cap_hit || status == 'E' ? "ROLLBACK" : "COMMIT");
            r->hidden = H_END; /* its ReadyForQuery ('I') ends the batch for the client */
            return;
        }
    } else if (r->cap_hit) {
        if (status == 'T') {
            dsql_strict_error err = {.sqlstate = "54000"};
            snprintf(err.message, sizeof err.message, "%s", cap_message);
            char sql[DSQL_STRICT_RAISE_MAX];
            if (dsql_strict_raise_sql(&err, sql, sizeof sql) > 0)
                put_query(&r->to_backend, sql);
            r->hidden = H_RAISE;
            r->strip_context = 1;
            return;
        }
        put_error(&r->to_client, "ERROR", "54000", cap_message);
        if (status == 'I')
            dsql_log(DSQL_LOG_WARN, "local: strict: rows over the cap were already committed");
    }
    q_push(&r->to_client, msg, n);
    batch_done(r, status);
}

/* The value of field code in an ErrorResponse or NoticeResponse (msg, n bytes), or NULL. */
static const char *notice_field(const char *msg, size_t n, char code, size_t *len)
{
    for (size_t i = 5; i < n && msg[i] != '\0';) {
        size_t flen = strnlen(msg + i + 1, n - i - 1);
        if (msg[i] == code) {
            *len = flen;
            return msg + i + 1;
        }
        i += flen + 2;
    }
    return NULL;
}

/*
 * The backend module's word that a statement started a job (pgmodule.h): DSQL answers
 * CREATE INDEX ASYNC and ALTER TABLE ASYNC with one row, column job_id, before the command tag.
 * Returns 1 when msg was that notice and the row has been queued for the client.
 */
static int job_row(relay *r, const char *msg, size_t n)
{
    size_t clen, idlen;
    const char *code = notice_field(msg, n, 'C', &clen);
    const char *id = notice_field(msg, n, 'M', &idlen);
    if (code == NULL || clen != 5 || memcmp(code, PGMODULE_JOB_SQLSTATE, 5) != 0 || id == NULL)
        return 0;
    unsigned char desc[] = {'T', 0, 0, 0, 0, 0, 1, 'j', 'o',  'b',  '_',  'i',  'd',  0,    0, 0,
                            0,   0, 0, 0, 0, 0, 0, 25,  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0};
    proto_set32(desc + 1, sizeof desc - 1);
    q_push(&r->to_client, desc, sizeof desc);
    unsigned char row[11] = {'D'};
    proto_set32(row + 1, (uint32_t)(4 + 2 + 4 + idlen));
    row[5] = 0;
    row[6] = 1;
    proto_set32(row + 7, (uint32_t)idlen);
    q_push(&r->to_client, row, sizeof row);
    q_push(&r->to_client, id, idlen);
    return 1;
}

/* The backend pids in the module's DETAIL of a lock-timeout error (pgmodule.h). */
static void take_blockers(relay *r, const char *msg, size_t n)
{
    size_t len;
    const char *d = notice_field(msg, n, 'D', &len);
    size_t plen = strlen(PGMODULE_BLOCKERS_DETAIL);
    r->nblockers = 0;
    if (d == NULL || len < plen || memcmp(d, PGMODULE_BLOCKERS_DETAIL, plen) != 0)
        return;
    for (size_t i = plen; i < len && r->nblockers < OCC_MAX_BLOCKERS;) {
        int pid = 0;
        while (i < len && d[i] >= '0' && d[i] <= '9' && pid < 100000000)
            pid = pid * 10 + (d[i++] - '0');
        if (pid > 0)
            r->blockers[r->nblockers++] = pid;
        while (i < len && (d[i] < '0' || d[i] > '9'))
            i++;
    }
}

/* Whether ErrorResponse msg is a conflict PostgreSQL raises: a lock wait given up (55P03,
 * lock_timeout) = 1, or a write to a row changed by a later commit (40001) = 2; else 0. */
static int conflict_kind(const char *msg, size_t n)
{
    size_t len;
    const char *code = notice_field(msg, n, 'C', &len);
    if (code == NULL || len != 5)
        return 0;
    return memcmp(code, "55P03", 5) == 0 ? 1 : memcmp(code, "40001", 5) == 0 ? 2 : 0;
}

/* What every backend message tells optimistic concurrency, whoever's statement it answers. */
static void occ_observe(relay *r, const char *msg, size_t n)
{
    char t = msg[0];
    if (t == 'C' && strcmp(msg + 5, "COMMIT") == 0) {
        r->saw_commit = 1;
    } else if (t == 'Z') {
        char st = msg[5];
        if (r->backend_txn != 'I' && st == 'I') { /* the backend's transaction ended */
            occ_end(r->occ, r->saw_commit);
            r->replays.len = 0;
        }
        if (st == 'I')
            r->saw_commit = 0;
        r->backend_txn = st;
    } else if (t == 'K' && n >= 13) {
        occ_set_pid(r->occ, (int)proto_get32(msg + 5));
    } else if (t == 'S' && n > 5 + sizeof "application_name") {
        if (memcmp(msg + 5, "application_name", sizeof "application_name") == 0 &&
            memchr(msg + 5 + sizeof "application_name", '\0', n - 5 - sizeof "application_name") !=
                NULL)
            occ_set_app(r->occ, msg + 5 + sizeof "application_name");
    }
}

static void shadow_message(relay *r, const char *msg, size_t n)
{
    char t = msg[0];
    int counting = (r->ob_flags & (DSQL_STRICT_UPDATE | DSQL_STRICT_DELETE)) != 0;
    switch (t) {
    case 'C':
        if (++r->shadow_c > 1 && !counting && !r->ob_failed)
            q_push(&r->to_client, msg, n); /* the locking SELECT's own rows and tag */
        return;
    case 'T':
        if (!counting && !r->ob_failed)
            q_push(&r->to_client, msg, n);
        return;
    case 'D':
        if (counting) {
            long v = 0;
            if (n >= 11 && proto_get32(msg + 7) < 32) {
                uint32_t len = proto_get32(msg + 7);
                for (uint32_t i = 0; i < len && 11 + i < n; i++)
                    v = v * 10 + (msg[11 + i] - '0');
            }
            r->shadow_count = v;
        } else if (!r->ob_failed) {
            q_push(&r->to_client, msg, n);
        }
        return;
    case 'E':
        r->ob_failed = 1; /* the shadow itself met a conflict: report it at the statement */
        return;
    case 'Z': {
        char tag[64];
        dsql_strict_error err;
        tag[0] = '\0';
        if (r->ob_failed)
            put_conflict(&r->to_client, "OC000");
        else if (r->ob_flags & DSQL_STRICT_INSERT_VALUES)
            snprintf(tag, sizeof tag, "INSERT 0 %u", r->ob_rows);
        else if (counting)
            snprintf(tag, sizeof tag, "%s %ld",
                     (r->ob_flags & DSQL_STRICT_UPDATE) ? "UPDATE" : "DELETE", r->shadow_count);
        if (tag[0] != '\0') {
            unsigned char hdr[5] = {'C'};
            proto_set32(hdr + 1, (uint32_t)(4 + strlen(tag) + 1));
            q_push(&r->to_client, hdr, 5);
            q_push(&r->to_client, tag, strlen(tag) + 1);
            (void)dsql_strict_command_complete(&r->ss, tag, &err);
        }
        q_push(&r->to_client, msg, n);
        batch_done(r, msg[5]);
        return;
    }
    default:
        if (!r->ob_failed)
            q_push(&r->to_client, msg, n);
        return;
    }
}

/* Starts giving back this session's locks to a winner (see occ.h). */
static void occ_release(relay *r)
{
    if (r->txn == 'I') {
        occ_released(r->occ); /* its transaction is over: nothing is held */
        return;
    }
    /* A new transaction upstream; a failed block stays failed for the client. */
    put_query(&r->to_backend, r->txn == 'E' ? "ROLLBACK; BEGIN; SELECT 1/0" : "ROLLBACK; BEGIN");
    r->hidden = H_OCC_RELEASE;
}

static void backend_message(relay *r, const char *msg, size_t n)
{
    char t = msg[0];
    if (r->occ != NULL)
        occ_observe(r, msg, n);
    switch (r->hidden) {
    case H_OCC_SHADOW:
        shadow_message(r, msg, n);
        return;
    case H_OCC_RELEASE:
        if (t == 'Z') {
            r->hidden = H_NONE;
            occ_released(r->occ);
        }
        return;
    case H_OCC_LOSE:
        if (t == 'Z') {
            if (r->lose_err.sqlstate[0] != '\0')
                put_error(&r->to_client, "ERROR", r->lose_err.sqlstate, r->lose_err.message);
            else
                put_conflict(&r->to_client, r->lose_code);
            r->lose_err.sqlstate[0] = '\0';
            q_push(&r->to_client, msg, n);
            batch_done(r, msg[5]);
        }
        return;
    case H_OCC_RETRY:
        if (t == 'Z') {
            /* An autocommit statement commits at once: it is the first committer. */
            char code[6];
            occ_conflict(r->occ, r->blockers, r->nblockers, 0);
            (void)occ_commit(r->occ, 1, code);
            r->release_gate_ms = local_now_ms() + OCC_RELEASE_WAIT_MS;
            r->retried = 1;
            r->ob_conflict = 0;
            put_query(&r->to_backend, "BEGIN");
            q_push(&r->to_backend, r->retry, r->retry_len);
            r->hidden = H_BEGIN;
        }
        return;
    default:
        break;
    }
    switch (r->hidden) {
    case H_BEGIN:
        if (t == 'Z')
            r->hidden = H_NONE;
        if (t == 'E' || t == 'N')
            q_push(&r->to_client, msg, n);
        return;
    case H_END:
    case H_RAISE:
        if (t == 'C')
            return;
        if (t == 'E' && r->strip_context) {
            r->strip_context = 0;
            push_error_without_context(&r->to_client, msg, n);
            return;
        }
        q_push(&r->to_client, msg, n);
        if (t == 'Z')
            batch_done(r, msg[5]);
        return;
    default:
        break;
    }
    if (t == 'Z') {
        client_ready(r, msg, n);
        return;
    }
    if (r->cap_hit)
        return; /* the statement failed: nothing after it in the batch is shown */
    if (r->ob == OB_WIN && t != 'Z' && !(t == 'C' && strcmp(msg + 5, "COMMIT") == 0)) {
        if (t == 'E')
            r->ob_failed = 1; /* a replay failed: the COMMIT loses (client_ready) */
        return;               /* the replays answered by shadow already */
    }
    switch (t) {
    case 'G':
        dsql_strict_copy_in(&r->ss);
        break;
    case 'C': {
        dsql_strict_error err;
        if (r->ob == OB_STMT && r->ob_savepoint && strcmp(msg + 5, "SAVEPOINT") == 0) {
            r->ob_savepoint = 0;
            return;
        }
        if (dsql_strict_command_complete(&r->ss, msg + 5, &err) == DSQL_STRICT_REJECT &&
            (r->wrap || r->ss.status != 'I')) {
            r->cap_hit = 1; /* the statement fails: its CommandComplete is not shown */
            return;
        }
        break;
    }
    case 'E': {
        int kind = r->occ != NULL ? conflict_kind(msg, n) : 0;
        if (kind != 0 && ((r->ob == OB_STMT && !r->ob_savepoint) ||
                          (r->wrap && !r->retried && r->retry != NULL))) {
            r->ob_conflict = kind; /* answered at the batch's end (client_ready) */
            if (kind == 1)
                take_blockers(r, msg, n);
            return;
        }
        if (kind != 0) {
            put_conflict(&r->to_client, "OC000"); /* no shadow for it: at the statement */
            return;
        }
        if (r->strip_context) {
            r->strip_context = 0;
            push_error_without_context(&r->to_client, msg, n);
            return;
        }
        break;
    }
    case 'N':
        if (job_row(r, msg, n))
            return;
        break;
    }
    q_push(&r->to_client, msg, n);
}

static int backend_whole(const relay *r, char t)
{
    return t == 'C' || t == 'Z' || t == 'E' || t == 'G' || t == 'H' || t == 'N' || t == 'K' ||
           t == 'S' || (r->hidden == H_OCC_SHADOW && (t == 'D' || t == 'T'));
}

/* Whether the backend's current message is kept from the client. */
static int backend_swallow(const relay *r)
{
    return r->cap_hit || r->hidden == H_BEGIN || r->hidden == H_OCC_RETRY ||
           r->hidden == H_OCC_LOSE || r->hidden == H_OCC_RELEASE || r->ob == OB_WIN ||
           (r->hidden == H_OCC_SHADOW && r->ob_failed);
}

/* Moves the backend's bytes to the client, keeping track of message boundaries. */
static void backend_input(relay *r)
{
    queue *in = &r->bin;
    while (q_len(in) > 0 && !r->finished && !r->failed) {
        if (r->b_msg_left == 0) {
            if (r->closing)
                return;
            if (q_len(in) < 5)
                return;
            const char *m = in->data + in->r;
            uint32_t len = proto_get32(m + 1);
            if (len < 4) {
                r->failed = 1;
                return;
            }
            if (r->p->strict && backend_whole(r, m[0]) && len <= MAX_WHOLE_MSG) {
                if (q_len(in) < 1 + (size_t)len)
                    return;
                backend_message(r, m, 1 + (size_t)len);
                in->r += 1 + (size_t)len;
                continue;
            }
            r->b_msg_left = 1 + (size_t)len;
            r->b_swallow = r->p->strict && backend_swallow(r);
        }
        size_t n = q_len(in) < r->b_msg_left ? q_len(in) : r->b_msg_left;
        if (!r->b_swallow)
            q_push(&r->to_client, in->data + in->r, n);
        in->r += n;
        r->b_msg_left -= n;
    }
}

/* ---- the loop ---------------------------------------------------------------------------- */

static int progress_client_read(relay *r)
{
    queue *dst = &r->cin;
    if (r->c_eof || !r->c_can_read || q_len(&r->to_backend) >= HIGH_WATER ||
        q_len(dst) >= HIGH_WATER || q_reserve(dst, IO_CHUNK) != 0)
        return 0;
    ERR_clear_error();
    size_t room = dst->cap - dst->w;
    r->c_drained = 0;
    int n = SSL_read(r->p->ssl, dst->data + dst->w, (int)room);
    if (n > 0) {
        dst->w += (size_t)n;
        /* SSL_read gives one record at a time, so a short one says nothing about the socket;
         * the socket's own last read() does (client_bio_read). When it found the socket
         * emptied and SSL holds nothing more, wait for the next edge (each arrival of data
         * makes one) instead of a read() that would only say EAGAIN. */
        if (r->c_drained && !SSL_has_pending(r->p->ssl) && !r->c_hup)
            r->c_can_read = 0;
        client_input(r);
        return 1;
    }
    switch (SSL_get_error(r->p->ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: /* the socket's next edge, either way, runs the relay again */
        r->c_can_read = 0;
        return 0;
    default:
        r->c_eof = 1;
        return 1;
    }
}

static int progress_client_write(relay *r)
{
    queue *q = &r->to_client;
    if (q_len(q) == 0)
        return 0;
    ERR_clear_error();
    size_t len = q_len(q) > (1u << 30) ? (1u << 30) : q_len(q);
    int n = SSL_write(r->p->ssl, q->data + q->r, (int)len);
    if (n > 0) {
        q->r += (size_t)n;
        return 1;
    }
    switch (SSL_get_error(r->p->ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: /* tried again when the socket's next edge runs the relay */
        return 0;
    default:
        r->failed = 1;
        return 0;
    }
}

static int progress_backend_read(relay *r)
{
    queue *dst = &r->bin;
    if (r->b_eof || !r->b_can_read || q_len(&r->to_client) >= HIGH_WATER ||
        q_len(dst) >= HIGH_WATER || q_reserve(dst, IO_CHUNK) != 0)
        return 0;
    size_t room = dst->cap - dst->w;
    ssize_t n = recv(r->p->backend_fd, dst->data + dst->w, room, 0);
    if (n > 0) {
        dst->w += (size_t)n;
        /* A short read emptied the socket: wait for the next edge, as above; but when the
         * peer's close came in the same edge as the data, no edge follows, so read on to
         * the end of file. */
        if ((size_t)n < room && !r->b_hup)
            r->b_can_read = 0;
        backend_input(r);
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        r->b_can_read = 0;
        return 0;
    }
    r->b_eof = 1;
    return 1;
}

/* Whether the release gate (relay.release_gate_ms) holds what is queued for the backend. */
static int release_gate_closed(relay *r)
{
    if (r->release_gate_ms == 0)
        return 0;
    if (!occ_all_released(r->occ)) {
        if (local_now_ms() < r->release_gate_ms)
            return 1;
        dsql_log(DSQL_LOG_DEBUG, "local: strict: COMMIT goes on without all releases");
    }
    r->release_gate_ms = 0;
    return 0;
}

static int progress_backend_write(relay *r)
{
    queue *q = &r->to_backend;
    if (q_len(q) == 0 || release_gate_closed(r))
        return 0;
    ssize_t n = send(r->p->backend_fd, q->data + q->r, q_len(q), MSG_NOSIGNAL);
    if (n > 0) {
        q->r += (size_t)n;
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    r->failed = 1;
    return 0;
}

static void lifetime_over(relay *r)
{
    char m[256];
    snprintf(m, sizeof m,
             "terminating connection: it reached the maximum connection lifetime of %lld s "
             "(Aurora DSQL closes connections after 60 minutes; reconnect)",
             (long long)r->p->max_lifetime);
    put_error(&r->to_client, "FATAL", "57P01", m);
    r->finished = 1;
    dsql_log(DSQL_LOG_INFO, "local: session closed at its maximum lifetime");
}

/* Frees what relay_new made (not the sockets, which the caller's done() closes). */
static void relay_free(relay *r)
{
    BIO *rbio = SSL_get_rbio(r->p->ssl);
    if (rbio != NULL)
        BIO_set_callback_ex(rbio, NULL); /* the socket outlives r */
    dsql_strict_cache_free(r->cache);
    ob_reset(r);
    occ_leave(r->occ);
    if (r->wake_fd >= 0)
        close(r->wake_fd);
    dsql_buf_cleanup(&r->replays);
    q_free(&r->cin);
    q_free(&r->bin);
    q_free(&r->to_client);
    q_free(&r->to_backend);
    free(r);
}

/* Watches the client socket BIO's reads (BIO_set_callback_ex): a read() that returned less
 * than it asked for, or nothing, emptied the socket. */
static long client_bio_read(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
                            int ret, size_t *processed)
{
    (void)argp;
    (void)argi;
    (void)argl;
    if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
        relay *r = (relay *)BIO_get_callback_arg(b);
        if (ret <= 0 || (processed != NULL && *processed < len))
            r->c_drained = 1;
    }
    return ret;
}

static relay *relay_new(const relay_params *p)
{
    relay *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->params = *p;
    r->p = &r->params;
    r->c_can_read = r->b_can_read = 1;
    r->txn = 'I';
    dsql_strict_session_init(&r->ss);
    r->wake_fd = -1;
    r->backend_txn = 'I';
    dsql_buf_init(&r->replays);
    if (p->strict) {
        r->cache = dsql_strict_cache_new();
        r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        r->occ = r->wake_fd >= 0 ? occ_join(r->wake_fd) : NULL;
        if (r->cache == NULL || r->occ == NULL) {
            relay_free(r);
            return NULL;
        }
    }
    BIO *rbio = SSL_get_rbio(p->ssl);
    if (rbio == NULL) {
        relay_free(r);
        return NULL;
    }
    BIO_set_callback_arg(rbio, (char *)r);
    BIO_set_callback_ex(rbio, client_bio_read);
    fcntl(p->client_fd, F_SETFL, fcntl(p->client_fd, F_GETFL) | O_NONBLOCK);
    fcntl(p->backend_fd, F_SETFL, fcntl(p->backend_fd, F_GETFL) | O_NONBLOCK);
    return r;
}

/*
 * Moves r on as far as it can go without waiting: reads what the sockets hold, writes what
 * they take, checks the deadline. 1 when the session is over, 0 when it waits for its
 * sockets (the worker's epoll says when they change) or for time to pass.
 */
static int relay_pump(relay *r)
{
    const relay_params *p = r->p;
    for (;;) {
        if (p->deadline_ms > 0 && !r->closing && local_now_ms() >= p->deadline_ms)
            r->closing = 1;
        if (r->closing && !r->finished && r->b_msg_left == 0)
            lifetime_over(r);
        if (r->cin.failed || r->bin.failed || r->to_client.failed || r->to_backend.failed)
            r->failed = 1;
        if (r->failed)
            return 1;

        int progress = 0;
        if (!r->finished) {
            progress |= progress_client_read(r);
            progress |= progress_backend_write(r);
            progress |= progress_backend_read(r);
            if (r->p->strict && q_len(&r->cin) > 0)
                client_input(r); /* messages held for a ReadyForQuery may go now */
            if (r->wake && !r->outstanding && !r->in_batch && r->hidden == H_NONE &&
                r->c_msg_left == 0) {
                r->wake = 0;
                if (occ_release_requested(r->occ)) {
                    occ_release(r);
                    progress = 1;
                }
            }
        }
        progress |= progress_client_write(r);

        if (r->finished && q_len(&r->to_client) == 0)
            return 1;
        if (r->b_eof && q_len(&r->to_client) == 0)
            return 1;
        if (r->c_eof && q_len(&r->to_backend) == 0)
            return 1;
        if (!progress)
            return 0;
    }
}

/* ---- the workers ------------------------------------------------------------------------- */

/*
 * A few worker threads run every session's data phase, each over an edge-triggered epoll of
 * its sessions' sockets: a thread per session would wake twice per query each, and on a
 * small machine those wake-ups, not the relaying, are what a query costs. Relays are handed
 * over through the worker's inbox (a list under its mutex and an eventfd); everything else a
 * worker touches is its own.
 */
#define TICK_MS 100 /* how often deadlines are looked at */
#define TAG_CLIENT 0u
#define TAG_BACKEND 1u
#define TAG_WAKE 2u
#define TAG_INBOX 3u

struct worker {
    int ep;
    int inbox_fd;
    pthread_mutex_t lock;
    relay *inbox; /* handed over, not yet watched (guarded by lock) */
    relay *all;   /* watched: the worker thread's alone */
    pthread_t thread;
};

static worker *workers;
static unsigned nworkers;
static atomic_uint next_worker;

static int watch(int ep, int fd, uint32_t events, relay *r, unsigned tag)
{
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)(uintptr_t)r | tag};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void mark(relay **dirty, relay *r)
{
    if (!r->dirty) {
        r->dirty = 1;
        r->dirty_next = *dirty;
        *dirty = r;
    }
}

/* Ends r: stops watching its sockets, frees it, and gives its sockets back to the caller. */
static void relay_end(worker *w, relay *r)
{
    epoll_ctl(w->ep, EPOLL_CTL_DEL, r->p->client_fd, NULL);
    epoll_ctl(w->ep, EPOLL_CTL_DEL, r->p->backend_fd, NULL);
    if (r->wake_fd >= 0)
        epoll_ctl(w->ep, EPOLL_CTL_DEL, r->wake_fd, NULL);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        w->all = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    relay_params p = r->params;
    relay_free(r);
    p.done(p.done_arg);
}

/* Takes the relays handed to w and starts watching them; each is run once at once. */
static void take_inbox(worker *w, relay **dirty)
{
    uint64_t v;
    (void)!read(w->inbox_fd, &v, sizeof v);
    pthread_mutex_lock(&w->lock);
    relay *in = w->inbox;
    w->inbox = NULL;
    pthread_mutex_unlock(&w->lock);
    while (in != NULL) {
        relay *r = in;
        in = in->next;
        const uint32_t io = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        if (watch(w->ep, r->p->client_fd, io, r, TAG_CLIENT) != 0 ||
            watch(w->ep, r->p->backend_fd, io, r, TAG_BACKEND) != 0 ||
            (r->wake_fd >= 0 && watch(w->ep, r->wake_fd, EPOLLIN | EPOLLET, r, TAG_WAKE) != 0)) {
            dsql_log(DSQL_LOG_WARN, "local: could not watch a session's sockets: %s",
                     strerror(errno));
            r->prev = NULL;
            r->next = w->all;
            if (w->all != NULL)
                w->all->prev = r;
            w->all = r;
            relay_end(w, r);
            continue;
        }
        r->prev = NULL;
        r->next = w->all;
        if (w->all != NULL)
            w->all->prev = r;
        w->all = r;
        mark(dirty, r);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    struct epoll_event ev[64];
    int64_t last_tick = local_now_ms();
    for (;;) {
        int n = epoll_wait(w->ep, ev, 64, w->all != NULL ? TICK_MS : -1);
        if (n < 0 && errno != EINTR)
            break;
        relay *dirty = NULL;
        for (int i = 0; i < n; i++) {
            unsigned tag = (unsigned)(ev[i].data.u64 & 7u);
            relay *r = (relay *)(uintptr_t)(ev[i].data.u64 & ~(uint64_t)7u);
            uint32_t e = ev[i].events;
            switch (tag) {
            case TAG_INBOX:
                take_inbox(w, &dirty);
                continue;
            case TAG_CLIENT:
                if (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP | EPOLLOUT))
                    r->c_can_read = 1; /* EPOLLOUT: an SSL_read that wanted to write may go on */
                if (e & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                    r->c_hup = 1;
                break;
            case TAG_BACKEND:
                if (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                    r->b_can_read = 1;
                if (e & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                    r->b_hup = 1;
                break;
            case TAG_WAKE: {
                uint64_t v;
                (void)!read(r->wake_fd, &v, sizeof v);
                r->wake = 1;
                break;
            }
            }
            mark(&dirty, r);
        }
        int64_t now = local_now_ms();
        if (now - last_tick >= TICK_MS) {
            last_tick = now;
            for (relay *r = w->all; r != NULL; r = r->next)
                if ((r->p->deadline_ms > 0 && now >= r->p->deadline_ms) || r->release_gate_ms > 0)
                    mark(&dirty, r);
        }
        while (dirty != NULL) {
            relay *r = dirty;
            dirty = r->dirty_next;
            r->dirty = 0;
            if (relay_pump(r))
                relay_end(w, r);
        }
    }
    return NULL;
}

int relay_pool_start(unsigned count, char *msg, size_t msglen)
{
    workers = calloc(count, sizeof *workers);
    if (workers == NULL) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < count; i++) {
        worker *w = &workers[i];
        pthread_mutex_init(&w->lock, NULL);
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->inbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->ep < 0 || w->inbox_fd < 0 ||
            watch(w->ep, w->inbox_fd, EPOLLIN | EPOLLET, NULL, TAG_INBOX) != 0) {
            snprintf(msg, msglen, "could not set up the relay's epoll: %s", strerror(errno));
            return -1;
        }
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int err = pthread_create(&w->thread, &attr, worker_main, w);
        pthread_attr_destroy(&attr);
        if (err != 0) {
            snprintf(msg, msglen, "could not start a relay thread: %s", strerror(err));
            return -1;
        }
        nworkers = i + 1;
    }
    return 0;
}

int relay_start(const relay_params *p)
{
    if (nworkers == 0)
        return -1;
    relay *r = relay_new(p);
    if (r == NULL)
        return -1;
    worker *w = &workers[atomic_fetch_add(&next_worker, 1) % nworkers];
    r->w = w;
    pthread_mutex_lock(&w->lock);
    r->next = w->inbox;
    w->inbox = r;
    pthread_mutex_unlock(&w->lock);
    uint64_t one = 1;
    (void)!write(w->inbox_fd, &one, sizeof one);
    return 0;
}
