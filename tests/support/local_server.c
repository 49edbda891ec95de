/* SPDX-License-Identifier: MIT */
/* local_server.c: one dsqlauth-local per test program, plus client helpers the suites share. */
#include "local_server.h"

#include "dsqlauth.h"
#include "keys.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char endpoint[256] = "dsqlauthlocaltestcluster00.dsql.us-east-1.on.aws";

const char *h_dir(void)
{
    const char *d = getenv("DSQLAUTH_TEST_DIR");
    return d ? d : "";
}

int h_port(void)
{
    const char *p = getenv("DSQLAUTH_TEST_PORT");
    return p ? atoi(p) : 0;
}

const char *h_endpoint(void)
{
    return endpoint;
}

/* Per thread: the concurrency tests call these from many threads at once. */
const char *h_ca(void)
{
    static _Thread_local char ca[600];
    snprintf(ca, sizeof ca, "%s/ca.crt", h_dir());
    return ca;
}

const char *h_bin(void)
{
    static _Thread_local char bin[600];
    const char *b = getenv("DSQLAUTH_BUILD_ROOT");
    snprintf(bin, sizeof bin, "%s/tools/local/dsqlauth-local", b ? b : ".");
    return bin;
}

int h_sh(const char *cmd, char *out, size_t outlen)
{
    char full[4096];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *f = popen(full, "r");
    if (f == NULL)
        return -1;
    size_t n = 0;
    if (out != NULL && outlen > 0) {
        n = fread(out, 1, outlen - 1, f);
        out[n] = '\0';
    } else {
        char sink[4096];
        while (fread(sink, 1, sizeof sink, f) > 0)
            ;
    }
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int h_start(const char *extra_args)
{
    char tmpl[] = "/tmp/dsqlauth-test-XXXXXX";
    if (mkdtemp(tmpl) == NULL)
        return -1;
    return h_start_dir(tmpl, extra_args);
}

int h_start_dir(const char *tmpl, const char *extra_args)
{
    char cmd[2048], out[4096];
    snprintf(cmd, sizeof cmd, "%s start --dir %s %s", h_bin(), tmpl, extra_args ? extra_args : "");
    int rc = h_sh(cmd, out, sizeof out);
    if (rc != 0) {
        fprintf(stderr, "harness: `%s` failed (%d): %s\n", cmd, rc, out);
        return -1;
    }
    setenv("DSQLAUTH_TEST_DIR", tmpl, 1);
    snprintf(cmd, sizeof cmd, "%s/state", tmpl);
    FILE *f = fopen(cmd, "r");
    char line[256];
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "port=", 5) == 0) {
            line[strcspn(line, "\n")] = '\0';
            setenv("DSQLAUTH_TEST_PORT", line + 5, 1);
        }
    if (f != NULL)
        fclose(f);
    return h_port() > 0 ? 0 : -1;
}

void h_stop(void)
{
    char cmd[1024];
    if (h_dir()[0] == '\0')
        return;
    /* DSQLAUTH_TEST_KEEP=1 keeps the directory (logs) for a look after a failure. */
    snprintf(cmd, sizeof cmd, "%s stop --dir %s && %s %s", h_bin(), h_dir(),
             getenv("DSQLAUTH_TEST_KEEP") ? "echo kept" : "rm -rf", h_dir());
    h_sh(cmd, NULL, 0);
}

char *h_token_custom(const char *host, const char *region, const char *akid, const char *secret,
                     int admin, int64_t signing_time, int64_t expires)
{
    dsql_credentials *c = NULL;
    cr_assert_eq(dsql_credentials_new(akid, secret, NULL, 0, "test", &c, NULL), DSQL_OK);
    dsql_token_params p = {.hostname = host,
                           .region = region,
                           .admin = admin,
                           .expires_in = expires,
                           .signing_time = signing_time};
    char *t = NULL;
    dsql_error err;
    cr_assert_eq(dsql_token_generate(c, &p, &t, &err), DSQL_OK, "%s", err.message);
    dsql_credentials_free(c);
    return t;
}

char *h_token(int admin, int64_t signing_time, int64_t expires)
{
    char path[600], id[256], secret[256];
    snprintf(path, sizeof path, "%s/keys", h_dir());
    cr_assert_eq(keys_first(path, id, sizeof id, secret, sizeof secret), 0, "no keys in %s",
                 h_dir());
    return h_token_custom(h_endpoint(), "us-east-1", id, secret, admin, signing_time, expires);
}

PGconn *h_connect(const char *user, const char *password, const char *extra)
{
    char port[16];
    snprintf(port, sizeof port, "%d", h_port());
    const char *kw[] = {
        "host",        "hostaddr",        "port",    "user", "password", "dbname", "sslmode",
        "sslrootcert", "connect_timeout", "options", NULL};
    const char *vals[] = {h_endpoint(), "127.0.0.1",        port,          user,
                          password,     "postgres",         "verify-full", h_ca(),
                          "10",         extra ? extra : "", NULL};
    return PQconnectdbParams(kw, vals, 0);
}

/* Waits up to ms for c's server to close the connection; whether it did. Reads what comes. */
static int closed_within(PGconn *c, int ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long left = ms - ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
        if (p.fd < 0 || (poll(&p, 1, (int)left) > 0 && PQconsumeInput(c) == 0))
            return 1;
        while (!PQisBusy(c)) { /* the FATAL message, as a result: drop it */
            PGresult *r = PQgetResult(c);
            if (r == NULL)
                break;
            PQclear(r);
        }
    }
}

/*
 * The backend's FATAL message and its close often reach the front's relay in one wake-up; an
 * edge-triggered relay that stops reading at the message's short read never learns of the
 * close, and the client waits forever. It is a race, hence the rounds.
 */
void h_check_backend_end_closes_client(int rounds)
{
    char *t = h_token(1, 0, 0);
    PGconn *k = h_connect("admin", t, NULL);
    cr_assert_eq(PQstatus(k), CONNECTION_OK, "%s", PQerrorMessage(k));
    for (int i = 0; i < rounds; i++) {
        PGconn *c = h_connect("admin", t, NULL);
        cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
        if (i % 2)
            PQclear(PQexec(c, "BEGIN"));
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(c));
        PGresult *r = PQexec(k, sql);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(k));
        cr_assert_str_eq(PQgetvalue(r, 0, 0), "t", "round %d", i);
        PQclear(r);
        cr_assert(closed_within(c, 10000), "round %d: the client's connection stayed open", i);
        PQfinish(c);
    }
    PQfinish(k);
    free(t);
}

void h_expect_refused(PGconn *c, const char *sqlstate, const char *text)
{
    const char *msg = PQerrorMessage(c);
    cr_assert_neq(PQstatus(c), CONNECTION_OK, "connected; wanted %s %s", sqlstate, text);
    cr_assert(strstr(msg, text) != NULL, "error \"%s\" lacks \"%s\"", msg, text);
    /* libpq keeps no SQLSTATE for a failed connection: the message carries it via the text;
     * the raw-protocol tests check SQLSTATEs byte for byte. */
    (void)sqlstate;
}

int h_tcp(void)
{
    return h_tcp_from(NULL);
}

int h_tcp_from(const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    if (src != NULL) {
        struct sockaddr_in me = {.sin_family = AF_INET};
        cr_assert_eq(inet_pton(AF_INET, src, &me.sin_addr), 1);
        cr_assert_eq(bind(fd, (struct sockaddr *)&me, sizeof me), 0, "bind %s: %s", src,
                     strerror(errno));
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h_port())};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %s", strerror(errno));
    return fd;
}

static int read_n(int fd, SSL *ssl, char *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        int r =
            ssl ? SSL_read(ssl, buf + got, (int)(n - got)) : (int)recv(fd, buf + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

int h_read_msg(int fd, SSL *ssl, char *type, char *body, size_t cap, size_t *len)
{
    char hdr[5];
    if (read_n(fd, ssl, hdr, 5) != 0)
        return -1;
    uint32_t n = (uint32_t)(unsigned char)hdr[1] << 24 | (uint32_t)(unsigned char)hdr[2] << 16 |
                 (uint32_t)(unsigned char)hdr[3] << 8 | (unsigned char)hdr[4];
    if (n < 4 || n - 4 > cap)
        return -1;
    if (read_n(fd, ssl, body, n - 4) != 0)
        return -1;
    *type = hdr[0];
    *len = n - 4;
    return 0;
}

const char *h_error_field(const char *body, size_t len, char code, char *out, size_t outlen)
{
    out[0] = '\0';
    for (size_t i = 0; i < len && body[i] != '\0';) {
        size_t fl = strnlen(body + i + 1, len - i - 1);
        if (body[i] == code) {
            snprintf(out, outlen, "%.*s", (int)fl, body + i + 1);
            break;
        }
        i += fl + 2;
    }
    return out;
}

SSL_CTX *h_client_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    cr_assert(ctx != NULL);
    cr_assert_eq(SSL_CTX_load_verify_locations(ctx, h_ca(), NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* OpenSSL 3.0 fills a certificate's extension cache on first use, testing its "done" flag
     * outside the certificate's lock (a race TSan sees when client threads share this context):
     * fill the CA's now, while one thread holds it. */
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        if (x != NULL)
            X509_check_purpose(x, -1, 0);
    }
    return ctx;
}

int h_alive(long pid)
{
    if (pid <= 0 || kill((pid_t)pid, 0) != 0)
        return 0;
    char path[64], buf[256] = "";
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return !(paren != NULL && paren[1] == ' ' && paren[2] == 'Z'); /* zombies are gone */
}

void h_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* A StartupMessage for user with pairs appended ("k\0v\0" ...). */
size_t h_startup_packet(unsigned char *buf, const char *user, const char *pairs, size_t pairs_len)
{
    size_t n = 8;
    h_put32(buf + 4, 196608);
    memcpy(buf + n, "user", 5), n += 5;
    memcpy(buf + n, user, strlen(user) + 1), n += strlen(user) + 1;
    memcpy(buf + n, pairs, pairs_len), n += pairs_len;
    buf[n++] = '\0';
    h_put32(buf, (uint32_t)n);
    return n;
}

/* Connects, sends SSLRequest, and completes TLS with the given SNI/ALPN. */
SSL *h_tls_session(int fd, SSL_CTX *ctx, int ssl_request, const char *sni, int alpn)
{
    if (ssl_request) {
        unsigned char req[8];
        h_put32(req, 8);
        h_put32(req + 4, 80877103);
        cr_assert_eq(send(fd, req, 8, 0), 8);
        char s;
        cr_assert_eq(recv(fd, &s, 1, 0), 1);
        cr_assert_eq(s, 'S');
    }
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (sni != NULL)
        SSL_set_tlsext_host_name(ssl, sni);
    if (alpn)
        SSL_set_alpn_protos(ssl, (const unsigned char *)"\x0apostgresql", 11);
    if (SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    return ssl;
}

int h_main_with(int argc, char *argv[], int (*start)(void *), void *arg)
{
    struct criterion_test_set *tests = criterion_initialize();
    int result = 0;
    if (criterion_handle_args(argc, argv, true)) {
        if (start(arg) != 0) {
            criterion_finalize(tests);
            return 1;
        }
        result = !criterion_run_all_tests(tests);
        h_stop();
    }
    criterion_finalize(tests);
    return result;
}

static int start_with_args(void *start_args)
{
    return h_start(start_args);
}

int h_main(int argc, char *argv[], const char *start_args)
{
    return h_main_with(argc, argv, start_with_args, (void *)start_args);
}

long h_read_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid;
}
