/* SPDX-License-Identifier: MIT */
/* test_retry.c: the retry helper against a live, snapshot-isolated server (run by conflict.sh):
 * a real write conflict between two connections is retried, and so is one dsqlauth-local
 * --strict injects on purpose; other failures are not. */
#include "conn.h"
#include "retry.h"
#include "schema.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static PGconn *a, *b;
static pc_rng rng;
static char owner_id[40];

static PGconn *connect_or_die(void)
{
    pc_conn_opts o = {.endpoint = getenv("CLUSTER_ENDPOINT"),
                      .user = getenv("CLUSTER_USER") ? getenv("CLUSTER_USER") : "admin",
                      .dbname = "postgres"};
    char err[400];
    PGconn *conn = pc_connect(&o, err, sizeof err);
    cr_assert(conn != NULL, "connect: %s", err);
    return conn;
}

static void setup(void)
{
    pc_retry_policy policy = PC_RETRY_DEFAULT;
    long retries = 0;
    pc_rng_seed(&rng, 42);
    a = connect_or_die();
    b = connect_or_die();
    /* Not "petclinic": conflict.sh's endpoint injects conflicts into that name's commits. */
    PQclear(PQexec(a, "SET application_name = 'test_retry'"));
    PQclear(PQexec(b, "SET application_name = 'test_retry'"));
    cr_assert_eq(pc_schema_ensure(a, &policy, &rng, NULL, &retries), PC_OK);
    PGresult *res = PQexec(a, "INSERT INTO owner (name, city, telephone) "
                              "VALUES ('Conflict', 'Anytown', 'initial') RETURNING id");
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(res));
    snprintf(owner_id, sizeof owner_id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

static void teardown(void)
{
    PQfinish(a);
    PQfinish(b);
}

static char *telephone(void)
{
    const char *v[] = {owner_id};
    PGresult *res =
        PQexecParams(b, "SELECT telephone FROM owner WHERE id = $1", 1, NULL, v, NULL, NULL, 0);
    cr_assert_eq(PQntuples(res), 1);
    char *s = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return s;
}

/* Reads the row, lets the other connection change and commit it (on the first `interfere`
 * attempts), then writes it: under snapshot isolation that write conflicts (40001). */
struct race {
    int interfere;
    int bodies;
};

static int racing_update(pc_txn *t, void *arg)
{
    struct race *r = arg;
    const char *v[] = {owner_id};
    r->bodies++;
    PGresult *res = pc_exec(t, "SELECT telephone FROM owner WHERE id = $1", 1, v);
    if (!res)
        return t->status;
    PQclear(res);
    if (t->attempt < r->interfere) {
        PGresult *other = PQexecParams(b, "UPDATE owner SET telephone = 'from B' WHERE id = $1", 1,
                                       NULL, v, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(other), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(other));
        PQclear(other);
    }
    res = pc_exec(t, "UPDATE owner SET telephone = 'from A' WHERE id = $1", 1, v);
    if (!res)
        return t->status;
    PQclear(res);
    return PC_OK;
}

static int conflicts(const pc_txn *t)
{
    return t->conflicts[PC_OC000] + t->conflicts[PC_OC001] + t->conflicts[PC_40001];
}

TestSuite(retry, .init = setup, .fini = teardown);

Test(retry, write_conflict_is_retried_and_wins)
{
    pc_retry_policy policy = PC_RETRY_DEFAULT;
    struct race r = {.interfere = 1};
    pc_txn t;
    cr_assert_eq(pc_txn_run(a, &policy, &rng, racing_update, &r, &t), PC_OK, "%s", t.message);
    cr_expect_eq(t.attempt, 1, "retries made");
    cr_expect_eq(r.bodies, 2);
    cr_expect_eq(conflicts(&t), 1, "40001 seen once");
    char *now = telephone();
    cr_expect_str_eq(now, "from A", "the retried transaction's write stands");
    free(now);
}

/* dsqlauth-local --strict fails a session's next COMMIT when it names itself so: DSQL's own
 * conflict (40001, OC000), on purpose, once. */
Test(retry, injected_conflict_is_retried_once)
{
    pc_retry_policy policy = PC_RETRY_DEFAULT;
    struct race r = {.interfere = 0};
    pc_txn t;
    PGresult *res = PQexec(a, "SET application_name = 'dsqlauth:fail-next-commit'");
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(res));
    PQclear(res);
    cr_assert_eq(pc_txn_run(a, &policy, &rng, racing_update, &r, &t), PC_OK, "%s", t.message);
    cr_expect_eq(t.attempt, 1, "retries made");
    cr_expect_eq(r.bodies, 2);
    cr_expect_eq(t.conflicts[PC_OC000], 1, "OC000 seen once");
    cr_expect_eq(conflicts(&t), 1);
    char *now = telephone();
    cr_expect_str_eq(now, "from A", "the retried transaction's write stands");
    free(now);
}

Test(retry, several_conflicts_back_off_and_count)
{
    pc_retry_policy policy = {.max_attempts = 5, .base_us = 1000, .cap_us = 4000};
    struct race r = {.interfere = 3};
    pc_txn t;
    cr_assert_eq(pc_txn_run(a, &policy, &rng, racing_update, &r, &t), PC_OK, "%s", t.message);
    cr_expect_eq(t.attempt, 3);
    cr_expect_eq(conflicts(&t), 3);
}

Test(retry, gives_up_after_max_attempts)
{
    pc_retry_policy policy = {.max_attempts = 2, .base_us = 1000, .cap_us = 1000};
    struct race r = {.interfere = 100};
    pc_txn t;
    cr_assert_eq(pc_txn_run(a, &policy, &rng, racing_update, &r, &t), PC_CONFLICT);
    cr_expect_eq(r.bodies, 2);
    cr_expect_str_eq(t.sqlstate, "40001");
    cr_expect(strncmp(t.message, "gave up after 2 attempts: ", 26) == 0, "%s", t.message);
    cr_expect_eq(PQtransactionStatus(a), PQTRANS_IDLE, "rolled back");
}

static int bad_sql(pc_txn *t, void *arg)
{
    int *bodies = arg;
    (*bodies)++;
    PGresult *res = pc_exec(t, "SELECT * FROM no_such_table", 0, NULL);
    if (!res)
        return t->status;
    PQclear(res);
    return PC_OK;
}

Test(retry, other_errors_are_not_retried)
{
    pc_retry_policy policy = PC_RETRY_DEFAULT;
    int bodies = 0;
    pc_txn t;
    cr_assert_eq(pc_txn_run(a, &policy, &rng, bad_sql, &bodies, &t), PC_ERROR);
    cr_expect_eq(bodies, 1);
    cr_expect_eq(t.attempt, 0);
    cr_expect_str_eq(t.sqlstate, "42P01");
    cr_expect(strstr(t.message, "no_such_table") != NULL, "%s", t.message);
    cr_expect_eq(PQtransactionStatus(a), PQTRANS_IDLE, "rolled back");
}

static int ignores_its_error(pc_txn *t, void *arg)
{
    (void)arg;
    PQclear(pc_exec(t, "SELECT * FROM no_such_table", 0, NULL));
    return PC_OK; /* wrongly: the server has aborted the transaction */
}

Test(retry, commit_answered_with_rollback_is_an_error)
{
    pc_retry_policy policy = PC_RETRY_DEFAULT;
    pc_txn t;
    cr_assert_eq(pc_txn_run(a, &policy, &rng, ignores_its_error, NULL, &t), PC_ERROR);
    cr_expect(strstr(t.message, "ROLLBACK") != NULL, "%s", t.message);
}

static int dies(pc_txn *t, void *arg)
{
    (void)arg;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(t->conn));
    PQclear(PQexec(b, sql));
    PGresult *res = pc_exec(t, "SELECT 1", 0, NULL);
    if (!res)
        return t->status;
    PQclear(res);
    return PC_OK;
}

Test(retry, lost_connection_is_reported_broken)
{
    pc_retry_policy policy = PC_RETRY_DEFAULT;
    pc_txn t;
    cr_assert_eq(pc_txn_run(a, &policy, &rng, dies, NULL, &t), PC_BROKEN, "%s", t.message);
    cr_expect_eq(t.attempt, 0);
}
