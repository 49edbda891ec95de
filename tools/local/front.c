/* SPDX-License-Identifier: MIT */
/* front.c: accept loop, TLS negotiation, startup checks and token authentication per client. */
#include "front.h"

#include "base/log.h"
#include "clock.h"
#include "keys.h"
#include "proto.h"
#include "relay.h"
#include "rules.h"
#include "tls.h"
#include "token_verify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PASSWORD_MSG (DSQL_TOKEN_MAX + 64)
#define MAX_NEGOTIATIONS 2 /* GSSENCRequest then SSLRequest, as libpq may send */

/*
 * Failed logins per client address: a fixed window that opens at the first failure. Once a
 * client has max_failed_logins failures in it, every further attempt until the window closes
 * is refused before its token is read, let alone verified. The table is small and bounded: when
 * it is full the entry whose window closed first is reused.
 */
#define LIMIT_SLOTS 256

typedef struct limit_slot {
    char addr[INET6_ADDRSTRLEN];
    int failures;
    int64_t window_start_ms;
} limit_slot;

typedef struct front {
    const front_config *cfg;
    SSL_CTX *ctx;
    keys keys;
    atomic_int active;
    pthread_mutex_t limit_lock;
    limit_slot limits[LIMIT_SLOTS];
    double rate_tokens; /* the connection-rate bucket (guarded by limit_lock) */
    int64_t rate_refill_ms;
} front;

typedef struct conn {
    front *f;
    int fd;
    int backend_fd; /* once the session is handed to a relay thread (-1 before) */
    SSL *ssl;
    int64_t deadline_ms; /* the whole handshake (TLS, startup, password) ends by then */
    char peer[64];
    char addr[INET6_ADDRSTRLEN]; /* the client's address, without the port */
} conn;

/* ---- blocking I/O for the handshake phase (socket timeouts bound every call) ---------------- */

/*
 * Sets the socket timeouts to what is left of the handshake deadline, so a client that
 * trickles bytes cannot hold its thread longer than the deadline. -1 when it has passed.
 */
static int arm(const conn *c)
{
    int64_t left = c->deadline_ms - local_now_ms();
    if (left <= 0)
        return -1;
    struct timeval tv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return 0;
}

static int read_plain(const conn *c, void *buf, size_t n)
{
    int fd = c->fd;
    for (size_t got = 0; got < n;) {
        if (arm(c) != 0)
            return -1;
        ssize_t r = recv(fd, (char *)buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int write_plain(int fd, const void *buf, size_t n)
{
    for (size_t put = 0; put < n;) {
        ssize_t w = send(fd, (const char *)buf + put, n - put, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        put += (size_t)w;
    }
    return 0;
}

static int read_conn(conn *c, void *buf, size_t n)
{
    if (c->ssl == NULL)
        return read_plain(c, buf, n);
    for (size_t got = 0; got < n;) {
        if (arm(c) != 0)
            return -1;
        int r = SSL_read(c->ssl, (char *)buf + got, (int)(n - got));
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int write_conn(conn *c, const void *buf, size_t n)
{
    if (c->ssl == NULL)
        return write_plain(c->fd, buf, n);
    for (size_t put = 0; put < n;) {
        int w = SSL_write(c->ssl, (const char *)buf + put, (int)(n - put));
        if (w <= 0)
            return -1;
        put += (size_t)w;
    }
    return 0;
}

/* Sends ErrorResponse FATAL (over TLS when established) and logs why. Always returns -1. */
static int fatal(conn *c, const char *sqlstate, const char *message)
{
    dsql_buf b;
    dsql_buf_init(&b);
    proto_put_error(&b, "FATAL", sqlstate, message);
    if (!dsql_buf_failed(&b))
        (void)write_conn(c, b.data, b.len);
    dsql_buf_cleanup(&b);
    dsql_log(DSQL_LOG_INFO, "local: %s: refused: %s %s", c->peer, sqlstate, message);
    return -1;
}

/* ---- failed-login limit per client address ----------------------------------------------- */

/* The slot for addr whose window is still open, or NULL. Caller holds limit_lock. */
static limit_slot *limit_find(front *f, const char *addr, int64_t now)
{
    int64_t window = (int64_t)f->cfg->failed_login_window * 1000;
    for (size_t i = 0; i < LIMIT_SLOTS; i++) {
        limit_slot *l = &f->limits[i];
        if (l->failures > 0 && strcmp(l->addr, addr) == 0)
            return now - l->window_start_ms < window ? l : NULL;
    }
    return NULL;
}

/* Milliseconds until addr may try again; 0 when it may now. */
static int64_t limit_blocked_ms(front *f, const char *addr)
{
    if (f->cfg->max_failed_logins <= 0)
        return 0;
    int64_t now = local_now_ms(), left = 0;
    pthread_mutex_lock(&f->limit_lock);
    limit_slot *l = limit_find(f, addr, now);
    if (l != NULL && l->failures >= f->cfg->max_failed_logins)
        left = l->window_start_ms + (int64_t)f->cfg->failed_login_window * 1000 - now;
    pthread_mutex_unlock(&f->limit_lock);
    return left;
}

static void limit_record_failure(front *f, const char *addr)
{
    if (f->cfg->max_failed_logins <= 0)
        return;
    int64_t now = local_now_ms(), window = (int64_t)f->cfg->failed_login_window * 1000;
    pthread_mutex_lock(&f->limit_lock);
    limit_slot *l = limit_find(f, addr, now);
    if (l == NULL) {
        /* Its old slot if it has one, else a free or expired one, else the oldest. */
        limit_slot *reuse = NULL;
        for (size_t i = 0; i < LIMIT_SLOTS && reuse == NULL; i++)
            if (f->limits[i].failures > 0 && strcmp(f->limits[i].addr, addr) == 0)
                reuse = &f->limits[i];
        for (size_t i = 0; i < LIMIT_SLOTS && reuse == NULL; i++)
            if (f->limits[i].failures == 0 || now - f->limits[i].window_start_ms >= window)
                reuse = &f->limits[i];
        if (reuse == NULL) {
            reuse = &f->limits[0];
            for (size_t i = 1; i < LIMIT_SLOTS; i++)
                if (f->limits[i].window_start_ms < reuse->window_start_ms)
                    reuse = &f->limits[i];
        }
        l = reuse;
        snprintf(l->addr, sizeof l->addr, "%s", addr);
        l->failures = 0;
        l->window_start_ms = now;
    }
    l->failures++;
    if (l->failures == f->cfg->max_failed_logins)
        dsql_log(DSQL_LOG_WARN,
                 "local: %s: %d failed logins within %d s: refusing it until the "
                 "window closes",
                 addr, l->failures, f->cfg->failed_login_window);
    pthread_mutex_unlock(&f->limit_lock);
}

/*
 * DSQL's connection-rate quota (--connection-rate): a token bucket of conn_burst tokens refilled
 * at conn_rate per second; a connection takes one. 1 when this one may go on.
 */
static int rate_take(front *f)
{
    if (f->cfg->conn_rate <= 0)
        return 1;
    int64_t now = local_now_ms();
    int ok;
    pthread_mutex_lock(&f->limit_lock);
    f->rate_tokens += (double)(now - f->rate_refill_ms) * f->cfg->conn_rate / 1000.0;
    if (f->rate_tokens > f->cfg->conn_burst)
        f->rate_tokens = f->cfg->conn_burst;
    f->rate_refill_ms = now;
    ok = f->rate_tokens >= 1.0;
    if (ok)
        f->rate_tokens -= 1.0;
    pthread_mutex_unlock(&f->limit_lock);
    return ok;
}

/* ---- backend ------------------------------------------------------------------------------ */

static int backend_connect(const front_config *cfg)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", cfg->backend_socket);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A CancelRequest (16 bytes, already read) goes to the backend as it is; PostgreSQL checks the key.
 */
static void relay_cancel(conn *c, const unsigned char pkt[16])
{
    int fd = backend_connect(c->f->cfg);
    if (fd < 0)
        return;
    (void)write_plain(fd, pkt, 16);
    /* PostgreSQL closes after reading it; wait briefly so the request is not cut short. */
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    (void)poll(&pfd, 1, 1000);
    close(fd);
    dsql_log(DSQL_LOG_DEBUG, "local: %s: cancel request relayed", c->peer);
}

/* ---- the handshake ------------------------------------------------------------------------ */

static int tls_accept(conn *c, int direct)
{
    c->ssl = SSL_new(c->f->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || arm(c) != 0)
        return -1;
    /* OpenSSL keeps the last decrypted record until the next one: until the password has been
     * read, wipe each record once it is delivered (cleared again for the relay, see session). */
    SSL_set_options(c->ssl, SSL_OP_CLEANSE_PLAINTEXT);
    if (SSL_accept(c->ssl) != 1) {
        unsigned long e = ERR_peek_last_error();
        dsql_log(DSQL_LOG_INFO, "local: %s: TLS handshake failed: %s", c->peer,
                 e ? ERR_reason_error_string(e) : "connection closed or timed out");
        ERR_clear_error();
        SSL_free(c->ssl);
        c->ssl = NULL;
        return -1;
    }
    if (direct && !tls_alpn_is_postgresql(c->ssl))
        return fatal(c, "08P01",
                     "received direct SSL connection request without ALPN protocol "
                     "negotiation extension");
    return 0;
}

/*
 * Reads the first packet of the session: negotiates TLS (SSLRequest or a direct TLS
 * ClientHello), answers GSSENCRequest with 'N', relays a CancelRequest, and leaves the
 * StartupMessage body (protocol code onwards) in pkt. Returns its length, 0 when the
 * connection was a cancel request, or -1 when it is over.
 */
static long read_startup(conn *c, unsigned char *pkt)
{
    for (int round = 0;; round++) {
        unsigned char hdr[8];
        if (c->ssl == NULL) {
            unsigned char first;
            if (arm(c) != 0)
                return -1;
            ssize_t r = recv(c->fd, &first, 1, MSG_PEEK);
            if (r <= 0)
                return -1;
            if (first == 0x16) { /* a TLS record: direct TLS (PostgreSQL 17 sslnegotiation) */
                if (tls_accept(c, 1) != 0)
                    return -1;
                continue;
            }
        }
        if (read_conn(c, hdr, 8) != 0)
            return -1;
        uint32_t len = proto_get32(hdr), code = proto_get32(hdr + 4);
        if (len < 8 || len > PROTO_MAX_STARTUP)
            return fatal(c, "08P01", "invalid length of startup packet");
        if (code == PROTO_CANCEL_REQUEST) {
            if (len != 16 || read_conn(c, pkt + 8, 8) != 0)
                return fatal(c, "08P01", "invalid length of cancel request packet");
            memcpy(pkt, hdr, 8);
            relay_cancel(c, pkt);
            return 0;
        }
        if (code == PROTO_SSL_REQUEST || code == PROTO_GSSENC_REQUEST) {
            if (len != 8)
                return fatal(c, "08P01", "invalid length of encryption request packet");
            if (c->ssl != NULL)
                return fatal(c, "08P01",
                             "encryption request received over an encrypted "
                             "connection");
            if (round >= MAX_NEGOTIATIONS)
                return fatal(c, "08P01", "too many encryption requests");
            if (code == PROTO_GSSENC_REQUEST) {
                if (write_plain(c->fd, "N", 1) != 0)
                    return -1;
                continue;
            }
            if (write_plain(c->fd, "S", 1) != 0 || tls_accept(c, 0) != 0)
                return -1;
            continue;
        }
        if (c->ssl == NULL) {
            if (code >> 16 == 3)
                return fatal(c, "28000",
                             "TLS is required: this endpoint, like Aurora DSQL, "
                             "refuses unencrypted connections; connect with "
                             "sslmode=verify-full");
            return fatal(c, "08P01", "invalid startup packet: unknown protocol code");
        }
        memcpy(pkt, hdr + 4, 4);
        if (read_conn(c, pkt + 4, len - 8) != 0)
            return -1;
        return (long)len - 4;
    }
}

/* Asks for the password in clear text and reads the PasswordMessage into a new string. */
static char *read_password(conn *c)
{
    static const unsigned char ask[9] = {'R', 0, 0, 0, 8, 0, 0, 0, 3};
    unsigned char hdr[5];
    size_t n;
    proto_refusal why;
    if (write_conn(c, ask, sizeof ask) != 0 || read_conn(c, hdr, 5) != 0)
        return NULL;
    if (proto_password_header(hdr, MAX_PASSWORD_MSG, &n, &why) != 0) {
        fatal(c, why.sqlstate, why.message);
        return NULL;
    }
    char *pw = malloc(n);
    if (pw == NULL)
        return NULL;
    if (read_conn(c, pw, n) != 0) {
        dsql_wipe(pw, n); /* part of a token may have arrived */
        free(pw);
        return NULL;
    }
    if (proto_password_body(pw, n, &why) != 0) {
        fatal(c, why.sqlstate, why.message);
        dsql_wipe(pw, n);
        free(pw);
        return NULL;
    }
    return pw;
}

/* Ends a connection: both sides closed, everything it held freed. */
static void conn_end(conn *c)
{
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->backend_fd >= 0)
        close(c->backend_fd);
    close(c->fd);
    atomic_fetch_sub(&c->f->active, 1);
    free(c);
}

/* A relay thread is done with the session (relay_params.done). */
static void relay_done(void *arg)
{
    conn_end(arg);
    ERR_clear_error();
}

/* The handshake; 1 when the session went on to a relay thread, which now owns c, else 0. */
static int session(conn *c)
{
    int handed = 0;
    front *f = c->f;
    const front_config *cfg = f->cfg;
    unsigned char *pkt = malloc(PROTO_MAX_STARTUP + 16);
    proto_startup *st = malloc(sizeof *st);
    char *password = NULL;
    int bfd = -1;
    dsql_buf out;
    dsql_buf_init(&out);
    if (pkt == NULL || st == NULL)
        goto out;

    c->deadline_ms = local_now_ms() + cfg->handshake_timeout * 1000;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    long len = read_startup(c, pkt);
    if (len <= 0)
        goto out;
    proto_refusal why;
    if (proto_parse_startup((const char *)pkt, (size_t)len, st, &why) != 0) {
        fatal(c, why.sqlstate, why.message);
        goto out;
    }
    if (st->version != PROTO_V3 || st->nunsupported_pq > 0) {
        proto_put_negotiate(&out, st);
        if (dsql_buf_failed(&out) || write_conn(c, out.data, out.len) != 0)
            goto out;
        out.len = 0;
    }

    /*
     * A client over its failed-login limit is refused here, before its token is read: SQLSTATE
     * 53300 (class 53, insufficient resources: PostgreSQL's too_many_connections) says "not
     * now, retry later", which is what it is, rather than 28xxx: its credentials were not
     * looked at and may well be right.
     */
    int64_t blocked = limit_blocked_ms(f, c->addr);
    if (blocked > 0) {
        char m[256];
        snprintf(m, sizeof m,
                 "too many failed logins from %s (%d within %d s); try again in %lld s", c->addr,
                 cfg->max_failed_logins, cfg->failed_login_window,
                 (long long)(blocked + 999) / 1000);
        fatal(c, "53300", m);
        goto out;
    }

    if (!rate_take(f)) {
        char state[6], m[128];
        rule_format(RULE_CONNECTION_RATE, NULL, state, m, sizeof m);
        fatal(c, state, m);
        goto out;
    }

    password = read_password(c);
    if (password == NULL)
        goto out;
    SSL_clear_options(c->ssl, SSL_OP_CLEANSE_PLAINTEXT); /* the token has been read */
    dsql_token_verify_params vp = {
        .hostname = cfg->endpoint,
        .region = cfg->region,
        .user = st->user,
        .lookup = keys_lookup,
        .lookup_ctx = &f->keys,
    };
    dsql_error err;
    int rc = dsql_token_verify(password, &vp, &err);
    if (rc != DSQL_OK) {
        char m[DSQL_ERROR_MAX + 128];
        if (rc == DSQL_ERR_AUTH)
            snprintf(m, sizeof m, "password authentication failed for user \"%s\": %s", st->user,
                     err.message);
        else
            snprintf(m, sizeof m, "could not verify the token: %s", err.message);
        limit_record_failure(f, c->addr);
        fatal(c, "28P01", m);
        goto out;
    }

    bfd = backend_connect(cfg);
    if (bfd < 0) {
        fatal(c, "08006", "the local PostgreSQL is not reachable; run `dsqlauth-local status`");
        goto out;
    }
    proto_put_startup(&out, st);
    if (dsql_buf_failed(&out) || write_plain(bfd, out.data, out.len) != 0) {
        fatal(c, "08006", "could not start the backend session");
        goto out;
    }
    dsql_log(DSQL_LOG_INFO, "local: %s: authenticated as %s", c->peer, st->user);

    struct timeval zero = {0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);
    relay_params rp = {
        .ssl = c->ssl,
        .client_fd = c->fd,
        .backend_fd = bfd,
        .strict = cfg->strict,
        .deadline_ms = cfg->max_lifetime > 0 ? local_now_ms() + cfg->max_lifetime * 1000 : 0,
        .max_lifetime = cfg->max_lifetime,
        .max_txn_age = cfg->strict ? cfg->max_txn_age : 0,
    };
    free(pkt);
    pkt = NULL;
    free(st);
    st = NULL;
    dsql_free_secret(password);
    password = NULL;
    rp.done = relay_done;
    rp.done_arg = c;
    c->backend_fd = bfd;
    if (relay_start(&rp) == 0) {
        handed = 1;
        bfd = -1;
        goto out;
    }
    c->backend_fd = -1;
    fatal(c, "53000", "could not start relaying the session");
out:
    if (!handed && c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (bfd >= 0)
        close(bfd);
    dsql_free_secret(password);
    dsql_buf_cleanup(&out);
    free(st);
    if (pkt != NULL) {
        dsql_wipe(pkt, PROTO_MAX_STARTUP + 16);
        free(pkt);
    }
    return handed;
}

/* A connection's handshake thread: it ends where the data phase begins (relay.h). */
static void *conn_thread(void *arg)
{
    conn *c = arg;
    if (!session(c))
        conn_end(c);
    ERR_clear_error();
    OPENSSL_thread_stop();
    return NULL;
}

/*
 * Tells a client the front cannot take it, as PostgreSQL does: a FATAL ErrorResponse with
 * PostgreSQL's SQLSTATE (53300 too_many_connections, 53000 insufficient_resources), written
 * without waiting (libpq reads it in answer to its SSLRequest too), then closes fd.
 */
static void refuse_now(int fd, const char *sqlstate, const char *message)
{
    dsql_buf b;
    dsql_buf_init(&b);
    proto_put_error(&b, "FATAL", sqlstate, message);
    if (!dsql_buf_failed(&b))
        (void)!send(fd, b.data, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
    dsql_buf_cleanup(&b);
    close(fd);
    dsql_log(DSQL_LOG_WARN, "local: refused a client: %s %s", sqlstate, message);
}

int front_serve(int listen_fd, const front_config *cfg, char *msg, size_t msglen)
{
    static front f; /* connection threads may outlive front_serve (see its end) */
    f.cfg = cfg;
    atomic_init(&f.active, 0);
    pthread_mutex_init(&f.limit_lock, NULL);
    occ_configure(&cfg->inject);
    f.rate_tokens = cfg->conn_burst;
    f.rate_refill_ms = local_now_ms();
    int reserve = open("/dev/null", O_RDONLY | O_CLOEXEC); /* see the accept loop */
    f.ctx = tls_server_ctx(cfg->state_dir, cfg->endpoint, msg, msglen);
    if (f.ctx == NULL)
        return -1;
    if (keys_load(cfg->keys_path, &f.keys, msg, msglen) != 0) {
        SSL_CTX_free(f.ctx);
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* threads inherit the mask; signalfd gets them */
    int sfd = signalfd(-1, &stop, SFD_CLOEXEC);
    /* The relay threads (after the mask, which they inherit): one a processor, at most 8. A
     * thread sleeps in epoll_wait whenever its sessions wait on a client or PostgreSQL, so
     * threads do not compete with PostgreSQL's backends for more than the work they relay; on
     * 2 cores, two threads relay pgbench -S 1.16x as fast as PgBouncer's one (1.00x with a
     * single thread, tools/local/bench.sh, 2026-12-07). */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned relays = cpus > 1 ? (unsigned)cpus : 1;
    if (relays > 8)
        relays = 8;
    if (relay_pool_start(relays, msg, msglen) != 0) {
        SSL_CTX_free(f.ctx);
        return -1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (cfg->ready_fd >= 0) {
        (void)!write(cfg->ready_fd, "1", 1);
        close(cfg->ready_fd);
    }

    for (;;) {
        struct pollfd pfd[2] = {{.fd = listen_fd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[1].revents)
            break;
        if (!(pfd[0].revents & POLLIN))
            continue;
        struct sockaddr_in6 sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(listen_fd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE) && reserve >= 0) {
            /* No descriptor for the client: give back the one kept for this, so that it
             * hears why rather than waiting in the backlog or seeing a bare close. */
            close(reserve);
            fd = accept4(listen_fd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
            if (fd >= 0) {
                refuse_now(fd, "53300", "sorry, too many clients already");
                fd = -1;
            }
            reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
            continue;
        }
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                usleep(10000);
            continue;
        }
        conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            refuse_now(fd, "53000", "out of memory");
            continue;
        }
        c->f = &f;
        c->fd = fd;
        c->backend_fd = -1;
        char ip[INET6_ADDRSTRLEN] = "?";
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&sa;
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        snprintf(c->peer, sizeof c->peer, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
        snprintf(c->addr, sizeof c->addr, "%s", ip);
        atomic_fetch_add(&f.active, 1);
        pthread_t t;
        int err = pthread_create(&t, &attr, conn_thread, c);
        if (err != 0) {
            char m[160];
            snprintf(m, sizeof m, "could not create a thread for the connection: %s",
                     strerror(err));
            atomic_fetch_sub(&f.active, 1);
            refuse_now(fd, "53000", m);
            free(c);
        }
    }
    pthread_attr_destroy(&attr);
    close(sfd);
    if (reserve >= 0)
        close(reserve);
    dsql_log(DSQL_LOG_INFO, "local: stopping with %d open connections", atomic_load(&f.active));
    /* Connection threads still hold f: leave the process without tearing it down. */
    return 0;
}
