/* SPDX-License-Identifier: MIT */
/*
 * test_conformance.c: strict-cases.tsv replayed through a real dsqlauth-local --strict: server
 * identity, types, refusals, async jobs, and two sessions whose conflicts must fail the right side
 * at the right step.
 */
#include "local_server.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SESSIONS 4

/* The fixtures the cases expect (see strict-cases.tsv's header). */
static void fixtures(void)
{
    static const char *const sql[] = {
        "CREATE TABLE t_parent (id uuid PRIMARY KEY, name text)",
        "CREATE TABLE t_occ (id int PRIMARY KEY, v text)",
        "INSERT INTO t_occ VALUES (1, 'one'), (2, 'two'), (3, 'three')",
        "CREATE TABLE t_span (k int, v text)",
        "INSERT INTO t_span VALUES (1, 'x'), (1, 'y'), (1, 'z')",
        "CREATE TABLE t_pk (id uuid PRIMARY KEY, a int, b int)",
        "CREATE TABLE t_child (id int PRIMARY KEY, parent_id int REFERENCES t_occ (id))",
    };
    char *t = h_token(1, 0, 0);
    PGconn *c = h_connect("admin", t, NULL);
    free(t);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        PGresult *r = PQexec(c, sql[i]);
        cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", sql[i],
                     PQresultErrorMessage(r));
        PQclear(r);
    }
    PQfinish(c);
}

static int is_job_id(const char *s)
{
    if (strlen(s) != 26)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '2' && *s <= '7')))
            return 0;
    return 1;
}

/* Runs sql and checks the answer against expected, as strict-cases.tsv writes it. */
static void step(PGconn *c, const char *where, const char *sql, const char *expected)
{
    char got[1024];
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(got, sizeof got, "error %s %s", PQresultErrorField(r, PG_DIAG_SQLSTATE),
                 PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
        cr_expect_str_eq(got, expected, "%s: %s", where, sql);
        PQclear(r);
        return;
    }
    char want_tag[256];
    const char *eq = strstr(expected, " = ");
    size_t elen = strlen(expected);
    int job = elen > 7 && strcmp(expected + elen - 7, " job_id") == 0;
    int empty_value = elen > 2 && strcmp(expected + elen - 2, " =") == 0;
    size_t tag_len = eq ? (size_t)(eq - expected) : job ? elen - 7 : empty_value ? elen - 2 : elen;
    snprintf(want_tag, sizeof want_tag, "%.*s", (int)tag_len, expected);
    snprintf(got, sizeof got, "ok %s", PQcmdStatus(r));
    cr_expect_str_eq(got, want_tag, "%s: %s", where, sql);
    if (eq != NULL || empty_value) {
        const char *value = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "(no row)";
        cr_expect_str_eq(value, eq ? eq + 3 : "", "%s: %s", where, sql);
    }
    if (job) {
        cr_expect_eq(PQntuples(r), 1, "%s: %s", where, sql);
        cr_expect_eq(PQnfields(r), 1, "%s: %s", where, sql);
        cr_expect_str_eq(PQfname(r, 0), "job_id", "%s: %s", where, sql);
        cr_expect(PQntuples(r) == 1 && is_job_id(PQgetvalue(r, 0, 0)), "%s: job id %s", where,
                  PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "(none)");
    }
    PQclear(r);
}

Test(conformance, every_case_of_strict_cases, .timeout = 150)
{
    char path[1024], line[4096], prev[128] = "";
    PGconn *sessions[MAX_SESSIONS] = {0};
    char names[MAX_SESSIONS] = {0};
    int steps = 0;
    fixtures();
    snprintf(path, sizeof path, "%s/tests/local/strict-cases.tsv",
             getenv("DSQLAUTH_SOURCE_ROOT") ? getenv("DSQLAUTH_SOURCE_ROOT") : ".");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0' || strncmp(line, "case\t", 5) == 0)
            continue;
        char *save = NULL;
        char *name = strtok_r(line, "\t", &save), *num = strtok_r(NULL, "\t", &save);
        char *who = strtok_r(NULL, "\t", &save), *sql = strtok_r(NULL, "\t", &save);
        char *expected = strtok_r(NULL, "\t", &save), *grade = strtok_r(NULL, "\t", &save);
        cr_assert(name && num && who && sql && expected && grade, "malformed row after %s", prev);
        if (strcmp(name, prev) != 0) { /* each case on fresh sessions */
            for (int i = 0; i < MAX_SESSIONS; i++) {
                if (sessions[i] != NULL)
                    PQfinish(sessions[i]);
                sessions[i] = NULL;
                names[i] = 0;
            }
            snprintf(prev, sizeof prev, "%s", name);
        }
        int k = 0;
        while (k < MAX_SESSIONS && names[k] != 0 && names[k] != who[0])
            k++;
        cr_assert_lt(k, MAX_SESSIONS, "%s: too many sessions", name);
        if (names[k] == 0) {
            char *t = h_token(1, 0, 0);
            sessions[k] = h_connect("admin", t, NULL);
            free(t);
            cr_assert_eq(PQstatus(sessions[k]), CONNECTION_OK, "%s", PQerrorMessage(sessions[k]));
            names[k] = who[0];
        }
        char where[256];
        snprintf(where, sizeof where, "%s step %s (%s, %s)", name, num, who, grade);
        step(sessions[k], where, sql, expected);
        steps++;
    }
    fclose(f);
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (sessions[i] != NULL)
            PQfinish(sessions[i]);
    cr_assert_gt(steps, 100);
}

/* As in test_front, with --strict's relay (which holds statements for its own exchanges). */
Test(conformance, a_backend_that_ends_closes_its_client, .timeout = 120)
{
    h_check_backend_end_closes_client(40);
}

int main(int argc, char *argv[])
{
    return h_main(argc, argv, "--strict --inject-conflict every=2,app=inject-every-2,code=OC001");
}
