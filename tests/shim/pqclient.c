/* SPDX-License-Identifier: MIT */
/* pqclient.c: a plain libpq program the shim tests drive through each entry point, in threads. */

/*
 * pqclient [--via FORM] [--query SQL] [--threads N] [--count M] [--fork] [--reconnect] [--dump]
 * [--reset S] CONNINFO FORM: connectdb (default), params, setdb, start, startparams, ping,
 * pingparams Prints the first row of SQL (fields joined by '|') for each connection, or "ERROR:
 * <PQerrorMessage>" and exits 1. With threads/count, prints "ok N" when all N connections succeeded
 * and their answers were all the same. --fork connects once before fork() and then once in the
 * child and once in the parent. --reconnect connects, then connects again with PQconninfo of the
 * first connection (psql \c's way). --dump prints every setting libpq ended up with (PQconninfo)
 * and the error message, whatever the outcome.
 *   --reset S connects, waits S seconds, then PQreset()s and runs the query again.
 */
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *via = "connectdb";
static const char *query = "select 1";
static const char *conninfo;
static int threads = 0, count = 1;

static PGconn *poll_until_done(PGconn *conn)
{
    if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
        return conn;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        struct pollfd p = {PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0};
        if (poll(&p, 1, 10000) <= 0)
            break;
        st = PQconnectPoll(conn);
    }
    return conn;
}

/* Splits "k=v k=v" with PQconninfoParse into keyword/value arrays (the caller's own parse). */
static PGconn *connect_params(int start)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
    if (opts == NULL) {
        fprintf(stderr, "pqclient: %s", err ? err : "bad conninfo\n");
        exit(2);
    }
    const char *kw[64], *val[64];
    int n = 0;
    for (PQconninfoOption *o = opts; o->keyword != NULL && n < 63; o++) {
        if (o->val != NULL) {
            kw[n] = o->keyword;
            val[n++] = o->val;
        }
    }
    kw[n] = val[n] = NULL;
    PGconn *c =
        start ? poll_until_done(PQconnectStartParams(kw, val, 0)) : PQconnectdbParams(kw, val, 0);
    PQconninfoFree(opts);
    return c;
}

static PGconn *open_conn(void)
{
    if (strcmp(via, "params") == 0)
        return connect_params(0);
    if (strcmp(via, "startparams") == 0)
        return connect_params(1);
    if (strcmp(via, "start") == 0)
        return poll_until_done(PQconnectStart(conninfo));
    if (strcmp(via, "setdb") == 0)
        return PQsetdbLogin(NULL, NULL, NULL, NULL, conninfo, NULL, NULL);
    return PQconnectdb(conninfo);
}

/* One connection: the answer to the query in out, or -1 with the error in out. */
static int one(char *out, size_t len)
{
    PGconn *conn = open_conn();
    if (conn == NULL) {
        snprintf(out, len, "ERROR: NULL connection");
        return -1;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(out, len, "ERROR: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return -1;
    }
    PGresult *r = PQexec(conn, query);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(out, len, "ERROR: %s", PQresultErrorMessage(r));
        rc = -1;
    } else {
        out[0] = '\0';
        for (int i = 0; PQntuples(r) > 0 && i < PQnfields(r); i++) {
            size_t n = strlen(out);
            snprintf(out + n, len - n, "%s%s", i ? "|" : "", PQgetvalue(r, 0, i));
        }
    }
    PQclear(r);
    PQfinish(conn);
    return rc;
}

static int ping(void)
{
    PGPing p;
    if (strcmp(via, "pingparams") == 0) {
        const char *kw[] = {"dbname", NULL};
        const char *val[] = {conninfo, NULL};
        p = PQpingParams(kw, val, 1);
    } else {
        p = PQping(conninfo);
    }
    static const char *names[] = {"PQPING_OK", "PQPING_REJECT", "PQPING_NO_RESPONSE",
                                  "PQPING_NO_ATTEMPT"};
    printf("%s\n", names[p]);
    return p == PQPING_OK ? 0 : 1;
}

struct worker {
    pthread_t t;
    int failures;
    char first[512];
    char error[512];
};

static void *work(void *arg)
{
    struct worker *w = arg;
    char out[512];
    for (int i = 0; i < count; i++) {
        if (one(out, sizeof out) != 0) {
            if (w->failures++ == 0)
                snprintf(w->error, sizeof w->error, "%s", out);
        } else if (w->first[0] == '\0') {
            snprintf(w->first, sizeof w->first, "%s", out);
        } else if (strcmp(w->first, out) != 0) {
            w->failures++;
        }
    }
    return NULL;
}

static int run_threads(void)
{
    struct worker *w = calloc((size_t)threads, sizeof *w);
    for (int i = 0; i < threads; i++)
        pthread_create(&w[i].t, NULL, work, &w[i]);
    int failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].t, NULL);
        failures += w[i].failures;
        if (w[i].failures)
            fprintf(stderr, "pqclient: thread %d: %d failures, first: %s\n", i, w[i].failures,
                    w[i].error);
        if (strcmp(w[i].first, w[0].first) != 0)
            failures++;
    }
    if (failures == 0)
        printf("ok %d %s\n", threads * count, w[0].first);
    free(w);
    return failures == 0 ? 0 : 1;
}

static int dump(void)
{
    PGconn *conn = open_conn();
    if (conn == NULL)
        return 1;
    PQconninfoOption *opts = PQconninfo(conn);
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
        printf("%s=%s\n", o->keyword, o->val != NULL ? o->val : "(null)");
    printf("status=%d\nerror=%s", PQstatus(conn), PQerrorMessage(conn));
    PQconninfoFree(opts);
    PQfinish(conn);
    return 0;
}

static int reset_after(int seconds)
{
    char out[1024];
    PGconn *conn = open_conn();
    if (PQstatus(conn) != CONNECTION_OK) {
        printf("ERROR: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 1;
    }
    sleep((unsigned)seconds);
    PQreset(conn);
    int rc = 0;
    if (PQstatus(conn) != CONNECTION_OK) {
        printf("reset: ERROR: %s", PQerrorMessage(conn));
        rc = 1;
    } else {
        PGresult *r = PQexec(conn, query);
        snprintf(out, sizeof out, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "(none)");
        printf("reset: %s\n", out);
        PQclear(r);
    }
    PQfinish(conn);
    return rc;
}

static int reconnect(void)
{
    PGconn *conn = open_conn();
    if (PQstatus(conn) != CONNECTION_OK) {
        printf("ERROR: %s", PQerrorMessage(conn));
        return 1;
    }
    /* psql's \c: every setting of the old connection, then the new ones, expand_dbname. */
    const char *kw[80], *val[80];
    int n = 0;
    PQconninfoOption *old = PQconninfo(conn);
    for (PQconninfoOption *o = old; o->keyword != NULL && n < 78; o++) {
        if (o->val != NULL && o->val[0] != '\0') {
            kw[n] = o->keyword;
            val[n++] = o->val;
        }
    }
    kw[n] = val[n] = NULL;
    int rc = 0;
    for (int round = 0; round < 2 && rc == 0; round++) {
        PGconn *again = PQconnectdbParams(kw, val, 1);
        if (PQstatus(again) != CONNECTION_OK) {
            printf("ERROR: %s", PQerrorMessage(again));
            rc = 1;
        } else {
            PGresult *r = PQexec(again, query);
            printf("%s\n", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : PQresultErrorMessage(r));
            PQclear(r);
        }
        PQfinish(again);
    }
    PQconninfoFree(old);
    PQfinish(conn);
    return rc;
}

int main(int argc, char **argv)
{
    int do_fork = 0, do_reconnect = 0, do_dump = 0, reset_seconds = -1;
    int i;
    for (i = 1; i < argc - 1; i++) {
        if (strcmp(argv[i], "--via") == 0)
            via = argv[++i];
        else if (strcmp(argv[i], "--query") == 0)
            query = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--count") == 0)
            count = atoi(argv[++i]);
        else if (strcmp(argv[i], "--fork") == 0)
            do_fork = 1;
        else if (strcmp(argv[i], "--reconnect") == 0)
            do_reconnect = 1;
        else if (strcmp(argv[i], "--dump") == 0)
            do_dump = 1;
        else if (strcmp(argv[i], "--reset") == 0)
            reset_seconds = atoi(argv[++i]);
        else
            break;
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: pqclient [options] CONNINFO\n");
        return 2;
    }
    conninfo = argv[i];
    if (strncmp(via, "ping", 4) == 0)
        return ping();
    if (threads > 0)
        return run_threads();
    if (do_reconnect)
        return reconnect();
    if (do_dump)
        return dump();
    if (reset_seconds >= 0)
        return reset_after(reset_seconds);
    char out[1024];
    if (do_fork) {
        int rc = one(out, sizeof out);
        printf("before fork: %s\n", out);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            rc = one(out, sizeof out);
            printf("child: %s\n", out);
            fflush(stdout);
            _exit(rc == 0 ? 0 : 1);
        }
        int rc2 = one(out, sizeof out);
        int st = 0;
        waitpid(pid, &st, 0);
        printf("parent: %s\n", out);
        return rc == 0 && rc2 == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
    }
    int rc = 0;
    for (int k = 0; k < count; k++) {
        if (one(out, sizeof out) != 0)
            rc = 1;
        printf("%s%s", out, out[strlen(out) - 1] == '\n' ? "" : "\n");
    }
    return rc;
}
