/* SPDX-License-Identifier: MIT */
/* test_strict.c: the strict-mode classifier against DSQL's recorded answers and a real PostgreSQL.
 */
#include "rules.h"
#include "strict.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ABORTED_MSG                                                                                \
    "current transaction is aborted, commands ignored until end of transaction block"

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void classify(const char *sql, dsql_strict_stmt *st)
{
    dsql_strict_classify(sql, strlen(sql), st);
}

/* One statement alone in a fresh session: the verdict and error. */
static int check_alone(const char *sql, dsql_strict_error *err)
{
    dsql_strict_session s;
    dsql_strict_session_init(&s);
    memset(err, 0, sizeof *err);
    return dsql_strict_check(&s, sql, strlen(sql), NULL, err);
}

/* Runs a whole simple Query through the session as the relay does; returns the REJECT index
 * (0-based) or -1, with err filled. */
static int run_query(dsql_strict_session *s, const char *sql, dsql_strict_error *err)
{
    dsql_strict_stmt *st;
    size_t n;
    int at = -1;
    cr_assert_eq(dsql_strict_parse(sql, strlen(sql), &st, &n), 0, "%s", sql);
    for (size_t i = 0; i < n && at < 0; i++)
        if (dsql_strict_admit(s, &st[i], err) == DSQL_STRICT_REJECT)
            at = (int)i;
    free(st);
    return at;
}

/* ------------------------------------------------------------------------------------------ */
/* Parsing: PostgreSQL's grammar splits, the tree decides                                     */
/* ------------------------------------------------------------------------------------------ */

/* The statements of sql as the parser delimits them, trimmed, joined with " | ". */
static void parts(const char *sql, char *out, size_t size)
{
    dsql_strict_stmt *st;
    size_t n, o = 0;
    out[0] = '\0';
    cr_assert_eq(dsql_strict_parse(sql, strlen(sql), &st, &n), 0, "%s", sql);
    for (size_t i = 0; i < n; i++) {
        size_t off = st[i].off, len = st[i].len;
        while (len > 0 && (sql[off] == ' ' || sql[off] == '\n' || sql[off] == '\t')) {
            off++;
            len--;
        }
        o += (size_t)snprintf(out + o, size - o, "%s%.*s", i ? " | " : "", (int)len, sql + off);
    }
    free(st);
}

Test(parse, statements_offsets_quotes_and_bodies)
{
    char got[1024];
    parts("SELECT 1; SELECT 2;;  ;\n", got, sizeof got);
    cr_assert_str_eq(got, "SELECT 1 | SELECT 2");
    parts("SELECT 'a;b', $t$ ; $t$; -- c;\nSELECT \"x;\"\"y\" FROM t /* ; */", got, sizeof got);
    cr_assert_str_eq(got, "SELECT 'a;b', $t$ ; $t$ | -- c;\nSELECT \"x;\"\"y\" FROM t /* ; */");
    parts("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true "
          "THEN 1 END; SELECT 2; END; SELECT 3",
          got, sizeof got);
    cr_assert(strstr(got, "END | SELECT 3") != NULL, "%s", got);
    /* only blanks and comments: no statement; an empty string: none either */
    dsql_strict_stmt *st;
    size_t n;
    cr_assert_eq(dsql_strict_parse(" ; -- x\n /* y */", 16, &st, &n), 0);
    cr_assert_eq(n, 0);
    free(st);
    /* what PostgreSQL's grammar refuses is the backend's to answer, whole */
    cr_assert_eq(dsql_strict_parse("SELECT 1; SELEC 2", 17, &st, &n), 1);
    cr_assert_eq(n, 0);
    cr_assert_null(st);
    dsql_strict_stmt one;
    classify("SELEC 2", &one);
    cr_assert_eq(one.kind, DSQL_STRICT_OTHER);
    cr_assert_not(one.rejected);
    classify("  -- nothing", &one);
    cr_assert_eq(one.kind, DSQL_STRICT_EMPTY);
    /* the text ends at its first NUL, as PostgreSQL reads a query */
    cr_assert_eq(dsql_strict_parse("SELECT 1\0TRUNCATE t", 19, &st, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_not(st[0].rejected);
    free(st);
}

/* What answers a write or a locking read without its locks (optimistic concurrency). */
Test(parse, shadows_count_rows_and_drop_locking_clauses)
{
    static const struct {
        const char *sql, *shadow;
    } cases[] = {
        {"UPDATE t SET v = 1 WHERE id = 2", "SELECT count(*) FROM t WHERE id = 2"},
        {"update ONLY s.t AS x set v = (SELECT 1 WHERE true) where x.id IN (1, 2)",
         "SELECT count(*) FROM ONLY s.t AS x WHERE x.id IN (1, 2)"},
        {"UPDATE \"T\" q SET v = 'where' ", "SELECT count(*) FROM \"T\" q"},
        {"DELETE FROM t WHERE v = 'a;b' AND k > 1",
         "SELECT count(*) FROM t WHERE v = 'a;b' AND k > 1"},
        {"DELETE FROM t", "SELECT count(*) FROM t"},
        {"SELECT v FROM t WHERE id = 1 FOR UPDATE", "SELECT v FROM t WHERE id = 1           "},
        {"SELECT * FROM t FOR KEY SHARE OF t NOWAIT LIMIT 1",
         "SELECT * FROM t                           LIMIT 1"},
        {"SELECT (SELECT 1 FOR UPDATE) FROM t FOR UPDATE SKIP LOCKED",
         "SELECT (SELECT 1 FOR UPDATE) FROM t                       "},
        {"UPDATE t SET v = 1 WHERE CURRENT OF c", ""},
        {"UPDATE t SET v = 1 FROM u WHERE t.id = u.id", ""}, /* no shadow: FROM */
        {"INSERT INTO t VALUES (1), (2)", ""},               /* its count is values_rows */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsql_strict_stmt *st;
        size_t n;
        char out[256];
        cr_assert_eq(dsql_strict_parse(cases[i].sql, strlen(cases[i].sql), &st, &n), 0);
        cr_assert_eq(n, 1);
        size_t len = dsql_strict_shadow(cases[i].sql, &st[0], out, sizeof out);
        cr_expect_str_eq(len ? out : "", cases[i].shadow, "%s", cases[i].sql);
        cr_expect_eq(len, strlen(cases[i].shadow));
        free(st);
    }
    dsql_strict_stmt one;
    classify("INSERT INTO t (a) VALUES (1), (2), (3)", &one);
    cr_assert(one.flags & DSQL_STRICT_INSERT_VALUES);
    cr_assert_eq(one.values_rows, 3);
    classify("INSERT INTO t (a) VALUES (1) RETURNING a", &one);
    cr_assert_not(one.flags & DSQL_STRICT_INSERT_VALUES);
    /* too small a buffer: no shadow */
    char tiny[8];
    classify("DELETE FROM t WHERE id = 1", &one);
    cr_assert_eq(dsql_strict_shadow("DELETE FROM t WHERE id = 1", &one, tiny, sizeof tiny), 0);
}

Test(parse, the_cache_answers_the_same_once_parsed)
{
    dsql_strict_cache *c = dsql_strict_cache_new();
    const dsql_strict_stmt *st;
    size_t n;
    uint64_t hits, misses;
    const char *q = "SELECT * FROM t FOR SHARE";
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(dsql_strict_cache_parse(c, q, strlen(q), &st, &n), 0);
        cr_assert_eq(n, 1);
        cr_assert(st[0].rejected);
    }
    cr_assert_eq(dsql_strict_cache_parse(c, "SELEC", 5, &st, &n), 1);
    cr_assert_eq(dsql_strict_cache_parse(c, "SELEC", 5, &st, &n), 1);
    dsql_strict_cache_stats(c, &hits, &misses);
    cr_assert_eq(hits, 3);
    cr_assert_eq(misses, 2);
    /* many distinct texts: slots are reused, answers stay right */
    for (int i = 0; i < 500; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT %d FROM t%s", i, i % 2 ? " TABLESAMPLE SYSTEM (1)" : "");
        cr_assert_eq(dsql_strict_cache_parse(c, sql, strlen(sql), &st, &n), 0);
        cr_assert_eq(st[0].rejected, i % 2, "%s", sql);
    }
    dsql_strict_cache_free(c);
    dsql_strict_cache_free(NULL);
}

/* A text that differs from one parsed before only in its numbers is not parsed again, unless a
 * verdict read a constant; digits in names, strings, parameters and comments are the text's own. */
Test(parse, the_cache_answers_a_text_differing_only_in_numbers_without_parsing)
{
    dsql_strict_cache *c = dsql_strict_cache_new();
    const dsql_strict_stmt *st;
    size_t n;
    uint64_t hits, misses, h0, m0;
    const char *pairs[][2] = {
        {"SELECT v FROM t WHERE id = 12", "SELECT v FROM t WHERE id = 34"},
        {"UPDATE t SET v = 1.5 WHERE id = 7; COMMIT", "UPDATE t SET v = 2.0 WHERE id = 9; COMMIT"},
        {"INSERT INTO t VALUES (1, 2), (3, 4)", "INSERT INTO t VALUES (5, 6), (7, 8)"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        dsql_strict_stmt first[4];
        size_t nfirst;
        cr_assert_eq(dsql_strict_cache_parse(c, pairs[i][0], strlen(pairs[i][0]), &st, &nfirst), 0);
        cr_assert_leq(nfirst, 4);
        memcpy(first, st, nfirst * sizeof *st);
        dsql_strict_cache_stats(c, &h0, &m0);
        cr_assert_eq(dsql_strict_cache_parse(c, pairs[i][1], strlen(pairs[i][1]), &st, &n), 0);
        dsql_strict_cache_stats(c, &hits, &misses);
        cr_assert_eq(hits, h0 + 1, "%s: parsed again", pairs[i][1]);
        cr_assert_eq(misses, m0);
        cr_assert_eq(n, nfirst);
        for (size_t k = 0; k < n; k++) {
            cr_assert_eq(st[k].kind, first[k].kind);
            cr_assert_eq(st[k].flags, first[k].flags);
            cr_assert_eq(st[k].values_rows, first[k].values_rows);
            cr_assert_eq(st[k].off, first[k].off);
            cr_assert_eq(st[k].len, first[k].len);
        }
    }
    /* Same shape, verdicts that read the number: each parsed, each answered on its own. */
    const char *own[][2] = {
        {"CREATE SEQUENCE s CACHE 65536", "CREATE SEQUENCE s CACHE 10000"},
        {"EXPLAIN (ANALYZE 0) UPDATE t SET v = 1", "EXPLAIN (ANALYZE 1) UPDATE t SET v = 1"},
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        cr_assert_eq(dsql_strict_cache_parse(c, own[i][0], strlen(own[i][0]), &st, &n), 0);
        int rejected = st[0].rejected;
        enum dsql_strict_kind kind = st[0].kind;
        dsql_strict_cache_stats(c, &h0, &m0);
        cr_assert_eq(dsql_strict_cache_parse(c, own[i][1], strlen(own[i][1]), &st, &n), 0);
        dsql_strict_cache_stats(c, &hits, &misses);
        cr_assert_eq(misses, m0 + 1, "%s: answered from %s", own[i][1], own[i][0]);
        cr_assert(st[0].rejected != rejected || st[0].kind != kind, "%s", own[i][1]);
    }
    /* Digits that are not numbers: a different text, parsed. */
    const char *texts[][2] = {
        {"SELECT * FROM t1", "SELECT * FROM t2"},
        {"SELECT 'a 1' FROM t", "SELECT 'a 2' FROM t"},
        {"SELECT \"c 1\" FROM t", "SELECT \"c 2\" FROM t"},
        {"SELECT $1::int FROM t", "SELECT $2::int FROM t"},
        {"SELECT $q$ 1 $q$ FROM t", "SELECT $q$ 2 $q$ FROM t"},
        {"SELECT E'\\' 1' FROM t", "SELECT E'\\' 2' FROM t"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cr_assert_eq(dsql_strict_cache_parse(c, texts[i][0], strlen(texts[i][0]), &st, &n), 0, "%s",
                     texts[i][0]);
        dsql_strict_cache_stats(c, &h0, &m0);
        cr_assert_eq(dsql_strict_cache_parse(c, texts[i][1], strlen(texts[i][1]), &st, &n), 0);
        dsql_strict_cache_stats(c, &hits, &misses);
        cr_assert_eq(misses, m0 + 1, "%s: answered from %s", texts[i][1], texts[i][0]);
    }
    dsql_strict_cache_free(c);
}

/* The cache's look at numbers reads quotes, comments and dollar quotes: ragged ones too. */
Test(parse, the_cache_takes_any_text_of_quotes_and_numbers)
{
    static const char alphabet[] = "'\"$-/*\\eE0123 q\n;SELECT";
    dsql_strict_cache *c = dsql_strict_cache_new();
    uint32_t seed = 12345;
    for (int i = 0; i < 5000; i++) {
        char text[48];
        size_t len = (size_t)(i % 40);
        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            text[k] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        text[len] = '\0';
        const dsql_strict_stmt *st;
        size_t n;
        cr_assert_geq(dsql_strict_cache_parse(c, text, len, &st, &n), 0, "%s", text);
    }
    dsql_strict_cache_free(c);
}

/* ------------------------------------------------------------------------------------------ */
/* cases.tsv                                                                                   */
/* ------------------------------------------------------------------------------------------ */

struct step {
    char name[64];
    char sql[512];
    char expected[256];
};

#define MAX_STEPS 128

/* Reads tests/local/dsql-cases.tsv; returns the number of steps. */
static size_t load_cases(struct step *steps)
{
    const char *root = getenv("DSQLAUTH_SOURCE_ROOT");
    char path[1024], line[2048];
    size_t n = 0;
    cr_assert_not_null(root, "DSQLAUTH_SOURCE_ROOT is not set (run through meson test)");
    snprintf(path, sizeof path, "%s/tests/local/dsql-cases.tsv", root);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_not_null(fgets(line, sizeof line, f)); /* header */
    cr_assert(strncmp(line, "case\tstep\tstatement\texpected", 28) == 0);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        char *f1 = strtok(line, "\t"), *f2 = strtok(NULL, "\t"), *f3 = strtok(NULL, "\t"),
             *f4 = strtok(NULL, "\t");
        cr_assert(f1 && f2 && f3 && f4, "malformed row %zu", n + 1);
        cr_assert_lt(n, MAX_STEPS);
        snprintf(steps[n].name, sizeof steps[n].name, "%s", f1);
        snprintf(steps[n].sql, sizeof steps[n].sql, "%s", f3);
        snprintf(steps[n].expected, sizeof steps[n].expected, "%s", f4);
        n++;
    }
    fclose(f);
    cr_assert_gt(n, 40);
    return n;
}

/* "INSERT ... generate_series(1, N)" -> N, the rows a backend would report. */
static unsigned long simulated_rows(const char *sql)
{
    const char *g = strstr(sql, "generate_series(1, ");
    if (strncmp(sql, "INSERT", 6) != 0)
        return 0;
    return g ? strtoul(g + 19, NULL, 10) : 1;
}

/*
 * Every case against a simulated backend: PostgreSQL's own transaction behaviour (25P02 in a
 * failed block, COMMIT of a failed block answering ROLLBACK) and the rows an INSERT reports.
 */
Test(cases, every_recorded_answer_simulated)
{
    static struct step steps[MAX_STEPS];
    size_t n = load_cases(steps);
    dsql_strict_session s;
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(steps[i].name, steps[i - 1].name) != 0)
            dsql_strict_session_init(&s);
        const char *sql = steps[i].sql;
        char got[300];
        dsql_strict_stmt st;
        dsql_strict_error err;
        char before = s.status;
        classify(sql, &st);
        if (dsql_strict_admit(&s, &st, &err) == DSQL_STRICT_REJECT) {
            snprintf(got, sizeof got, "error %s %s", err.sqlstate, err.message);
        } else if (before == 'E' && st.kind != DSQL_STRICT_COMMIT &&
                   st.kind != DSQL_STRICT_ROLLBACK) {
            snprintf(got, sizeof got, "error 25P02 %s", ABORTED_MSG);
        } else if (st.kind == DSQL_STRICT_BEGIN) {
            snprintf(got, sizeof got, "ok BEGIN");
        } else if (st.kind == DSQL_STRICT_COMMIT || st.kind == DSQL_STRICT_ROLLBACK) {
            snprintf(got, sizeof got, "ok %s",
                     (st.kind == DSQL_STRICT_COMMIT && before != 'E') ? "COMMIT" : "ROLLBACK");
        } else if (st.kind == DSQL_STRICT_DML) {
            char tag[64];
            snprintf(tag, sizeof tag, "INSERT 0 %lu", simulated_rows(sql));
            if (dsql_strict_command_complete(&s, tag, &err) == DSQL_STRICT_REJECT) {
                snprintf(got, sizeof got, "error %s %s", err.sqlstate, err.message);
                if (s.status == 'T')
                    s.status = 'E'; /* what the relay's raise does to the block */
            } else {
                snprintf(got, sizeof got, "ok %s", tag);
            }
        } else {
            /* ok with a tag the simulation does not know: compare the outcome only */
            snprintf(got, sizeof got, "ok");
        }
        if (strcmp(got, "ok") == 0)
            cr_expect(strncmp(steps[i].expected, "ok ", 3) == 0, "%s: %s: expected %s, got ok",
                      steps[i].name, sql, steps[i].expected);
        else
            cr_expect_str_eq(got, steps[i].expected, "%s: %s", steps[i].name, sql);
        dsql_strict_ready(&s, s.status); /* the backend's ReadyForQuery */
        checked++;
    }
    cr_assert_eq(checked, n);
}

/* ------------------------------------------------------------------------------------------ */
/* Refusals beyond cases.tsv                                                                   */
/* ------------------------------------------------------------------------------------------ */

struct refusal {
    const char *sql, *sqlstate, *message;
};

#define TXN_STMT "unsupported transaction statement: "
#define PARAM(x) "setting configuration parameter \"" x "\" not supported"
#define CTAS "unsupported statement: CreateTableAs"
#define IDENTITY                                                                                   \
    "identity column is not supported without an explicit cache size. please define CACHE "        \
    "greater than or equal to 65536 or equal to 1"
#define SEQUENCE                                                                                   \
    "CREATE SEQUENCE is not supported without an explicit cache size. please define CACHE "        \
    "greater than or equal to 65536 or equal to 1"
#define ADD_COL "ALTER TABLE ADD COLUMN with constraint not supported"
#define ADD_CON "unsupported ALTER TABLE ADD CONSTRAINT statement"

static const struct refusal refusals[] = {
    {"savepoint a", "0A000", TXN_STMT "SAVEPOINT"},
    {"RELEASE SAVEPOINT a", "0A000", TXN_STMT "RELEASE"},
    {"release a", "0A000", TXN_STMT "RELEASE"},
    {"ROLLBACK WORK TO a", "0A000", TXN_STMT "ROLLBACK TO"},
    {"ROLLBACK TRANSACTION TO SAVEPOINT a", "0A000", TXN_STMT "ROLLBACK TO"},
    {"create temp table t (id int)", "0A000",
     "TEMPORARY or TEMP table not supported for CREATE TABLE"},
    {"CREATE GLOBAL TEMPORARY TABLE t (id int)", "0A000",
     "TEMPORARY or TEMP table not supported for CREATE TABLE"},
    {"CREATE LOCAL TEMP TABLE IF NOT EXISTS t (id int)", "0A000",
     "TEMPORARY or TEMP table not supported for CREATE TABLE"},
    {"CREATE UNLOGGED TABLE s.t (id int)", "0A000",
     "UNLOGGED table not supported for CREATE TABLE"},
    {"CREATE TEMP TABLE t AS SELECT 1", "0A000", CTAS},
    {"CREATE TABLE t (a, b) AS VALUES (1, 2)", "0A000", CTAS},
    {"CREATE TABLE IF NOT EXISTS t AS TABLE u", "0A000", CTAS},
    {"CREATE MATERIALIZED VIEW IF NOT EXISTS v AS SELECT 1", "0A000", CTAS},
    {"SELECT * INTO newt FROM t", "0A000", CTAS},
    {"WITH x AS (SELECT 1 AS a) SELECT a INTO TEMP t FROM x", "0A000", CTAS},
    {"CREATE TABLE t (id bigserial primary key)", "42704", "type \"bigserial\" does not exist"},
    {"CREATE TABLE t (a text, id SMALLSERIAL)", "42704", "type \"smallserial\" does not exist"},
    {"CREATE TABLE t (id serial8, CONSTRAINT p PRIMARY KEY (id))", "42704",
     "type \"serial8\" does not exist"},
    {"CREATE TABLE t (id serial4)", "42704", "type \"serial4\" does not exist"},
    {"CREATE TABLE t (id serial2)", "42704", "type \"serial2\" does not exist"},
    {"CREATE TABLE t (id \"serial\")", "42704", "type \"serial\" does not exist"},
    {"ALTER TABLE t ADD COLUMN s serial", "42704", "type \"serial\" does not exist"},
    {"ALTER TABLE t ADD big BIGSERIAL", "42704", "type \"bigserial\" does not exist"},
    {"TRUNCATE ONLY t", "0A000", "unsupported statement: Truncate"},
    {"VACUUM (FULL) t", "0A000", "unsupported VACUUM statement"},
    {"vacuum", "0A000", "unsupported VACUUM statement"},
    {"LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "0A000", "unsupported statement: Lock"},
    {"LOCK t", "0A000", "unsupported statement: Lock"},
    {"DECLARE c CURSOR FOR SELECT 1", "0A000", "unsupported statement: DeclareCursor"},
    {"DECLARE c BINARY NO SCROLL CURSOR WITH HOLD FOR SELECT 1", "0A000",
     "unsupported statement: DeclareCursor"},
    {"UNLISTEN *", "0A000", "unsupported statement: Unlisten"},
    {"NOTIFY c, 'payload'", "0A000", "unsupported statement: Notify"},
    {"CREATE EXTENSION vector", "0A000", "unsupported statement: CreateExtension"},
    {"CREATE OR REPLACE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()", "0A000",
     "CREATE TRIGGER not supported"},
    {"CREATE CONSTRAINT TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()", "0A000",
     "CREATE TRIGGER not supported"},
    {"create database d", "0A000", "unsupported statement: Createdb"},
    {"CREATE TABLESPACE ts LOCATION '/x'", "0A000", "unsupported statement: CreateTableSpace"},
    {"CREATE FOREIGN TABLE ft (id int) SERVER s", "0A000",
     "unsupported statement: CreateForeignTable"},
    {"CREATE TYPE s.mood AS ENUM ()", "0A000", "CREATE TYPE not supported"},
    {"CREATE TYPE pair AS (a int, b text)", "0A000", "unsupported statement: CompositeType"},
    {"CREATE TYPE r AS RANGE (subtype = float8)", "0A000", "unsupported statement: CreateRange"},
    {"CREATE TYPE shell", "0A000", "CREATE TYPE not supported"},
    {"CREATE TYPE box2 (INPUT = b_in, OUTPUT = b_out)", "0A000", "CREATE TYPE not supported"},
    {"ALTER SYSTEM RESET ALL", "0A000", "unsupported statement: AlterSystem"},
    {"CREATE FUNCTION f() RETURNS void AS $$ BEGIN END $$ LANGUAGE plpgsql", "0A000",
     "CREATE FUNCTION with language plpgsql not supported"},
    {"CREATE OR REPLACE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN END $$", "0A000",
     "CREATE FUNCTION with language plpgsql not supported"},
    {"CREATE FUNCTION f() RETURNS int LANGUAGE 'plpgsql' AS 'select 1'", "0A000",
     "CREATE FUNCTION with language plpgsql not supported"},
    {"CREATE FUNCTION f() RETURNS int LANGUAGE C AS 'lib', 'sym'", "0A000",
     "CREATE FUNCTION with language c not supported"},
    {"CREATE FUNCTION f(language text) RETURNS text LANGUAGE plv8 AS 'x'", "0A000",
     "CREATE FUNCTION with language plv8 not supported"},
    {"SET work_mem = '64MB'", "0A000", PARAM("work_mem")},
    {"SET SESSION statement_timeout TO 0", "0A000", PARAM("statement_timeout")},
    {"set local Lock_Timeout = 1", "0A000", PARAM("lock_timeout")},
    {"SET \"Work_Mem\" = 1", "0A000", PARAM("Work_Mem")},
    {"SET myapp.user_id = 42", "0A000", PARAM("myapp.user_id")},
    {"RESET work_mem", "0A000", PARAM("work_mem")},
    {"SET default_transaction_isolation = 'repeatable read'", "0A000",
     PARAM("default_transaction_isolation")},
    {"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "0A000", PARAM("TRANSACTION")},
    {"SET LOCAL TRANSACTION READ ONLY", "0A000", PARAM("TRANSACTION")},
    {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "0A000",
     "Unsupported isolation level: SERIALIZABLE"},
    {"SET TRANSACTION SNAPSHOT '00000003-0000001B-1'", "0A000", PARAM("TRANSACTION SNAPSHOT")},
    {"SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", "0A000",
     PARAM("SESSION CHARACTERISTICS")},
    {"SET SESSION AUTHORIZATION app", "0A000", PARAM("session_authorization")},
    {"RESET TRANSACTION ISOLATION LEVEL", "0A000", PARAM("transaction_isolation")},
    {"SET XML OPTION DOCUMENT", "0A000", PARAM("xmloption")},
    {"BEGIN ISOLATION LEVEL SERIALIZABLE", "0A000", "Unsupported isolation level: SERIALIZABLE"},
    {"START TRANSACTION READ WRITE, ISOLATION LEVEL SERIALIZABLE", "0A000",
     "Unsupported isolation level: SERIALIZABLE"},
    {"SHOW LC_CTYPE", "42704", "unrecognized configuration parameter \"lc_ctype\""},
    {"show \"LC_COLLATE\"", "42704", "unrecognized configuration parameter \"LC_COLLATE\""},
    {"CREATE INDEX i ON t (a)", "0A000", "unsupported mode. please use CREATE INDEX ASYNC."},
    {"create unique index on t (a)", "0A000", "unsupported mode. please use CREATE INDEX ASYNC."},
    {"CREATE INDEX CONCURRENTLY i ON t (a)", "0A000",
     "CONCURRENTLY not supported for CREATE INDEX"},
    {"CREATE SEQUENCE s", "0A000", SEQUENCE},
    {"CREATE SEQUENCE IF NOT EXISTS s START 10 CACHE 100", "0A000", SEQUENCE},
    {"CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, value text)", "0A000",
     IDENTITY},
    {"CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY (START WITH 5))", "0A000", IDENTITY},
    {"CREATE TABLE t (id integer GENERATED BY DEFAULT AS IDENTITY (CACHE 1) PRIMARY KEY)", "0A000",
     "datatype integer not supported, identity column type must be bigint"},
    {"CREATE TABLE t (v text, id int2 GENERATED ALWAYS AS IDENTITY (CACHE 65536))", "0A000",
     "datatype smallint not supported, identity column type must be bigint"},
    {"ALTER TABLE t ADD COLUMN seq2 bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 1)", "0A000",
     ADD_COL},
    {"ALTER TABLE t ADD COLUMN nn int NOT NULL DEFAULT 0", "0A000", ADD_COL},
    {"ALTER TABLE t ADD COLUMN df int DEFAULT 7", "0A000", ADD_COL},
    {"ALTER TABLE t ADD COLUMN ck int CHECK (ck > 0)", "0A000", ADD_COL},
    {"ALTER TABLE IF EXISTS ONLY t ADD uq int UNIQUE", "0A000", ADD_COL},
    {"ALTER TABLE t ADD COLUMN p uuid REFERENCES u(id)", "0A000", ADD_COL},
    {"ALTER TABLE t ADD CONSTRAINT pk PRIMARY KEY (id)", "0A000", ADD_CON},
    {"ALTER TABLE t ADD CONSTRAINT uq UNIQUE (v)", "0A000", ADD_CON},
    {"ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (p) REFERENCES u(id)", "0A000", ADD_CON},
    {"ALTER TABLE t ADD CHECK (a IS NOT NULL)", "0A000", ADD_CON},
    {"ALTER TABLE t ALTER COLUMN a TYPE xml", "0A000",
     "unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement"},
    {"ALTER TABLE t ADD COLUMN c text, ALTER a SET DATA TYPE varchar(20)", "0A000",
     "unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement"},
    {"ALTER TABLE t VALIDATE CONSTRAINT fk", "0A000",
     "unsupported ALTER TABLE VALIDATE CONSTRAINT statement"},
    /* What stock pg_dump sends, in its own words (pg_dump 15's strings). */
    {"SET statement_timeout = 0", "0A000", PARAM("statement_timeout")},
    {"SET lock_timeout = 0", "0A000", PARAM("lock_timeout")},
    {"SET idle_in_transaction_session_timeout = 0", "0A000",
     PARAM("idle_in_transaction_session_timeout")},
    {"SET synchronize_seqscans TO off", "0A000", PARAM("synchronize_seqscans")},
    {"SET row_security = off", "0A000", PARAM("row_security")},
    {"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", "0A000", PARAM("TRANSACTION")},
    {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE", "0A000",
     "Unsupported isolation level: SERIALIZABLE"},
    {"SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings "
     "WHERE name = 'restrict_nonsystem_relation_kind'",
     "0A000", PARAM("restrict_nonsystem_relation_kind")},
    {"SELECT pg_catalog.set_config(name, 'view', false) FROM pg_settings "
     "WHERE 'restrict_nonsystem_relation_kind' = name",
     "0A000", PARAM("restrict_nonsystem_relation_kind")},
    {"SELECT set_config('statement_timeout', '0', false)", "0A000", PARAM("statement_timeout")},
    {"select 1, PG_CATALOG.SET_CONFIG ( $$work_mem$$ , '1MB', true)", "0A000", PARAM("work_mem")},
    {"WITH x AS (SELECT set_config('myapp.tenant', '7', true)) SELECT * FROM x", "0A000",
     PARAM("myapp.tenant")},
    {"LOCK TABLE public.t IN ACCESS SHARE MODE", "0A000", "unsupported statement: Lock"},
    {"LOCK TABLE public.t IN ACCESS SHARE MODE NOWAIT", "0A000", "unsupported statement: Lock"},
    {"PREPARE dumpFunc(pg_catalog.oid) AS SELECT 1 FROM pg_catalog.pg_proc WHERE oid = $1", "0A000",
     "unsupported statement: Prepare"},
    {"prepare q AS SELECT 1", "0A000", "unsupported statement: Prepare"},
    /* Column types DSQL does not support, named as PostgreSQL displays them. */
    {"CREATE TABLE t (v money)", "0A000", "datatype money not supported"},
    {"CREATE TABLE t (id uuid, v xml)", "0A000", "datatype xml not supported"},
    {"CREATE TABLE t (v inet)", "0A000", "datatype inet not supported"},
    {"CREATE TABLE t (v cidr)", "0A000", "datatype cidr not supported"},
    {"CREATE TABLE t (v macaddr)", "0A000", "datatype macaddr not supported"},
    {"CREATE TABLE t (v point)", "0A000", "datatype point not supported"},
    {"CREATE TABLE t (v line)", "0A000", "datatype line not supported"},
    {"CREATE TABLE t (v lseg)", "0A000", "datatype lseg not supported"},
    {"CREATE TABLE t (v box)", "0A000", "datatype box not supported"},
    {"CREATE TABLE t (v path)", "0A000", "datatype path not supported"},
    {"CREATE TABLE t (v polygon)", "0A000", "datatype polygon not supported"},
    {"CREATE TABLE t (v circle)", "0A000", "datatype circle not supported"},
    {"CREATE TABLE t (v tsvector)", "0A000", "datatype tsvector not supported"},
    {"CREATE TABLE t (v tsquery)", "0A000", "datatype tsquery not supported"},
    {"CREATE TABLE t (v int4range)", "0A000", "datatype int4range not supported"},
    {"CREATE TABLE t (v tsrange)", "0A000", "datatype tsrange not supported"},
    {"CREATE TABLE t (v pg_lsn)", "0A000", "datatype pg_lsn not supported"},
    {"CREATE TABLE t (v bit(8))", "0A000", "datatype bit not supported"},
    {"CREATE TABLE t (v varbit(8))", "0A000", "datatype bit varying not supported"},
    {"CREATE TABLE t (v bit varying)", "0A000", "datatype bit varying not supported"},
    {"CREATE TABLE t (v int[])", "0A000", "datatype integer[] not supported"},
    {"CREATE TABLE t (v text[])", "0A000", "datatype text[] not supported"},
    {"CREATE TABLE t (v int ARRAY)", "0A000", "datatype integer[] not supported"},
    {"CREATE TABLE t (v double precision[][])", "0A000",
     "datatype double precision[] not supported"},
    {"CREATE TABLE t (v pg_catalog.money)", "0A000", "datatype money not supported"},
    {"CREATE TABLE t (v macaddr8)", "0A000", "datatype macaddr8 not supported"},
    {"CREATE TABLE t (v daterange)", "0A000", "datatype daterange not supported"},
    {"CREATE TABLE t (v int4multirange)", "0A000", "datatype int4multirange not supported"},
    {"CREATE TABLE t (v oid)", "0A000", "datatype oid not supported"},
    {"CREATE TABLE t (v regclass)", "0A000", "datatype regclass not supported"},
    {"CREATE TABLE t (v \"char\")", "0A000", "datatype \"char\" not supported"},
    {"CREATE TABLE t (v name)", "0A000", "datatype name not supported"},
    {"CREATE TABLE t (v jsonpath)", "0A000", "datatype jsonpath not supported"},
    {"CREATE TABLE t (v txid_snapshot)", "0A000", "datatype txid_snapshot not supported"},
    {"ALTER TABLE t ADD COLUMN bad_money money", "0A000", "datatype money not supported"},
    {"ALTER TABLE t ADD COLUMN bad_array text[]", "0A000", "datatype text[] not supported"},
    {"ALTER TABLE t ADD bad inet, ADD ok text", "0A000", "datatype inet not supported"},
    /* User-defined types: DSQL has none of its own. */
    {"ALTER TYPE mood ADD VALUE 'meh'", "0A000", "ALTER TYPE not supported"},
    {"ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'", "0A000", "ALTER TYPE not supported"},
    {"ALTER TYPE pair ADD ATTRIBUTE c int", "0A000", "ALTER TYPE not supported"},
    {"ALTER TYPE mood RENAME TO mood2", "0A000", "unsupported object in RENAME statement"},
    {"DROP TYPE IF EXISTS mood", "0A000", "unsupported object in DROP statement"},
    {"DROP TYPE a, b CASCADE", "0A000", "unsupported object in DROP statement"},
    /* Queries. */
    {"SELECT id FROM t WHERE id = 1 FOR SHARE", "0A000",
     "locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported"},
    {"SELECT id FROM t FOR NO KEY UPDATE NOWAIT", "0A000",
     "locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported"},
    {"SELECT * FROM (SELECT * FROM t FOR SHARE) s", "0A000",
     "locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported"},
    {"WITH c AS (SELECT * FROM t FOR UPDATE OF t FOR SHARE OF t) SELECT 1", "0A000",
     "locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported"},
    {"SELECT name FROM t TABLESAMPLE SYSTEM (1)", "0A000", "TABLESAMPLE clause not supported"},
    {"SELECT 1 FROM a JOIN b TABLESAMPLE BERNOULLI (5) REPEATABLE (1) ON true", "0A000",
     "TABLESAMPLE clause not supported"},
    {"UPDATE t SET v = 1 WHERE id IN (SELECT id FROM u TABLESAMPLE SYSTEM (1))", "0A000",
     "TABLESAMPLE clause not supported"},
    {"MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", "0A000",
     "unsupported statement type: MERGE"},
    {"EXPLAIN MERGE INTO t USING u ON true WHEN NOT MATCHED THEN DO NOTHING", "0A000",
     "unsupported statement type: MERGE"},
    {"SELECT to_tsvector('english', 'hello world')", "42704",
     "text search configuration \"english\" does not exist"},
    {"SELECT to_tsquery('english', 'hello & world')", "42704",
     "text search configuration \"english\" does not exist"},
    {"SELECT websearch_to_tsquery('simple', 'a b')", "42704",
     "text search configuration \"simple\" does not exist"},
    {"SELECT 1 WHERE to_tsvector('english', 'a') @@ to_tsquery('english', 'a')", "42704",
     "text search configuration \"english\" does not exist"},
    {"SELECT pg_catalog.plainto_tsquery('german'::regconfig, 'x')", "42704",
     "text search configuration \"german\" does not exist"},
    {"SELECT line('{1,2,3}')", "0A000", "datatype line not supported"},
    {"SELECT circle('<(0,0),1>'::text)", "0A000", "datatype circle not supported"},
    {"SELECT point(1, 2) FROM t", "0A000", "datatype point not supported"},
    {"SELECT 1 FROM t WHERE box(point(0, 0), point(1, 1)) IS NULL", "0A000",
     "datatype box not supported"},
    {"BEGIN ISOLATION LEVEL READ COMMITTED", "0A000",
     "Unsupported isolation level: READ COMMITTED"},
    {"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE", "0A000",
     "Unsupported isolation level: SERIALIZABLE"},
};

Test(classify, refusals_beyond_the_cases)
{
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        dsql_strict_error err;
        int v = check_alone(refusals[i].sql, &err);
        cr_expect_eq(v, DSQL_STRICT_REJECT, "%s: passed", refusals[i].sql);
        cr_expect_str_eq(err.sqlstate, refusals[i].sqlstate, "%s", refusals[i].sql);
        cr_expect_str_eq(err.message, refusals[i].message, "%s", refusals[i].sql);
    }
}

/*
 * rules.tsv and the classifier agree: every rule that the classifier applies answers at least
 * one statement of the table above with exactly the rule's SQLSTATE and message; the rules
 * other parts apply are named here with where their tests are.
 */
Test(classify, every_rule_of_the_table_is_exercised)
{
    static const enum rule_id elsewhere[] = {
        RULE_MULTIPLE_DDL,    RULE_DDL_AND_DML,     /* the session tests below */
        RULE_ROW_CAP,                               /* the rows tests below, test_lifecycle */
        RULE_DROP_PK_COLUMN,                        /* the backend module: test_conformance */
        RULE_OC000,           RULE_OC001,           /* the relay: test_conformance's two sessions */
        RULE_TXN_AGE,         RULE_CONNECTION_RATE, /* the relay and the front: test_lifecycle */
        RULE_WAIT_FOR_JOB_ID, RULE_WAIT_FOR_JOB_UNKNOWN, /* the backend: test_conformance */
    };
    for (int id = 0; id < RULE_COUNT; id++) {
        char state[6], msg[512];
        int skip = rule_grade(id) == 'U';
        for (size_t k = 0; k < sizeof elsewhere / sizeof elsewhere[0]; k++)
            skip |= elsewhere[k] == (enum rule_id)id;
        if (skip) {
            cr_assert_neq(rule_grade(id), 'U' + 1);
            continue;
        }
        cr_assert_eq(rule_format(id, "\x01", state, msg, sizeof msg), 0, "%s", rule_name(id));
        const char *hole = strchr(msg, '\x01');
        size_t pre = hole ? (size_t)(hole - msg) : strlen(msg);
        const char *post = hole ? hole + 1 : "";
        int seen = 0;
        for (size_t i = 0; i < sizeof refusals / sizeof refusals[0] && !seen; i++) {
            const char *m = refusals[i].message;
            size_t ml = strlen(m);
            seen = strcmp(refusals[i].sqlstate, state) == 0 && strncmp(m, msg, pre) == 0 &&
                   (hole ? ml >= pre + strlen(post) && strcmp(m + ml - strlen(post), post) == 0
                         : ml == pre);
        }
        cr_expect(seen, "rule %s (%s %s) answers no statement of the tests", rule_name(id), state,
                  msg);
    }
    /* undecided rules refuse nothing */
    char state[6], msg[64];
    cr_assert_eq(rule_format(RULE_EXECUTE, NULL, state, msg, sizeof msg), -1);
    cr_assert_eq(rule_format(RULE_COUNT, NULL, state, msg, sizeof msg), -1);
}

struct passing {
    const char *sql;
    enum dsql_strict_kind kind;
};

static const struct passing passes[] = {
    {"", DSQL_STRICT_EMPTY},
    {"-- only a comment", DSQL_STRICT_EMPTY},
    {"SELECT 1", DSQL_STRICT_OTHER},
    {"(SELECT 1)", DSQL_STRICT_OTHER},
    {"VALUES (1)", DSQL_STRICT_OTHER},
    {"select * from t where id = $1 for update", DSQL_STRICT_OTHER},
    {"SELECT a AS into_x, 'into' FROM t", DSQL_STRICT_OTHER},
    {"INSERT INTO t SELECT * FROM u", DSQL_STRICT_DML},
    {"insert into t values ($1, $2) on conflict (id) do nothing returning id", DSQL_STRICT_DML},
    {"UPDATE t SET a = 1", DSQL_STRICT_DML},
    {"DELETE FROM t", DSQL_STRICT_DML},
    {"WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d", DSQL_STRICT_DML},
    {"WITH x AS MATERIALIZED (SELECT 1) INSERT INTO t SELECT * FROM x", DSQL_STRICT_DML},
    {"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
     "SEARCH DEPTH FIRST BY n SET o SELECT * FROM r",
     DSQL_STRICT_OTHER},
    {"COPY t FROM STDIN", DSQL_STRICT_DML},
    {"COPY t (a, b) FROM STDIN WITH (FORMAT csv)", DSQL_STRICT_DML},
    {"COPY (SELECT * FROM t) TO STDOUT", DSQL_STRICT_OTHER},
    {"COPY t TO STDOUT", DSQL_STRICT_OTHER},
    {"EXPLAIN ANALYZE INSERT INTO t VALUES (1)", DSQL_STRICT_DML},
    {"EXPLAIN (ANALYZE, BUFFERS) DELETE FROM t", DSQL_STRICT_DML},
    {"EXPLAIN (ANALYZE false) DELETE FROM t", DSQL_STRICT_OTHER},
    {"EXPLAIN INSERT INTO t VALUES (1)", DSQL_STRICT_OTHER},
    {"BEGIN", DSQL_STRICT_BEGIN},
    {"begin work", DSQL_STRICT_BEGIN},
    {"BEGIN ISOLATION LEVEL REPEATABLE READ", DSQL_STRICT_BEGIN},
    {"START TRANSACTION", DSQL_STRICT_BEGIN},
    {"COMMIT", DSQL_STRICT_COMMIT},
    {"END TRANSACTION", DSQL_STRICT_COMMIT},
    {"COMMIT AND NO CHAIN", DSQL_STRICT_COMMIT},
    {"ROLLBACK", DSQL_STRICT_ROLLBACK},
    {"ABORT", DSQL_STRICT_ROLLBACK},
    {"CREATE TABLE t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL)",
     DSQL_STRICT_DDL},
    {"CREATE TABLE serial (serial int, b \"Serial\", c pg_catalog.int4)", DSQL_STRICT_DDL},
    {"CREATE TABLE t (id int PRIMARY KEY, p uuid REFERENCES u(id) DEFERRABLE INITIALLY DEFERRED)",
     DSQL_STRICT_DDL},
    {"CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 1) PRIMARY KEY)",
     DSQL_STRICT_DDL},
    {"CREATE TABLE t (id int8 GENERATED ALWAYS AS IDENTITY (START WITH 10 CACHE 70000))",
     DSQL_STRICT_DDL},
    {"CREATE TABLE t (a int GENERATED ALWAYS AS (b * 2) STORED, b int)", DSQL_STRICT_DDL},
    {"CREATE INDEX ASYNC i ON t (a)", DSQL_STRICT_DDL},
    {"CREATE UNIQUE INDEX ASYNC IF NOT EXISTS i ON t (a) NULLS NOT DISTINCT", DSQL_STRICT_DDL},
    {"CREATE INDEX ASYNC ON t (a)", DSQL_STRICT_DDL},
    {"CREATE SCHEMA s", DSQL_STRICT_DDL},
    {"CREATE VIEW v AS SELECT 1", DSQL_STRICT_DDL},
    {"CREATE DOMAIN d AS int", DSQL_STRICT_DDL},
    {"CREATE ROLE app WITH LOGIN", DSQL_STRICT_DDL},
    {"CREATE SEQUENCE s CACHE 65536", DSQL_STRICT_DDL},
    {"CREATE SEQUENCE s CACHE 1", DSQL_STRICT_DDL},
    {"CREATE SEQUENCE s CACHE 4294967296", DSQL_STRICT_DDL},
    {"CREATE SEQUENCE s CACHE 0x10000", DSQL_STRICT_OTHER}, /* PostgreSQL 16 syntax: 42601 here */
    {"CREATE FUNCTION f() RETURNS int LANGUAGE SQL AS $$ SELECT 1 $$", DSQL_STRICT_DDL},
    {"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END", DSQL_STRICT_DDL},
    {"CREATE FUNCTION f(language text) RETURNS text LANGUAGE sql RETURN language", DSQL_STRICT_DDL},
    {"CREATE FUNCTION f() RETURNS int RETURN 1", DSQL_STRICT_DDL},
    {"ALTER TABLE t ADD COLUMN c text", DSQL_STRICT_DDL},
    {"ALTER TABLE t ADD COLUMN d text STORAGE PLAIN", DSQL_STRICT_OTHER}, /* as above */
    {"ALTER TABLE t ADD e timestamp with time zone NULL", DSQL_STRICT_DDL},
    {"ALTER TABLE t ALTER COLUMN a SET STORAGE PLAIN", DSQL_STRICT_DDL},
    {"ALTER TABLE t ALTER COLUMN a SET DEFAULT 1", DSQL_STRICT_DDL},
    {"ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (p) REFERENCES u(id) NOT VALID", DSQL_STRICT_DDL},
    {"ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID", DSQL_STRICT_DDL},
    {"ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i", DSQL_STRICT_DDL},
    {"ALTER TABLE ASYNC t VALIDATE CONSTRAINT f", DSQL_STRICT_DDL},
    {"ALTER TABLE t DROP COLUMN b", DSQL_STRICT_DDL},
    {"ALTER TABLE t RENAME TO u", DSQL_STRICT_DDL},
    {"DROP TABLE t", DSQL_STRICT_DDL},
    {"GRANT USAGE, CREATE ON SCHEMA myschema TO app", DSQL_STRICT_OTHER},
    {"REVOKE ALL ON t FROM app", DSQL_STRICT_OTHER},
    {"DO $$BEGIN RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = E'x'; END$$",
     DSQL_STRICT_OTHER},
    {"SET search_path = myschema, public", DSQL_STRICT_OTHER},
    {"SET TIME ZONE 'UTC'", DSQL_STRICT_OTHER},
    {"SET NAMES 'UTF8'", DSQL_STRICT_OTHER},
    {"SET SCHEMA 'myschema'", DSQL_STRICT_OTHER},
    {"SET ROLE app", DSQL_STRICT_OTHER},
    {"SET SESSION ROLE app", DSQL_STRICT_OTHER},
    {"SET enable_seqscan = off", DSQL_STRICT_OTHER},
    {"SET LOCAL enable_hashjoin TO false", DSQL_STRICT_OTHER},
    {"set DateStyle to ISO", DSQL_STRICT_OTHER},
    {"SET \"TimeZone\" = 'UTC'", DSQL_STRICT_OTHER},
    {"SET application_name = 'x'", DSQL_STRICT_OTHER},
    {"SET extra_float_digits = 3", DSQL_STRICT_OTHER},
    {"SET IntervalStyle = postgres", DSQL_STRICT_OTHER},
    {"SET client_encoding TO 'UTF8'", DSQL_STRICT_OTHER},
    {"SET disable_sync_create_index = on", DSQL_STRICT_OTHER},
    {"SET CONSTRAINTS ALL DEFERRED", DSQL_STRICT_OTHER},
    {"RESET ALL", DSQL_STRICT_OTHER},
    {"RESET search_path", DSQL_STRICT_OTHER},
    {"RESET TIME ZONE", DSQL_STRICT_OTHER},
    {"SHOW server_version", DSQL_STRICT_OTHER},
    {"SHOW transaction_isolation", DSQL_STRICT_OTHER},
    {"SHOW ALL", DSQL_STRICT_OTHER},
    {"ANALYZE t", DSQL_STRICT_OTHER},
    {"CALL p()", DSQL_STRICT_OTHER},
    {"SELECT pg_catalog.set_config('search_path', '', false)", DSQL_STRICT_OTHER},
    {"SELECT set_config('Application_Name', 'x', false), 'set_config(''work_mem'''",
     DSQL_STRICT_OTHER},
    {"SELECT set_config(n, 'x', false) FROM (VALUES ('search_path')) v(n)", DSQL_STRICT_OTHER},
    {"SELECT name FROM pg_settings WHERE name = 'work_mem'", DSQL_STRICT_OTHER},
    {"SELECT my_set_config('work_mem', 1)", DSQL_STRICT_OTHER},
    {"PREPARE TRANSACTION 'g'", DSQL_STRICT_OTHER},
    {"EXECUTE q(1)", DSQL_STRICT_OTHER},
    {"DEALLOCATE ALL", DSQL_STRICT_OTHER},
    /* Supported types, their aliases, domains and types of other schemas; runtime uses. */
    {"CREATE TABLE t (c_smallint smallint, c_integer integer, c_bigint bigint, c_real real, "
     "c_double double precision, c_numeric numeric, c_numeric_ps numeric(18,6), "
     "c_decimal decimal(10,2), c_char character(10), c_varchar character varying(20), "
     "c_bpchar bpchar(5), c_text text, c_date date, c_time time, c_timetz time with time zone, "
     "c_timestamp timestamp, c_timestamptz timestamp with time zone, c_interval interval, "
     "c_boolean boolean, c_bytea bytea, c_uuid uuid, c_json json, c_jsonb jsonb)",
     DSQL_STRICT_DDL},
    {"CREATE TABLE t (c_int2 int2, c_int4 int4, c_int8 int8, c_float4 float4, c_float8 float8, "
     "c_bool bool, c_varchar varchar(5), c_char char(5), c_dec dec, c_timetz timetz, "
     "c_timestamptz timestamptz, c_float float, c_interval interval day to second)",
     DSQL_STRICT_DDL},
    {"CREATE TABLE t (m mood_domain, n myschema.money, o text COLLATE \"C\")", DSQL_STRICT_DDL},
    {"CREATE DOMAIN d AS text CHECK (VALUE IN ('sad', 'ok'))", DSQL_STRICT_DDL},
    {"SELECT string_to_array('1,2,3', ','), '127.0.0.1'::inet, ARRAY[1, 2]::int[]",
     DSQL_STRICT_OTHER},
    {"SELECT '{\"a\":1}'::jsonb ->> 'a'", DSQL_STRICT_OTHER},
    {"SELECT line, circle FROM shapes", DSQL_STRICT_OTHER},
    {"SELECT my.line('x'), ts_rank(v, q) FROM t", DSQL_STRICT_OTHER},
    {"SELECT to_tsvector(body) FROM t", DSQL_STRICT_OTHER},
    {"SELECT id FROM t WHERE id = 1 FOR UPDATE", DSQL_STRICT_OTHER},
    {"SELECT id FROM t WHERE id = 1 FOR KEY SHARE SKIP LOCKED", DSQL_STRICT_OTHER},
    {"ALTER TABLE t DROP COLUMN b, ALTER COLUMN a SET DEFAULT 2", DSQL_STRICT_DDL},
    {"DROP DOMAIN d", DSQL_STRICT_DDL},
    {"ALTER DOMAIN d RENAME TO e", DSQL_STRICT_DDL},
    {"BEGIN READ ONLY", DSQL_STRICT_BEGIN},
    {"START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE", DSQL_STRICT_BEGIN},
    {"CALL sys.wait_for_job('qfzv5uemkrg2lbczil2fim3o2q')", DSQL_STRICT_OTHER},
};

Test(classify, what_dsql_accepts_passes)
{
    for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++) {
        dsql_strict_stmt st;
        classify(passes[i].sql, &st);
        cr_expect_not(st.rejected, "%s: refused with %s %s", passes[i].sql, st.error.sqlstate,
                      st.error.message);
        cr_expect_eq(st.kind, passes[i].kind, "%s: kind %d, expected %d", passes[i].sql, st.kind,
                     passes[i].kind);
    }
}

Test(classify, async_keyword_and_chain)
{
    dsql_strict_stmt st;
    const char *q = "CREATE UNIQUE INDEX  async i ON t (a)";
    classify(q, &st);
    cr_assert_eq(st.async_len, 5);
    cr_assert(strncmp(q + st.async_off, "async", 5) == 0);
    q = "ALTER TABLE ASYNC t VALIDATE CONSTRAINT f";
    classify(q, &st);
    cr_assert(strncmp(q + st.async_off, "ASYNC", st.async_len) == 0 && st.async_len == 5);
    classify("CREATE TABLE async (id int)", &st);
    cr_assert_eq(st.async_len, 0);
    classify("COMMIT AND CHAIN", &st);
    cr_assert(st.chain);
    classify("ROLLBACK WORK AND CHAIN", &st);
    cr_assert(st.chain && st.kind == DSQL_STRICT_ROLLBACK);
    classify("COMMIT AND NO CHAIN", &st);
    cr_assert_not(st.chain);
}

Test(classify, identifiers_are_cut_like_postgresql)
{
    dsql_strict_error err;
    char sql[256], name[128];
    /* 70 ASCII letters: cut to 63 */
    memset(name, 'a', 70);
    name[70] = '\0';
    snprintf(sql, sizeof sql, "SET %s = 1", name);
    cr_assert_eq(check_alone(sql, &err), DSQL_STRICT_REJECT);
    name[63] = '\0';
    char want[200];
    snprintf(want, sizeof want, "setting configuration parameter \"%s\" not supported", name);
    cr_assert_str_eq(err.message, want);
    /* 62 letters then a two-byte character: the character does not fit and goes whole */
    memset(name, 'b', 62);
    memcpy(name + 62, "\xc3\xa9x", 4);
    snprintf(sql, sizeof sql, "SET \"%s\" = 1", name);
    cr_assert_eq(check_alone(sql, &err), DSQL_STRICT_REJECT);
    name[62] = '\0';
    snprintf(want, sizeof want, "setting configuration parameter \"%s\" not supported", name);
    cr_assert_str_eq(err.message, want);
}

/* Parses and classifies text held in a buffer of exactly its length (no NUL after it). */
static void split_and_classify_exact(const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    cr_assert_not_null(copy);
    memcpy(copy, text, len);
    copy[len] = '\0';
    dsql_strict_stmt *st = NULL;
    size_t n = 0;
    int rc = dsql_strict_parse(copy, len, &st, &n);
    cr_assert(rc == 0 || rc == 1);
    for (size_t i = 0; i < n; i++) {
        cr_assert_leq(st[i].off + st[i].len, len);
        cr_assert_lt(strlen(st[i].error.message), sizeof st[i].error.message);
        cr_assert(st[i].async_len == 0 || st[i].async_off + st[i].async_len <= len);
    }
    free(st);
    dsql_strict_stmt one;
    dsql_strict_classify(text, len, &one);
    free(copy);
}

/* Every prefix of every sample, so a statement cut anywhere (mid-quote, mid-comment) is safe. */
Test(classify, every_prefix_is_safe)
{
    static const char *const extra[] = {
        "SELECT E'\\",
        "SELECT $a$ x $a",
        "SELECT \"x",
        "/* /* */",
        "U&'x",
        "SELECT $",
        "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY (CACHE",
        "SET a.b.",
        "\xff\xfe;\x80",
        "CREATE FUNCTION f() BEGIN ATOMIC CASE END; END; SELECT (((",
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
        for (size_t n = 0; n <= strlen(refusals[i].sql); n++)
            split_and_classify_exact(refusals[i].sql, n);
    for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++)
        for (size_t n = 0; n <= strlen(passes[i].sql); n++)
            split_and_classify_exact(passes[i].sql, n);
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        for (size_t n = 0; n <= strlen(extra[i]); n++)
            split_and_classify_exact(extra[i], n);
    /* a pseudo-random byte soup of SQL's special characters */
    static const char alphabet[] = "'\"$-/*();\\eE&uU ab1.,";
    char soup[64];
    unsigned x = 12345;
    for (int round = 0; round < 3000; round++) {
        for (size_t k = 0; k < sizeof soup; k++) {
            x = x * 1103515245u + 12345u;
            soup[k] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
        }
        split_and_classify_exact(soup, sizeof soup);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Transaction rules                                                                           */
/* ------------------------------------------------------------------------------------------ */

Test(session, multi_statement_query_is_one_transaction)
{
    dsql_strict_session s;
    dsql_strict_error err;
    dsql_strict_session_init(&s);
    cr_assert_eq(run_query(&s, "CREATE TABLE a (id int); CREATE TABLE b (id int)", &err), 1);
    cr_assert_str_eq(err.message, "multiple ddl statements not supported in a transaction");
    dsql_strict_ready(&s, 'I');
    cr_assert_eq(run_query(&s, "CREATE TABLE c (id int); INSERT INTO c (id) VALUES (1)", &err), 1);
    cr_assert_str_eq(err.message, "ddl and dml are not supported in the same transaction");
    dsql_strict_ready(&s, 'I');
    cr_assert_eq(run_query(&s, "CREATE TABLE d (id int); CREATE INDEX ASYNC i ON d (id)", &err), 1);
    cr_assert_str_eq(err.message, "multiple ddl statements not supported in a transaction");
    dsql_strict_ready(&s, 'I');
    cr_assert_eq(run_query(&s, "BEGIN; CREATE INDEX ASYNC i ON m (a); COMMIT", &err), -1);
    cr_assert_eq(s.status, 'I');
    cr_assert_eq(run_query(&s, "BEGIN; INSERT INTO m (id, a) VALUES (1, 1); COMMIT", &err), -1);
    /* a COMMIT inside the string ends the implicit transaction */
    cr_assert_eq(run_query(&s, "INSERT INTO m VALUES (1); COMMIT; CREATE TABLE e (id int)", &err),
                 -1);
    dsql_strict_ready(&s, 'I');
    /* statements before a BEGIN join its block */
    cr_assert_eq(run_query(&s, "INSERT INTO m VALUES (1); BEGIN; CREATE TABLE f (id int)", &err),
                 2);
    cr_assert_str_eq(err.message, "ddl and dml are not supported in the same transaction");
}

Test(session, ddl_after_dml_and_resets)
{
    dsql_strict_session s;
    dsql_strict_error err;
    dsql_strict_session_init(&s);
    /* separate autocommit statements: each its own transaction */
    cr_assert_eq(run_query(&s, "CREATE TABLE a (id int)", &err), -1);
    dsql_strict_ready(&s, 'I');
    cr_assert_eq(run_query(&s, "INSERT INTO a VALUES (1)", &err), -1);
    dsql_strict_ready(&s, 'I');
    cr_assert_eq(run_query(&s, "CREATE TABLE b (id int)", &err), -1);
    dsql_strict_ready(&s, 'I');
    /* DML then DDL in a block */
    cr_assert_eq(run_query(&s, "BEGIN", &err), -1);
    dsql_strict_ready(&s, 'T');
    cr_assert_eq(run_query(&s, "UPDATE a SET id = 2", &err), -1);
    dsql_strict_ready(&s, 'T');
    cr_assert_eq(run_query(&s, "DROP TABLE b", &err), 0);
    cr_assert_str_eq(err.sqlstate, "0A000");
    cr_assert_str_eq(err.message, "ddl and dml are not supported in the same transaction");
    cr_assert_eq(s.status, 'E');
    dsql_strict_ready(&s, 'E');
    /* in a failed block everything passes: the backend answers 25P02 itself */
    cr_assert_eq(run_query(&s, "CREATE TABLE c (id int)", &err), -1);
    cr_assert_eq(run_query(&s, "ROLLBACK", &err), -1);
    cr_assert_eq(s.status, 'I');
    dsql_strict_ready(&s, 'I');
    /* COMMIT AND CHAIN starts a fresh block */
    cr_assert_eq(run_query(&s,
                           "BEGIN; CREATE TABLE d (id int); COMMIT AND CHAIN; "
                           "CREATE TABLE e (id int)",
                           &err),
                 -1);
    cr_assert_eq(s.status, 'T');
    /* ReadyForQuery resynchronises */
    dsql_strict_ready(&s, 'I');
    cr_assert_eq(s.status, 'I');
    cr_assert_eq(s.ddl, 0);
    dsql_strict_ready(&s, 'x'); /* not a status: ignored */
    cr_assert_eq(s.status, 'I');
}

Test(session, refusal_outside_a_block_aborts_nothing)
{
    dsql_strict_session s;
    dsql_strict_error err;
    dsql_strict_session_init(&s);
    cr_assert_eq(run_query(&s, "TRUNCATE baseline_parent", &err), 0);
    cr_assert_eq(s.status, 'I');
    dsql_strict_ready(&s, 'I');
    cr_assert_eq(run_query(&s, "SELECT 1", &err), -1);
    cr_assert_eq(run_query(&s, "BEGIN; TRUNCATE t", &err), 1);
    cr_assert_eq(s.status, 'E');
}

/* ------------------------------------------------------------------------------------------ */
/* Row cap                                                                                     */
/* ------------------------------------------------------------------------------------------ */

Test(rows, exactly_3000_passes_3001_does_not)
{
    dsql_strict_session s;
    dsql_strict_error err;
    dsql_strict_session_init(&s);
    dsql_strict_ready(&s, 'T');
    cr_assert_eq(dsql_strict_command_complete(&s, "INSERT 0 3000", &err), DSQL_STRICT_PASS);
    cr_assert_eq(dsql_strict_command_complete(&s, "SELECT 5000", &err), DSQL_STRICT_PASS);
    cr_assert_eq(dsql_strict_command_complete(&s, "UPDATE 0", &err), DSQL_STRICT_PASS);
    cr_assert_eq(dsql_strict_command_complete(&s, "DELETE 1", &err), DSQL_STRICT_REJECT);
    cr_assert_str_eq(err.sqlstate, "54000");
    cr_assert_str_eq(err.message, "transaction row limit exceeded");
    /* a new transaction starts from zero */
    dsql_strict_ready(&s, 'I');
    cr_assert_eq(s.rows, 0);
    cr_assert_eq(dsql_strict_command_complete(&s, "INSERT 0 3001", &err), DSQL_STRICT_REJECT);
    dsql_strict_ready(&s, 'I');
    cr_assert_eq(dsql_strict_command_complete(&s, "MERGE 3001", &err), DSQL_STRICT_REJECT);
    dsql_strict_ready(&s, 'I');
    /* rows add up within a transaction */
    dsql_strict_ready(&s, 'T');
    cr_assert_eq(dsql_strict_command_complete(&s, "INSERT 0 1500", &err), DSQL_STRICT_PASS);
    cr_assert_eq(dsql_strict_command_complete(&s, "UPDATE 1500", &err), DSQL_STRICT_PASS);
    cr_assert_eq(dsql_strict_command_complete(&s, "INSERT 0 1", &err), DSQL_STRICT_REJECT);
    /* COMMIT resets too */
    dsql_strict_stmt st;
    classify("COMMIT", &st);
    cr_assert_eq(dsql_strict_admit(&s, &st, &err), DSQL_STRICT_PASS);
    cr_assert_eq(s.rows, 0);
}

Test(rows, copy_counts_only_when_writing)
{
    dsql_strict_session s;
    dsql_strict_error err;
    dsql_strict_session_init(&s);
    cr_assert_eq(dsql_strict_command_complete(&s, "COPY 5000", &err), DSQL_STRICT_PASS);
    dsql_strict_copy_in(&s);
    cr_assert_eq(dsql_strict_command_complete(&s, "COPY 3001", &err), DSQL_STRICT_REJECT);
    dsql_strict_ready(&s, 'I');
    /* a failed block counts nothing */
    dsql_strict_ready(&s, 'E');
    cr_assert_eq(dsql_strict_command_complete(&s, "INSERT 0 9000", &err), DSQL_STRICT_PASS);
    /* garbage is not a count */
    dsql_strict_ready(&s, 'I');
    cr_assert_eq(dsql_strict_command_complete(&s, "INSERT 0 12x", &err), DSQL_STRICT_PASS);
    cr_assert_eq(dsql_strict_command_complete(&s, "INSERT", &err), DSQL_STRICT_PASS);
    cr_assert_eq(dsql_strict_command_complete(&s, NULL, &err), DSQL_STRICT_PASS);
    cr_assert_eq(s.rows, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* The DO statement, offline                                                                   */
/* ------------------------------------------------------------------------------------------ */

static dsql_strict_error mkerr(const char *state, const char *msg)
{
    dsql_strict_error e;
    memset(&e, 0, sizeof e);
    snprintf(e.sqlstate, sizeof e.sqlstate, "%s", state);
    snprintf(e.message, sizeof e.message, "%s", msg);
    return e;
}

Test(raise, text_and_tag)
{
    char buf[DSQL_STRICT_RAISE_MAX];
    dsql_strict_error e = mkerr("0A000", "it's a \\ test");
    size_t n = dsql_strict_raise_sql(&e, buf, sizeof buf);
    cr_assert_str_eq(buf, "DO $dsql0$BEGIN RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = "
                          "E'it''s a \\\\ test'; END$dsql0$");
    cr_assert_eq(n, strlen(buf));
    e = mkerr("0A000", "has $dsql0$ and $dsql1$");
    dsql_strict_raise_sql(&e, buf, sizeof buf);
    cr_assert(strncmp(buf, "DO $dsql2$", 10) == 0, "%s", buf);
    /* the relay's own DO passes the classifier and splits as one statement */
    dsql_strict_stmt st;
    classify(buf, &st);
    cr_assert_not(st.rejected);
    dsql_strict_stmt *all;
    size_t count;
    cr_assert_eq(dsql_strict_parse(buf, strlen(buf), &all, &count), 0);
    cr_assert_eq(count, 1);
    free(all);
    /* bad SQLSTATEs and short buffers give nothing */
    e = mkerr("0a000", "x");
    cr_assert_eq(dsql_strict_raise_sql(&e, buf, sizeof buf), 0);
    e = mkerr("0A00", "x");
    cr_assert_eq(dsql_strict_raise_sql(&e, buf, sizeof buf), 0);
    e = mkerr("0A000", "x");
    cr_assert_eq(dsql_strict_raise_sql(&e, buf, 20), 0);
    cr_assert_eq(dsql_strict_raise_sql(NULL, buf, sizeof buf), 0);
    /* the longest message, all quotes, fits the documented maximum */
    memset(e.message, '\'', sizeof e.message - 1);
    e.message[sizeof e.message - 1] = '\0';
    cr_assert_gt(dsql_strict_raise_sql(&e, buf, sizeof buf), 2 * (sizeof e.message - 1));
}

/* ------------------------------------------------------------------------------------------ */
/* A throwaway PostgreSQL                                                                      */
/* ------------------------------------------------------------------------------------------ */

struct pg {
    char bindir[512];
    char dir[64];
    uid_t uid;
    gid_t gid;
};

/* The installed server's bindir: DSQLAUTH_PG_BINDIR, else the newest /usr/lib/postgresql/N. */
static void find_bindir(struct pg *pg)
{
    const char *env = getenv("DSQLAUTH_PG_BINDIR");
    glob_t g;
    int best = -1;
    if (env && *env) {
        snprintf(pg->bindir, sizeof pg->bindir, "%s", env);
        return;
    }
    pg->bindir[0] = '\0';
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            int v = atoi(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"));
            if (v > best) {
                best = v;
                snprintf(pg->bindir, sizeof pg->bindir, "%.*s", (int)(strlen(g.gl_pathv[i]) - 7),
                         g.gl_pathv[i]);
            }
        }
        globfree(&g);
    }
    cr_assert(pg->bindir[0], "no PostgreSQL server found (install postgresql, or set "
                             "DSQLAUTH_PG_BINDIR)");
}

/* Runs bindir/prog with args as the server's user; output goes to dir/log. */
static int run_pg(const struct pg *pg, const char *prog, const char *const *args)
{
    char path[600], log[128];
    const char *argv[16];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", pg->bindir, prog);
    snprintf(log, sizeof log, "%s/tool.log", pg->dir);
    argv[n++] = path;
    for (; *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        FILE *f = freopen(log, "a", stdout);
        if (f == NULL || dup2(fileno(stdout), 2) < 0)
            _exit(126);
        if (geteuid() == 0 &&
            (setgroups(0, NULL) != 0 || setgid(pg->gid) != 0 || setuid(pg->uid) != 0))
            _exit(126);
        setenv("LC_ALL", "C", 1);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void pg_stop(struct pg *pg)
{
    char data[128];
    snprintf(data, sizeof data, "%s/data", pg->dir);
    const char *args[] = {"-D", data, "-m", "immediate", "-w", "-s", "stop", NULL};
    run_pg(pg, "pg_ctl", args);
    nftw(pg->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* initdb in a temporary directory and start a server on a Unix socket there, nothing else. */
static void pg_start(struct pg *pg)
{
    char data[128], opts[256];
    find_bindir(pg);
    snprintf(pg->dir, sizeof pg->dir, "/tmp/dsqlstrict.XXXXXX");
    cr_assert_not_null(mkdtemp(pg->dir));
    pg->uid = geteuid();
    pg->gid = getegid();
    if (pg->uid == 0) { /* the server refuses to run as root */
        struct passwd *pw = getpwnam("postgres");
        if (pw == NULL)
            pw = getpwnam("nobody");
        cr_assert_not_null(pw, "running as root and no unprivileged user to run PostgreSQL as");
        pg->uid = pw->pw_uid;
        pg->gid = pw->pw_gid;
        cr_assert_eq(chown(pg->dir, pg->uid, pg->gid), 0);
    }
    snprintf(data, sizeof data, "%s/data", pg->dir);
    const char *initdb[] = {"-D", data,   "-U",          "strict",    "-A", "trust",
                            "-E", "UTF8", "--no-locale", "--no-sync", NULL};
    cr_assert_eq(run_pg(pg, "initdb", initdb), 0, "initdb failed: see %s/tool.log", pg->dir);
    snprintf(opts, sizeof opts, "-k %s -c listen_addresses='' -c fsync=off", pg->dir);
    const char *start[] = {"-D", data, "-w", "-s", "-l", "server.log", "-o", opts, "start", NULL};
    char logpath[128];
    snprintf(logpath, sizeof logpath, "%s/server.log", pg->dir);
    start[5] = logpath;
    if (run_pg(pg, "pg_ctl", start) != 0) {
        pg_stop(pg);
        cr_assert_fail("pg_ctl start failed");
    }
}

static PGconn *pg_connect(const struct pg *pg)
{
    char conninfo[256];
    snprintf(conninfo, sizeof conninfo, "host=%s user=strict dbname=postgres", pg->dir);
    PGconn *conn = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(conn), CONNECTION_OK, "%s", PQerrorMessage(conn));
    return conn;
}

static char rfq_status(PGconn *conn)
{
    switch (PQtransactionStatus(conn)) {
    case PQTRANS_INTRANS:
        return 'T';
    case PQTRANS_INERROR:
        return 'E';
    default:
        return 'I';
    }
}

/* Runs sql; writes "ok <tag>" or "error <SQLSTATE> <primary message>" into out. */
static void exec_answer(PGconn *conn, const char *sql, char *out, size_t size)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        snprintf(out, size, "ok %s", PQcmdStatus(r));
    else
        snprintf(out, size, "error %s %s", PQresultErrorField(r, PG_DIAG_SQLSTATE),
                 PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
    PQclear(r);
}

/* The parser finds as many statements as the server runs, for queries the server accepts. */
static void expect_split_matches_server(PGconn *conn)
{
    static const char *const queries[] = {
        "SELECT 'a;b', 'it''s;'; SELECT \"x;\"\"y\" FROM (SELECT 1 AS \"x;\"\"y\") s",
        "SELECT E'\\';'; SELECT e'x\\\\'; SELECT 'x\\'; SELECT 2",
        "SELECT $$a;b$$; SELECT $tag$ $$; $x$ ;$tag$; SELECT 3",
        "SELECT 1 AS a$b; SELECT $q1$x;$q1$",
        "-- a; comment\nSELECT 1 -- x;\n; /* a /* nested; */ still; */ SELECT 2",
        "SELECT 1 - -2; SELECT 3 /**/ / 1",
        "SELECT U&'d;' , B'1', X'1F', N'n;'; SELECT 3",
        "SELECT ';' ;;; SELECT 2;",
        "CREATE FUNCTION f_atomic() RETURNS int LANGUAGE sql BEGIN ATOMIC "
        "SELECT CASE WHEN true THEN 1 END; SELECT 2; END; SELECT f_atomic(); "
        "DROP FUNCTION f_atomic()",
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        dsql_strict_stmt *stmts;
        size_t ours, theirs = 0;
        cr_assert_eq(dsql_strict_parse(queries[i], strlen(queries[i]), &stmts, &ours), 0);
        free(stmts);
        cr_assert(PQsendQuery(conn, queries[i]), "%s", PQerrorMessage(conn));
        PGresult *r;
        while ((r = PQgetResult(conn)) != NULL) {
            ExecStatusType st = PQresultStatus(r);
            cr_expect(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", queries[i],
                      PQresultErrorMessage(r));
            theirs++;
            PQclear(r);
        }
        cr_expect_eq(ours, theirs, "%s: we split %zu, the server ran %zu", queries[i], ours,
                     theirs);
    }
}

Test(pg, raise_and_splitting_match_the_server, .timeout = 120)
{
    static const char *const messages[] = {
        "unsupported transaction statement: SAVEPOINT",
        "setting configuration parameter \"TRANSACTION\" not supported",
        "type \"serial\" does not exist",
        "it's ''quoted'' and \\back\\slashed\\",
        "dollars $$ $dsql0$ $dsql1$ $ $$$",
        "percent % %s %% %d",
        "E'not an escape' \\n \\x41",
        "unicode: \xc3\xbc"
        "n\xc3\xaf"
        "c\xc3\xb6"
        "d\xc3\xa9 \xe2\x9c\x93",
        "END$$; SELECT 1; --",
    };
    static const char *const states[] = {"0A000", "42704", "54000", "25P02", "XX000", "P0001"};
    struct pg pg;
    pg_start(&pg);
    PGconn *conn = pg_connect(&pg);
    char buf[DSQL_STRICT_RAISE_MAX], got[600], want[600];
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
        for (size_t j = 0; j < sizeof states / sizeof states[0]; j++) {
            dsql_strict_error e = mkerr(states[j], messages[i]);
            cr_assert_gt(dsql_strict_raise_sql(&e, buf, sizeof buf), 0);
            exec_answer(conn, buf, got, sizeof got);
            snprintf(want, sizeof want, "error %s %s", states[j], messages[i]);
            cr_expect_str_eq(got, want, "DO text: %s", buf);
        }
    }
    /* the longest message, all quotes */
    dsql_strict_error e = mkerr("0A000", "");
    memset(e.message, '\'', sizeof e.message - 1);
    e.message[sizeof e.message - 1] = '\0';
    cr_assert_gt(dsql_strict_raise_sql(&e, buf, sizeof buf), 0);
    exec_answer(conn, buf, got, sizeof got);
    snprintf(want, sizeof want, "error 0A000 %s", e.message);
    cr_expect_str_eq(got, want);
    /* inside a block the raise fails the block; outside it leaves nothing open */
    exec_answer(conn, "BEGIN", got, sizeof got);
    e = mkerr("0A000", "unsupported statement: Truncate");
    dsql_strict_raise_sql(&e, buf, sizeof buf);
    exec_answer(conn, buf, got, sizeof got);
    cr_expect_eq(rfq_status(conn), 'E');
    exec_answer(conn, "SELECT 1", got, sizeof got);
    cr_expect_str_eq(got, "error 25P02 " ABORTED_MSG);
    exec_answer(conn, "ROLLBACK", got, sizeof got);
    exec_answer(conn, buf, got, sizeof got);
    cr_expect_eq(rfq_status(conn), 'I');
    expect_split_matches_server(conn);
    PQfinish(conn);
    pg_stop(&pg);
}

/*
 * The relay's part, as this test plays it: each step is one simple Query. A refused statement
 * is replaced by the raise; DML outside a block runs inside a BEGIN the relay adds, so that a
 * row-cap breach raises before anything commits; ReadyForQuery resynchronises the session.
 */
static void relay_step(PGconn *conn, dsql_strict_session *s, const char *sql, char *got,
                       size_t size)
{
    char buf[DSQL_STRICT_RAISE_MAX], ignored[600];
    dsql_strict_stmt st;
    dsql_strict_error err;
    if (dsql_strict_check(s, sql, strlen(sql), &st, &err) == DSQL_STRICT_REJECT) {
        cr_assert_gt(dsql_strict_raise_sql(&err, buf, sizeof buf), 0);
        exec_answer(conn, buf, got, size);
    } else {
        int wrap = st.kind == DSQL_STRICT_DML && rfq_status(conn) == 'I';
        if (wrap)
            exec_answer(conn, "BEGIN", ignored, sizeof ignored);
        exec_answer(conn, sql, got, size);
        if (strncmp(got, "ok ", 3) == 0 &&
            dsql_strict_command_complete(s, got + 3, &err) == DSQL_STRICT_REJECT) {
            dsql_strict_raise_sql(&err, buf, sizeof buf);
            exec_answer(conn, buf, got, size);
        }
        if (wrap)
            exec_answer(conn, rfq_status(conn) == 'E' ? "ROLLBACK" : "COMMIT", ignored,
                        sizeof ignored);
    }
    dsql_strict_ready(s, rfq_status(conn));
}

Test(pg, every_case_replayed_through_the_relay, .timeout = 120)
{
    static struct step steps[MAX_STEPS];
    size_t n = load_cases(steps);
    struct pg pg;
    pg_start(&pg);
    PGconn *setup = pg_connect(&pg), *conn = NULL;
    char got[600];
    exec_answer(setup,
                "CREATE TABLE baseline_parent (id uuid PRIMARY KEY, name text); "
                "CREATE TABLE baseline_bulk (id int); CREATE TABLE baseline_implicit_bulk (id int)",
                got, sizeof got);
    cr_assert_str_eq(got, "ok CREATE TABLE");
    PQfinish(setup);
    dsql_strict_session s;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(steps[i].name, steps[i - 1].name) != 0) {
            if (conn)
                PQfinish(conn);
            conn = pg_connect(&pg); /* each case on a fresh session */
            dsql_strict_session_init(&s);
        }
        relay_step(conn, &s, steps[i].sql, got, sizeof got);
        cr_expect_str_eq(got, steps[i].expected, "%s: %s", steps[i].name, steps[i].sql);
    }
    PQfinish(conn);
    /* the refused autocommit INSERT left no rows, as on DSQL */
    conn = pg_connect(&pg);
    PGresult *r = PQexec(conn, "SELECT count(*) FROM baseline_implicit_bulk");
    cr_expect_str_eq(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    PQfinish(conn);
    pg_stop(&pg);
}
