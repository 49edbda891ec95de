/* SPDX-License-Identifier: MIT */
/*
 * test_endpoint_faults.c: dsqlauth-local under 500 concurrent connections, most of them
 * authenticated sessions and the rest clients that give up mid-handshake (half an SSLRequest,
 * a TLS handshake cut off, a startup without a password, a password followed by a TCP reset,
 * a client that goes silent), while a well-behaved client keeps connecting and querying.
 *
 * The endpoint must keep serving with bounded latency, and once everything has closed its
 * descriptor count must be back where it started and PostgreSQL must have no session left.
 * The instance is started with an open-files soft limit far below what 500 clients need, so
 * the test also proves that `start` raises it.
 */
#include "local_server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOW_SOFT_LIMIT 256   /* what the instance is started with */
#define HANDSHAKE_TIMEOUT 15 /* --handshake-timeout: silent clients are cut off after it */
#define TOTAL 500            /* connections open at once at the peak */
#define SESSIONS 300         /* of which authenticated libpq sessions */
#define OPENERS 12           /* threads opening the sessions */
#define KINDS 5              /* kinds of abusive client, (TOTAL - SESSIONS) / KINDS each */
#define RESETS 50            /* further clients: password, then an immediate reset */
#define SETTLE_S 20          /* how long the endpoint may take to let go of everything */
#define CHECKER_MAX_MS 3000  /* the well-behaved client's slowest connection + query */
#define CHECKER_P50_MS 750   /* ... and its median */

/* Under AddressSanitizer the front's TLS costs several times more: fewer of the 500 are full
 * sessions (each also starts a PostgreSQL backend), more are abusive clients. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#define ASAN_SESSIONS 200

static int total = TOTAL, sessions = SESSIONS; /* scaled down when descriptors are short */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the endpoint from outside ----------------------------------------------------------------
 */

static long front_pid(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/front.pid", h_dir());
    return h_read_pid(path);
}

static int fd_count(long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd", pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The soft and hard open-files limits of pid, from /proc/<pid>/limits. */
static void fd_limits(long pid, long long *soft, long long *hard)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/limits", pid);
    FILE *f = fopen(path, "r");
    *soft = *hard = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "Max open files", 14) == 0)
            sscanf(line + 14, "%lld %lld", soft, hard);
    if (f != NULL)
        fclose(f);
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A session straight to PostgreSQL's Unix socket, past the front. */
static PGconn *backend(void)
{
    char sockdir[600];
    snprintf(sockdir, sizeof sockdir, "%s/run", h_dir());
    const char *kw[] = {"host", "port", "user", "dbname", NULL};
    const char *val[] = {sockdir, "5432", "admin", "postgres", NULL};
    PGconn *c = PQconnectdbParams(kw, val, 0);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "backend: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

static int query_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

#define OTHER_CLIENTS                                                                              \
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> "      \
    "pg_backend_pid()"

/* Polls until the front's descriptors are back to baseline and PostgreSQL has no other client
 * session; fails with what is left over otherwise. */
static void expect_settled(long pid, int baseline)
{
    PGconn *pg = backend();
    int fds = -1, stray = -1;
    for (int i = 0; i < SETTLE_S * 10; i++) {
        fds = fd_count(pid);
        stray = query_int(pg, OTHER_CLIENTS);
        if (fds == baseline && stray == 0)
            break;
        usleep(100 * 1000);
    }
    if (stray != 0) {
        PGresult *r = PQexec(pg, "SELECT string_agg(usename || ':' || state, ', ') FROM "
                                 "pg_stat_activity WHERE backend_type = 'client backend' AND "
                                 "pid <> pg_backend_pid()");
        cr_log_error("stray sessions: %s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    PQfinish(pg);
    cr_assert_eq(fds, baseline, "the front holds %d descriptors, %d before", fds, baseline);
    cr_assert_eq(stray, 0, "PostgreSQL still has %d client sessions", stray);
    cr_assert(h_alive(pid), "the front is gone");
}

/* The front's descriptor count when idle (after one connection has warmed it up). */
static int baseline_fds(long pid, const char *token)
{
    PGconn *c = h_connect("admin", token, NULL);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    PQfinish(c);
    int n = -1, same = 0;
    for (int i = 0; i < 100 && same < 5; i++) {
        int m = fd_count(pid);
        same = m == n ? same + 1 : 0;
        n = m;
        usleep(50 * 1000);
    }
    cr_assert_gt(n, 0, "cannot read /proc/%ld/fd", pid);
    return n;
}

/* ---- the well-behaved client ------------------------------------------------------------------
 */

#define MAX_SAMPLES 4096

static struct {
    const char *token;
    atomic_int stop;
    int n, failed;
    long long ms[MAX_SAMPLES];
    char first_error[256];
} checker;

static void *checker_run(void *arg)
{
    (void)arg;
    while (!atomic_load(&checker.stop) && checker.n < MAX_SAMPLES) {
        long long t0 = now_ms();
        PGconn *c = h_connect("admin", checker.token, NULL);
        int ok = PQstatus(c) == CONNECTION_OK;
        if (ok) {
            PGresult *r = PQexec(c, "SELECT 42");
            ok = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "42") == 0;
            PQclear(r);
        }
        if (!ok && checker.failed++ == 0)
            snprintf(checker.first_error, sizeof checker.first_error, "%s", PQerrorMessage(c));
        PQfinish(c);
        checker.ms[checker.n++] = now_ms() - t0;
        usleep(20 * 1000);
    }
    return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* ---- abusive clients (raw sockets; no criterion asserts off the main thread) ------------------
 */

enum kind {
    HALF_SSLREQUEST, /* 4 of the SSLRequest's 8 bytes, then close */
    SILENT,          /* 4 bytes, then silence: the front must cut it off */
    TLS_CUT,         /* SSLRequest, then a ClientHello, then close mid-handshake */
    NO_PASSWORD,     /* TLS, StartupMessage, the password request read, then close */
    PASSWORD_RESET,  /* ... a valid password sent, then a TCP reset */
};

static const char *const kind_names[KINDS] = {"half SSLRequest", "silent", "TLS cut", "no password",
                                              "password then reset"};

typedef struct client {
    enum kind kind;
    int fd;
    SSL *ssl;
    int ready; /* reached the point where it gives up */
} client;

static SSL_CTX *ctx;
static char *token;
static pthread_barrier_t peak;

static int tcp(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h_port())};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 15};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
    return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static int ssl_request(int fd)
{
    unsigned char req[8];
    char s = 0;
    h_put32(req, 8);
    h_put32(req + 4, 80877103);
    return send_all(fd, req, 8) == 0 && recv(fd, &s, 1, 0) == 1 && s == 'S' ? 0 : -1;
}

/* Completes TLS, sends the StartupMessage and reads AuthenticationCleartextPassword. */
static int startup(client *cl)
{
    if (ssl_request(cl->fd) != 0)
        return -1;
    cl->ssl = SSL_new(ctx);
    SSL_set_fd(cl->ssl, cl->fd);
    SSL_set_tlsext_host_name(cl->ssl, h_endpoint());
    if (SSL_connect(cl->ssl) != 1)
        return -1;
    unsigned char pkt[256];
    size_t n = h_startup_packet(pkt, "admin", "database\0postgres\0", 18);
    if (SSL_write(cl->ssl, pkt, (int)n) != (int)n)
        return -1;
    char type, body[64];
    size_t len;
    if (h_read_msg(cl->fd, cl->ssl, &type, body, sizeof body, &len) != 0 || type != 'R' ||
        len != 4 || body[3] != 3)
        return -1;
    return 0;
}

static int send_password(client *cl)
{
    size_t tl = strlen(token);
    unsigned char *m = malloc(tl + 6);
    if (m == NULL)
        return -1;
    m[0] = 'p';
    h_put32(m + 1, (uint32_t)(tl + 5));
    memcpy(m + 5, token, tl + 1);
    int rc = SSL_write(cl->ssl, m, (int)(tl + 6)) == (int)(tl + 6) ? 0 : -1;
    free(m);
    return rc;
}

/* Closes with a TCP reset instead of a FIN. */
static void reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* Takes cl to the point where it gives up (cl->ready on success). */
static void approach(client *cl)
{
    cl->fd = tcp();
    if (cl->fd < 0)
        return;
    switch (cl->kind) {
    case HALF_SSLREQUEST:
    case SILENT: {
        unsigned char req[8];
        h_put32(req, 8);
        h_put32(req + 4, 80877103);
        cl->ready = send_all(cl->fd, req, 4) == 0;
        break;
    }
    case TLS_CUT:
        if (ssl_request(cl->fd) != 0)
            return;
        /* The ClientHello goes out through memory, and the server's answer is never read:
         * the handshake stops half-way however fast the server is. */
        cl->ssl = SSL_new(ctx);
        SSL_set_bio(cl->ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
        SSL_set_tlsext_host_name(cl->ssl, h_endpoint());
        if (SSL_connect(cl->ssl) == -1 && SSL_get_error(cl->ssl, -1) == SSL_ERROR_WANT_READ) {
            char *hello;
            long n = BIO_get_mem_data(SSL_get_wbio(cl->ssl), &hello);
            cl->ready = n > 0 && send_all(cl->fd, hello, (size_t)n) == 0;
        }
        break;
    case NO_PASSWORD:
        cl->ready = startup(cl) == 0;
        break;
    case PASSWORD_RESET:
        cl->ready = startup(cl) == 0 && send_password(cl) == 0;
        break;
    }
    ERR_clear_error();
}

/* Gives up: closes (or resets) without a word. SILENT clients are kept. */
static void vanish(client *cl)
{
    if (cl->kind == SILENT || cl->fd < 0)
        return;
    if (cl->kind == PASSWORD_RESET)
        reset(cl->fd);
    else
        close(cl->fd);
    cl->fd = -1;
    SSL_free(cl->ssl); /* no close_notify: the socket is already gone */
    cl->ssl = NULL;
}

/* ---- the peak ---------------------------------------------------------------------------------
 */

typedef struct opener {
    pthread_t t;
    PGconn **conns;
    int n;
    client *clients;
    int nclients;
    int opened;
} opener;

static void *open_all(void *arg)
{
    opener *o = arg;
    for (int i = 0; i < o->n; i++) {
        o->conns[i] = h_connect("admin", token, NULL);
        o->opened += PQstatus(o->conns[i]) == CONNECTION_OK;
    }
    /* The abusive clients come once all sessions are open, so that none of them reaches the
     * handshake deadline before the peak. */
    pthread_barrier_wait(&peak);
    for (int i = 0; i < o->nclients; i++)
        approach(&o->clients[i]);
    /* Everybody open at once here; then the abusive ones give up together. */
    pthread_barrier_wait(&peak);
    pthread_barrier_wait(&peak);
    for (int i = 0; i < o->nclients; i++)
        vanish(&o->clients[i]);
    return NULL;
}

/* Clients that send a valid password and reset the connection at once (racing the front's
 * backend connection), from one thread. */
static void *reset_at_once(void *arg)
{
    int *done = arg;
    for (int i = 0; i < RESETS; i++) {
        client cl = {.kind = PASSWORD_RESET};
        approach(&cl);
        *done += cl.ready;
        if (cl.fd >= 0)
            reset(cl.fd);
        SSL_free(cl.ssl);
    }
    return NULL;
}

/* Criterion runs each test in a fresh process: the counts are decided there. */
static void scale(void)
{
#ifdef UNDER_ASAN
    sessions = ASAN_SESSIONS;
    fprintf(stderr, "# under ASan: %d sessions and %d abusive clients instead of %d and %d\n",
            sessions, TOTAL - sessions, SESSIONS, TOTAL - SESSIONS);
#endif
    /* Each client here needs one descriptor, the front two per session. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)TOTAL + 100) {
        total = (int)rl.rlim_cur - 100;
        sessions = total * 3 / 5;
        fprintf(stderr, "# only %ld descriptors: %d connections instead of %d\n", (long)rl.rlim_cur,
                total, TOTAL);
    }
}

Test(endpoint, five_hundred_clients_some_abusive_leave_nothing_behind, .timeout = 150)
{
    signal(SIGPIPE, SIG_IGN);
    scale();
    long pid = front_pid();
    cr_assert(h_alive(pid), "no front pid in %s", h_dir());
    long long soft, hard;
    fd_limits(pid, &soft, &hard);
    fprintf(stderr, "# front pid %ld: open files soft %lld hard %lld (started with soft %d)\n", pid,
            soft, hard, LOW_SOFT_LIMIT);
    cr_assert_eq(soft, hard > (1 << 20) ? (1 << 20) : hard,
                 "the front kept an open-files soft limit of %lld (hard %lld)", soft, hard);

    token = h_token(1, 0, 0);
    ctx = h_client_ctx();
    int baseline = baseline_fds(pid, token);
    expect_settled(pid, baseline);

    /* The well-behaved client's latency on the idle endpoint, as the machine runs today. */
    long long idle[9];
    for (int i = 0; i < 9; i++) {
        long long t = now_ms();
        PGconn *c = h_connect("admin", token, NULL);
        cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
        PQclear(PQexec(c, "SELECT 42"));
        PQfinish(c);
        idle[i] = now_ms() - t;
    }
    qsort(idle, 9, sizeof idle[0], cmp_ll);
    long long idle_p50 = idle[4];

    checker.token = token;
    pthread_t check;
    cr_assert_eq(pthread_create(&check, NULL, checker_run, NULL), 0);

    /* The sessions and the abusive clients, spread over the opener threads. */
    int nabusive = total - sessions;
    static PGconn *conns[TOTAL];
    static client clients[TOTAL];
    for (int i = 0; i < nabusive; i++)
        clients[i] = (client){.kind = (enum kind)(i % KINDS), .fd = -1};
    opener o[OPENERS];
    pthread_barrier_init(&peak, NULL, OPENERS + 1);
    long long t0 = now_ms();
    for (int i = 0, s = 0, a = 0; i < OPENERS; i++) {
        int ns = sessions / OPENERS + (i < sessions % OPENERS);
        int na = nabusive / OPENERS + (i < nabusive % OPENERS);
        o[i] = (opener){.conns = conns + s, .n = ns, .clients = clients + a, .nclients = na};
        s += ns;
        a += na;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 512 * 1024);
        cr_assert_eq(pthread_create(&o[i].t, &at, open_all, &o[i]), 0);
        pthread_attr_destroy(&at);
    }
    pthread_barrier_wait(&peak); /* the sessions are open */
    long long sessions_ms = now_ms() - t0;
    int resets_done = 0;
    pthread_t resetter;
    cr_assert_eq(pthread_create(&resetter, NULL, reset_at_once, &resets_done), 0);
    pthread_barrier_wait(&peak); /* and the abusive clients are where they give up */
    long long open_ms = now_ms() - t0;
    int peak_fds = fd_count(pid);
    PGconn *pg = backend();
    int peak_sessions = query_int(pg, OTHER_CLIENTS);
    PQfinish(pg);
    int opened = 0, ready[KINDS] = {0};
    for (int i = 0; i < OPENERS; i++)
        opened += o[i].opened;
    for (int i = 0; i < nabusive; i++)
        ready[clients[i].kind] += clients[i].ready;
    pthread_barrier_wait(&peak);
    for (int i = 0; i < OPENERS; i++)
        pthread_join(o[i].t, NULL);
    pthread_join(resetter, NULL);

    fprintf(stderr,
            "# peak after %lld ms (sessions open after %lld ms): %d sessions + %d abusive "
            "clients open; the front holds %d descriptors (%d idle), PostgreSQL %d client "
            "sessions\n",
            open_ms, sessions_ms, opened, nabusive, peak_fds, baseline, peak_sessions);
    for (int k = 0; k < KINDS; k++)
        fprintf(stderr, "#   %s: %d of %d got as far as intended\n", kind_names[k], ready[k],
                nabusive / KINDS);
    fprintf(stderr, "#   password then immediate reset: %d of %d\n", resets_done, RESETS);
    cr_assert_eq(opened, sessions, "only %d of %d sessions opened", opened, sessions);
    for (int k = 0; k < KINDS; k++)
        cr_assert_geq(ready[k], nabusive / KINDS, "%s: only %d got as far as intended",
                      kind_names[k], ready[k]);
    cr_assert_eq(resets_done, RESETS);
    /* All of them at the front at once: two descriptors per session, one per other client. */
    cr_assert_geq(peak_fds, baseline + 2 * sessions + nabusive,
                  "not all clients were open at once (%d descriptors)", peak_fds);

    /* The sessions are alive, then leave properly. */
    for (int i = 0; i < sessions; i++) {
        PGresult *r = PQexec(conns[i], "SELECT 1");
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "session %d: %s", i,
                     PQerrorMessage(conns[i]));
        PQclear(r);
        PQfinish(conns[i]);
    }

    /* The silent clients are cut off at the handshake deadline. */
    for (int i = 0; i < nabusive; i++) {
        if (clients[i].kind != SILENT || clients[i].fd < 0)
            continue;
        char b;
        struct timeval tv = {.tv_sec = HANDSHAKE_TIMEOUT + 10};
        setsockopt(clients[i].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t r = recv(clients[i].fd, &b, 1, 0);
        cr_assert(r == 0 || (r < 0 && errno == ECONNRESET), "a silent client was not cut off");
        close(clients[i].fd);
    }

    atomic_store(&checker.stop, 1);
    pthread_join(check, NULL);
    qsort(checker.ms, (size_t)checker.n, sizeof checker.ms[0], cmp_ll);
    long long p50 = checker.n ? checker.ms[checker.n / 2] : 0;
    long long worst = checker.n ? checker.ms[checker.n - 1] : 0;
    /* Bounds: absolute, or relative to the idle latency on a machine busy with other work. */
    long long p50_max = CHECKER_P50_MS > 5 * idle_p50 ? CHECKER_P50_MS : 5 * idle_p50;
    long long worst_max = CHECKER_MAX_MS > 15 * idle_p50 ? CHECKER_MAX_MS : 15 * idle_p50;
    fprintf(stderr,
            "# well-behaved client: %d connections, %d failed, median %lld ms, p90 %lld ms, "
            "slowest %lld ms (idle median %lld ms; bounds %lld and %lld ms)\n",
            checker.n, checker.failed, p50, checker.n ? checker.ms[checker.n * 9 / 10] : 0, worst,
            idle_p50, p50_max, worst_max);
    fflush(stderr);
    cr_assert_eq(checker.failed, 0, "the well-behaved client failed: %s", checker.first_error);
    cr_assert_gt(checker.n, 5);
    cr_assert_lt(p50, p50_max, "median latency %lld ms under load (idle %lld ms)", p50, idle_p50);
    cr_assert_lt(worst, worst_max, "slowest %lld ms under load (idle median %lld ms)", worst,
                 idle_p50);

    expect_settled(pid, baseline);
    SSL_CTX_free(ctx);
    free(token);
}

/* PostgreSQL refusing a session at its limit (here a role's connection limit) reaches the
 * client as PostgreSQL's own 53300, and leaves nothing behind. */
Test(endpoint, backend_limit_is_a_clean_53300)
{
    long pid = front_pid();
    PGconn *pg = backend();
    PQclear(PQexec(pg, "DROP ROLE IF EXISTS capped"));
    PGresult *r = PQexec(pg, "CREATE ROLE capped LOGIN CONNECTION LIMIT 1");
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
    char *t = h_token(0, 0, 0), *admin = h_token(1, 0, 0);
    int baseline = baseline_fds(pid, admin);
    free(admin);

    PGconn *first = h_connect("capped", t, NULL);
    cr_assert_eq(PQstatus(first), CONNECTION_OK, "%s", PQerrorMessage(first));
    PGconn *second = h_connect("capped", t, NULL);
    h_expect_refused(second, "53300", "too many connections for role \"capped\"");
    PQfinish(second);

    /* The same on the wire: an ErrorResponse with SQLSTATE 53300, then the end. */
    SSL_CTX *cctx = h_client_ctx();
    int fd = h_tcp();
    SSL *ssl = h_tls_session(fd, cctx, 1, h_endpoint(), 0);
    cr_assert_not_null(ssl);
    unsigned char pkt[256];
    size_t n = h_startup_packet(pkt, "capped", "database\0postgres\0", 18);
    cr_assert_eq(SSL_write(ssl, pkt, (int)n), (int)n);
    char type, body[1024], code[16];
    size_t len;
    cr_assert_eq(h_read_msg(fd, ssl, &type, body, sizeof body, &len), 0);
    cr_assert_eq(type, 'R');
    size_t tl = strlen(t);
    unsigned char *m = malloc(tl + 6);
    m[0] = 'p';
    h_put32(m + 1, (uint32_t)(tl + 5));
    memcpy(m + 5, t, tl + 1);
    cr_assert_eq(SSL_write(ssl, m, (int)(tl + 6)), (int)(tl + 6));
    free(m);
    for (;;) {
        cr_assert_eq(h_read_msg(fd, ssl, &type, body, sizeof body, &len), 0,
                     "the connection ended without an ErrorResponse");
        if (type == 'E')
            break;
        cr_assert_eq(type, 'R', "unexpected message '%c' before the refusal", type);
    }
    cr_assert_str_eq(h_error_field(body, len, 'C', code, sizeof code), "53300");
    cr_assert_neq(h_read_msg(fd, ssl, &type, body, sizeof body, &len), 0, "not closed after it");
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(cctx);

    PQfinish(first);
    expect_settled(pid, baseline);
    free(t);
}

/*
 * Starts the instance with a soft open-files limit far below what the test needs (start must
 * raise it), then gives this process all it may have for its own clients.
 */
static int start(void *arg)
{
    (void)arg;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t hard = rl.rlim_max;
    rl.rlim_cur = LOW_SOFT_LIMIT < hard ? LOW_SOFT_LIMIT : hard;
    setrlimit(RLIMIT_NOFILE, &rl);
    char args[64];
    snprintf(args, sizeof args, "--handshake-timeout %d", HANDSHAKE_TIMEOUT);
    int started = h_start(args);
    rl.rlim_cur = hard;
    setrlimit(RLIMIT_NOFILE, &rl);
    return started;
}

int main(int argc, char *argv[])
{
    return h_main_with(argc, argv, start, NULL);
}
