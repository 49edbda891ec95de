/* SPDX-License-Identifier: MIT */
/* strict.h: dsqlauth-local --strict: statements and sessions judged by Aurora DSQL's rules. */
#ifndef DSQL_STRICT_H
#define DSQL_STRICT_H

/*
 * WHAT IT IS
 *   The rules of Aurora DSQL that a statement's text decides, judged on PostgreSQL's own parse
 *   tree (sqltree.c, libpg_query), and the session rules (one DDL per transaction, never with
 *   DML, the row cap) as a state machine. Every answer comes from rules.tsv (rules.h), which
 *   names the source of each rule. No I/O; dsql_strict_parse and the session functions are
 *   reentrant and thread-safe (libpg_query keeps its memory per thread and frees it when the
 *   thread ends). A session and a cache belong to one
 *   connection and are not shared between threads without a lock.
 *
 * HOW THE RELAY USES IT
 *   Simple Query:  dsql_strict_cache_parse() on the whole string, then dsql_strict_admit() for
 *                  each statement in order. On REJECT, put dsql_strict_raise_sql() in the
 *                  statement's place and drop the rest of the string (PostgreSQL skips it after
 *                  an error anyway), so the backend raises the error itself, with the
 *                  transaction effect DSQL has: inside BEGIN the block fails (later statements
 *                  get 25P02 until ROLLBACK), outside it nothing stays aborted. Strip the
 *                  ErrorResponse's 'W' (context) field, which names PL/pgSQL. Blank DSQL's
 *                  ASYNC keyword (async_off, async_len) before PostgreSQL sees it.
 *   Extended:      the same at Parse (static refusals and transaction rules for the statement).
 *   A text PostgreSQL's grammar refuses (dsql_strict_parse returns 1) goes to the backend as it
 *   is: the backend answers with the same syntax error, and nothing of it runs.
 *   Backend -> client:  CommandComplete -> dsql_strict_command_complete() (row cap);
 *                  CopyInResponse -> dsql_strict_copy_in(); ReadyForQuery -> dsql_strict_ready().
 *   The row cap is known only from a CommandComplete, after the statement ran: to make that
 *   statement fail (and not commit) the relay must still hold the transaction open, e.g. run
 *   autocommit DML inside a BEGIN it adds, and raise 54000 there before it commits.
 *   relay_step() in tests/local/test_strict.c plays this part against a real PostgreSQL.
 *
 * WHAT IS REFUSED: rules.tsv, one rule a line with its SQLSTATE, message, the statement shape
 * and its source (R recorded on a real cluster, D AWS's documentation, T third-party live
 * reports, I inferred, U undecided: DSQL's answer unknown, so it passes here and says so).
 *
 * WHAT COUNTS: DDL = CREATE, ALTER, DROP and the like (CREATE INDEX ASYNC included; GRANT,
 * REVOKE and COMMENT not). DML = INSERT, UPDATE, DELETE, MERGE, COPY ... FROM, a WITH with one
 * of those anywhere, and EXPLAIN ANALYZE of one. Rows = the count in INSERT/UPDATE/DELETE/MERGE
 * tags and in COPY tags after a CopyInResponse.
 *
 * KNOWN DIFFERENCES FROM REAL DSQL (besides the U rules of rules.tsv)
 *   - The grammar is PostgreSQL 15's: PostgreSQL 16 syntax DSQL may accept (numeric
 *     underscores, 0x literals, IS JSON, ADD COLUMN ... STORAGE) gets 15's syntax error.
 *   - GRANT, REVOKE, COMMENT, SECURITY LABEL, REASSIGN OWNED do not count as DDL.
 *   - Not checked: index USING / opclass rules, ALTER SEQUENCE CACHE, CLUSTER, REINDEX,
 *     REFRESH, casts to refused types at run time ('1'::tsvector), DSQL's quotas on schemas,
 *     tables, columns and indexes.
 *   - disable_sync_create_index is allowed in SET, but what it changes is not recorded, so
 *     CREATE INDEX without ASYNC is refused whatever it is set to.
 *   - PL/pgSQL's CONTEXT line on an error the backend raises from sys.wait_for_job.
 */

#include <stddef.h>
#include <stdint.h>

#define DSQL_STRICT_ROW_CAP 3000u
#define DSQL_STRICT_MSG_MAX 256    /* every message fits, identifiers being cut at 63 bytes */
#define DSQL_STRICT_RAISE_MAX 1024 /* every dsql_strict_raise_sql() output fits */

enum dsql_strict_verdict {
    DSQL_STRICT_PASS = 0,
    DSQL_STRICT_REJECT = 1,
};

/* What a statement does to DSQL's transaction rules. */
enum dsql_strict_kind {
    DSQL_STRICT_EMPTY = 0, /* only blanks and comments */
    DSQL_STRICT_OTHER,     /* SELECT, SHOW, allowed SET, GRANT, DO, ...: no effect */
    DSQL_STRICT_BEGIN,     /* BEGIN, START TRANSACTION */
    DSQL_STRICT_COMMIT,    /* COMMIT, END */
    DSQL_STRICT_ROLLBACK,  /* ROLLBACK, ABORT */
    DSQL_STRICT_DDL,
    DSQL_STRICT_DML,
};

/* A refusal: SQLSTATE and primary message, both NUL-terminated. */
typedef struct dsql_strict_error {
    char sqlstate[6];
    char message[DSQL_STRICT_MSG_MAX];
} dsql_strict_error;

/* SELECT ... FOR UPDATE / FOR KEY SHARE: locks rows. */
#define DSQL_STRICT_LOCKING 0x1u
/* CREATE INDEX ASYNC, ALTER TABLE ASYNC ... VALIDATE: the answer carries a job_id row. */
#define DSQL_STRICT_ASYNC_JOB 0x2u
/* Shapes whose answer the relay can give without running them (optimistic concurrency: a
 * write that would wait for another transaction's lock answers at once, and its conflict is
 * settled at COMMIT). dsql_strict_shadow() builds what answers them. */
/* UPDATE t [AS a] SET ... [WHERE ...]: no FROM, RETURNING, WITH. */
#define DSQL_STRICT_UPDATE 0x4u
/* DELETE FROM t [AS a] [WHERE ...]: no USING, RETURNING, WITH. */
#define DSQL_STRICT_DELETE 0x8u
/* INSERT ... VALUES (...), ...: no RETURNING, ON CONFLICT, WITH; values_rows says how many rows. */
#define DSQL_STRICT_INSERT_VALUES 0x10u

/* The classification read a constant's value: the verdict may change with it (the parse cache
 * keeps such a statement for its exact text only). */
#define DSQL_STRICT_READS_CONSTANT 0x20u

/* One classified statement. Plain data: copy it, keep it with a prepared statement. */
typedef struct dsql_strict_stmt {
    enum dsql_strict_kind kind;
    int chain;    /* COMMIT/ROLLBACK AND CHAIN: a new block starts at once */
    int rejected; /* refused whatever the session state; error says how */
    dsql_strict_error error;
    size_t off, len;      /* the statement within the text parsed (leading blanks included) */
    size_t async_off;     /* DSQL's ASYNC keyword (5 bytes) within the text parsed; */
    size_t async_len;     /* len 0 when absent. PostgreSQL cannot parse it: blank it. */
    unsigned flags;       /* DSQL_STRICT_LOCKING, DSQL_STRICT_ASYNC_JOB, ... */
    unsigned values_rows; /* DSQL_STRICT_INSERT_VALUES: the rows it inserts */
} dsql_strict_stmt;

/* Per-connection state. Initialise with dsql_strict_session_init; fields are read-only. */
typedef struct dsql_strict_session {
    char status;   /* 'I' idle, 'T' in a block, 'E' failed block: as ReadyForQuery says */
    unsigned ddl;  /* DDL admitted in the current (explicit or implicit) transaction */
    int dml;       /* DML admitted in the current transaction */
    uint64_t rows; /* rows changed in the current transaction */
    int copy_in;   /* a CopyInResponse awaits its CommandComplete */
} dsql_strict_session;

void dsql_strict_session_init(dsql_strict_session *s);

/*
 * Parses text (len bytes; text[len] must be readable, a NUL as in a protocol message, and the
 * text ends at its first NUL as PostgreSQL reads it) and classifies every statement. Returns 0
 * with *out a new array of *n statements (free() it; *n may be 0: only blanks and comments),
 * 1 when PostgreSQL's grammar refuses the text (*n = 0: the backend answers it), or -1 when out
 * of memory.
 */
int dsql_strict_parse(const char *text, size_t len, dsql_strict_stmt **out, size_t *n);

/* The first statement of stmt[0, len) classified, offsets relative to stmt; kind EMPTY when
 * there is none, OTHER (passed) when it does not parse. Never fails. */
void dsql_strict_classify(const char *stmt, size_t len, dsql_strict_stmt *out);

/*
 * What answers statement st of sql (as parsed by dsql_strict_parse) without taking its locks:
 * for DSQL_STRICT_UPDATE / DSQL_STRICT_DELETE `SELECT count(*) FROM <its table> WHERE <its
 * condition>` (the rows it would change, in this transaction's snapshot); for
 * DSQL_STRICT_LOCKING the statement with its top-level FOR UPDATE / FOR KEY SHARE clause
 * blanked. Writes it into out (NUL-terminated) and returns its length, or 0 when the statement
 * has no such answer (or it does not fit).
 */
size_t dsql_strict_shadow(const char *sql, const dsql_strict_stmt *st, char *out, size_t size);

/*
 * A connection's parse cache: the same text is parsed once (a client that sends the same
 * statement again, or prepares it again, costs a hash and a compare), and so is a text that
 * differs from one parsed before only in the digits of its numbers, when no verdict of it read
 * a constant (pgbench's and many ORMs' simple-protocol queries write their values inline).
 * 64 slots of each kind, texts up to 8 KiB. dsql_strict_cache_parse answers as
 * dsql_strict_parse, with *out borrowed from the cache until the next call on it.
 */
typedef struct dsql_strict_cache dsql_strict_cache;
dsql_strict_cache *dsql_strict_cache_new(void);
void dsql_strict_cache_free(dsql_strict_cache *c);
int dsql_strict_cache_parse(dsql_strict_cache *c, const char *text, size_t len,
                            const dsql_strict_stmt **out, size_t *n);
void dsql_strict_cache_stats(const dsql_strict_cache *c, uint64_t *hits, uint64_t *misses);

/*
 * Applies DSQL's transaction rules to a classified statement about to run in session s, and
 * records its effect (BEGIN, COMMIT, DDL and DML counts). Returns DSQL_STRICT_PASS, or
 * DSQL_STRICT_REJECT with *err filled (err may be NULL); after a REJECT the session expects the
 * backend to fail the statement (a block in progress becomes 'E').
 */
int dsql_strict_admit(dsql_strict_session *s, const dsql_strict_stmt *st, dsql_strict_error *err);

/* dsql_strict_classify + dsql_strict_admit; *st_out (may be NULL) receives the classification. */
int dsql_strict_check(dsql_strict_session *s, const char *stmt, size_t len,
                      dsql_strict_stmt *st_out, dsql_strict_error *err);

/*
 * Accounts a CommandComplete tag (NUL-terminated, as on the wire). Returns DSQL_STRICT_REJECT
 * with *err = 54000 "transaction row limit exceeded" when the rows changed in the current
 * transaction now exceed DSQL_STRICT_ROW_CAP, else DSQL_STRICT_PASS.
 */
int dsql_strict_command_complete(dsql_strict_session *s, const char *tag, dsql_strict_error *err);

/* The backend sent CopyInResponse: the next COPY tag counts rows written. */
void dsql_strict_copy_in(dsql_strict_session *s);

/* The backend sent ReadyForQuery with this status ('I', 'T' or 'E'): resynchronise. */
void dsql_strict_ready(dsql_strict_session *s, char status);

/*
 * Writes into buf (size bytes) a DO statement that makes PostgreSQL raise exactly err's
 * SQLSTATE and message: DO $dsqlN$BEGIN RAISE EXCEPTION USING ERRCODE = '...', MESSAGE =
 * E'...'; END$dsqlN$, the tag chosen so it does not occur in the body. Returns its length
 * (excluding the NUL), or 0 if the SQLSTATE is not 5 characters of [0-9A-Z] or size is too
 * small (DSQL_STRICT_RAISE_MAX always suffices for a dsql_strict_error).
 */
size_t dsql_strict_raise_sql(const dsql_strict_error *err, char *buf, size_t size);

#endif /* DSQL_STRICT_H */
