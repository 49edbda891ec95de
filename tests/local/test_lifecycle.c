/* SPDX-License-Identifier: MIT */
/*
 * test_lifecycle.c: start/stop/status/env as a user meets them, the connection lifetime, the
 * handshake deadline and strict mode, on an instance with --strict --max-lifetime 3
 * --handshake-timeout 3.
 */
#include "local_server.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

TestSuite(lifecycle, .timeout = 60);

/* Live processes whose parent is ppid. */
static int children_of(long ppid)
{
    int n = 0;
    DIR *d = opendir("/proc");
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || !h_alive(atol(e->d_name)))
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        const char *paren = strrchr(buf, ')');
        long parent = 0;
        char state;
        if (paren != NULL && sscanf(paren + 1, " %c %ld", &state, &parent) == 2 && parent == ppid)
            n++;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

/* Live processes whose command line mentions text (the postmaster names its data dir). */
static int processes_mentioning(const char *text)
{
    int n = 0;
    DIR *d = opendir("/proc");
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        char path[300], buf[4096];
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || !h_alive(atol(e->d_name)))
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < len; i++)
            buf[i] = buf[i] == '\0' ? ' ' : buf[i];
        buf[len] = '\0';
        n += strstr(buf, text) != NULL;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

Test(lifecycle, start_twice_status_env_stop)
{
    char tmpl[] = "/tmp/dsqlauth-life-XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    char cmd[2048], out[8192], path[600];
    /* The libpq variables `env` exports (here pointing nowhere) do not steer the endpoint's own
     * connections to its PostgreSQL, nor pg_ctl's wait. */
    snprintf(cmd, sizeof cmd,
             "PGHOSTADDR=127.0.0.1 PGPORT=1 PGSSLMODE=verify-full PGHOST=nowhere.invalid "
             "PGSERVICE=none %s start --dir %s --user reporting",
             h_bin(), tmpl);
    cr_assert_eq(h_sh(cmd, out, sizeof out), 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s start --dir %s --user reporting", h_bin(), tmpl);
    snprintf(path, sizeof path, "%s/front.pid", tmpl);
    long front = h_read_pid(path);
    snprintf(path, sizeof path, "%s/pgdata/postmaster.pid", tmpl);
    long postmaster = h_read_pid(path);
    cr_assert(h_alive(front) && h_alive(postmaster));
    cr_assert_gt(children_of(postmaster), 2, "no postgres children seen");

    /* Starting twice is harmless: same processes. */
    cr_assert_eq(h_sh(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "already running"), "%s", out);
    snprintf(path, sizeof path, "%s/front.pid", tmpl);
    cr_assert_eq(h_read_pid(path), front);

    snprintf(cmd, sizeof cmd, "%s status --dir %s", h_bin(), tmpl);
    cr_assert_eq(h_sh(cmd, out, sizeof out), 0, "%s", out);

    /* Other settings while running: refused, with what runs. */
    snprintf(cmd, sizeof cmd, "%s start --dir %s --strict", h_bin(), tmpl);
    cr_assert_eq(h_sh(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "other settings"), "%s", out);

    /* env evaluates in sh, and what it sets connects psql with no other argument. */
    snprintf(cmd, sizeof cmd,
             "eval \"$(%s env --dir %s)\" && "
             "PGPASSWORD=$(%s token --dir %s --token-user reporting) "
             "psql -X -At -U reporting -c 'SELECT current_user' && "
             "echo \"$PGHOST $PGHOSTADDR $PGSSLMODE $AWS_REGION $CLUSTER_ENDPOINT\" && "
             "test -n \"$AWS_ACCESS_KEY_ID\" && test -n \"$AWS_SECRET_ACCESS_KEY\" && "
             "test \"$DSQLAUTH_SSLROOTCERT\" = \"$PGSSLROOTCERT\" && test -r \"$PGSSLROOTCERT\"",
             h_bin(), tmpl, h_bin(), tmpl);
    char sh[4096];
    snprintf(sh, sizeof sh, "sh -c '%s'", cmd);
    /* Quote for sh -c: no single quotes inside cmd except psql's -c, so run via a file. */
    char script[600];
    snprintf(script, sizeof script, "%s/env-test.sh", tmpl);
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", cmd);
    fclose(f);
    snprintf(sh, sizeof sh, "sh %s", script);
    cr_assert_eq(h_sh(sh, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "reporting\n"), "%s", out);
    cr_assert(strstr(out, "dsqlauthlocaltestcluster00.dsql.us-east-1.on.aws 127.0.0.1 verify-full "
                          "us-east-1 dsqlauthlocaltestcluster00.dsql.us-east-1.on.aws"),
              "%s", out);

    /* The keys file is the owner's alone. */
    snprintf(cmd, sizeof cmd, "stat -c %%a %s/keys", tmpl);
    cr_assert_eq(h_sh(cmd, out, sizeof out), 0);
    cr_assert_str_eq(out, "600\n");

    /* stop leaves no process behind; status then says 3, as pg_ctl does. */
    snprintf(cmd, sizeof cmd, "%s stop --dir %s", h_bin(), tmpl);
    cr_assert_eq(h_sh(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(!h_alive(front), "front %ld still alive", front);
    for (int i = 0; i < 50 && h_alive(postmaster); i++)
        usleep(100000);
    cr_assert(!h_alive(postmaster), "postmaster %ld still alive", postmaster);
    cr_assert_eq(processes_mentioning(tmpl), 0, "processes left that mention %s", tmpl);
    cr_assert_eq(children_of(postmaster), 0, "postgres children left");
    snprintf(cmd, sizeof cmd, "%s status --dir %s", h_bin(), tmpl);
    cr_assert_eq(h_sh(cmd, out, sizeof out), 3, "%s", out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
    h_sh(cmd, NULL, 0);
}

Test(lifecycle, cli_usage)
{
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "%s --help", h_bin());
    cr_assert_eq(h_sh(cmd, out, sizeof out), 0);
    cr_assert(strstr(out, "Usage: dsqlauth-local"));
    snprintf(cmd, sizeof cmd, "%s --version", h_bin());
    cr_assert_eq(h_sh(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s start --cluster-id NOT-AN-ID", h_bin());
    cr_assert_eq(h_sh(cmd, out, sizeof out), 1);
    cr_assert(strstr(out, "--cluster-id"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s frobnicate", h_bin());
    cr_assert_eq(h_sh(cmd, out, sizeof out), 2);
}

static PGconn *admin(void)
{
    char *t = h_token(1, 0, 0);
    PGconn *c = h_connect("admin", t, NULL);
    free(t);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

/* Runs sql and returns the SQLSTATE ("" when it succeeded). */
static const char *run(PGconn *c, const char *sql, char *msg, size_t msglen)
{
    static char state[6];
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    state[0] = '\0';
    if (msg)
        msg[0] = '\0';
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(state, sizeof state, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE));
        if (msg)
            snprintf(msg, msglen, "%s", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
    }
    PQclear(r);
    return state;
}

static long count(PGconn *c, const char *table)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    PGresult *r = PQexec(c, sql);
    long n = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

Test(lifecycle, strict_row_cap_as_dsql)
{
    PGconn *c = admin();
    char msg[256];
    cr_assert_str_eq(run(c, "CREATE TABLE IF NOT EXISTS rc_bulk (id int)", NULL, 0), "");
    cr_assert_str_eq(run(c, "DELETE FROM rc_bulk", NULL, 0), "");

    /* Inside BEGIN: 3001 rows -> 54000, then the transaction is aborted. */
    cr_assert_str_eq(run(c, "BEGIN", NULL, 0), "");
    cr_assert_str_eq(run(c, "INSERT INTO rc_bulk SELECT generate_series(1, 3001)", msg, sizeof msg),
                     "54000");
    cr_assert_str_eq(msg, "transaction row limit exceeded");
    cr_assert_str_eq(run(c, "SELECT 1", NULL, 0), "25P02");
    cr_assert_eq(PQtransactionStatus(c), PQTRANS_INERROR);
    cr_assert_str_eq(run(c, "ROLLBACK", NULL, 0), "");

    /* The boundary: 3000 is fine, also across two statements. */
    cr_assert_str_eq(run(c, "BEGIN", NULL, 0), "");
    cr_assert_str_eq(run(c, "INSERT INTO rc_bulk SELECT generate_series(1, 2000)", NULL, 0), "");
    cr_assert_str_eq(run(c, "INSERT INTO rc_bulk SELECT generate_series(1, 1000)", NULL, 0), "");
    cr_assert_str_eq(run(c, "SELECT 1", NULL, 0), "");
    cr_assert_str_eq(run(c, "UPDATE rc_bulk SET id = id WHERE id = 1", msg, sizeof msg), "54000");
    cr_assert_str_eq(run(c, "ROLLBACK", NULL, 0), "");
    cr_assert_eq(count(c, "rc_bulk"), 0);

    /* Outside a block: the statement is refused and nothing is committed. */
    cr_assert_str_eq(run(c, "INSERT INTO rc_bulk SELECT generate_series(1, 3001)", msg, sizeof msg),
                     "54000");
    cr_assert_str_eq(msg, "transaction row limit exceeded");
    cr_assert_eq(PQtransactionStatus(c), PQTRANS_IDLE);
    cr_assert_eq(count(c, "rc_bulk"), 0);
    /* ... and 3000 outside a block commit. */
    cr_assert_str_eq(run(c, "INSERT INTO rc_bulk SELECT generate_series(1, 3000)", NULL, 0), "");
    cr_assert_eq(PQtransactionStatus(c), PQTRANS_IDLE);
    cr_assert_eq(count(c, "rc_bulk"), 3000);

    /* The extended protocol too (P/B/E/S outside a block). */
    const char *ins = "INSERT INTO rc_bulk SELECT generate_series(1, $1::int)";
    PGresult *r = PQexecParams(c, ins, 1, NULL, (const char *[]){"3001"}, NULL, NULL, 0);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "54000");
    PQclear(r);
    cr_assert_eq(PQtransactionStatus(c), PQTRANS_IDLE);
    cr_assert_eq(count(c, "rc_bulk"), 3000);
    r = PQexecParams(c, ins, 1, NULL, (const char *[]){"10"}, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    cr_assert_eq(count(c, "rc_bulk"), 3010);
    /* A named statement prepared in one batch, executed in the next. */
    r = PQprepare(c, "ins", ins, 0, NULL);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    r = PQexecPrepared(c, "ins", 1, (const char *[]){"3500"}, NULL, NULL, 0);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "54000");
    PQclear(r);
    cr_assert_eq(count(c, "rc_bulk"), 3010);

    /* A session still works normally afterwards. */
    cr_assert_str_eq(run(c, "DROP TABLE rc_bulk", NULL, 0), "");
    PQfinish(c);
}

Test(lifecycle, max_lifetime_closes_like_dsql)
{
    PGconn *c = admin();
    cr_assert_str_eq(run(c, "SELECT 1", NULL, 0), "");
    sleep(4); /* --max-lifetime 3 */
    PGresult *r = PQexec(c, "SELECT 1");
    cr_assert_neq(PQresultStatus(r), PGRES_TUPLES_OK);
    cr_assert(strstr(PQerrorMessage(c), "maximum connection lifetime"), "%s", PQerrorMessage(c));
    PQclear(r);
    cr_assert_eq(PQstatus(c), CONNECTION_BAD);
    PQfinish(c);
}

/* "ok <tag>" or "error <SQLSTATE> <message>", as dsql-cases.tsv writes what DSQL answered. */
static void answer(PGconn *c, const char *sql, char *got, size_t size)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        snprintf(got, size, "ok %s", PQcmdStatus(r));
    else
        snprintf(got, size, "error %s %s", PQresultErrorField(r, PG_DIAG_SQLSTATE),
                 PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
    PQclear(r);
}

/* Every case a real DSQL cluster answered, replayed through the front in strict mode. */
Test(lifecycle, strict_replays_every_recorded_dsql_case)
{
    char path[1024], line[2048], got[1024], prev[128] = "";
    snprintf(path, sizeof path, "%s/tests/local/dsql-cases.tsv",
             getenv("DSQLAUTH_SOURCE_ROOT") ? getenv("DSQLAUTH_SOURCE_ROOT") : ".");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    PGconn *c = admin();
    answer(c, "CREATE TABLE baseline_parent (id uuid PRIMARY KEY, name text)", got, sizeof got);
    cr_assert_str_eq(got, "ok CREATE TABLE");
    answer(c, "CREATE TABLE baseline_bulk (id int)", got, sizeof got);
    answer(c, "CREATE TABLE baseline_implicit_bulk (id int)", got, sizeof got);
    PQfinish(c);
    c = NULL;
    int steps = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *name = strtok(line, "\t"), *step = strtok(NULL, "\t");
        char *sql = strtok(NULL, "\t"), *expected = strtok(NULL, "\t");
        if (name == NULL || expected == NULL || strcmp(name, "case") == 0 || name[0] == '#')
            continue;
        if (strcmp(name, prev) != 0) { /* each case on a fresh session */
            if (c)
                PQfinish(c);
            c = admin();
            snprintf(prev, sizeof prev, "%s", name);
        }
        answer(c, sql, got, sizeof got);
        cr_expect_str_eq(got, expected, "%s step %s: %s", name, step, sql);
        steps++;
    }
    fclose(f);
    if (c)
        PQfinish(c);
    cr_assert_gt(steps, 40);
    c = admin();
    cr_expect_eq(count(c, "baseline_implicit_bulk"), 0, "the refused autocommit INSERT left rows");
    PQfinish(c);
}

/*
 * What stock pg_dump sends a DSQL cluster, and how DSQL answers each (AWS's pg_dump proxy
 * documents the answers): the same SQLSTATE and message here, with the same effect on the
 * transaction. Then the real pg_dump.
 */
Test(lifecycle, strict_refuses_what_stock_pg_dump_sends)
{
    static const struct {
        const char *sql, *state, *message;
    } sent[] = {
        {"SELECT pg_catalog.set_config('search_path', '', false)", "", ""},
        {"SET DATESTYLE = ISO", "", ""},
        {"SET INTERVALSTYLE = POSTGRES", "", ""},
        {"SET extra_float_digits TO 3", "", ""},
        {"SET synchronize_seqscans TO off", "0A000",
         "setting configuration parameter \"synchronize_seqscans\" not supported"},
        {"SET statement_timeout = 0", "0A000",
         "setting configuration parameter \"statement_timeout\" not supported"},
        {"SET lock_timeout = 0", "0A000",
         "setting configuration parameter \"lock_timeout\" not supported"},
        {"SET idle_in_transaction_session_timeout = 0", "0A000",
         "setting configuration parameter \"idle_in_transaction_session_timeout\" not supported"},
        {"SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings "
         "WHERE name = 'restrict_nonsystem_relation_kind'",
         "0A000",
         "setting configuration parameter \"restrict_nonsystem_relation_kind\" not supported"},
        {"SET row_security = off", "0A000",
         "setting configuration parameter \"row_security\" not supported"},
        {"BEGIN", "", ""},
        {"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", "0A000",
         "setting configuration parameter \"TRANSACTION\" not supported"},
        {"ROLLBACK", "", ""},
        {"BEGIN", "", ""},
        {"LOCK TABLE public.pgdump_t IN ACCESS SHARE MODE", "0A000", "unsupported statement: Lock"},
        {"SELECT 1", "25P02",
         "current transaction is aborted, commands ignored until end of transaction block"},
        {"ROLLBACK", "", ""},
        {"PREPARE dumpFunc(pg_catalog.oid) AS SELECT 1 FROM pg_catalog.pg_proc WHERE oid = $1",
         "0A000", "unsupported statement: Prepare"},
        {"SELECT 1", "", ""},
    };
    PGconn *c = admin();
    char msg[256];
    cr_assert_str_eq(run(c, "CREATE TABLE IF NOT EXISTS pgdump_t (id uuid PRIMARY KEY)", NULL, 0),
                     "");
    for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++) {
        cr_expect_str_eq(run(c, sent[i].sql, msg, sizeof msg), sent[i].state, "%s", sent[i].sql);
        cr_expect_str_eq(msg, sent[i].message, "%s", sent[i].sql);
    }
    cr_expect_eq(PQtransactionStatus(c), PQTRANS_IDLE);
    PQfinish(c);

    /* The real one (Debian 12's is pg_dump 15) stops before any of them, as against DSQL: the
     * server says it is 16.15, newer than pg_dump, which refuses to dump a newer server. */
    char cmd[2048], out[4096];
    char *t = h_token(1, 0, 0);
    snprintf(cmd, sizeof cmd,
             "PGPASSWORD='%s' pg_dump --schema-only -t pgdump_t \"host=%s hostaddr=127.0.0.1 "
             "port=%d user=admin dbname=postgres sslmode=verify-full sslrootcert=%s\"",
             t, h_endpoint(), h_port(), h_ca());
    free(t);
    cr_expect_neq(h_sh(cmd, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "server version: 16.15") != NULL &&
                  strstr(out, "aborting because of server version mismatch") != NULL,
              "%s", out);
}

/* DSQL's transaction age limit (5 minutes; --max-transaction-age 1 here): the next statement
 * of an older block fails with 54000 and the block with it; a COMMIT rolls back; a ROLLBACK
 * ends it as usual. Each part on a fresh connection (--max-lifetime 3). */
Test(lifecycle, strict_transaction_age_limit)
{
    char msg[256];
    PGconn *c = admin();
    cr_assert_str_eq(run(c, "BEGIN", NULL, 0), "");
    usleep(1300 * 1000);
    cr_assert_str_eq(run(c, "SELECT 1", msg, sizeof msg), "54000");
    cr_assert_str_eq(msg, "transaction age limit of 1s exceeded");
    cr_assert_str_eq(run(c, "SELECT 1", NULL, 0), "25P02");
    cr_assert_str_eq(run(c, "ROLLBACK", NULL, 0), "");
    cr_assert_str_eq(run(c, "SELECT 1", NULL, 0), "");
    PQfinish(c);

    c = admin();
    cr_assert_str_eq(run(c, "CREATE TABLE IF NOT EXISTS age_t (id int)", NULL, 0), "");
    cr_assert_str_eq(run(c, "BEGIN", NULL, 0), "");
    cr_assert_str_eq(run(c, "INSERT INTO age_t VALUES (1)", NULL, 0), "");
    usleep(1300 * 1000);
    cr_assert_str_eq(run(c, "COMMIT", msg, sizeof msg), "54000");
    cr_assert_str_eq(msg, "transaction age limit of 1s exceeded");
    cr_assert_eq(PQtransactionStatus(c), PQTRANS_IDLE);
    cr_assert_eq(count(c, "age_t"), 0, "the old transaction committed");
    PQfinish(c);

    c = admin();
    cr_assert_str_eq(run(c, "BEGIN", NULL, 0), "");
    usleep(1300 * 1000);
    cr_assert_str_eq(run(c, "ROLLBACK", NULL, 0), "");
    cr_assert_str_eq(run(c, "DROP TABLE age_t", NULL, 0), "");
    PQfinish(c);
}

/* Silent and trickling clients are cut off at the handshake deadline (3 s here). */
Test(front, handshake_deadline_cuts_off_slow_clients)
{
    signal(SIGPIPE, SIG_IGN);
    time_t t0 = time(NULL);
    int silent = h_tcp();
    struct timeval tv = {.tv_sec = 8};
    setsockopt(silent, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char b;
    cr_assert_eq(recv(silent, &b, 1, 0), 0, "a silent client was not closed by the front");
    cr_assert_lt(time(NULL) - t0, 7);
    close(silent);

    SSL_CTX *ctx = h_client_ctx();
    int fd = h_tcp();
    SSL *ssl = h_tls_session(fd, ctx, 1, h_endpoint(), 0);
    cr_assert(ssl != NULL);
    unsigned char pkt[128];
    size_t n = h_startup_packet(pkt, "admin", "application_name\0trickle-trickle-trickle\0", 41);
    t0 = time(NULL);
    int cut = 0;
    for (size_t i = 0; i < n && !cut; i++) { /* one byte every 200 ms: 12 s for the packet */
        if (SSL_write(ssl, pkt + i, 1) != 1)
            cut = 1;
        usleep(200 * 1000);
        if (time(NULL) - t0 > 8)
            break;
    }
    char type, body[256];
    size_t len;
    cr_assert_neq(h_read_msg(fd, ssl, &type, body, sizeof body, &len) == 0 && type == 'R', 1,
                  "a trickling client got through the startup");
    cr_assert_lt(time(NULL) - t0, 9, "not cut off at the deadline");
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
}

int main(int argc, char *argv[])
{
    return h_main(argc, argv,
                  "--strict --max-lifetime 3 --handshake-timeout 3 --max-transaction-age 1");
}
