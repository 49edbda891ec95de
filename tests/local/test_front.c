/* SPDX-License-Identifier: MIT */
/*
 * test_front.c: a real dsqlauth-local, driven by libpq, psql and raw protocol bytes: who gets
 * in, who is refused with which SQLSTATE and message, and that nothing crashes it.
 */
#include "local_server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

TestSuite(front, .timeout = 60);

static char *query1(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    char *v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* Reads messages until an ErrorResponse; returns its SQLSTATE and message. */
static int read_error(int fd, SSL *ssl, char *code, char *msg, size_t msglen)
{
    char type, body[8192];
    size_t len;
    while (h_read_msg(fd, ssl, &type, body, sizeof body, &len) == 0) {
        if (type == 'E') {
            h_error_field(body, len, 'C', code, 6);
            h_error_field(body, len, 'M', msg, msglen);
            return 0;
        }
    }
    return -1;
}

/* Runs startup + password over ssl and returns the first message type after the password. */
static char login(int fd, SSL *ssl, const char *user, const char *password, char *code, char *msg)
{
    unsigned char pkt[512];
    size_t n = h_startup_packet(pkt, user, "database\0postgres\0", 18);
    cr_assert_eq(SSL_write(ssl, pkt, (int)n), (int)n);
    char type, body[8192];
    size_t len;
    cr_assert_eq(h_read_msg(fd, ssl, &type, body, sizeof body, &len), 0);
    cr_assert_eq(type, 'R');
    cr_assert_eq(body[3], 3, "not AuthenticationCleartextPassword");
    unsigned char pw[4096];
    size_t pl = strlen(password) + 1;
    pw[0] = 'p';
    h_put32(pw + 1, (uint32_t)(4 + pl));
    memcpy(pw + 5, password, pl);
    cr_assert_eq(SSL_write(ssl, pw, (int)(5 + pl)), (int)(5 + pl));
    cr_assert_eq(h_read_msg(fd, ssl, &type, body, sizeof body, &len), 0);
    if (type == 'E') {
        h_error_field(body, len, 'C', code, 6);
        h_error_field(body, len, 'M', msg, 512);
    }
    if (type == 'R')
        cr_assert_eq(body[3], 0, "expected AuthenticationOk");
    return type;
}

/* ---- who gets in ------------------------------------------------------------------------- */

Test(front, admin_connects_with_a_token)
{
    char *t = h_token(1, 0, 0);
    PGconn *c = h_connect("admin", t, NULL);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    char *who = query1(c, "SELECT current_user");
    cr_assert_str_eq(who, "admin");
    cr_assert_str_eq(PQparameterStatus(c, "server_encoding"), "UTF8"); /* ParameterStatus relayed */
    cr_assert_gt(PQbackendPID(c), 0);                                  /* BackendKeyData relayed */
    free(who);
    PQfinish(c);
    free(t);
}

Test(front, app_connects_uses_myschema_and_cannot_write_public)
{
    char *t = h_token(0, 0, 0);
    PGconn *c = h_connect("app", t, "-c search_path=myschema");
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    char *who = query1(c, "SELECT current_user || ' ' || current_setting('search_path')");
    cr_assert_str_eq(who, "app myschema");
    PGresult *r = PQexec(c, "CREATE TABLE IF NOT EXISTS app_t (id int)");
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    r = PQexec(c, "CREATE TABLE public.app_t (id int)");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
    PQclear(r);
    free(who);
    PQfinish(c);
    free(t);
}

/* Creates the temporary table `table (id int, s text)` and fills it with COPY FROM STDIN:
 * rows lines "<i>\t<text>", each sent as its own CopyData. */
static void copy_in(PGconn *c, const char *table, int rows, const char *text)
{
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE TEMP TABLE %s (id int, s text)", table);
    PQclear(PQexec(c, sql));
    snprintf(sql, sizeof sql, "COPY %s FROM STDIN", table);
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_COPY_IN, "%s", PQerrorMessage(c));
    PQclear(r);
    size_t len = strlen(text) + 16;
    char *line = malloc(len);
    cr_assert_not_null(line);
    for (int i = 0; i < rows; i++) {
        int n = snprintf(line, len, "%d\t%s\n", i, text);
        cr_assert_eq(PQputCopyData(c, line, n), 1);
    }
    free(line);
    cr_assert_eq(PQputCopyEnd(c, NULL), 1);
    r = PQgetResult(c);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    char want[16];
    snprintf(want, sizeof want, "%d", rows);
    cr_assert_str_eq(PQcmdTuples(r), want);
    PQclear(r);
    PQclear(PQgetResult(c));
}

/*
 * Bulk both ways, far beyond what the sockets buffer: the relay stops reading a side while the
 * other cannot take more, and must pick it up again when it can (an edge-triggered relay that
 * waits for an edge the full socket will never make again hangs here).
 */
Test(front, bulk_copy_in_and_out_and_large_results, .timeout = 60)
{
    char *t = h_token(1, 0, 0);
    PGconn *c = h_connect("admin", t, NULL);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    char pad[201];
    memset(pad, 'p', 200);
    pad[200] = '\0';
    copy_in(c, "bulk", 40000, pad); /* about 8 MB */

    PGresult *r = PQexec(c, "COPY bulk TO STDOUT");
    cr_assert_eq(PQresultStatus(r), PGRES_COPY_OUT);
    PQclear(r);
    long rows = 0, bytes = 0;
    char *buf;
    int n;
    while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
        rows++;
        bytes += n;
        PQfreemem(buf);
    }
    cr_assert_eq(n, -1, "%s", PQerrorMessage(c));
    PQclear(PQgetResult(c));
    cr_assert_eq(rows, 40000);
    cr_assert_gt(bytes, 8000000);

    r = PQexec(c, "SELECT repeat('x', 1000) FROM generate_series(1, 20000)"); /* about 20 MB */
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    cr_assert_eq(PQntuples(r), 20000);
    PQclear(r);
    PQfinish(c);
    free(t);
}

/* A backend that ends closes its client's connection at once (local_server.c says more). */
Test(front, a_backend_that_ends_closes_its_client, .timeout = 120)
{
    h_check_backend_end_closes_client(40);
}

Test(front, copy_notices_and_cancel_are_relayed)
{
    char *t = h_token(1, 0, 0);
    PGconn *c = h_connect("admin", t, NULL);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    copy_in(c, "cp", 1000, "row");
    char *n = query1(c, "SELECT count(*) FROM cp");
    cr_assert_str_eq(n, "1000");
    free(n);

    PGresult *r = PQexec(c, "DO $$BEGIN RAISE NOTICE 'hello from the backend'; END$$");
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);

    /* Cancel by key: the front relays the CancelRequest to PostgreSQL. */
    cr_assert_eq(PQsendQuery(c, "SELECT pg_sleep(20)"), 1);
    usleep(300 * 1000);
    PGcancel *cancel = PQgetCancel(c);
    char err[256];
    time_t t0 = time(NULL);
    cr_assert_eq(PQcancel(cancel, err, sizeof err), 1, "%s", err);
    PQfreeCancel(cancel);
    r = PQgetResult(c);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "57014");
    cr_assert_lt(time(NULL) - t0, 10);
    PQclear(r);
    PQclear(PQgetResult(c));
    PQfinish(c);
    free(t);
}

Test(front, psql_connects_with_a_library_token)
{
    char *t = h_token(1, 0, 0);
    char cmd[4096], out[1024];
    snprintf(cmd, sizeof cmd,
             "PGPASSWORD='%s' psql -X -At \"host=%s hostaddr=127.0.0.1 port=%d user=admin "
             "dbname=postgres sslmode=verify-full sslrootcert=%s\" -c 'SELECT current_user'",
             t, h_endpoint(), h_port(), h_ca());
    cr_assert_eq(h_sh(cmd, out, sizeof out), 0, "%s", out);
    cr_assert_str_eq(out, "admin\n");
    free(t);
}

/* ---- who is refused ---------------------------------------------------------------------- */

Test(front, refusals_name_the_failed_part)
{
    char *good = h_token(1, 0, 0);
    char *tampered = strdup(good);
    char *sig = strstr(tampered, "X-Amz-Signature=") + 16;
    sig[5] = sig[5] == '0' ? '1' : '0';
    char *expired = h_token(1, time(NULL) - 1000, 900);
    char *other = h_token_custom("other0000000000000000000aa.dsql.us-east-1.on.aws", "us-east-1",
                                 "AKIAIOSFODNN7EXAMPLE", "x", 1, 0, 0);
    char *user_tok = h_token(0, 0, 0);
    char *unknown = h_token_custom(h_endpoint(), "us-east-1", "AKIAUNKNOWN000000000", "x", 1, 0, 0);
    struct {
        const char *user, *password, *options, *text;
    } cases[] = {
        {"admin", tampered, NULL, "signature mismatch"},
        {"admin", expired, NULL, "token expired"},
        {"admin", other, NULL, "token is for host other"},
        {"admin", user_tok, NULL, "wrong action for role admin"},
        {"app", good, NULL, "wrong action for role app"},
        {"admin", unknown, NULL, "unknown access key id"},
        {"admin", "hunter2", NULL, "malformed token"},
        {"admin", good, "-c work_mem=1MB",
         "setting configuration parameter \"work_mem\" not supported"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        PGconn *c = h_connect(cases[i].user, cases[i].password, cases[i].options);
        h_expect_refused(c, "28P01", cases[i].text);
        cr_assert(strstr(PQerrorMessage(c), "X-Amz-Signature") == NULL, "token echoed");
        PQfinish(c);
    }
    free(good), free(tampered), free(expired), free(other), free(user_tok), free(unknown);
}

/*
 * DSQL tokens are bearer tokens valid until X-Amz-Expires runs out, and DSQL accepts the same one
 * for any number of connections until then: so does the endpoint; after expiry it refuses it.
 */
Test(front, a_token_is_reusable_until_it_expires_then_refused)
{
    char *t = h_token(1, time(NULL), 3);
    for (int i = 0; i < 3; i++) {
        PGconn *c = h_connect("admin", t, NULL);
        cr_assert_eq(PQstatus(c), CONNECTION_OK, "use %d: %s", i + 1, PQerrorMessage(c));
        PQfinish(c);
    }
    sleep(4);
    PGconn *c = h_connect("admin", t, NULL);
    h_expect_refused(c, "28P01", "token expired");
    PQfinish(c);
    free(t);
}

Test(front, bad_token_sqlstate_is_28P01)
{
    SSL_CTX *ctx = h_client_ctx();
    int fd = h_tcp();
    SSL *ssl = h_tls_session(fd, ctx, 1, h_endpoint(), 0);
    cr_assert(ssl != NULL);
    char code[6] = "", msg[512] = "";
    cr_assert_eq(login(fd, ssl, "admin", "bogus", code, msg), 'E');
    cr_assert_str_eq(code, "28P01");
    cr_assert(strstr(msg, "password authentication failed for user \"admin\": malformed token"));
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
}

Test(front, plaintext_is_refused_with_28000)
{
    int fd = h_tcp();
    unsigned char pkt[256];
    size_t n = h_startup_packet(pkt, "admin", "", 0);
    cr_assert_eq(send(fd, pkt, n, 0), (ssize_t)n);
    char code[6], msg[512];
    cr_assert_eq(read_error(fd, NULL, code, msg, sizeof msg), 0);
    cr_assert_str_eq(code, "28000");
    cr_assert(strstr(msg, "TLS is required") != NULL, "%s", msg);
    close(fd);
}

Test(front, gssenc_request_is_declined_then_tls_works)
{
    int fd = h_tcp();
    unsigned char req[8];
    h_put32(req, 8);
    h_put32(req + 4, 80877104);
    cr_assert_eq(send(fd, req, 8, 0), 8);
    char a;
    cr_assert_eq(recv(fd, &a, 1, 0), 1);
    cr_assert_eq(a, 'N');
    SSL_CTX *ctx = h_client_ctx();
    SSL *ssl = h_tls_session(fd, ctx, 1, h_endpoint(), 0);
    cr_assert(ssl != NULL);
    char *t = h_token(1, 0, 0);
    char code[6], msg[512];
    cr_assert_eq(login(fd, ssl, "admin", t, code, msg), 'R', "%s", msg);
    free(t);
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
}

Test(front, oversized_and_malformed_startup_packets)
{
    SSL_CTX *ctx = h_client_ctx();
    char code[6], msg[512];
    /* Oversized, announced in plaintext before TLS. */
    int fd = h_tcp();
    unsigned char big[8];
    h_put32(big, 20000);
    h_put32(big + 4, 196608);
    cr_assert_eq(send(fd, big, 8, 0), 8);
    cr_assert_eq(read_error(fd, NULL, code, msg, sizeof msg), 0);
    cr_assert_str_eq(code, "08P01");
    cr_assert(strstr(msg, "invalid length of startup packet"), "%s", msg);
    close(fd);

    /* Oversized inside TLS. */
    fd = h_tcp();
    SSL *ssl = h_tls_session(fd, ctx, 1, h_endpoint(), 0);
    cr_assert(ssl != NULL);
    cr_assert_eq(SSL_write(ssl, big, 8), 8);
    cr_assert_eq(read_error(fd, ssl, code, msg, sizeof msg), 0);
    cr_assert_str_eq(code, "08P01");
    SSL_free(ssl);
    close(fd);

    /* Key/value pairs without the final terminator. */
    fd = h_tcp();
    ssl = h_tls_session(fd, ctx, 1, h_endpoint(), 0);
    unsigned char pkt[64];
    size_t n = h_startup_packet(pkt, "admin", "", 0) - 1;
    h_put32(pkt, (uint32_t)n);
    cr_assert_eq(SSL_write(ssl, pkt, (int)n), (int)n);
    cr_assert_eq(read_error(fd, ssl, code, msg, sizeof msg), 0);
    cr_assert_str_eq(code, "08P01");
    cr_assert(strstr(msg, "invalid startup packet layout"), "%s", msg);
    SSL_free(ssl);
    close(fd);

    /* A parameter outside DSQL's allowlist, with DSQL's SQLSTATE. */
    fd = h_tcp();
    ssl = h_tls_session(fd, ctx, 1, h_endpoint(), 0);
    n = h_startup_packet(pkt, "admin",
                         "lock_timeout\0"
                         "1\0",
                         15);
    cr_assert_eq(SSL_write(ssl, pkt, (int)n), (int)n);
    cr_assert_eq(read_error(fd, ssl, code, msg, sizeof msg), 0);
    cr_assert_str_eq(code, "0A000");
    cr_assert_str_eq(msg, "setting configuration parameter \"lock_timeout\" not supported");
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
}

Test(front, direct_tls_needs_alpn_and_a_known_sni)
{
    SSL_CTX *ctx = h_client_ctx();
    char code[6] = "", msg[512] = "";
    /* PostgreSQL 17 style: TLS first, ALPN postgresql. */
    int fd = h_tcp();
    SSL *ssl = h_tls_session(fd, ctx, 0, h_endpoint(), 1);
    cr_assert(ssl != NULL, "direct TLS handshake failed");
    char *t = h_token(1, 0, 0);
    cr_assert_eq(login(fd, ssl, "admin", t, code, msg), 'R', "%s", msg);
    SSL_free(ssl);
    close(fd);

    /* Direct TLS without ALPN: refused as PostgreSQL 17 refuses it. */
    fd = h_tcp();
    ssl = h_tls_session(fd, ctx, 0, h_endpoint(), 0);
    cr_assert(ssl != NULL);
    cr_assert_eq(read_error(fd, ssl, code, msg, sizeof msg), 0);
    cr_assert_str_eq(code, "08P01");
    cr_assert(strstr(msg, "ALPN"), "%s", msg);
    SSL_free(ssl);
    close(fd);

    /* SNI for another host: the handshake fails. localhost is fine. */
    fd = h_tcp();
    cr_assert_null(h_tls_session(fd, ctx, 1, "other.example.com", 0));
    close(fd);
    fd = h_tcp();
    ssl = h_tls_session(fd, ctx, 1, "localhost", 0);
    cr_assert(ssl != NULL);
    SSL_free(ssl);
    close(fd);
    free(t);
    SSL_CTX_free(ctx);
}

/* ---- robustness -------------------------------------------------------------------------- */

/* Random and truncated bytes, plaintext and inside TLS; never AuthenticationOk, never a crash. */
Test(front, fuzz_never_crashes_and_never_admits, .timeout = 60)
{
    SSL_CTX *ctx = h_client_ctx();
    char *t = h_token(1, 0, 0);
    unsigned char good[512];
    size_t gn = h_startup_packet(good, "admin", "database\0postgres\0", 18);
    for (int i = 0; i < 400; i++) {
        unsigned char buf[600];
        unsigned char r[4];
        RAND_bytes(r, sizeof r);
        size_t n = 1 + r[0] % 300;
        int fd = h_tcp();
        struct timeval tv = {.tv_sec = 1};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        int mode = i % 4;
        if (mode == 0) { /* random bytes in the clear */
            RAND_bytes(buf, (int)n);
            if (buf[0] == 0x16)
                buf[0] = 0;
            send(fd, buf, n, MSG_NOSIGNAL);
        } else if (mode == 1) { /* a valid startup, truncated or with a flipped byte, in TLS */
            SSL *ssl = h_tls_session(fd, ctx, 1, h_endpoint(), 0);
            cr_assert(ssl != NULL);
            memcpy(buf, good, gn);
            size_t cut = 4 + r[1] % gn;
            buf[4 + r[2] % (gn - 4)] ^= (unsigned char)(1u << (r[3] % 8));
            SSL_write(ssl, buf, (int)(cut < gn ? cut : gn));
            if (cut < gn)
                shutdown(fd, SHUT_WR); /* truncated: let the front see the end at once */
            char type, body[4096];
            size_t len;
            while (h_read_msg(fd, ssl, &type, body, sizeof body, &len) == 0) {
                if (type == 'R' && len >= 4 && body[3] == 3) {
                    /* Asked for a password: send a mangled token. */
                    char pw[2048];
                    size_t tl = strlen(t);
                    memcpy(pw + 5, t, tl + 1);
                    /* ^0x01 changes meaning wherever it lands (^0x20 would only change the
                     * case of the host or of %XX hex, which rightly still verifies). */
                    pw[5 + r[1] % tl] ^= 0x01;
                    pw[0] = 'p';
                    h_put32((unsigned char *)pw + 1, (uint32_t)(tl + 5));
                    SSL_write(ssl, pw, (int)(tl + 6));
                    continue;
                }
                cr_assert(!(type == 'R' && len >= 4 && body[3] == 0),
                          "a mangled token was accepted (round %d)", i);
            }
            SSL_free(ssl);
        } else if (mode == 2) { /* random bytes after TLS */
            SSL *ssl = h_tls_session(fd, ctx, 1, h_endpoint(), 0);
            cr_assert(ssl != NULL);
            RAND_bytes(buf, (int)n);
            SSL_write(ssl, buf, (int)n);
            shutdown(fd, SHUT_WR);
            char type, body[4096];
            size_t len;
            while (h_read_msg(fd, ssl, &type, body, sizeof body, &len) == 0)
                cr_assert(!(type == 'R' && len >= 4 && body[3] == 0), "random bytes admitted");
            SSL_free(ssl);
        } else { /* a random-length header, then close */
            h_put32(buf, (uint32_t)r[1] << 24 | r[2]);
            send(fd, buf, 1 + r[3] % 8, MSG_NOSIGNAL);
        }
        close(fd);
    }
    PGconn *c = h_connect("admin", t, NULL);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "the front did not survive: %s", PQerrorMessage(c));
    PQfinish(c);
    free(t);
    SSL_CTX_free(ctx);
}

#define CONCURRENT 200

struct worker {
    pthread_t t;
    const char *token;
    PGconn *c;
    int ok;
};

static void *connect_worker(void *arg)
{
    struct worker *w = arg;
    w->c = h_connect("admin", w->token, NULL);
    if (PQstatus(w->c) == CONNECTION_OK) {
        PGresult *r = PQexec(w->c, "SELECT 1");
        w->ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
    }
    return NULL;
}

Test(front, two_hundred_clients_while_one_stalls, .timeout = 60)
{
    /* A client that opens a TCP connection and says nothing must not hold anyone up. */
    int stalled = h_tcp();
    int stalled_tls = h_tcp();
    unsigned char req[8];
    h_put32(req, 8);
    h_put32(req + 4, 80877103);
    send(stalled_tls, req, 8, 0); /* then never starts the handshake */

    char *t = h_token(1, 0, 0);
    static struct worker w[CONCURRENT];
    time_t t0 = time(NULL);
    /* Handshakes in waves of 25 (a 2-core machine need not take 200 TLS handshakes at the same
     * instant); each connection stays open, so all 200 are open together at the end. */
    int ok = 0;
    for (int wave = 0; wave < CONCURRENT; wave += 25) {
        for (int i = wave; i < wave + 25; i++) {
            w[i] = (struct worker){.token = t};
            pthread_attr_t a;
            pthread_attr_init(&a);
            pthread_attr_setstacksize(&a, 512 * 1024);
            cr_assert_eq(pthread_create(&w[i].t, &a, connect_worker, &w[i]), 0);
            pthread_attr_destroy(&a);
        }
        for (int i = wave; i < wave + 25; i++) {
            pthread_join(w[i].t, NULL);
            ok += w[i].ok;
            if (!w[i].ok)
                cr_log_error("client %d: %s", i, PQerrorMessage(w[i].c));
        }
    }
    /* All 200 are open at once here. */
    cr_assert_eq(ok, CONCURRENT);
    PGconn *extra = h_connect("admin", t, NULL);
    char *n = query1(extra, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'admin'");
    cr_assert_geq(atoi(n), CONCURRENT + 1);
    free(n);
    PQfinish(extra);
    for (int i = 0; i < CONCURRENT; i++)
        PQfinish(w[i].c);
    cr_assert_lt(time(NULL) - t0, 40);
    close(stalled);
    close(stalled_tls);
    free(t);
}

/* The front's pid, from its pid file. */
static long front_pid(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/front.pid", h_dir());
    long pid = h_read_pid(path);
    cr_assert_gt(pid, 0);
    return pid;
}

/* Sets the soft limit RESOURCE (prlimit's name: nofile, as) of process pid to VALUE. */
static void set_soft_limit(long pid, const char *resource, const char *value)
{
    char cmd[256], out[512];
    snprintf(cmd, sizeof cmd, "prlimit --pid %ld --%s=%s:", pid, resource, value);
    cr_assert_eq(h_sh(cmd, out, sizeof out), 0, "%s: %s", cmd, out);
}

/* Connects, sends libpq's first message (an SSLRequest) and reads the message that answers it:
 * 0 with its type and body, -1 when none came. */
static int answer_to_ssl_request(char *type, char *body, size_t cap, size_t *len)
{
    int fd = h_tcp();
    unsigned char ssl_request[8];
    h_put32(ssl_request, 8);
    h_put32(ssl_request + 4, 80877103);
    cr_assert_eq(send(fd, ssl_request, 8, 0), 8);
    int got = h_read_msg(fd, NULL, type, body, cap, len);
    close(fd);
    return got;
}

/*
 * When the front has no descriptor left for a client, the client still hears why: the front
 * keeps one descriptor in reserve for that, and answers with PostgreSQL's FATAL 53300 (also in
 * reply to the SSLRequest libpq opens with). The front's limit is lowered from outside to its
 * highest descriptor, then idle clients take the free numbers below it.
 */
Test(front, a_client_without_a_descriptor_hears_53300, .timeout = 40)
{
    char path[600], limit[32], line[256];
    long pid = front_pid();
    int highest = -1, holes = 0;
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(path, sizeof path, "/proc/%ld/fd/%d", pid, fd);
        if (access(path, F_OK) == 0)
            highest = fd;
    }
    for (int fd = 0; fd < highest; fd++) {
        snprintf(path, sizeof path, "/proc/%ld/fd/%d", pid, fd);
        holes += access(path, F_OK) != 0;
    }
    long soft = 0;
    snprintf(path, sizeof path, "/proc/%ld/limits", pid);
    FILE *lim = fopen(path, "r");
    cr_assert_not_null(lim);
    while (fgets(line, sizeof line, lim) != NULL)
        if (strncmp(line, "Max open files", 14) == 0)
            soft = atol(line + 14 + strspn(line + 14, " "));
    fclose(lim);
    cr_assert_gt(soft, highest);
    cr_assert_lt(holes, 200);
    snprintf(limit, sizeof limit, "%d", highest + 1);
    set_soft_limit(pid, "nofile", limit);
    int idle[200];
    for (int i = 0; i < holes; i++)
        idle[i] = h_tcp(); /* each holds one descriptor in the front until its handshake ends */
    usleep(300 * 1000);
    char type = 0, body[512], field[128];
    size_t len = 0;
    int got = answer_to_ssl_request(&type, body, sizeof body, &len);
    for (int i = 0; i < holes; i++)
        close(idle[i]);
    snprintf(limit, sizeof limit, "%ld", soft);
    set_soft_limit(pid, "nofile", limit);
    cr_assert_eq(got, 0, "no answer (%d descriptors were free)", holes);
    cr_assert_eq(type, 'E');
    cr_assert_str_eq(h_error_field(body, len, 'S', field, sizeof field), "FATAL");
    cr_assert_str_eq(h_error_field(body, len, 'C', field, sizeof field), "53300");
    cr_assert_str_eq(h_error_field(body, len, 'M', field, sizeof field),
                     "sorry, too many clients already");
    /* and the front goes on */
    usleep(300 * 1000);
    char *t = h_token(1, 0, 0);
    PGconn *c = h_connect("admin", t, NULL);
    free(t);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    PQfinish(c);
}

/* Whether this build's programs (the front among them) run under a sanitizer, which reserves
 * terabytes of address space up front: an address-space limit then starves the sanitizer
 * itself rather than the one thread the test below wants to fail. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

#ifndef SANITIZED
/*
 * When the front cannot start a thread for a client, the client hears why: PostgreSQL's FATAL
 * 53000 (insufficient_resources) with the reason, not a bare close. The front's address-space
 * limit is lowered from outside to just above what it maps now, so the next thread's stack
 * cannot be mapped; then it is given back and the front goes on. glibc would rather reuse the
 * stack of a thread that has ended: main() turns its stack cache off for the front, and idle
 * clients first take the few stacks still waiting to be freed. (Only where the front is not
 * built with a sanitizer: see SANITIZED.)
 */
#define IDLE_CLIENTS 8
Test(front, a_client_without_a_thread_hears_53000, .timeout = 40)
{
    char path[600], limit[32], line[256];
    long pid = front_pid();
    int idle[IDLE_CLIENTS];
    for (int i = 0; i < IDLE_CLIENTS; i++)
        idle[i] = h_tcp(); /* each holds a thread in the front until its handshake ends */
    usleep(300 * 1000);
    long vm_kb = 0;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *st = fopen(path, "r");
    cr_assert_not_null(st);
    while (fgets(line, sizeof line, st) != NULL)
        if (strncmp(line, "VmSize:", 7) == 0)
            vm_kb = atol(line + 7);
    fclose(st);
    cr_assert_gt(vm_kb, 0);
    /* A connection thread's stack is 256 KiB: 64 KiB above today's mappings cannot hold one. */
    snprintf(limit, sizeof limit, "%ld", (vm_kb + 64) * 1024);
    set_soft_limit(pid, "as", limit);
    char type = 0, body[512], field[160];
    size_t len = 0;
    int got = answer_to_ssl_request(&type, body, sizeof body, &len);
    set_soft_limit(pid, "as", "unlimited");
    for (int i = 0; i < IDLE_CLIENTS; i++)
        close(idle[i]);
    cr_assert_eq(got, 0, "no answer");
    cr_assert_eq(type, 'E');
    cr_assert_str_eq(h_error_field(body, len, 'S', field, sizeof field), "FATAL");
    cr_assert_str_eq(h_error_field(body, len, 'C', field, sizeof field), "53000");
    cr_assert(strncmp(h_error_field(body, len, 'M', field, sizeof field),
                      "could not create a thread for the connection: ", 46) == 0,
              "%s", field);
    /* and the front goes on */
    char *t = h_token(1, 0, 0);
    PGconn *c = h_connect("admin", t, NULL);
    free(t);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    PQfinish(c);
}
#endif

int main(int argc, char *argv[])
{
    /* Many refusals from one address in a few seconds: no failed-login limit here (its own
     * suite, test_ratelimit.c, tests it). */
#ifndef SANITIZED
    /* For a_client_without_a_thread_hears_53000: the front maps a new stack for each thread. */
    setenv("GLIBC_TUNABLES", "glibc.pthread.stack_cache_size=0", 1);
#endif
    return h_main(argc, argv, "--max-failed-logins 0");
}
