/* SPDX-License-Identifier: MIT */
/* strict.h: dsqlauth-local --strict, a pure classifier that refuses what Aurora DSQL refuses. */
#ifndef DSQL_STRICT_H
#define DSQL_STRICT_H

/*
 * WHAT IT IS
 *   No I/O, no allocation, no globals: every function is reentrant and thread-safe; the only
 *   state is the caller-owned dsql_strict_session (one per client connection, not shared
 *   between threads without a lock). It works on SQL text with PostgreSQL's lexical rules
 *   (standard_conforming_strings on, as DSQL and the local backend run): '' strings, E'' with
 *   backslash escapes, B'' X'' N'' U&'', "identifiers", U&"identifiers", $tag$ dollar quotes $tag$,
 *   $1 parameters, -- and nested block comments. It is not a full SQL parser: it reads the
 *   keywords that decide a statement's fate, and for anything it cannot place it says PASS.
 *
 * HOW THE RELAY USES IT
 *   Simple Query:  for each statement of dsql_strict_split(): dsql_strict_check(). On REJECT,
 *                  put dsql_strict_raise_sql() in the statement's place and drop the rest of the
 *                  string (PostgreSQL skips it after an error anyway), so the backend raises the
 *                  error itself, with the transaction effect DSQL has: inside BEGIN the block
 *                  fails (later statements get 25P02 until ROLLBACK), outside it nothing stays
 *                  aborted. Strip the ErrorResponse's 'W' (context) field, which names PL/pgSQL.
 *   Extended:      dsql_strict_classify() at Parse (static refusals), dsql_strict_admit() with
 *                  the saved result at every Execute (transaction rules).
 *   Backend -> client:  CommandComplete -> dsql_strict_command_complete() (row cap);
 *                  CopyInResponse -> dsql_strict_copy_in(); ReadyForQuery -> dsql_strict_ready().
 *   The row cap is known only from a CommandComplete, after the statement ran: to make that
 *   statement fail (and not commit) the relay must still hold the transaction open, e.g. run
 *   autocommit DML inside a BEGIN it adds, and raise 54000 there before it commits.
 *   relay_step() in tests/local/test_strict.c plays this part against a real PostgreSQL.
 *
 * WHAT IS REFUSED (SQLSTATE, message). R = what a real cluster answered, as published with
 * the cases in tests/local/dsql-cases.tsv (see its README for the source); I = inferred: from
 * DSQL's message patterns, PostgreSQL's grammar, or other projects' public notes.
 *   R 0A000 unsupported transaction statement: SAVEPOINT | ROLLBACK TO
 *   I 0A000 unsupported transaction statement: RELEASE          (the pattern of the two above)
 *   R 0A000 multiple ddl statements not supported in a transaction  (2nd DDL, explicit BEGIN or
 *           the implicit transaction of a multi-statement Query or of one extended-protocol Sync)
 *   R 0A000 ddl and dml are not supported in the same transaction   (DML after DDL)
 *   I       the same message for DDL after DML: DSQL's wording names no order, AWS documents the
 *           rule as symmetric, and no recording shows that order answered differently
 *   R 54000 transaction row limit exceeded (rows > 3000; exactly 3000 passes)
 *   R 0A000 setting configuration parameter "TRANSACTION" not supported   (SET TRANSACTION ...)
 *   R 0A000 Unsupported isolation level: SERIALIZABLE  (BEGIN, SET TRANSACTION; I for START
 *           TRANSACTION and SET SESSION CHARACTERISTICS)
 *   R 0A000 setting configuration parameter "<name>" not supported  (SET [SESSION|LOCAL] name;
 *           I for RESET name and for the names PostgreSQL's grammar gives other forms:
 *           "SESSION CHARACTERISTICS", "TRANSACTION SNAPSHOT", "session_authorization",
 *           "xmloption", "transaction_isolation"). Allowed, case-insensitively, as DESIGN.md
 *           lists: application_name, client_encoding, DateStyle, extra_float_digits,
 *           IntervalStyle, TimeZone, search_path, role, enable_*, disable_sync_create_index
 *           (and SET TIME ZONE, NAMES, SCHEMA, ROLE, which set those). The name is shown as
 *           PostgreSQL has it: downcased unless quoted, cut at 63 bytes.
 *   R 42704 unrecognized configuration parameter "lc_collate"   (SHOW; I for lc_ctype: both
 *           were removed in PostgreSQL 16, which DSQL runs)
 *   R 0A000 unsupported statement: Truncate | CreateExtension | Createdb | CreateTableAs
 *           (CREATE TABLE AS, CREATE MATERIALIZED VIEW; I for SELECT INTO) | CompositeType |
 *           CreateRange | CreateTableSpace | CreateForeignTable | Listen | Notify | Unlisten |
 *           AlterSystem
 *   I 0A000 unsupported statement: Lock | DeclareCursor   (DSQL's fallback pattern: the node name)
 *   R 0A000 unsupported VACUUM statement                   (ANALYZE passes)
 *   R 0A000 CREATE TRIGGER not supported
 *   R 0A000 CREATE TYPE not supported                      (AS ENUM; I for base and shell types)
 *   R 0A000 TEMPORARY or TEMP table not supported for CREATE TABLE
 *   R 0A000 UNLOGGED table not supported for CREATE TABLE
 *   R 42704 type "serial" does not exist   (the type as written: serial, serial4, bigserial,
 *           serial8, smallserial, serial2; CREATE TABLE and ALTER TABLE ADD COLUMN)
 *   R 0A000 identity column is not supported without an explicit cache size. please define
 *           CACHE greater than or equal to 65536 or equal to 1   (CREATE TABLE)
 *   R 0A000 datatype integer not supported, identity column type must be bigint  (or smallint)
 *   R 0A000 CREATE SEQUENCE is not supported without an explicit cache size. please define
 *           CACHE greater than or equal to 65536 or equal to 1   (I for a CACHE other than 1 or
 *           >= 65536, given the same message)
 *   R 0A000 CREATE FUNCTION with language plpgsql not supported  (any LANGUAGE but sql; I for
 *           CREATE PROCEDURE, given the same message)
 *   R 0A000 unsupported mode. please use CREATE INDEX ASYNC.   (CREATE [UNIQUE] INDEX without
 *           ASYNC. Decided with care: recorded on a real cluster, and reported by others for
 *           freshly created, empty tables too; CREATE INDEX ASYNC passes.)
 *   I 0A000 CONCURRENTLY not supported for CREATE INDEX   (as other projects report it)
 *   R 0A000 ALTER TABLE ADD COLUMN with constraint not supported  (DEFAULT, NOT NULL, CHECK,
 *           UNIQUE, identity; I for PRIMARY KEY, REFERENCES, other GENERATED, CONSTRAINT)
 *   R 0A000 unsupported ALTER TABLE ADD CONSTRAINT statement  (CHECK or FOREIGN KEY without
 *           NOT VALID; PRIMARY KEY or UNIQUE without USING INDEX; I for EXCLUDE)
 *   R 0A000 unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement
 *   R 0A000 unsupported ALTER TABLE VALIDATE CONSTRAINT statement  (without ALTER TABLE ASYNC)
 *
 * WHAT COUNTS: DDL = CREATE, ALTER, DROP (CREATE INDEX ASYNC included). DML = INSERT, UPDATE,
 * DELETE, MERGE, COPY ... FROM, a WITH whose query or one of whose CTEs is one of those, and
 * EXPLAIN ANALYZE of one. Rows = the count in INSERT/UPDATE/DELETE/MERGE tags and in COPY
 * tags after a CopyInResponse.
 *
 * KNOWN DIFFERENCES FROM REAL DSQL (all on the side of passing what DSQL might refuse)
 *   - GRANT, REVOKE, COMMENT, SECURITY LABEL, REASSIGN OWNED do not count as DDL.
 *   - DO passes: the relay itself uses DO to raise refusals. DSQL, having no PL/pgSQL,
 *     presumably refuses a client's DO.
 *   - Not checked: unsupported column types (money, xml, arrays, ...), FOR SHARE, TABLESAMPLE,
 *     text search, index USING/opclass/DESC rules, dropping a primary key column, ALTER SEQUENCE
 *     CACHE, isolation levels other than SERIALIZABLE, BEGIN READ ONLY, set_config(),
 *     PREPARE TRANSACTION (the backend refuses it anyway), CLUSTER, REINDEX, REFRESH, EXECUTE of
 *     a prepared statement (its kind is unknown here), the 5-minute transaction limit.
 *   - disable_sync_create_index is allowed in SET, but what it changes is not recorded, so
 *     CREATE INDEX without ASYNC is refused whatever it is set to.
 *   - PL/pgSQL's CONTEXT line, if the relay does not strip it.
 */

#include <stddef.h>
#include <stdint.h>

#define DSQL_STRICT_ROW_CAP 3000u
#define DSQL_STRICT_MSG_MAX 256   /* every message fits, identifiers being cut at 63 bytes */
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

/* One classified statement. Plain data: copy it, keep it with a prepared statement. */
typedef struct dsql_strict_stmt {
    enum dsql_strict_kind kind;
    int chain;               /* COMMIT/ROLLBACK AND CHAIN: a new block starts at once */
    int rejected;            /* refused whatever the session state; error says how */
    dsql_strict_error error;
    size_t async_off;        /* DSQL's ASYNC keyword (CREATE INDEX ASYNC, ALTER TABLE ASYNC), */
    size_t async_len;        /* as offsets into the statement; len 0 when absent. PostgreSQL
                              * cannot parse it: the relay cuts it before forwarding. */
} dsql_strict_stmt;

/* Per-connection state. Initialise with dsql_strict_session_init; fields are read-only. */
typedef struct dsql_strict_session {
    char status;      /* 'I' idle, 'T' in a block, 'E' failed block: as ReadyForQuery says */
    unsigned ddl;     /* DDL admitted in the current (explicit or implicit) transaction */
    int dml;          /* DML admitted in the current transaction */
    uint64_t rows;    /* rows changed in the current transaction */
    int copy_in;      /* a CopyInResponse awaits its CommandComplete */
} dsql_strict_session;

void dsql_strict_session_init(dsql_strict_session *s);

/*
 * Splits a simple-Query string. Start with *pos = 0; each call finds the next non-empty
 * statement at or after *pos, sets [*off, *off + *len) to it (first token to last token, no
 * ';'), moves *pos past its ';' and returns 1; returns 0 when none is left. A ';' ends a
 * statement only outside quotes, comments and parentheses, and outside the BEGIN ... END body
 * of CREATE FUNCTION/PROCEDURE (psql's rule). Unterminated quotes run to the end.
 */
int dsql_strict_split(const char *sql, size_t sql_len, size_t *pos, size_t *off, size_t *len);

/* Classifies one statement (as dsql_strict_split returns it). Pure; never fails. */
void dsql_strict_classify(const char *stmt, size_t len, dsql_strict_stmt *out);

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
